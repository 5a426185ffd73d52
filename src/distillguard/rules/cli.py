"""`distillguard rules ...`: validate, test, diff, explain and replay rule packs.

PACK arguments accept a path or the word `default` (the pack shipped with distillguard).
Every command that prints a report has `--json` for machines.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from distillguard.errors import DistillguardError

rules_app = typer.Typer(
    help="Rule packs: validate, test, diff, explain, replay.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")


def _pack_path(p: str) -> Path:
    from distillguard.rules.pack import default_pack_path

    return default_pack_path() if p == "default" else Path(p)


def _engine(p: str) -> Any:
    from distillguard.rules.engine import RuleEngine

    return RuleEngine.from_path(_pack_path(p))


def _check_at(at: str | None) -> None:
    """A bad --at is a usage error, not a fail-closed decision."""
    if at is not None:
        from distillguard.rules.instants import to_epoch

        to_epoch(at)


def _emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


@rules_app.command("validate")
def validate(
    pack: str = typer.Argument(..., help="Pack file, or 'default'."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Load, validate and compile a pack; print what it holds."""
    from collections import Counter

    eng = _engine(pack)
    p = eng.pack
    by = Counter(f"{r.domain}/{r.status}" for r in p.rules)
    ref = p.reference
    summary = {
        "pack": p.name,
        "version": p.version,
        "source": p.source,
        "hash": p.hash,
        "rules": dict(sorted(by.items())),
        "reference": {
            "country_groups": len(ref.groups),
            "models": len(ref.models),
            "thresholds": sum(len(v) for v in ref.thresholds.values()),
            "licence_exceptions": len(ref.licence_exceptions),
            "allowlists": len(ref.allowlists),
            "incident_clocks": sum(len(v) for v in ref.incident_clocks.values()),
        },
        "unverified_facts": ref.unverified(),
        "test_cases": len((p.tests or {}).get("cases") or []),
    }
    if as_json:
        _emit_json(summary)
        return
    typer.echo(f"ok: {p.name} {p.version} ({p.source})")
    typer.echo(f"hash: {p.hash}")
    typer.echo("rules: " + ", ".join(f"{k} {v}" for k, v in summary["rules"].items()))
    typer.echo("reference: " + ", ".join(f"{k} {v}" for k, v in summary["reference"].items()))
    typer.echo(f"unverified facts [U]: {len(summary['unverified_facts'])}")
    for k in summary["unverified_facts"]:
        typer.echo(f"  {k}")
    typer.echo(f"test cases: {summary['test_cases']}")


