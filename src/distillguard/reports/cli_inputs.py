"""`distillguard reports inputs ...`: record the facts reports need that no other part holds.

Clusters (BIS 702.7), red-team/evaluation results (BIS, SB 53, EU Annex XI), the
organisation profile (SB 53/RAISE revenue thresholds, contacts), the frontier AI framework
(SB 53, versioned, reviewed yearly) and planned training runs (BIS: planned within 6 months).
"""

from __future__ import annotations

from typing import Any

import typer

from distillguard.errors import DistillguardError

inputs_app = typer.Typer(
    help="Report inputs: clusters, evaluations, profile, framework, plans.", no_args_is_help=True
)
cluster_app = typer.Typer(help="Computing clusters.", no_args_is_help=True)
eval_app = typer.Typer(help="Red-team and evaluation records.", no_args_is_help=True)
profile_app = typer.Typer(help="Organisation profile.", no_args_is_help=True)
framework_app = typer.Typer(help="Frontier AI framework documents.", no_args_is_help=True)
plan_app = typer.Typer(help="Planned training runs.", no_args_is_help=True)
for _name, _sub in (
    ("cluster", cluster_app),
    ("evaluation", eval_app),
    ("profile", profile_app),
    ("framework", framework_app),
    ("plan", plan_app),
):
    inputs_app.add_typer(_sub, name=_name)


def _store() -> Any:
    from distillguard.reports.cli import database
    from distillguard.reports.store import ReportsStore

    return ReportsStore(database())


def _table(title: str, rows: list[dict[str, Any]], cols: list[str], as_json: bool) -> None:
    from distillguard.reports.cli import emit_json

    if as_json:
        emit_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*("" if r.get(c) is None else str(r.get(c)) for c in cols))
    Console().print(t)


JsonOpt = typer.Option(False, "--json", help="Print JSON.")


@cluster_app.command("add")
def cluster_add(
    name: str = typer.Argument(...),
    location: str = typer.Option(..., "--location", help="Site address or data-centre name."),
    country: str | None = typer.Option(None, "--country", help="ISO 3166 alpha-2."),
    accelerator: str = typer.Option(..., "--accelerator", help="e.g. 'NVIDIA H100 SXM'."),
    count: int = typer.Option(..., "--count", help="Number of accelerators."),
    gbps: float = typer.Option(..., "--interconnect-gbps", help="Interconnect, Gbit/s."),
    peak: float = typer.Option(..., "--peak-ops", help="Peak non-sparse operations/s."),
    owner: str | None = typer.Option(None, "--owner"),
) -> None:
    """Record a computing cluster."""
    cid = _store().add_cluster(
        name,
        location=location,
        country=country,
        accelerator=accelerator,
        accelerator_count=count,
        interconnect_gbps=gbps,
        peak_ops_per_s=peak,
        owner=owner,
    )
    typer.echo(f"recorded cluster {name} ({cid})")


@cluster_app.command("list")
def cluster_list(as_json: bool = JsonOpt) -> None:
    """List clusters."""
    _table(
        "Clusters",
        _store().clusters(),
        [
            "name",
            "location",
            "country",
            "accelerator",
            "accelerator_count",
            "interconnect_gbps",
            "peak_ops_per_s",
        ],
        as_json,
    )


@eval_app.command("add")
def eval_add(
    model: str = typer.Argument(...),
    area: str = typer.Option(..., "--area", help="cbrn, offensive_cyber, autonomy, ..."),
    method: str = typer.Option(..., "--method", help="How it was tested."),
    result: str = typer.Option(..., "--result", help="What was found."),
    performed: str = typer.Option(..., "--performed", help="When (any offset)."),
    version: str | None = typer.Option(None, "--version"),
    mitigations: str | None = typer.Option(None, "--mitigations"),
    evaluator: str | None = typer.Option(None, "--evaluator"),
) -> None:
    """Record a red-team or evaluation result for a model."""
    from distillguard.reports.cli import when

    eid = _store().add_evaluation(
        model,
        area=area,
        method=method,
        result=result,
        performed_at=when(performed),
        version=version,
        mitigations=mitigations,
        evaluator=evaluator,
    )
    typer.echo(f"recorded evaluation {eid}")


@eval_app.command("list")
def eval_list(model: str | None = typer.Option(None, "--model"), as_json: bool = JsonOpt) -> None:
    """List evaluations."""
    _table(
        "Evaluations",
        _store().evaluations(model),
        ["id", "model", "version", "area", "method", "result", "mitigations", "performed_at"],
        as_json,
    )


