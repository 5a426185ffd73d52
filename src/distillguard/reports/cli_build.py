"""`distillguard reports build ...`, `reports verify`, `reports schema`, `reports file`.

Each build command writes `<kind>-<report id>.{json,html,pdf}` into `--out` (default
`./reports`), after schema validation, signing and recording in the ledger. `--format` and
`--out` are checked before anything is signed or recorded, and the files are written all
or none, so a bad option never leaves a recorded report without its files.
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


def _public_key_pem(path: Path, option: str, hint: str) -> bytes:
    """The Ed25519 public key in `path` (PEM, or a ledger note verifier key) as PEM bytes; an
    unreadable or unparsable file is bad input (exit 2), never a failed verification."""
    from distillguard.errors import DistillguardError
    from distillguard.ledger.keys import public_pem
    from distillguard.ledger.verify import load_verifier

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DistillguardError(f"{option} {path}: cannot read: {exc.strerror or exc}") from None
    if b"PRIVATE KEY-----" in data:
        raise DistillguardError(f"{option} {path}: this is a private key, pass the public key")
    try:
        return public_pem(load_verifier(data)[1])
    except (DistillguardError, ValueError):
        raise DistillguardError(f"{option} {path}: not an Ed25519 public key ({hint})") from None


def _same_ledger_key(doc: dict[str, Any], trusted_pem: bytes) -> None:
    """The ledger key an evidence package names must be the one the verifier trusts (so a
    package from another ledger fails even when it holds no proofs to check)."""
    from distillguard.errors import DistillguardError, VerificationError
    from distillguard.ledger.keys import load_public_key, public_pem

    try:
        named = str(doc["sections"]["ledger"]["public_key_pem"]).encode()
        same = public_pem(load_public_key(named)) == trusted_pem
    except (KeyError, TypeError, DistillguardError):
        raise VerificationError("evidence package holds no valid ledger public key") from None
    if not same:
        raise VerificationError(
            "evidence package names another ledger key than --ledger-key (not from that ledger)"
        )


def _prepare(out: Path, fmt: str) -> tuple[str, ...]:
    """Check --format and that --out is writable before anything is signed or recorded."""
    from distillguard.reports.render import check_writable, parse_formats

    formats = parse_formats(fmt)
    check_writable(out)
    return formats


def _emit(
    env: dict[str, Any], out: Path, formats: tuple[str, ...], extra: dict[str, bytes] | None = None
) -> list[Path]:
    from distillguard.errors import DistillguardError
    from distillguard.reports.render import write

    try:
        paths = write(env, out, formats, extra)
    except DistillguardError as exc:
        raise DistillguardError(
            f"report {env['report_id']} was signed and recorded (ledger record "
            f"{env['ledger']['index']}), but its files were not written: {exc} (no partial "
            "file is left; the signed document is kept in the database, see `reports list`)"
        ) from None
    rep = env["report"]
    typer.echo(
        f"{rep['title']}: report {env['report_id']}, ledger record "
        f"{env['ledger']['index']}, {len(rep['missing'])} missing field(s)"
    )
    for m in rep["missing"]:
        typer.echo(f"  missing {m['field']}: {m['reason']}")
    for p in paths[: len(formats)]:  # the extra files' lines are the caller's
        typer.echo(f"  wrote {p}")
    return paths


def _build_and_emit(
    report: str, args: tuple[str, ...], at: str | None, ledger: str | None, out: Path, fmt: str
) -> None:
    """`api.<report>(db, engine, ledger, *args, at)`, then write and list its files."""
    from distillguard.reports import api
    from distillguard.reports.cli import database, engine, when

    formats = _prepare(out, fmt)
    t = when(at)
    with _ledger(ledger) as led:
        _emit(getattr(api, report)(database(), engine(), led, *args, t), out, formats)


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
    public_key: Path | None = typer.Option(
        None, "--public-key", help="Trusted reports public key (PEM) to check the signature."
    ),
    ledger: str | None = typer.Option(
        None, "--ledger", help="Ledger URL holding the report's entry (default: the local one)."
    ),
    no_ledger: bool = typer.Option(False, "--no-ledger", help="Skip the ledger check."),
    ledger_key: Path | None = typer.Option(
        None,
        "--ledger-key",
        help="Trusted ledger public key (`distillguard ledger pubkey`, PEM or note format) for "
        "the inclusion proofs of distillation_evidence reports (which must name this key). "
        "Always checked to be a key; "
        "other kinds carry no proofs, so it is not used for them (a note says so).",
    ),
) -> None:
    """Check a signed report: content hash, signature and ledger entry.

    Exit 1 when the report does not verify, 2 for bad input (an unreadable report, or a key
    file that is not an Ed25519 public key)."""
    from distillguard.errors import DistillguardError, VerificationError
    from distillguard.reports.cli import load_json
    from distillguard.reports.signing import ENVELOPE_TYPE, verify_envelope

    env = load_json(str(path))
    if env.get("type") != ENVELOPE_TYPE:
        raise DistillguardError(
            f"{path}: not a signed report (expected a .json written by `reports build` or "
            "`reports evidence`)"
        )
    pem = (
        _public_key_pem(public_key, "--public-key", "expected the reports key in PEM form")
        if public_key
        else None
    )
    lk_given = (
        _public_key_pem(
            ledger_key, "--ledger-key", "expected the output of `distillguard ledger pubkey`"
        )
        if ledger_key
        else None
    )
    try:
        opened = nullcontext() if no_ledger else _ledger(ledger, readonly=True)
    except VerificationError:
        raise
    except DistillguardError as exc:  # e.g. an auditor without our database
        hint = "pass --ledger URL, or --no-ledger to check only the hash and signature"
        raise DistillguardError(f"{exc} ({hint})") from None
    with opened as led:
        digest = verify_envelope(env, public_key_pem=pem, ledger=led)
    kind = env["report"].get("kind")
    if kind != "distillation_evidence" and lk_given is not None:
        typer.echo(f"note: --ledger-key not used: a {kind} report carries no inclusion proofs")
    if kind == "distillation_evidence":
        from distillguard.reports.evidence import verify_evidence

        if lk_given is not None:
            lk = lk_given
            _same_ledger_key(env["report"], lk)
        else:
            try:
                lk = str(env["report"]["sections"]["ledger"]["public_key_pem"]).encode()
            except (KeyError, TypeError):
                raise VerificationError("evidence package holds no ledger public key") from None
            typer.echo(
                "note: proofs checked against the ledger key inside the package; pass "
                "--ledger-key with the published key to check who signed them"
            )
        try:
            n = verify_evidence(env["report"], lk)
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise VerificationError(f"malformed evidence package: missing or bad {exc}") from None
        except VerificationError:
            raise
        except DistillguardError as exc:  # e.g. a malformed checkpoint inside the package
            raise VerificationError(f"evidence proofs do not verify: {exc}") from None
        typer.echo(f"OK {n} decision inclusion proofs verify against signed checkpoints")
    typer.echo(
        f"OK {path}: sha256 {digest}, signature valid"
        + ("" if no_ledger else f", ledger record {env['ledger']['index']} matches")
    )


def schema(
    kind: str = typer.Argument(..., help="Report kind."),
    regime: str | None = typer.Option(None, "--regime", help="Incident reports."),
) -> None:
    """Print the JSON Schema of a report kind (its name, or its `reports build` name)."""
    from distillguard.errors import DistillguardError
    from distillguard.reports.cli import emit_json
    from distillguard.reports.schemas import document_schema

    kind = report_kind(kind, "KIND")
    if regime is not None and kind != "incident_report":
        raise DistillguardError(f"--regime applies to incident_report only, not {kind}")
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


# `reports build` names of the report kinds, also accepted by `reports list --kind`
BUILD_NAMES = {
    "bis": "bis_702_7_quarterly_notice",
    "sb53": "sb53_transparency_report",
    "eu-annex-xi": "eu_annex_xi",
    "eu-notice": "eu_systemic_risk_notice",
    "incident": "incident_report",
    "sb53-summary": "sb53_internal_use_summary",
    "evidence": "distillation_evidence",
}


def report_kind(name: str, what: str = "--kind") -> str:
    """A report kind from its name or its `reports build` name; exit 2 listing the kinds."""
    from distillguard.errors import DistillguardError
    from distillguard.reports.schemas import SECTIONS

    if name in SECTIONS:
        return name
    if name in BUILD_NAMES:
        return BUILD_NAMES[name]
    raise DistillguardError(
        f"{what}: unknown report kind {name!r} (one of {', '.join(SECTIONS)}; or the build "
        f"names {', '.join(BUILD_NAMES)})"
    )


def list_reports(
    kind: str | None = typer.Option(
        None, "--kind", help="Only this kind (e.g. bis_702_7_quarterly_notice, or bis)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List generated reports (id, kind, subject, sha256, ledger record, filed)."""
    from distillguard.reports.cli import database, emit_json
    from distillguard.reports.store import ReportsStore

    kind = report_kind(kind) if kind is not None else None
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

    from distillguard.errors import DistillguardError
    from distillguard.events import read_events
    from distillguard.reports.api import evidence_package
    from distillguard.reports.cli import database, engine, load_json

    if max_proofs < 0:
        raise DistillguardError("--max-proofs must be 0 or more")
    rep = load_json(report)
    formats = _prepare(out, fmt)

    def stream() -> Any:
        for p in events:
            if not p.is_file():
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
        name = f"stix-{campaign}-{env['report_id']}.json"
        stix = {name: (json.dumps(bundle, indent=2) + "\n").encode("utf-8")}
        paths = _emit(env, out, formats, stix)
    typer.echo(f"  wrote {paths[-1]} ({len(bundle['objects'])} STIX objects)")
