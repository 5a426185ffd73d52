"""One call per report: build, validate against its schema, sign, record in the ledger.

Why one pipeline: a report that fails its schema is never signed or written (fail closed),
and every report that leaves the system has a signature and a ledger entry. The demo and
the CLI call these functions; each returns the signed envelope (see `signing`), which
`render.write` turns into JSON, HTML and PDF.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from distillguard.events import RequestEvent
from distillguard.reports.schemas import validate
from distillguard.reports.signing import sign_and_record
from distillguard.reports.store import ReportsStore
from distillguard.store import Database


def publish(
    db: Database, ledger: Any, doc: dict[str, Any], key: Ed25519PrivateKey | None = None
) -> dict[str, Any]:
    """Validate `doc`, sign it and record it in the ledger; return the signed envelope."""
    validate(doc)
    return sign_and_record(doc, store=ReportsStore(db), ledger=ledger, key=key)


def _build_and_publish(
    db: Database,
    engine: Any,
    ledger: Any,
    build: Callable[..., dict[str, Any]],
    *args: Any,
    at: datetime | None,
    key: Ed25519PrivateKey | None,
) -> dict[str, Any]:
    """`build(db, engine, *args, at)` (at: default now), then `publish` the document."""
    return publish(db, ledger, build(db, engine, *args, at or datetime.now(UTC)), key)


def quarterly_notice(
    db: Database,
    engine: Any,
    ledger: Any,
    at: datetime | None = None,
    key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """The BIS 702.7 quarterly notice due next after `at` (default now), signed."""
    from distillguard.reports.bis import build_bis_notice

    return _build_and_publish(db, engine, ledger, build_bis_notice, at=at, key=key)


def internal_use_summary(
    db: Database,
    engine: Any,
    ledger: Any,
    at: datetime | None = None,
    key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """The SB 53 three-monthly internal-use risk summary due next after `at`, signed."""
    from distillguard.reports.sb53_summary import build_sb53_internal_use_summary

    return _build_and_publish(db, engine, ledger, build_sb53_internal_use_summary, at=at, key=key)


def mark_filed(db: Database, engine: Any, report_id: str, at: datetime | None = None) -> list[str]:
    """Record that a report was filed. A periodic report also meets the same-date clock of
    every open incident that was waiting for it (e.g. a weight exfiltration's BIS notice).
    Returns the incidents whose clock it met."""
    from distillguard.errors import DistillguardError
    from distillguard.reports.clocks import PERIODIC_KINDS, incident_plan
    from distillguard.reports.timeutil import iso

    store = ReportsStore(db)
    rows = [r for r in store.reports() if r["id"] == report_id]
    if not rows:
        raise DistillguardError(f"no report {report_id!r}")
    if rows[0].get("filed_at"):  # a filing record is not rewritten after the fact
        raise DistillguardError(
            f"report {report_id} was already marked filed at {rows[0]['filed_at']}"
        )
    when = at or datetime.now(UTC)
    store.mark_filed(report_id, when)
    clock = PERIODIC_KINDS.get(rows[0]["kind"])
    met: list[str] = []
    if clock is None:
        return met
    for inc in store.incidents(status="open"):
        for d in incident_plan(engine.reference, store, inc).deadlines:
            if (d.regime, d.event) == clock and iso(d.due) == rows[0]["subject"]:
                store.file(inc["id"], d.regime, d.event, at=when, report_id=report_id)
                met.append(inc["id"])
    return met


def model_report(
    db: Database,
    engine: Any,
    ledger: Any,
    kind: str,
    spec: str,
    at: datetime | None = None,
    key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """sb53 | eu-annex-xi | eu-notice for `model[@version]`, signed."""
    from distillguard.errors import DistillguardError
    from distillguard.reports import model_reports as mr

    builders = {
        "sb53": mr.build_sb53_transparency,
        "eu-annex-xi": mr.build_eu_annex_xi,
        "eu-notice": mr.build_eu_notice,
    }
    if kind not in builders:
        raise DistillguardError(f"unknown model report {kind!r} (use {', '.join(builders)})")
    return _build_and_publish(db, engine, ledger, builders[kind], spec, at=at, key=key)


def incident_report(
    db: Database,
    engine: Any,
    ledger: Any,
    incident_id: str,
    regime: str,
    at: datetime | None = None,
    key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """The report of one incident for one regime, signed."""
    from distillguard.reports.incident_report import build_incident_report

    return _build_and_publish(
        db, engine, ledger, build_incident_report, incident_id, regime, at=at, key=key
    )


def evidence_package(
    db: Database,
    ledger: Any,
    report: dict[str, Any],
    campaign_id: str,
    events: Iterable[RequestEvent],
    *,
    engine: Any = None,
    at: datetime | None = None,
    include_prompts: bool = False,
    max_proofs: int = 50,
    key: Ed25519PrivateKey | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(signed evidence envelope, STIX 2.1 bundle) for one campaign of a detector report.

    `events`: the RequestEvents the detector saw (e.g. `distillguard.events.read_events`).
    The STIX bundle is validated with stix2 before anything is signed.
    """
    from distillguard.reports.evidence import build_evidence
    from distillguard.reports.stix import validate_bundle

    doc, bundle = build_evidence(
        db,
        ledger,
        report,
        campaign_id,
        events,
        at=at or datetime.now(UTC),
        pack_hash=engine.pack_hash if engine is not None else "none (no rule pack given)",
        include_prompts=include_prompts,
        max_proofs=max_proofs,
    )
    validate_bundle(bundle)
    return publish(db, ledger, doc, key), bundle
