"""`distillguard reports ...`: incident clocks, report inputs, report builders, evidence.

Thin shell over `distillguard.reports`; every command takes `--db URL` (env DISTILLGUARD_DB)
and `--pack PATH` (default: the shipped pack). Times accept any offset (`Z`, `-08:00`) or a
naive time plus `--tz Area/City`; everything is stored and printed in UTC.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import typer

from distillguard.errors import DistillguardError

app = typer.Typer(help="Frontier-model reports, incident clocks, evidence.", no_args_is_help=True)
incident_app = typer.Typer(help="Incidents and their clocks.", no_args_is_help=True)
app.add_typer(incident_app, name="incident")
_state: dict[str, Any] = {}


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="reports")
    from distillguard.reports.cli_build import register_build
    from distillguard.reports.cli_inputs import inputs_app

    app.add_typer(inputs_app, name="inputs")
    register_build(app)


@app.callback()
def _options(
    db: str | None = typer.Option(None, "--db", help="Database URL [env DISTILLGUARD_DB]."),
    pack: str | None = typer.Option(None, "--pack", help="Rule pack (default: shipped pack)."),
) -> None:
    """Frontier-model reporting: incidents and clocks, inputs, reports, evidence."""
    _state["db"] = db or os.environ.get("DISTILLGUARD_DB")
    _state["pack"] = pack


def database() -> Any:
    from distillguard.store import open_database

    return open_database(_state.get("db"))


def engine() -> Any:
    from pathlib import Path

    from distillguard.rules import RuleEngine, default_pack_path

    p = _state.get("pack")
    return RuleEngine.from_path(Path(p) if p else default_pack_path())


def when(text: str | None, tz: str | None = None) -> datetime:
    from distillguard.reports.timeutil import parse_time

    return parse_time(text, tz) if text else datetime.now(UTC)


def emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def _left(seconds: float) -> str:
    s = abs(int(seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    text = f"{d}d {h}h" if d else f"{h}h {m}m"
    return f"{text} ago" if seconds < 0 else f"in {text}"


@app.command("due")
def due(
    at: str | None = typer.Option(None, "--at", help="Evaluate at this time (default now)."),
    tz: str | None = typer.Option(None, "--tz", help="IANA zone for a naive --at."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    fail_overdue: bool = typer.Option(
        False,
        "--fail-on-overdue",
        help="Exit with status 1 when anything is overdue (for cron; 3 is an internal error).",
    ),
) -> None:
    """List every report due or overdue: incident clocks and periodic notices."""
    from distillguard.reports.clocks import due_items

    now = when(at, tz)
    items = due_items(database(), engine().reference, now)
    overdue = sum(d.status(now) == "overdue" for d in items)
    if as_json:
        emit_json({"at": now.isoformat(), "items": [d.to_dict(now) for d in items]})
    else:
        _due_table(items, now)
    if fail_overdue and overdue:
        raise typer.Exit(1)


def _due_table(items: list[Any], now: datetime) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Reports due at {now.strftime('%Y-%m-%d %H:%M')} UTC")
    table.add_column("status", no_wrap=True)
    table.add_column("due (UTC)", no_wrap=True)
    table.add_column("left", no_wrap=True)
    table.add_column("report (regime.clock)", overflow="fold")
    table.add_column("for (incident)", no_wrap=True)
    for d in items:
        st = d.status(now)
        clock = f"{d.regime}.{d.event}" + (f" #{d.occurrence}" if d.occurrence > 1 else "")
        table.add_row(
            f"[bold red]{st}[/]" if st == "overdue" else st,
            d.due.strftime("%Y-%m-%d %H:%M"),
            _left((d.due - now).total_seconds()),
            clock,
            d.incident_id or d.kind or "periodic",
        )
    Console().print(table)
    if not items:
        typer.echo("nothing due")


@incident_app.command("open")
def incident_open(
    kind: str = typer.Argument(..., help="Incident kind from the pack's incident_types."),
    discovered: str = typer.Option(..., "--discovered", help="Discovery time (any offset)."),
    tz: str | None = typer.Option(None, "--tz", help="IANA zone for a naive time."),
    imminent: bool = typer.Option(False, "--imminent", help="Imminent risk of death/injury."),
    title: str | None = typer.Option(None, "--title"),
    reference: str | None = typer.Option(None, "--ref", help="External reference."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Open an incident by hand; print the deadlines it starts."""
    from distillguard.reports.clocks import plan
    from distillguard.reports.incidents import open_incident
    from distillguard.reports.timeutil import iso

    ref = engine().reference
    t0 = when(discovered, tz)
    iid = open_incident(
        database(), ref, kind, t0, imminent=imminent, title=title, reference=reference
    )
    p = plan(ref, kind, t0, imminent, incident_id=iid)
    now = datetime.now(UTC)
    if as_json:
        emit_json(
            {
                "incident": iid,
                "deadlines": [d.to_dict(now) for d in p.deadlines],
                "not_in_force": p.not_in_force,
            }
        )
        return
    typer.echo(f"opened {iid} ({kind}, discovered {iso(t0)})")
    for d in p.deadlines:
        typer.echo(f"  {d.regime}.{d.event}: due {iso(d.due)} [{d.verification}]")
    for s in p.not_in_force:
        typer.echo(f"  {s['regime']}.{s['event']}: not in force (from {s['effective_from']})")


