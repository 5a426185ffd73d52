"""`distillguard reports build ...`, `reports verify`, `reports schema`, `reports file`.

Each build command writes `<kind>-<report id>.{json,html,pdf}` into `--out` (default
`./reports`), after schema validation, signing and recording in the ledger.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, closing, nullcontext
from pathlib import Path
from typing import Any

import typer

build_app = typer.Typer(help="Build, sign and record reports.", no_args_is_help=True)

OutOpt = typer.Option(Path("reports"), "--out", help="Output folder.")
FmtOpt = typer.Option("json,html,pdf", "--format", help="Comma-separated: json,html,pdf.")
AtOpt = typer.Option(None, "--at", help="Report time (default now).")
LedgerOpt = typer.Option(None, "--ledger", help="Ledger URL (default: the local ledger).")


def register_build(app: typer.Typer) -> None:
    """Add the builder commands to the reports group."""
    app.add_typer(build_app, name="build")
    app.command("verify")(verify)
    app.command("schema")(schema)
    app.command("mark-filed")(mark_filed)
    app.command("list")(list_reports)
    app.command("evidence")(evidence)


def _ledger(url: str | None, *, readonly: bool = False) -> AbstractContextManager[Any]:
    """The ledger at `url` (default: the local one), closed when the block ends."""
    from distillguard.ledger import open_ledger

    return closing(open_ledger(url, readonly=True) if readonly else open_ledger(url))


def _read_pem(path: Path) -> bytes:
    from distillguard.errors import DistillguardError

    try:
        return path.read_bytes()
    except OSError as exc:
        raise DistillguardError(f"cannot read {path}: {exc.strerror}") from None


def _emit(env: dict[str, Any], out: Path, fmt: str) -> None:
    from distillguard.reports.render import write

    paths = write(env, out, tuple(f.strip() for f in fmt.split(",") if f.strip()))
    rep = env["report"]
    typer.echo(
        f"{rep['title']}: report {env['report_id']}, ledger record "
        f"{env['ledger']['index']}, {len(rep['missing'])} missing field(s)"
    )
    for m in rep["missing"]:
        typer.echo(f"  missing {m['field']}: {m['reason']}")
    for p in paths:
        typer.echo(f"  wrote {p}")


def _build_and_emit(
    report: str, args: tuple[str, ...], at: str | None, ledger: str | None, out: Path, fmt: str
) -> None:
    """`api.<report>(db, engine, ledger, *args, at)`, then write and list its files."""
    from distillguard.reports import api
    from distillguard.reports.cli import database, engine, when

    with _ledger(ledger) as led:
        _emit(getattr(api, report)(database(), engine(), led, *args, when(at)), out, fmt)


def _periodic_command(name: str, report: str, help_text: str) -> None:
    """Register `reports build NAME` for a periodic report (`report`: its function in api)."""

    def command(
        out: Path = OutOpt,
        fmt: str = FmtOpt,
        at: str | None = AtOpt,
        ledger: str | None = LedgerOpt,
    ) -> None:
        _build_and_emit(report, (), at, ledger, out, fmt)

    command.__doc__ = help_text
    build_app.command(name)(command)


def _model_command(kind: str, help_text: str) -> None:
    """Register `reports build KIND MODEL[@VERSION]` for one per-model report."""

    def command(
        model: str = typer.Argument(..., help="model[@version]"),
        out: Path = OutOpt,
        fmt: str = FmtOpt,
        at: str | None = AtOpt,
        ledger: str | None = LedgerOpt,
    ) -> None:
        _build_and_emit("model_report", (kind, model), at, ledger, out, fmt)

    command.__doc__ = help_text
    build_app.command(kind)(command)


_periodic_command(
    "bis",
    "quarterly_notice",
    "BIS 702.7 quarterly notice (a no-change notice when nothing changed).",
)
_model_command("sb53", "California SB 53 transparency report for a model version.")
_model_command("eu-annex-xi", "EU AI Act Annex XI model documentation.")
_model_command("eu-notice", "EU two-week notice: the model crossed the systemic-risk threshold.")
_periodic_command(
    "sb53-summary",
    "internal_use_summary",
    "SB 53 summary of internal-use catastrophic-risk assessments (three-monthly).",
)


@build_app.command("incident")
def build_incident(
    incident: str = typer.Argument(...),
    regime: str = typer.Argument(..., help="sb53, raise, eu_cop, ..."),
    out: Path = OutOpt,
    fmt: str = FmtOpt,
    at: str | None = AtOpt,
    ledger: str | None = LedgerOpt,
) -> None:
    """Incident report for one regime, with the content that law asks for."""
    _build_and_emit("incident_report", (incident, regime), at, ledger, out, fmt)


def verify(
    path: Path = typer.Argument(..., help="A signed report .json."),
    public_key: Path | None = typer.Option(None, "--public-key", help="Trusted PEM key."),
    ledger: str | None = typer.Option(None, "--ledger", help="Also check the ledger entry."),
    no_ledger: bool = typer.Option(False, "--no-ledger", help="Skip the ledger check."),
    ledger_key: Path | None = typer.Option(
        None, "--ledger-key", help="Trusted ledger public key (PEM) for evidence proofs."
    ),
) -> None:
    """Check a signed report: content hash, signature and ledger entry."""
    from distillguard.reports.cli import load_json
    from distillguard.reports.signing import verify_envelope

    env = load_json(str(path))
    pem = _read_pem(public_key) if public_key else None
    with nullcontext() if no_ledger else _ledger(ledger, readonly=True) as led:
        digest = verify_envelope(env, public_key_pem=pem, ledger=led)
    if env["report"].get("kind") == "distillation_evidence":
        from distillguard.reports.evidence import verify_evidence

        if ledger_key is not None:
            lk = _read_pem(ledger_key)
        else:
            lk = env["report"]["sections"]["ledger"]["public_key_pem"].encode()
            typer.echo(
                "note: proofs checked against the ledger key inside the package; pass "
                "--ledger-key with the published key to check who signed them"
            )
        n = verify_evidence(env["report"], lk)
        typer.echo(f"OK {n} decision inclusion proofs verify against signed checkpoints")
    typer.echo(
        f"OK {path}: sha256 {digest}, signature valid"
        + ("" if no_ledger else f", ledger record {env['ledger']['index']} matches")
    )


def schema(
    kind: str = typer.Argument(..., help="Report kind."),
    regime: str | None = typer.Option(None, "--regime", help="Incident reports."),
) -> None:
    """Print the JSON Schema of a report kind."""
    from distillguard.reports.cli import emit_json
    from distillguard.reports.schemas import document_schema

    emit_json(document_schema(kind, regime))


def mark_filed(
    report: str = typer.Argument(..., help="Report id."),
    at: str | None = typer.Option(None, "--at"),
) -> None:
    """Record that a generated report was filed with the authority."""
    from distillguard.reports.api import mark_filed as _mark
    from distillguard.reports.cli import database, engine, when

    met = _mark(database(), engine(), report, when(at))
    typer.echo(f"marked {report} filed" + (f"; met the clock of {', '.join(met)}" if met else ""))


def list_reports(
    kind: str | None = typer.Option(None, "--kind"), as_json: bool = typer.Option(False, "--json")
) -> None:
    """List generated reports (id, kind, subject, sha256, ledger record, filed)."""
    from distillguard.reports.cli import database, emit_json
    from distillguard.reports.store import ReportsStore

    rows = [
        {
            k: r[k]
            for k in ("id", "kind", "subject", "created_at", "sha256", "ledger_index", "filed_at")
        }
        for r in ReportsStore(database()).reports(kind)
    ]
    if as_json:
        emit_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title="Generated reports")
    for c in ("id", "kind", "subject", "created_at", "ledger_index", "filed_at"):
        t.add_column(c)
    for r in rows:
        t.add_row(
            *(
                str(r[c]) if r[c] is not None else "-"
                for c in ("id", "kind", "subject", "created_at", "ledger_index", "filed_at")
            )
        )
    Console().print(t)


def evidence(
    report: str = typer.Argument(..., help="Detector report JSON (distillguard detect)."),
    campaign: str = typer.Argument(..., help="Campaign id from the report."),
    events: list[Path] = typer.Option(..., "--events", help="RequestEvent JSONL (repeatable)."),
    out: Path = OutOpt,
    fmt: str = typer.Option("json,html", "--format", help="Comma-separated: json,html,pdf."),
    include_prompts: bool = typer.Option(False, "--include-prompts", help="Prompt text too."),
    max_proofs: int = typer.Option(50, "--max-proofs", help="Decisions with proofs, at most."),
    ledger: str | None = LedgerOpt,
) -> None:
    """Evidence package for a campaign: JSON/HTML plus a STIX 2.1 bundle for partners."""
    import json

    from distillguard.events import read_events
    from distillguard.reports.api import evidence_package
    from distillguard.reports.cli import database, engine, load_json

    rep = load_json(report)

    def stream() -> Any:
        for p in events:
            if not p.is_file():
                from distillguard.errors import DistillguardError

                raise DistillguardError(f"no such events file: {p}")
            yield from read_events(p)

    with _ledger(ledger) as led:
        env, bundle = evidence_package(
            database(),
            led,
            rep,
            campaign,
            stream(),
            engine=engine(),
            include_prompts=include_prompts,
            max_proofs=max_proofs,
        )
        _emit(env, out, fmt)
    p = out / f"stix-{campaign}-{env['report_id']}.json"
    p.write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")
    typer.echo(f"  wrote {p} ({len(bundle['objects'])} STIX objects)")
