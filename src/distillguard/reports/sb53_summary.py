"""SB 53 summary of internal-use catastrophic-risk assessments (every three months).

Why separate from the transparency report: it covers every frontier model used internally,
on the calendar clock `sb53.internal_use_risk_summary` of the pack, and reports the
assessments performed since the previous date of that clock. A frontier model with no
assessment in the period gets a missing marker, which is exactly what a reviewer must see.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.reports.applicability import frontier_versions
from distillguard.reports.document import new_document, or_missing
from distillguard.reports.facts import evaluation, provider
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import from_iso, iso
from distillguard.rules.reference import Reference
from distillguard.store import Database

KIND = "sb53_internal_use_summary"


def previous_date(dates: tuple[str, ...], due: datetime) -> datetime:
    """The calendar date of the clock before `due` (the start of the period it covers)."""
    cands = [
        datetime(y, int(md[:2]), int(md[3:]), tzinfo=UTC)
        for y in (due.year - 1, due.year)
        for md in dates
    ]
    return max(c for c in cands if c < due)


def build_sb53_internal_use_summary(db: Database, engine: Any, at: datetime) -> dict[str, Any]:
    """The summary due next after `at`, covering the three months before its due date."""
    ref: Reference = engine.reference
    clock = ref.clock("sb53", "internal_use_risk_summary")
    if clock is None:
        raise DistillguardError("the rule pack has no sb53.internal_use_risk_summary clock")
    due = clock.due(at)
    start = previous_date(clock.dates, due)
    store = ReportsStore(db)
    models = []
    for v in frontier_versions(db, ref, "sb53_frontier_flop", at):
        name = str(v["name"])
        evals = [
            evaluation(r)
            for r in store.evaluations(name)
            if start <= from_iso(r["performed_at"]) < due
        ]
        facts = store.model_facts(name)
        models.append(
            {
                "model": name,
                "version": str(v["version"]),
                "internal_use": or_missing(
                    facts.get("internal_use"),
                    f"internal use of {name} not described (model-fact internal_use)",
                ),
                "assessments": or_missing(
                    evals, f"no catastrophic-risk assessment of {name} in the period"
                ),
            }
        )
    sections = {
        "period": {"start": iso(start), "end": iso(due), "due": iso(due)},
        "developer": provider(store.profile()),
        "models": models,
    }
    return new_document(
        KIND,
        f"SB 53 internal-use risk summary due {due.date().isoformat()}",
        at=at,
        pack_hash=engine.pack_hash,
        subject=iso(due),
        sections=sections,
    )
