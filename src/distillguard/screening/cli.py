"""`distillguard lists ...` and `distillguard screen ...` commands.

Why a thin shell: all behaviour lives in ScreeningService so the gateway, the weights part
and the CLI screen identically; this module only parses options, shows progress and prints.
Heavy imports stay inside the commands so `distillguard --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from distillguard.errors import DistillguardError

if TYPE_CHECKING:
    from distillguard.screening.service import ScreeningService

lists_app = typer.Typer(
    help="Denied-party lists: import snapshots, check freshness.", no_args_is_help=True
)
screen_app = typer.Typer(
    help="Screen names, customers and name pairs against the lists.", no_args_is_help=True
)

_DB = typer.Option(
    None,
    "--db",
    envvar=["DISTILLGUARD_DB", "DISTILLGUARD_DB_URL"],  # the second: older name, still read
    help="Database URL [env DISTILLGUARD_DB] (default: SQLite in the data dir).",
)
_MAX_AGE = typer.Option(
    None,
    "--max-age-days",
    help="Fail closed when a list is older than this "
    "(default: $DISTILLGUARD_SCREENING_MAX_AGE_DAYS or 14).",
)


def _service(db: str | None, max_age_days: float | None = None) -> ScreeningService:
    from distillguard.screening.service import ScreeningService
    from distillguard.store import open_database

    if max_age_days is not None:
        return ScreeningService(open_database(db), max_age_days=max_age_days)
    return ScreeningService(open_database(db))


def _check_mode(mode: str) -> str:
    if mode not in ("best", "ofac"):
        raise DistillguardError(f"--mode {mode!r}: use best or ofac")
    return mode


@lists_app.command("import")
def lists_import(
    file: Path = typer.Argument(
        ..., help="List file (sdn.csv, UN XML, CSL .json/.csv, internal .csv)."
    ),
    source: str = typer.Option(..., "--source", help="ofac | un | csl | internal"),
    alt: Path | None = typer.Option(None, "--alt", help="OFAC alt.csv (aliases)."),
    add: Path | None = typer.Option(None, "--add", help="OFAC add.csv (addresses)."),
    list_date: str | None = typer.Option(
        None, "--date", help="Publication date (YYYY-MM-DD) when the file has none."
    ),
    encoding: str | None = typer.Option(None, "--encoding", help="Text encoding if not UTF-8."),
    fmt: str | None = typer.Option(
        None, "--format", help="csl: json or csv (default: by extension)."
    ),
    db: str | None = _DB,
) -> None:
    """Import a list file as a new versioned snapshot and re-screen affected subjects."""
    svc = _service(db)
    rep = svc.import_list(
        file, source, alt=alt, add=add, list_date=list_date, encoding=encoding, fmt=fmt
    )
    s = rep.snapshot
    typer.echo(
        f"imported {s.source} snapshot #{s.id}: {s.entry_count} entries "
        f"(+{rep.added} new, {rep.changed} changed, -{rep.removed} removed), "
        f"{rep.skipped} rows skipped, sha256 {s.content_hash[:16]}"
    )
    for reason, n in sorted(rep.skip_reasons.items()):
        typer.echo(f"  skipped {n}: {reason}")
    for c in rep.changes:
        typer.echo(f"  re-screened {c.subject_id}: {c.old} -> {c.new} ({c.ref})")


@lists_app.command("status")
def lists_status(
    db: str | None = _DB,
    max_age_days: float | None = _MAX_AGE,
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Freshness per source; exits 1 when any list is stale or none is loaded."""
    from rich.console import Console
    from rich.table import Table

    svc = _service(db, max_age_days)
    st = svc.status()
    if as_json:
        typer.echo(
            json.dumps([s.__dict__ if hasattr(s, "__dict__") else _asdict(s) for s in st], indent=2)
        )
    else:
        t = Table(
            title=f"lists (max age {'off' if svc.max_age_days is None else svc.max_age_days} d)"
        )
        for col in (
            "source",
            "snapshot",
            "list date",
            "imported",
            "age (days)",
            "entries",
            "skipped",
            "sha256",
            "state",
        ):
            t.add_column(col)
        for s in st:
            t.add_row(
                s.source,
                f"#{s.snapshot_id}",
                s.list_date or "-",
                s.imported_at,
                f"{s.age_days:.1f}",
                str(s.entries),
                str(s.skipped),
                s.content_hash[:12],
                "[red]STALE[/red]" if s.stale else "[green]fresh[/green]",
            )
        Console(width=140).print(t)
    if not st or any(s.stale for s in st):
        raise SystemExit(1)


def _asdict(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__slots__}


def _print_hits(hits: list[Any], limit: int) -> None:
    from rich.console import Console
    from rich.table import Table

    if not hits:
        typer.echo("no hits")
        return
    t = Table()
    for col in ("score", "list", "entry", "matched alias", "programs", "features"):
        t.add_column(col)
    for h in hits[:limit]:
        feats = " ".join(f"{k}={v:g}" for k, v in h.features.items())
        t.add_row(
            f"{h.score:.3f}",
            f"{h.source}/{h.list_name}",
            f"{h.entry_id} {h.caption}",
            f"{h.matched_alias} ({h.alias_kind})",
            ", ".join(h.programs),
            feats,
        )
    Console(width=160).print(t)


