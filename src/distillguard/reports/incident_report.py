"""Incident reports with the content each law asks for (SB 53, RAISE, EU Code of Practice).

Why per regime: the same incident is reported to Cal OES within 15 days, to New York within
72 hours and to the AI Office within 5 days, each asking for different content
(`schemas.INCIDENT_FIELDS`). The facts come from the incident's detail (set with
`reports incident set`); each field not yet known is declared missing, never left out,
so a 24-hour initial report can go out on time and say what will follow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.reports.clocks import incident_plan
from distillguard.reports.document import new_document, or_missing
from distillguard.reports.facts import provider
from distillguard.reports.schemas import incident_fields
from distillguard.reports.store import ReportsStore
from distillguard.store import Database


def build_incident_report(
    db: Database, engine: Any, incident_id: str, regime: str, at: datetime
) -> dict[str, Any]:
    """The report of one incident for one regime whose clock it started."""
    store = ReportsStore(db)
    inc = store.incident(incident_id)
    p = incident_plan(engine.reference, store, {**inc, "status": "open"})
    clocks = [d for d in p.deadlines if d.regime == regime]
    if not clocks:
        started = sorted({d.regime for d in p.deadlines}) or ["none"]
        raise DistillguardError(
            f"incident {incident_id} started no {regime} clock (it started: {', '.join(started)})"
        )
    detail = inc["detail"]
    content = {
        f: or_missing(
            _text(detail.get(f)),
            f"{what}: not yet known (reports incident set {incident_id} {f}=...)",
        )
        for f, what in incident_fields(regime).items()
    }
    prof = store.profile()
    sections = {
        "incident": {
            "id": inc["id"],
            "kind": inc["kind"],
            "title": inc["title"],
            "discovered_at": inc["discovered_at"],
            "imminent_risk": inc["imminent"],
            "source": inc["source"],
            "reference": or_missing(inc.get("reference"), "no external reference"),
            "status": inc["status"],
        },
        "regime": {
            "regime": regime,
            "clocks": [
                {
                    "event": d.event,
                    "due": d.to_dict(at)["due"],
                    "status": d.status(at),
                    "citation": d.citation,
                    "verification": d.verification,
                }
                for d in clocks
            ],
        },
        "reporter": provider(prof),
        "content": content,
    }
    return new_document(
        "incident_report",
        f"{regime} incident report: {inc['title']}",
        at=at,
        pack_hash=engine.pack_hash,
        subject=f"{incident_id}/{regime}",
        sections=sections,
    )


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)