@incident_app.command("list")
def incident_list(
    all_: bool = typer.Option(False, "--all", help="Include closed incidents."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List incidents with their next deadline."""
    from rich.console import Console
    from rich.table import Table

    from distillguard.reports.clocks import incident_plan
    from distillguard.reports.store import ReportsStore

    st = ReportsStore(database())
    ref = engine().reference
    rows = st.incidents(status=None if all_ else "open")
    now = datetime.now(UTC)
    out = []
    for r in rows:
        p = incident_plan(ref, st, r)
        out.append({**r, "deadlines": [d.to_dict(now) for d in p.deadlines]})
    if as_json:
        emit_json(out)
        return
    t = Table(title="Incidents")
    for col in ("id", "kind", "discovered (UTC)", "imminent", "source", "status", "next due"):
        t.add_column(col)
    for r in out:
        nxt = r["deadlines"][0] if r["deadlines"] else None
        t.add_row(
            r["id"],
            r["kind"],
            r["discovered_at"],
            "yes" if r["imminent"] else "no",
            r["source"],
            r["status"],
            f"{nxt['regime']}.{nxt['event']} {nxt['due']}" if nxt else "-",
        )
    Console().print(t)


@incident_app.command("close")
def incident_close(
    incident: str = typer.Argument(...),
    note: str = typer.Option(..., "--note", help="Why it is closed."),
) -> None:
    """Close an incident (its outstanding clocks stop)."""
    from distillguard.reports.store import ReportsStore

    ReportsStore(database()).close_incident(incident, note)
    typer.echo(f"closed {incident}")


@incident_app.command("file")
def incident_file(
    incident: str = typer.Argument(...),
    clock: str = typer.Argument(..., help="REGIME.EVENT, e.g. sb53.critical_safety_incident"),
    at: str | None = typer.Option(None, "--at", help="When it was filed (default now)."),
    report: str | None = typer.Option(None, "--report", help="Generated report id."),
) -> None:
    """Record that the report for one clock of an incident was filed."""
    from distillguard.reports.clocks import incident_plan
    from distillguard.reports.store import ReportsStore

    regime, _, event = clock.partition(".")
    st = ReportsStore(database())
    owed = {
        (d.regime, d.event)
        for d in incident_plan(engine().reference, st, st.incident(incident)).deadlines
    }
    if (regime, event) not in owed:
        raise DistillguardError(f"incident {incident} owes no {clock} report")
    st.file(incident, regime, event, at=when(at), report_id=report)
    typer.echo(f"filed {clock} for {incident}")


@incident_app.command("import-weights")
def incident_import_weights() -> None:
    """Open reports incidents for weights-registry incidents and for model versions that
    reached the EU systemic-risk threshold (idempotent)."""
    from distillguard.reports.incidents import import_threshold_crossings, import_weights_incidents

    db, ref = database(), engine().reference
    ids = import_weights_incidents(db, ref)
    crossed = import_threshold_crossings(db, ref)
    typer.echo(
        f"{len(ids)} weights incident(s), {len(crossed)} EU threshold crossing(s) "
        "in the reports registry"
    )


@incident_app.command("from-campaign")
def incident_from_campaign(
    report: str = typer.Argument(..., help="Detector report JSON (distillguard detect)."),
    campaign: str = typer.Argument(..., help="Campaign id."),
    discovered: str | None = typer.Option(None, "--discovered", help="Default: first flag."),
) -> None:
    """Open the incident for a detected distillation campaign."""
    from distillguard.reports.incidents import open_campaign_incident

    rep = load_json(report)
    iid = open_campaign_incident(
        database(),
        engine().reference,
        rep,
        campaign,
        discovered=when(discovered) if discovered else None,
    )
    typer.echo(f"opened {iid} for campaign {campaign}")


def load_json(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise DistillguardError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise DistillguardError(f"{path} is not JSON: {exc}") from None
    except UnicodeDecodeError:
        raise DistillguardError(f"{path}: not UTF-8 text") from None
    if not isinstance(data, dict):
        raise DistillguardError(f"{path}: expected a JSON object")
    return data


@incident_app.command("set")
def incident_set(
    incident: str = typer.Argument(...),
    fields: list[str] = typer.Argument(..., help="KEY=VALUE report facts (statement=..., ...)."),
) -> None:
    """Record report facts of an incident (statement, harm, root_cause, ...)."""
    from distillguard.reports.store import ReportsStore

    changes: dict[str, Any] = {}
    for f in fields:
        k, eq, v = f.partition("=")
        if not eq or not k.strip() or not v.strip():
            raise DistillguardError(f"{f!r} must be KEY=VALUE")
        changes[k.strip()] = v.strip()
    ReportsStore(database()).update_incident_detail(incident, changes)
    typer.echo(f"{incident}: set {', '.join(sorted(changes))}")