@screen_app.command("name")
def screen_name(
    name: str = typer.Argument(..., help="The name to screen."),
    schema: str = typer.Option(
        "LegalEntity", "--schema", help="Person | Organization | Vessel | LegalEntity"
    ),
    country: str | None = typer.Option(None, "--country", help="ISO 3166-1 alpha-2 (qualifier)."),
    dob: str | None = typer.Option(None, "--dob", help="Date or year of birth (qualifier)."),
    mode: str = typer.Option("best", "--mode", help="best | ofac (OFAC FAQ 249 reproduction)."),
    limit: int = typer.Option(10, "--limit"),
    as_json: bool = typer.Option(False, "--json", help="Full explanations as JSON."),
    db: str | None = _DB,
    max_age_days: float | None = _MAX_AGE,
) -> None:
    """Screen one name against all loaded lists (exit 1 on a hit)."""
    svc = _service(db, max_age_days)
    hits = svc.screen_name(name, schema, country, dob, mode=_check_mode(mode))
    if as_json:
        typer.echo(json.dumps([h.to_dict() for h in hits[:limit]], indent=2, ensure_ascii=False))
    else:
        _print_hits(hits, limit)
    threshold = svc.config.threshold if mode == "best" else svc.config.ofac_threshold
    if any(h.score >= threshold for h in hits):
        raise SystemExit(1)


@screen_app.command("batch")
def screen_batch(
    input: Path = typer.Option(
        ..., "--input", help="CSV with a name column (id, schema, country, dob optional)."
    ),
    output: Path = typer.Option(
        ..., "--output", help="JSON lines: one object per input row with hits."
    ),
    mode: str = typer.Option("best", "--mode"),
    db: str | None = _DB,
    max_age_days: float | None = _MAX_AGE,
) -> None:
    """Screen every row of a customer CSV; writes hits.jsonl with a progress bar."""
    import csv

    from rich.progress import Progress

    svc = _service(db, max_age_days)
    svc.check_fresh()
    _ = svc.index
    try:
        with input.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DistillguardError(f"cannot read {input}: {exc}") from None
    if rows and "name" not in rows[0]:
        raise DistillguardError(f"{input}: needs a 'name' column")
    n_hit = n_review = n_bad = 0
    with output.open("w", encoding="utf-8") as out, Progress() as bar:
        task = bar.add_task("screening", total=len(rows))
        for i, row in enumerate(rows, 1):
            rid = row.get("id") or str(i)
            rec: dict[str, Any] = {"id": rid, "name": row.get("name")}
            try:
                hits = svc.screen_name(
                    row.get("name") or "",
                    row.get("schema") or "LegalEntity",
                    row.get("country") or None,
                    row.get("dob") or None,
                    mode=_check_mode(mode),
                )
                status = svc._status_for(hits, mode)
                rec.update(status=status, hits=[h.to_dict() for h in hits[:5]])
                n_hit += status == "hit"
                n_review += status == "review"
            except DistillguardError as exc:
                if exc.__class__.__name__ == "StaleListsError":
                    raise
                rec.update(status="error", error=str(exc))
                n_bad += 1
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            bar.advance(task)
    typer.echo(f"{len(rows)} rows: {n_hit} hit, {n_review} review, {n_bad} unusable -> {output}")


@screen_app.command("pairs")
def screen_pairs(
    input: Path = typer.Option(..., "--input", help="CSV name1,name2[,schema]."),
    output: Path = typer.Option(..., "--output", help="Same rows plus score and is_match."),
    mode: str = typer.Option("best", "--mode"),
) -> None:
    """Score name pairs (no lists needed)."""
    from rich.progress import Progress

    from distillguard.screening.pairs import score_pairs_file

    with Progress() as bar:
        task = bar.add_task("scoring", total=None)
        rows, matches = score_pairs_file(
            input, output, mode=_check_mode(mode), progress=lambda n: bar.advance(task, n)
        )
    typer.echo(f"{rows} pairs scored, {matches} matches -> {output}")


@screen_app.command("subject")
def screen_subject(
    subject_id: str = typer.Argument(...),
    names: list[str] = typer.Option(..., "--name", help="Name (repeat for aliases)."),
    schema: str = typer.Option("LegalEntity", "--schema"),
    country: str | None = typer.Option(None, "--country"),
    dob: str | None = typer.Option(None, "--dob"),
    subject_type: str = typer.Option(
        "account", "--type", help="organization | account | beneficial_owner | weight_recipient"
    ),
    db: str | None = _DB,
    max_age_days: float | None = _MAX_AGE,
) -> None:
    """Screen a customer and store its verdict (clear | review | hit | stale)."""
    svc = _service(db, max_age_days)
    v = svc.screen_subject(subject_id, names, schema, country, dob, subject_type=subject_type)
    typer.echo(
        f"{subject_id}: {v.status} ({len(v.hits)} open hits, {len(v.cleared)} cleared) {v.ref}"
    )
    _print_hits(v.hits, 10)


@screen_app.command("clear")
def screen_clear(
    subject_id: str = typer.Argument(...),
    source: str = typer.Argument(...),
    entry_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--by", help="Reviewer identity."),
    reason: str = typer.Option(..., "--reason", help="Why this is a false positive."),
    db: str | None = _DB,
) -> None:
    """Clear a false-positive hit (stays cleared until the list entry changes)."""
    svc = _service(db)
    change = svc.clear_hit(subject_id, source, entry_id, by=by, reason=reason)
    typer.echo(
        f"cleared {source}/{entry_id} for {subject_id}: now {svc.status_of(subject_id)}"
        + (f" (was {change.old})" if change else "")
    )


def register(app: typer.Typer) -> None:
    app.add_typer(lists_app, name="lists")
    app.add_typer(screen_app, name="screen")
