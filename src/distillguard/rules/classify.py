"""Per-regime classification of a model from its facts, using the pack's thresholds.

The weights registry asks "is this model 4E091? EU systemic-risk? SB 53 / RAISE frontier?
BIS 702.7 reportable?" This is the one implementation of that answer. Thresholds, their
dates and how each law compares with them ("10^26 or more" is `compare: gte`, "more than
10^26" is `gt`) are pack data, so a threshold change is a pack change, not a code change.

Fail closed: missing training compute counts as covered (scope "unknown"); missing
developer revenue leaves large-developer status unknown (`large_developer` None) but
`treated_as_large_developer` True. A regime whose threshold is not in force yet is shown
against the threshold to come (`in_force` False) and is not covered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from distillguard.rules.engine import RuleEngine
from distillguard.rules.instants import AtLike, to_epoch
from distillguard.rules.reference import NOT_MET, Reference, Threshold
from distillguard.rules.validate import fmt_epoch

SYNTHETIC_FLAG = "us_4e091_count_synthetic_data_compute"
DISTILLED_FLAG = "raise_covers_distilled_models"


@dataclass(frozen=True, slots=True)
class RegimeSpec:
    """One regime: which pack thresholds decide it and which incident clocks it owns."""

    regime: str
    title: str
    threshold: str
    revenue_threshold: str | None
    status: str  # status of the law when in force: "in_force" | "proposed"
    clock_regime: str | None  # the `incident_clocks` regime its reports belong to
    published_exclusion: bool = False  # EAR 734.7(a): published weights are not subject


REGIMES: tuple[RegimeSpec, ...] = (
    RegimeSpec("us_4e091", "US ECCN 4E091 (model weights)", "us_4e091_training_flop", None,
               "in_force", None, published_exclusion=True),
    RegimeSpec("eu_systemic_risk", "EU AI Act: general-purpose model with systemic risk "
               "(presumption)", "eu_systemic_risk_flop", None, "in_force", "eu_cop"),
    RegimeSpec("sb53_frontier", "California SB 53 frontier model", "sb53_frontier_flop",
               "sb53_large_developer_revenue_usd", "in_force", "sb53"),
    RegimeSpec("raise_frontier", "New York RAISE Act frontier model", "raise_frontier_flop",
               "raise_large_developer_revenue_usd", "in_force", "raise"),
    RegimeSpec("bis_702_7_reporting", "BIS 702.7 reportable training run (proposed)",
               "bis_702_7_training_ops", None, "proposed", "bis_702_7"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RegimeResult:
    regime: str
    covered: bool  # in force and not shown out of scope (unknown compute counts: fail closed)
    reason: str
    threshold: float | None
    citation: str
    verification: str
    status: str  # "in_force" | "proposed" | "not_in_force"
    title: str = ""
    scope: str = "unknown"  # "in_scope" | "below_threshold" | "excluded" | "unknown"
    compare: str = "gte"
    in_force: bool = False
    effective_from: str | None = None
    large_developer: bool | None = None  # None: no revenue threshold, or revenue unknown
    treated_as_large_developer: bool = False  # fail closed: unknown revenue counts as large
    clock_regime: str | None = None
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "regime": self.regime,
            "title": self.title,
            "covered": self.covered,
            "scope": self.scope,
            "reason": self.reason,
            "threshold": self.threshold,
            "compare": self.compare,
            "in_force": self.in_force,
            "effective_from": self.effective_from,
            "large_developer": self.large_developer,
            "treated_as_large_developer": self.treated_as_large_developer,
            "citation": self.citation,
            "verification": self.verification,
            "status": self.status,
        }


def _g(x: float) -> str:
    return f"{x:.3g}"


def _vs(x: float, thr: float) -> tuple[str, str]:
    """Both numbers, with full precision when 3 digits would make them look equal."""
    a, b = _g(x), _g(thr)
    return (repr(x), repr(thr)) if a == b and x != thr else (a, b)


def exact_sum(values: Iterable[float]) -> float:
    """Sum compute figures as the decimals they were written as (8.2e25 + 1.1e25 + 7e24 is
    exactly 1e26, where float addition gives 9.999999999999999e25 and would miss a
    10^26-or-more threshold by one rounding step)."""
    return float(sum((Decimal(repr(float(v))) for v in values), Decimal(0)))


def _flag(ref: Reference, name: str) -> tuple[bool, str]:
    """A flag's value and verification; a missing flag counts as on (conservative)."""
    f = ref.flags.get(name)
    return (
        (True, "missing: conservative default on") if f is None else (f.value, f.meta.verification)
    )


