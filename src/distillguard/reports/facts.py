"""Facts the builders share, read from the other parts' records.

Why one module: the organisation block, a model's training compute (from the weights
compute ledger), its evaluations and custody appear in several reports and must read the
same everywhere; each helper turns an absent fact into the missing marker here, once.
"""

from __future__ import annotations

from typing import Any

from distillguard.errors import DistillguardError
from distillguard.reports.document import missing, or_missing
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import from_iso, iso
from distillguard.rules.classify import exact_sum
from distillguard.rules.reference import Reference
from distillguard.store import Database

DUAL_USE_AREAS = ("cbrn", "offensive_cyber")


def contacts(prof: dict[str, Any]) -> Any:
    return or_missing(prof.get("contacts"), "no contacts in the organisation profile")


def entity(prof: dict[str, Any]) -> dict[str, Any]:
    """The reporting entity block (BIS) from the organisation profile."""
    why = "not in the organisation profile (reports inputs profile set)"
    return {
        "name": or_missing(prof.get("name"), why),
        "legal_name": or_missing(prof.get("legal_name"), why),
        "country": or_missing(prof.get("country"), why),
        "us_person": prof["us_person"] if isinstance(prof.get("us_person"), bool) else missing(why),
        "contacts": contacts(prof),
    }


def provider(prof: dict[str, Any]) -> dict[str, Any]:
    """The provider/developer block (name and contacts) of the per-model reports."""
    return {
        "name": or_missing(prof.get("legal_name") or prof.get("name"), "no organisation name"),
        "contacts": contacts(prof),
    }


def evaluation(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": row["model"],
        "version": or_missing(row.get("version"), "evaluation not tied to a version"),
        "area": row["area"],
        "method": row["method"],
        "result": row["result"],
        "mitigations": or_missing(row.get("mitigations"), "no mitigations recorded"),
        "evaluator": or_missing(row.get("evaluator"), "evaluator not recorded"),
        "performed_at": iso(from_iso(row["performed_at"])),
    }


def dual_use_results(store: ReportsStore, model: str) -> list[Any]:
    """Evaluations of a model, plus a missing marker per dual-use area never tested."""
    rows = store.evaluations(model)
    out: list[Any] = [evaluation(r) for r in rows]
    tested = {r["area"] for r in rows}
    for area in DUAL_USE_AREAS:
        if area not in tested:
            out.append(missing(f"no {area} red-team result recorded for {model}"))
    return out


def registry(db: Database) -> Any:
    from distillguard.weights.registry import Registry

    return Registry(db)


def training_compute(db: Database, ref: Reference, spec: str) -> dict[str, Any]:
    """Total training operations of `model@version` from the weights compute ledger.

    Synthetic-data compute counts when the pack's flag says so (as in classification).
    """
    reg = registry(db)
    vref = reg.resolve(spec)
    rows = reg.compute(vref)
    flag = ref.flags.get("us_4e091_count_synthetic_data_compute")
    count_synth = bool(flag and flag.value)
    total = exact_sum(
        float(r["flop"]) for r in rows if r["phase"] != "synthetic_data" or count_synth
    )
    return {
        "ref": vref,
        "row": reg.version_row(vref),
        "total": total if rows else None,
        "estimated": any(bool(r["estimated"]) for r in rows),
        "phases": [
            {
                "phase": r["phase"],
                "ops": float(r["flop"]),
                "estimated": bool(r["estimated"]),
                "method": r["method"],
                "source": r["source"],
                "recorded_at": r["recorded_at"],
            }
            for r in rows
        ],
    }


def threshold(ref: Reference, name: str, at: Any) -> float:
    try:
        return ref.threshold(name, at)
    except KeyError:
        raise DistillguardError(f"the rule pack has no threshold {name} in force") from None


def meets(ref: Reference, name: str, x: float, at: Any) -> bool:
    """Whether `x` meets threshold `name` at `at` with the law's comparison (its `compare`)."""
    try:
        return ref.threshold_met(name, x, at)
    except KeyError:
        raise DistillguardError(f"the rule pack has no threshold {name} in force") from None
