"""Whether a standing (calendar) obligation applies to this organisation at all.

Why: a BIS 702.7 quarterly notice is owed only by a developer with a covered training run
(done or planned within 6 months) or a qualifying cluster, and the SB 53 internal-use
summaries only by a frontier developer; listing them for everyone would bury the real
deadlines. The thresholds come from the pack; unknown compute or revenue counts as covered
(fail closed), as in classification.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from distillguard.reports.facts import registry, training_compute
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import from_iso
from distillguard.rules.reference import Reference
from distillguard.store import Database

GBPS, PEAK = "bis_702_7_cluster_network_gbps", "bis_702_7_cluster_peak_ops_per_s"
PLANNING_WINDOW = timedelta(days=183)  # BIS: "planned within the next six months"


def _thr(ref: Reference, name: str, at: datetime) -> float | None:
    try:
        return ref.threshold(name, at)
    except KeyError:
        return None


def frontier_versions(
    db: Database, ref: Reference, name: str, at: datetime
) -> list[dict[str, Any]]:
    """Registered versions whose recorded training compute meets threshold `name` at `at`
    (with its `compare`: SB 53 and BIS say "more than 10^26")."""
    if _thr(ref, name, at) is None:
        return []
    out = []
    for v in registry(db).versions():
        tc = training_compute(db, ref, f"{v['name']}@{v['version']}")
        if tc["total"] is not None and ref.threshold_met(name, tc["total"], at):
            out.append({**v, "total": tc["total"], "tc": tc})
    return out


def applies(db: Database, ref: Reference, regime: str, at: datetime) -> bool:
    """Does the calendar obligation of `regime` bind this organisation at `at`?"""
    store = ReportsStore(db)
    if regime == "bis_702_7":
        ops = _thr(ref, "bis_702_7_training_ops", at)
        gbps = _thr(ref, "bis_702_7_cluster_network_gbps", at)
        peak = _thr(ref, "bis_702_7_cluster_peak_ops_per_s", at)
        if ops is None:
            return False
        if frontier_versions(db, ref, "bis_702_7_training_ops", at):
            return True
        if any(
            ref.threshold_met("bis_702_7_training_ops", float(p["expected_ops"]), at)
            and from_iso(p["planned_start"]) <= at + PLANNING_WINDOW
            for p in store.planned_runs()
        ):
            return True
        return any(
            gbps is not None and peak is not None
            and ref.threshold_met(GBPS, float(c["interconnect_gbps"]), at)
            and ref.threshold_met(PEAK, float(c["peak_ops_per_s"]), at)
            for c in store.clusters()
        )  # fmt: skip
    if regime == "sb53":
        flop = _thr(ref, "sb53_frontier_flop", at)
        rev = _thr(ref, "sb53_large_developer_revenue_usd", at)
        if flop is None or not frontier_versions(db, ref, "sb53_frontier_flop", at):
            return False
        revenue = store.profile().get("revenue_usd")
        return (
            revenue is None
            or rev is None
            or ref.threshold_met("sb53_large_developer_revenue_usd", float(revenue), at)
        )
    return True