def training_compute(ref: Reference, facts: dict[str, Any]) -> tuple[float | None, list[str]]:
    """Training compute that counts (synthetic-data compute per the [U] pack flag), with notes."""
    flop = facts.get("training_flop")
    synth = float(facts.get("synthetic_data_flop") or 0.0)
    if not synth:
        return (None if flop is None else float(flop)), []
    count, ver = _flag(ref, SYNTHETIC_FLAG)
    note = (
        f"synthetic-data compute {_g(synth)} {'counted' if count else 'not counted'} "
        f"(pack flag {SYNTHETIC_FLAG}={count}, verification {ver})"
    )
    if not count:
        return (None if flop is None else float(flop)), [note]
    return exact_sum([float(flop or 0.0), synth]), [note]


def _revenue(
    ref: Reference, name: str, revenue: Any, t: float
) -> tuple[bool | None, bool, str | None]:
    """(large developer?, treated as large?, reason) under revenue threshold `name`."""
    thr, _ = ref.threshold_entry(name, t)
    if thr is None:
        return None, True, f"the pack has no threshold {name}: treated as a large developer"
    if revenue is None:
        return (
            None,
            True,
            (
                "developer revenue unknown: large-developer status unknown, "
                "treated as a large developer (fail closed)"
            ),
        )
    large = thr.met(float(revenue))
    op = thr.symbol if large else NOT_MET[thr.compare]
    what = "large developer" if large else "not a large developer"
    return large, large, f"developer revenue ${_g(float(revenue))} {op} ${_g(thr.value)}: {what}"


def _one(
    ref: Reference, spec: RegimeSpec, flop: float | None, notes: list[str],
    facts: dict[str, Any], t: float,
) -> RegimeResult:  # fmt: skip
    thr: Threshold | None
    thr, in_force = ref.threshold_entry(spec.threshold, t)
    reasons = list(notes)
    if thr is None:
        reasons.append(f"the pack has no threshold {spec.threshold}")
        return RegimeResult(
            spec.regime, False, "; ".join(reasons), None, "", "U", "not_in_force",
            spec.title, clock_regime=spec.clock_regime, reasons=tuple(reasons),
        )  # fmt: skip
    if flop is None:
        scope = "unknown"
        reasons.append("training compute unknown: treated as covered (fail closed)")
    else:
        met = thr.met(flop)
        scope = "in_scope" if met else "below_threshold"
        op = thr.symbol if met else NOT_MET[thr.compare]
        a, b = _vs(flop, thr.value)
        reasons.append(f"training compute {a} {op} threshold {b} ({thr.compare})")
    if spec.published_exclusion and facts.get("published"):
        scope = "excluded"
        reasons.append("published weights are not subject to the EAR (734.7(a))")
    if spec.regime == "raise_frontier" and scope == "below_threshold":
        on, ver = _flag(ref, DISTILLED_FLAG)
        if on and facts.get("distilled_from_frontier"):
            scope = "in_scope"
            reasons.append(f"distilled from a frontier model (coverage [{ver}], flag on)")
    large: bool | None = None
    treated = False
    if spec.revenue_threshold is not None:
        large, treated, why = _revenue(
            ref, spec.revenue_threshold, facts.get("developer_revenue_usd"), t
        )
        if why:
            reasons.append(why)
    eff = fmt_epoch(thr.meta.effective_from)
    if not in_force:
        if thr.meta.effective_from and thr.meta.effective_from > t:
            reasons.append(f"not in force yet: applies from {(eff or '')[:10]}")
        else:
            reasons.append("threshold no longer in force in this pack (shown for reference)")
    covered = in_force and scope in ("in_scope", "unknown")
    return RegimeResult(
        spec.regime, covered, "; ".join(reasons), thr.value, thr.meta.citation,
        thr.meta.verification, spec.status if in_force else "not_in_force", spec.title,
        scope, thr.compare, in_force, eff, large, treated, spec.clock_regime, tuple(reasons),
    )  # fmt: skip


def classify_model(
    engine: RuleEngine | Reference, facts: dict[str, Any], at: AtLike = None
) -> dict[str, RegimeResult]:
    """Classify a model. facts: training_flop, published, synthetic_data_flop,
    developer_revenue_usd, distilled_from_frontier (all optional)."""
    ref = engine.reference if isinstance(engine, RuleEngine) else engine
    t = to_epoch(at)
    flop, notes = training_compute(ref, facts)
    return {spec.regime: _one(ref, spec, flop, notes, facts, t) for spec in REGIMES}
