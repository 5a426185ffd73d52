"""Incidents from the other parts: weight exfiltration (weights registry) and distillation
campaigns (detector report), opened in the reports registry so their clocks start.

Why import rather than share tables: the weights part keeps its own `wt_incidents` with the
deadlines it computed at the time; the reports registry is the one place where every
incident, whatever its source, has its clocks recomputed from the current pack and its
filings tracked. Imports are idempotent (source + reference).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.reports.clocks import check_kind
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import from_iso, parse_time
from distillguard.rules.reference import Reference
from distillguard.store import Database


def open_incident(
    db: Database,
    ref: Reference,
    kind: str,
    discovered: datetime,
    **kw: Any,
) -> str:
    """Open an incident after checking its kind is in the pack (fail closed)."""
    check_kind(ref, kind)
    return ReportsStore(db).open_incident(kind, discovered, **kw)


def import_weights_incidents(db: Database, ref: Reference) -> list[str]:
    """Open a reports incident for every weights-registry incident (once each)."""
    from distillguard.weights.registry import Registry

    out = []
    for r in Registry(db).incidents():
        detail = dict(r["detail"])
        out.append(
            open_incident(
                db,
                ref,
                str(r["kind"]),
                from_iso(str(r["discovered_at"])),
                title=f"weights incident {r['id']}",
                source="weights",
                reference=str(r["id"]),
                detail=detail,
                imminent=bool(detail.get("imminent", False)),
            )
        )
    return out


def import_threshold_crossings(db: Database, ref: Reference) -> list[str]:
    """Open a `systemic_risk_threshold_crossed` incident (EU two-week notice clock) for
    every model version whose recorded compute reached the pack's EU threshold; discovery
    is when the entry that crossed it was recorded. Idempotent."""
    from datetime import UTC
    from datetime import datetime as _dt

    from distillguard.reports.applicability import frontier_versions
    from distillguard.reports.model_reports import crossing_time

    now = _dt.now(UTC)
    try:
        thr = ref.threshold("eu_systemic_risk_flop", now)
    except KeyError:
        return []
    out = []
    for v in frontier_versions(db, ref, "eu_systemic_risk_flop", now):
        crossed = crossing_time(
            v["tc"]["phases"], lambda x: ref.threshold_met("eu_systemic_risk_flop", x, now)
        )
        if crossed is None:
            continue
        spec = f"{v['name']}@{v['version']}"
        out.append(
            open_incident(
                db,
                ref,
                "systemic_risk_threshold_crossed",
                crossed,
                title=f"{spec} reached {thr:.3g} training FLOP",
                source="weights",
                reference=f"{spec}:eu_systemic_risk",
                detail={"model": spec, "training_flop": v["total"], "threshold": thr},
            )
        )
    return out


def open_campaign_incident(
    db: Database,
    ref: Reference,
    report: dict[str, Any],
    campaign_id: str,
    *,
    discovered: datetime | None = None,
    kind: str = "distillation_campaign",
) -> str:
    """Open the incident for one campaign of a detector report.

    Discovery defaults to the earliest `first_flagged_at` among its accounts: the moment
    the streaming detector first said "distillation" (the clock starts at discovery).
    """
    camp = find_campaign(report, campaign_id)
    members = set(camp["accounts"])
    flagged = [
        a["first_flagged_at"]
        for a in report.get("accounts", [])
        if a.get("account") in members and a.get("first_flagged_at")
    ]
    if discovered is None:
        if not flagged:
            raise DistillguardError(
                f"campaign {campaign_id}: no account has first_flagged_at; give the discovery time"
            )
        discovered = min(parse_time(f) for f in flagged)
    return open_incident(
        db,
        ref,
        kind,
        discovered,
        title=f"distillation campaign {campaign_id}",
        source="detect",
        reference=campaign_id,
        detail={
            "accounts": sorted(members),
            "requests": camp.get("requests"),
            "reasons": camp.get("reasons", []),
        },
    )


def find_campaign(report: dict[str, Any], campaign_id: str) -> dict[str, Any]:
    for c in report.get("campaigns", []):
        if c.get("id") == campaign_id:
            return dict(c)
    known = ", ".join(str(c.get("id")) for c in report.get("campaigns", [])) or "none"
    raise DistillguardError(f"no campaign {campaign_id!r} in the detector report (has {known})")