@profile_app.command("set")
def profile_set(
    name: str | None = typer.Option(None, "--name"),
    legal_name: str | None = typer.Option(None, "--legal-name"),
    country: str | None = typer.Option(None, "--country"),
    us_person: bool | None = typer.Option(None, "--us-person/--not-us-person"),
    revenue: float | None = typer.Option(None, "--revenue-usd", help="Prior-year revenue."),
    revenue_year: int | None = typer.Option(None, "--revenue-year"),
    contact: list[str] = typer.Option([], "--contact", help="ROLE:NAME:EMAIL (repeatable)."),
    website: str | None = typer.Option(None, "--website"),
    physical: str | None = typer.Option(
        None, "--security-physical", help="Physical protection of training and weights."
    ),
    cyber: str | None = typer.Option(
        None, "--security-cyber", help="Cybersecurity protection of training and weights."
    ),
) -> None:
    """Set organisation profile fields (history kept)."""
    contacts = None
    if contact:
        contacts = []
        for c in contact:
            parts = c.split(":", 2)
            if len(parts) != 3 or not all(p.strip() for p in parts):
                raise DistillguardError(f"--contact {c!r} must be ROLE:NAME:EMAIL")
            contacts.append({"role": parts[0], "name": parts[1], "email": parts[2]})
    prof = _store().set_profile(
        name=name,
        legal_name=legal_name,
        country=country,
        us_person=us_person,
        revenue_usd=revenue,
        revenue_year=revenue_year,
        contacts=contacts,
        website=website,
        security_physical=physical,
        security_cyber=cyber,
    )
    from distillguard.reports.cli import emit_json

    emit_json(prof)


@profile_app.command("show")
def profile_show() -> None:
    """Print the organisation profile."""
    from distillguard.reports.cli import emit_json

    emit_json(_store().profile())


@framework_app.command("add")
def framework_add(
    version: str = typer.Argument(...),
    title: str = typer.Option(..., "--title"),
    published: str = typer.Option(..., "--published"),
    review_due: str | None = typer.Option(None, "--review-due", help="Default: one year on."),
    url: str | None = typer.Option(None, "--url"),
    file: str | None = typer.Option(None, "--file", help="Document file (its SHA-256 is kept)."),
    summary: str | None = typer.Option(None, "--summary"),
) -> None:
    """Record a version of the frontier AI framework."""
    import hashlib

    from distillguard.reports.cli import when

    digest = None
    if file:
        try:
            with open(file, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        except OSError as exc:
            raise DistillguardError(f"cannot read {file}: {exc.strerror}") from None
    fid = _store().add_framework(
        version,
        title=title,
        published_at=when(published),
        review_due=when(review_due) if review_due else None,
        url=url,
        sha256=digest,
        summary=summary,
    )
    typer.echo(f"recorded framework {version} ({fid})")


@framework_app.command("list")
def framework_list(as_json: bool = JsonOpt) -> None:
    """List framework versions."""
    cols = ["version", "title", "published_at", "review_due", "url", "sha256"]
    _table("Frontier AI frameworks", _store().frameworks(), cols, as_json)


@plan_app.command("add")
def plan_add(
    model: str = typer.Argument(...),
    start: str = typer.Option(..., "--start", help="Planned start."),
    ops: float = typer.Option(..., "--ops", help="Expected training operations."),
    cluster: str | None = typer.Option(None, "--cluster"),
) -> None:
    """Record a planned training run."""
    from distillguard.reports.cli import when

    pid = _store().add_planned_run(
        model, planned_start=when(start), expected_ops=ops, cluster=cluster
    )
    typer.echo(f"recorded planned run {pid}")


@plan_app.command("list")
def plan_list(as_json: bool = JsonOpt) -> None:
    """List planned training runs."""
    _table(
        "Planned runs",
        _store().planned_runs(),
        ["id", "model", "planned_start", "expected_ops", "cluster"],
        as_json,
    )


fact_app = typer.Typer(help="Model documentation facts (SB 53, EU Annex XI).", no_args_is_help=True)
inputs_app.add_typer(fact_app, name="model-fact")


@fact_app.command("set")
def fact_set(
    model: str = typer.Argument(...),
    key: str = typer.Argument(...),
    value: str = typer.Argument(...),
) -> None:
    """Record one documentation fact of a model (latest value wins, history kept)."""
    _store().set_model_fact(model, key, value)
    typer.echo(f"{model}.{key} recorded")


@fact_app.command("show")
def fact_show(model: str = typer.Argument(...)) -> None:
    """Print the documentation facts of a model and which are still absent."""
    from distillguard.reports.cli import emit_json
    from distillguard.reports.store import MODEL_FACTS

    facts = _store().model_facts(model)
    emit_json({"facts": facts, "absent": [k for k in MODEL_FACTS if k not in facts]})