@rules_app.command("test")
def test(
    pack: str = typer.Argument(..., help="Pack file, or 'default'."),
    require_coverage: bool = typer.Option(
        False, "--require-coverage", help="Fail if a rule has no test case."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Run the pack's test cases (context -> expected action)."""
    from distillguard.rules.testing import run_pack_tests

    eng = _engine(pack)
    rep = run_pack_tests(eng)
    if as_json:
        _emit_json(
            {
                "passed": len(rep.results) - len(rep.failed),
                "failed": [
                    {"name": c.name, "line": c.line, "problems": c.problems} for c in rep.failed
                ],
                "uncovered_rules": rep.uncovered,
            }
        )
    else:
        for c in rep.failed:
            typer.secho(f"FAIL {rep.source}:{c.line} {c.name}", fg=typer.colors.RED)
            for prob in c.problems:
                typer.echo(f"     {prob}")
        typer.echo(
            f"{len(rep.results) - len(rep.failed)} passed, {len(rep.failed)} failed "
            f"({len(eng.pack.rules)} rules, {len(rep.uncovered)} without a case)"
        )
        if rep.uncovered:
            typer.echo("rules without a case: " + ", ".join(rep.uncovered))
    if not rep.results:
        raise DistillguardError(f"{eng.pack.source}: pack has no test cases", exit_code=1)
    if rep.failed or (require_coverage and rep.uncovered):
        raise typer.Exit(1)


@rules_app.command("diff")
def diff(
    old: str = typer.Argument(..., help="Old pack (or 'default')."),
    new: str = typer.Argument(..., help="New pack (or 'default')."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Rules added/removed/changed and reference-data changes between two packs."""
    from distillguard.rules.diff import diff_packs
    from distillguard.rules.pack import load_pack

    d = diff_packs(load_pack(_pack_path(old)), load_pack(_pack_path(new)))
    if as_json:
        _emit_json(d.to_dict())
        return
    typer.echo(f"old: {d.old}\nnew: {d.new}")
    lines = d.lines()
    for line in lines:
        color = {"+": typer.colors.GREEN, "-": typer.colors.RED}.get(line[0])
        typer.secho(line, fg=color)
    typer.echo("no changes" if d.empty else f"{len(lines)} change(s)")


@rules_app.command("explain")
def explain(
    context: Path = typer.Option(..., "--context", help="JSON file with the context."),
    pack: str = typer.Option("default", "--pack", help="Pack file, or 'default'."),
    domain: str = typer.Option("access", "--domain", help="access or transfer."),
    at: str | None = typer.Option(None, "--at", help="Decision time (date or RFC 3339)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Which rules matched, which were skipped and why, and the final action."""
    from distillguard.rules.schema import SCHEMAS
    from distillguard.rules.testing import check_context
    from distillguard.rules.validate import Where

    if domain not in SCHEMAS:
        raise DistillguardError(f"unknown domain {domain!r} (known: {', '.join(SCHEMAS)})")
    try:
        ctx = json.loads(context.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DistillguardError(f"cannot read {context}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise DistillguardError(f"{context}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise DistillguardError(f"{context}: not UTF-8 text") from None
    check_context(domain, ctx, Where(str(context)))
    _check_at(at)
    eng = _engine(pack)
    ex = eng.explain(domain, ctx, at=at)
    if as_json:
        _emit_json(ex.to_dict())
        return
    d = ex.decision
    mark = {"matched": "MATCH", "not_matched": "  -  ", "skipped": "SKIP ", "error": "ERROR"}
    for t in ex.rules:
        line = f"{mark[t.outcome]} {t.rule_id:<46} {t.action:<17}"
        if t.outcome in ("skipped", "error"):
            line += f" {t.why}"
        typer.echo(line)
    typer.echo("")
    typer.secho(
        f"decision: {d.action}" + (f" (exception {d.exception})" if d.exception else ""), bold=True
    )
    if d.transforms:
        typer.echo("transforms: " + ", ".join(d.transforms))
    for r in d.reasons:
        detail = f" [{r.detail}]" if r.detail else ""
        typer.echo(f"  {r.reason_code}: {r.rule_id} ({r.citation}) [{r.verification}]{detail}")
    typer.echo(f"pack {eng.pack.name} {eng.pack.version} {d.pack_hash[:16]} at {d.to_dict()['at']}")


@rules_app.command("replay")
def replay_cmd(
    events: Path = typer.Option(..., "--events", help="RequestEvent log (JSONL)."),
    pack: str = typer.Option(..., "--pack", help="Candidate pack."),
    baseline: str = typer.Option("default", "--baseline", help="Baseline pack."),
    at: str | None = typer.Option(
        None, "--at", help="Decide every event at this time (default: each event's own time)."
    ),
    strict: bool = typer.Option(False, "--strict", help="A malformed line is fatal."),
    output: Path | None = typer.Option(None, "--output", help="Write the JSON report here."),
    as_json: bool = typer.Option(False, "--json", help="Print the JSON report."),
    top: int = typer.Option(10, "--top", help="Accounts and rules to list."),
) -> None:
    """Re-decide recorded requests under a candidate pack and report what changes."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from distillguard.rules.replay import replay

    _check_at(at)
    cand, base = _engine(pack), _engine(baseline)
    try:
        size = events.stat().st_size
    except OSError as exc:
        raise DistillguardError(f"cannot read {events}: {exc.strerror or exc}") from None
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=as_json,
    ) as prog:
        task = prog.add_task("replaying", total=size)
        rep = replay(
            events, cand, base, at=at, strict=strict, progress=lambda n: prog.advance(task, n)
        )
    report = rep.to_dict()
    if output is not None:
        output.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    if as_json:
        _emit_json(report)
        return
    pct = 100.0 * report["changed_fraction"]
    typer.echo(
        f"events: {rep.events} (skipped lines {rep.skipped_lines}, "
        f"without recorded context {rep.without_context})"
    )
    typer.echo(f"baseline {rep.baseline_hash[:12]} -> candidate {rep.candidate_hash[:12]}")
    typer.secho(
        f"decisions changed: {rep.changed} ({pct:.1f}%) for {len(rep.accounts)} account(s)",
        bold=True,
    )
    for t in report["transitions"][:top]:
        same = " (transforms)" if t["from"] == t["to"] else ""
        typer.echo(f"  {t['from']:>16} -> {t['to'] + same:<29} {t['count']}")
    if report["accounts"]:
        typer.echo("accounts most affected:")
        for a in report["accounts"][:top]:
            typer.echo(f"  {a['account']:<24} {a['changed']:>5}  {', '.join(a['rules'][:4])}")
    if report["rules"]:
        typer.echo("rules behind the changes:")
        for r in report["rules"][:top]:
            typer.echo(f"  {r['rule']:<46} {r['effect']:<18} {r['decisions']}")
    if rep.skip_reasons:
        typer.echo("skipped: " + "; ".join(rep.skip_reasons[:5]))
    if output is not None:
        typer.echo(f"report: {output}")
