"""BIS quarterly notice under proposed 15 CFR 702.7 (89 FR 73612; proposed only).

Content: training runs above the pack's `bis_702_7_training_ops` done (weights compute
ledger) or planned within 6 months; computing clusters above both cluster thresholds
(interconnect Gbit/s and peak non-sparse operations/s); ownership and custody of the
covered models' weights with their protections; red-team results on dual-use capabilities
(CBRN, offensive cyber) with mitigations; weight incidents of the quarter.

"No change": the material content (everything but the notice header) is hashed; when the
hash equals the one of the last *filed* notice, a short no-change notice is built instead.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from distillguard.reports.document import missing, new_document, or_missing
from distillguard.reports.facts import dual_use_results, entity, registry, threshold
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import from_iso, iso
from distillguard.rules.reference import Reference
from distillguard.store import Database

KIND = "bis_702_7_quarterly_notice"
PLANNING_WINDOW = timedelta(days=183)  # "planned within the next six months"


OPS, GBPS, PEAK = (
    "bis_702_7_training_ops",
    "bis_702_7_cluster_network_gbps",
    "bis_702_7_cluster_peak_ops_per_s",
)


def quarter_due(ref: Reference, at: datetime) -> datetime:
    """The next quarterly notice date after `at`, from the pack's calendar clock."""
    clock = ref.clock("bis_702_7", "quarterly_notice")
    if clock is None:
        from distillguard.errors import DistillguardError

        raise DistillguardError("the rule pack has no bis_702_7.quarterly_notice clock")
    return clock.due(at)


def _material(db: Database, ref: Reference, at: datetime) -> dict[str, Any]:
    store = ReportsStore(db)
    reg = registry(db)
    thr_ops = threshold(ref, OPS, at)
    thr_gbps = threshold(ref, GBPS, at)
    thr_peak = threshold(ref, PEAK, at)
    from distillguard.reports.facts import meets, training_compute

    completed: list[dict[str, Any]] = []
    covered_models: list[tuple[str, str]] = []
    for v in reg.versions():
        tc = training_compute(db, ref, f"{v['name']}@{v['version']}")
        if tc["total"] is None or not meets(ref, OPS, tc["total"], at):
            continue
        covered_models.append((str(v["name"]), str(v["version"])))
        completed.append(
            {
                "model": v["name"],
                "version": v["version"],
                "total_ops": tc["total"],
                "estimated": tc["estimated"],
                "phases": tc["phases"],
            }
        )
    horizon = at + PLANNING_WINDOW
    planned = [
        {
            "model": p["model"],
            "planned_start": iso(from_iso(p["planned_start"])),
            "expected_ops": float(p["expected_ops"]),
            "cluster": or_missing(p.get("cluster"), "cluster not yet chosen"),
        }
        for p in store.planned_runs()
        if meets(ref, OPS, float(p["expected_ops"]), at) and from_iso(p["planned_start"]) <= horizon
    ]
    clusters = store.clusters()
    qual = [
        c
        for c in clusters
        if meets(ref, GBPS, float(c["interconnect_gbps"]), at)
        and meets(ref, PEAK, float(c["peak_ops_per_s"]), at)
    ]
    prof = store.profile()
    holdings = []
    for name, version in covered_models:
        vref = reg.resolve(f"{name}@{version}")
        cust = [
            {
                "location": c["location"],
                "storage": c["storage"],
                "encrypted": bool(c["encrypted"]),
                "key_holder": or_missing(c.get("key_holder"), "key holder not recorded"),
            }
            for c in reg.custody(vref)
        ]
        owner = reg.version_row(vref).get("developer") or prof.get("legal_name")
        holdings.append(
            {
                "model": name,
                "version": version,
                "owner": or_missing(owner, "no developer in the registry or legal name in profile"),
                "custody": or_missing(cust, "no active custody record in the weights registry"),
            }
        )
    red_team: list[Any] = []
    for name in dict.fromkeys(n for n, _ in covered_models):
        red_team.extend(dual_use_results(store, name))
    incidents = [
        {
            "id": i["id"],
            "kind": i["kind"],
            "discovered_at": i["discovered_at"],
            "status": i["status"],
        }
        for i in store.incidents()
        if i["kind"] == "weight_exfiltration"
        and from_iso(i["discovered_at"]) > at - timedelta(days=92)
    ]
    why = "not in the organisation profile (reports inputs profile set)"
    return {
        "reporting_entity": entity(prof),
        "thresholds": {
            "training_ops": thr_ops,
            "cluster_network_gbps": thr_gbps,
            "cluster_peak_ops_per_s": thr_peak,
            "citation": "89 FR 73612, proposed 15 CFR 702.7",
            "status": "proposed",
        },
        "training_runs": {"completed": completed, "planned": planned},
        "computing_clusters": {
            "qualifying": [
                {
                    "name": c["name"],
                    "location": c["location"],
                    "country": or_missing(c.get("country"), "country not recorded"),
                    "accelerator": c["accelerator"],
                    "accelerator_count": int(c["accelerator_count"]),
                    "interconnect_gbps": float(c["interconnect_gbps"]),
                    "peak_ops_per_s": float(c["peak_ops_per_s"]),
                }
                for c in qual
            ],
            "not_qualifying": len(clusters) - len(qual),
        },
        "model_weights": {
            "holdings": holdings,
            "physical_security": or_missing(prof.get("security_physical"), why),
            "cybersecurity": or_missing(prof.get("security_cyber"), why),
        },
        "red_team": red_team,
        "weight_incidents": incidents,
    }


def _digest(material: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def build_bis_notice(
    db: Database, engine: Any, at: datetime, *, pack_hash: str | None = None
) -> dict[str, Any]:
    """The next quarterly notice not yet filed after `at` (full, or no-change vs the last
    filed one)."""
    ref: Reference = engine.reference
    filed = ReportsStore(db).reports(KIND, filed_only=True)
    due = quarter_due(ref, at)
    covered = {r["subject"] for r in filed}
    while iso(due) in covered:  # that quarter's notice is already filed: the next one
        due = quarter_due(ref, due)
    material = _material(db, ref, at)
    digest = _digest(material)
    last = filed[-1] if filed else None
    last_digest = (
        last["document"].get("sections", {}).get("notice", {}).get("material_sha256")
        if last
        else None
    )
    title = f"BIS 702.7 quarterly notice due {due.date().isoformat()}"
    ph = pack_hash or engine.pack_hash
    if last is not None and last_digest == digest:
        sections: dict[str, Any] = {
            "notice": {
                "type": "no_change",
                "quarter_due": iso(due),
                "previous_notice": last["id"],
                "material_sha256": digest,
            },
            "reporting_entity": material["reporting_entity"],
            "statement": (
                f"No change to the information reported in notice {last['id']} "
                f"(filed {last['filed_at']})."
            ),
        }
        return new_document(
            KIND, title + " (no change)", at=at, pack_hash=ph, subject=iso(due), sections=sections
        )
    notice = {
        "type": "full",
        "quarter_due": iso(due),
        "previous_notice": last["id"] if last else None,
        "material_sha256": digest,
    }
    if not material["training_runs"]["completed"] and not material["training_runs"]["planned"]:
        notice["note"] = "no training run above the threshold done or planned"
    return new_document(
        KIND, title, at=at, pack_hash=ph, subject=iso(due), sections={"notice": notice, **material}
    )


__all__ = ["KIND", "build_bis_notice", "missing", "quarter_due"]
