"""Per-model reports: California SB 53 transparency report, EU Annex XI model documentation
and the EU two-week systemic-risk notice.

Why together: all three describe one model version from the same records (the weights
registry's compute ledger, the evaluations, the model documentation facts and the
organisation profile); only the fields each law asks for differ. Coverage (frontier model,
large developer, systemic-risk presumption) is `distillguard.rules.classify_model`'s answer,
the one implementation shared with the weights registry, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from distillguard.reports.document import missing, new_document, or_missing
from distillguard.reports.facts import evaluation, provider, threshold, training_compute
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import from_iso, iso
from distillguard.rules import RegimeResult, classify_model
from distillguard.rules.classify import exact_sum
from distillguard.rules.reference import Reference
from distillguard.store import Database

RETENTION_YEARS = 10  # EU AI Act Art. 53 / Annex XI: keep documentation 10 years
NO_FACT = "not recorded (reports inputs model-fact set {model} {key} ...)"


def _coverage(
    ref: Reference, total: float | None, revenue: Any, at: datetime
) -> dict[str, RegimeResult]:
    """Per-regime classification of a model with `total` training FLOP (None: unknown)."""
    facts: dict[str, Any] = {"training_flop": total}
    if revenue is not None:
        facts["developer_revenue_usd"] = float(revenue)
    return classify_model(ref, facts, at)


def _in_scope(r: RegimeResult) -> bool:
    """At or over the threshold, or compute unknown (fail closed)."""
    return r.scope in ("in_scope", "unknown")


def _fact(facts: dict[str, str], model: str, key: str) -> Any:
    return or_missing(facts.get(key), NO_FACT.format(model=model, key=key))


def _model_inputs(
    db: Database, engine: Any, spec: str
) -> tuple[Reference, ReportsStore, dict[str, Any]]:
    """(reference, reports store, `training_compute` of `spec`) for a per-model report."""
    ref: Reference = engine.reference
    return ref, ReportsStore(db), training_compute(db, ref, spec)


def _model_document(
    kind: str, title: str, vref: Any, engine: Any, at: datetime, sections: dict[str, Any]
) -> dict[str, Any]:
    """A per-model report document, titled and keyed by `model@version`."""
    title = f"{title}: {vref}"
    return new_document(
        kind, title, at=at, pack_hash=engine.pack_hash, subject=str(vref), sections=sections
    )


def build_sb53_transparency(db: Database, engine: Any, spec: str, at: datetime) -> dict[str, Any]:
    """SB 53 transparency report for a new or substantially modified frontier model."""
    ref, store, tc = _model_inputs(db, engine, spec)
    vref = tc["ref"]
    facts = store.model_facts(vref.model)
    prof = store.profile()
    thr = threshold(ref, "sb53_frontier_flop", at)
    rev_thr = threshold(ref, "sb53_large_developer_revenue_usd", at)
    revenue = prof.get("revenue_usd")
    total = tc["total"]
    sb53 = _coverage(ref, total, revenue, at)["sb53_frontier"]
    large: Any = (
        missing("prior-year revenue not in the organisation profile")
        if sb53.large_developer is None
        else sb53.large_developer
    )
    evals = [evaluation(r) for r in store.evaluations(vref.model)]
    third = sorted({e["evaluator"] for e in evals if isinstance(e["evaluator"], str)})
    fws = store.frameworks()
    fw: Any = missing("no frontier AI framework recorded (reports inputs framework add)")
    if fws:
        f = fws[-1]
        fw = {
            "version": f["version"],
            "title": f["title"],
            "published_at": iso(from_iso(f["published_at"])),
            "review_due": iso(from_iso(f["review_due"])),
            "url": or_missing(f.get("url"), "framework URL not recorded"),
        }
    sections = {
        "developer": {
            **provider(prof),
            "website": or_missing(prof.get("website"), "no website in the organisation profile"),
        },
        "model": {
            "name": vref.model,
            "version": vref.version,
            **{
                k: _fact(facts, vref.model, k)
                for k in (
                    "release_date",
                    "languages",
                    "modalities_output",
                    "intended_uses",
                    "restrictions",
                )
            },
        },
        "coverage": {
            "frontier_model": _in_scope(sb53),
            "training_ops": or_missing(total, "no training compute in the weights registry"),
            "threshold": thr,
            "large_frontier_developer": large,
            "revenue_usd": or_missing(revenue, "prior-year revenue not recorded"),
            "revenue_threshold": rev_thr,
            "citation": "California SB 53 (2025)",
        },
        "catastrophic_risk_assessments": or_missing(
            evals, "no catastrophic-risk assessment recorded for this model"
        ),
        "third_party_evaluators": or_missing(third, "no evaluator recorded on any assessment"),
        "framework": fw,
    }
    return _model_document(
        "sb53_transparency_report", "SB 53 transparency report", vref, engine, at, sections
    )


def build_eu_annex_xi(db: Database, engine: Any, spec: str, at: datetime) -> dict[str, Any]:
    """EU AI Act Annex XI technical documentation (Model Documentation Form fields)."""
    ref, store, tc = _model_inputs(db, engine, spec)
    vref, row = tc["ref"], tc["row"]
    facts = store.model_facts(vref.model)
    prof = store.profile()
    thr = threshold(ref, "eu_systemic_risk_flop", at)
    total = tc["total"]
    presumed = _in_scope(_coverage(ref, total, None, at)["eu_systemic_risk"])
    m = vref.model
    evals = [evaluation(r) for r in store.evaluations(m)]
    try:
        keep = at.replace(year=at.year + RETENTION_YEARS)
    except ValueError:  # Feb 29
        keep = at.replace(year=at.year + RETENTION_YEARS, day=28)
    sections = {
        "provider": provider(prof),
        "general": {
            "model": m,
            "version": vref.version,
            "tasks": _fact(facts, m, "intended_uses"),
            **{
                k: _fact(facts, m, k)
                for k in (
                    "integration_types",
                    "acceptable_use_policy",
                    "release_date",
                    "distribution",
                    "architecture",
                )
            },
            "parameters": or_missing(row.get("parameters"), "parameter count not in the registry"),
            **{k: _fact(facts, m, k) for k in ("modalities_input", "modalities_output", "licence")},
        },
        "training": {
            **{
                k: _fact(facts, m, k)
                for k in ("training_method", "data_provenance", "data_curation")
            },
            "training_flop": or_missing(total, "no training compute in the weights registry"),
            "training_time": _fact(facts, m, "training_time"),
            "energy_kwh": _fact(facts, m, "energy_kwh"),
        },
        "systemic_risk": {
            "presumed": presumed,
            "threshold": thr,
            "evaluations": or_missing(evals, "no evaluation or adversarial testing recorded")
            if presumed
            else evals,
        },
        "retention": {"keep_until": iso(keep), "citation": "EU AI Act Art. 53(1)(a), Annex XI"},
    }
    return _model_document(
        "eu_annex_xi", "EU Annex XI model documentation", vref, engine, at, sections
    )


def crossing_time(phases: list[dict[str, Any]], met: Callable[[float], bool]) -> datetime | None:
    """When the recorded compute first met the threshold (`met`: its law's comparison;
    entries in recording order)."""
    seen: list[float] = []
    for p in phases:
        seen.append(float(p["ops"]))
        if met(exact_sum(seen)):
            return from_iso(str(p["recorded_at"]))
    return None


def build_eu_notice(db: Database, engine: Any, spec: str, at: datetime) -> dict[str, Any]:
    """Notification to the Commission that a model meets the systemic-risk threshold."""
    from distillguard.errors import DistillguardError

    ref, store, tc = _model_inputs(db, engine, spec)
    vref = tc["ref"]
    thr = threshold(ref, "eu_systemic_risk_flop", at)
    eu = _coverage(ref, tc["total"], None, at)["eu_systemic_risk"]
    if tc["total"] is None or eu.scope != "in_scope":
        raise DistillguardError(
            f"{vref} has {tc['total'] or 0:.3g} training FLOP recorded, below the EU "
            f"threshold {thr:.3g}: no notice is due"
        )
    crossed = crossing_time(
        tc["phases"], lambda x: ref.threshold_met("eu_systemic_risk_flop", x, at)
    )
    clock = ref.clock("eu_ai_act", "systemic_risk_threshold_notification")
    delay = clock.deadline if clock is not None and clock.deadline else timedelta(days=14)
    prof = store.profile()
    sections = {
        "provider": provider(prof),
        "model": {"name": vref.model, "version": vref.version},
        "compute": {
            "training_flop": tc["total"],
            "threshold": thr,
            "crossed_at": iso(crossed) if crossed else missing("crossing time unknown"),
            "notify_by": iso(crossed + delay) if crossed else missing("crossing time unknown"),
            "citation": "EU AI Act Art. 51(2), 52(1)",
            "entries": tc["phases"],
        },
    }
    return _model_document(
        "eu_systemic_risk_notice", "EU systemic-risk notification", vref, engine, at, sections
    )
