"""`distillguard detect LOG.jsonl [...] --output REPORT.json [--html REPORT.html] [--strict]`.

Why a top-level command (not a group): the contract in ARCHITECTURE.md fixes this exact
form. Heavy imports (matplotlib) happen inside the command so `distillguard --help` stays
fast. A progress bar (rich) runs on stderr for logs large enough to wait for.
"""

from __future__ import annotations

from pathlib import Path

import typer

from distillguard.errors import DistillguardError

PROGRESS_MIN_BYTES = 5_000_000


def _count_lines(paths: list[Path]) -> int:
    n = 0
    for p in paths:
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 22):
                n += chunk.count(b"\n")
    return n


def detect(
    logs: list[Path] = typer.Argument(..., help="RequestEvent JSONL log(s), in arrival order."),
    output: Path = typer.Option(..., "--output", "-o", help="Write the JSON report here."),
    html_out: Path | None = typer.Option(None, "--html", help="Also write an HTML report."),
    strict: bool = typer.Option(False, "--strict", help="Fail on the first malformed line."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    jobs: int = typer.Option(
        1, "--jobs", "-j", help="Worker processes for parsing (0: one per CPU; 1: none)."
    ),
) -> None:
    """Replay logs through the streaming detector; report accounts and campaigns."""
    import orjson

    from distillguard.detect.offline import scan_files

    for p in logs:
        if not p.is_file():
            raise DistillguardError(f"cannot read {p}: no such file")
    total_bytes = sum(p.stat().st_size for p in logs)
    if jobs <= 0:
        import os

        jobs = os.cpu_count() or 1
    if total_bytes < PROGRESS_MIN_BYTES:
        jobs = 1  # not worth starting workers
    show = not quiet and total_bytes >= PROGRESS_MIN_BYTES
    if show:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        total = _count_lines(logs)
        with Progress(
            TextColumn("scanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
        ) as prog:
            task = prog.add_task("scan", total=total)
            res = scan_files(logs, strict=strict, on_event=lambda n: prog.update(task, completed=n))
    else:
        res = scan_files(logs, strict=strict)
    try:
        output.write_bytes(orjson.dumps(res.report, option=orjson.OPT_INDENT_2))
        if html_out is not None:
            from distillguard.detect.report_html import render

            html_out.write_text(render(res), encoding="utf-8")
    except OSError as exc:
        raise DistillguardError(f"cannot write report: {exc.strerror or exc}") from None
    if not quiet:
        inp = res.report["input"]
        counts = {v: 0 for v in ("distillation", "suspicious", "benign")}
        for a in res.report["accounts"]:
            counts[a["verdict"]] += 1
        typer.echo(
            f"{inp['requests']} requests, {inp['accounts']} accounts, "
            f"{inp['skipped_lines']} skipped lines: {counts['distillation']} distillation, "
            f"{counts['suspicious']} suspicious, {counts['benign']} benign; "
            f"{len(res.report['campaigns'])} campaigns -> {output}",
            err=True,
        )
        for err in res.stats.errors[:5]:
            typer.echo(f"  skipped {err}", err=True)


def register(app: typer.Typer) -> None:
    """Add `distillguard detect` and `distillguard detect-follow` to the root app (a
    separate command: `detect LOG...` takes positional paths, so it cannot have children)."""
    from distillguard.detect.follow import follow_command

    app.command("detect")(detect)
    app.command("detect-follow")(follow_command)
