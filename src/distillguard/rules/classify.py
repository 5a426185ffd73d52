"""Per-regime classification of a model from its facts, using the pack's thresholds.

The weights registry asks "is this model 4E091? EU systemic-risk? SB 53 / RAISE frontier?
BIS 702.7 reportable?" The answers come from the pack's dated thresholds and flags, so a
threshold change is a pack change, not a code change. Missing training compute counts as
covered (fail closed) and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from distillguard.rules.engine import RuleEngine
from distillguard.rules.instants import AtLike, to_epoch
from distillguard.rules.reference import Reference


@dataclass(frozen=True, slots=True)
class RegimeResult:
    regime: str
    covered: bool
    reason: str
    threshold: float | None
    citation: str
    verification: str
    status: str  # "in_force" | "proposed" | "not_in_force"

    def to_dict(self) -> dict[str, Any]:
        return {
            "regime": self.regime,
            "covered": self.covered,
            "reason": self.reason,
            "threshold": self.threshold,
            "citation": self.citation,
            "verification": self.verification,
            "status": self.status,
        }


# regime -> (threshold name, revenue threshold name or None, status when in force)
_REGIMES: dict[str, tuple[str, str | None, str]] = {
    "us_4e091": ("us_4e091_training_flop", None, "in_force"),
    "eu_systemic_risk": ("eu_systemic_risk_flop", None, "in_force"),
    "sb53_frontier": ("sb53_frontier_flop", "sb53_large_developer_revenue_usd", "in_force"),
    "raise_frontier": ("raise_frontier_flop", "raise_large_developer_revenue_usd", "in_force"),
    "bis_702_7_reporting": ("bis_702_7_training_ops", None, "proposed"),
}


def classify_model(
    engine: RuleEngine | Reference, facts: dict[str, Any], at: AtLike = None
) -> dict[str, RegimeResult]:
    """Classify a model. facts: training_flop, published, synthetic_data_flop,
    developer_revenue_usd, distilled_from_frontier (all optional)."""
    ref = engine.reference if isinstance(engine, RuleEngine) else engine
    t = to_epoch(at)
    flop = facts.get("training_flop")
    synth = facts.get("synthetic_data_flop") or 0.0
    if (
        flop is not None
        and ref.flags.get("us_4e091_count_synthetic_data_compute")
        and (ref.flag("us_4e091_count_synthetic_data_compute"))
    ):
        flop = float(flop) + float(synth)
    published = bool(facts.get("published"))
    revenue = facts.get("developer_revenue_usd")
    out: dict[str, RegimeResult] = {}
    for regime, (thr_name, rev_name, status) in _REGIMES.items():
        entries = ref.thresholds.get(thr_name, [])
        live = next((e for e in entries if e.meta.in_force(t)), None)
        if live is None:
            meta = entries[0].meta if entries else None
            out[regime] = RegimeResult(
                regime,
                False,
                f"threshold {thr_name} not in force at date",
                None,
                meta.citation if meta else "",
                meta.verification if meta else "U",
                "not_in_force",
            )
            continue
        thr = live.value
        if flop is None:
            covered, reason = True, "training compute unknown: treated as covered (fail closed)"
        else:
            covered = float(flop) >= thr
            reason = f"training compute {float(flop):.3g} {'>=' if covered else '<'} {thr:.3g}"
        if regime == "us_4e091" and published:
            covered, reason = False, "published weights are not subject to the EAR (734.7(a))"
        if covered and rev_name is not None:
            rev_entry = next(
                (e for e in ref.thresholds.get(rev_name, []) if e.meta.in_force(t)), None
            )
            if rev_entry is not None:
                if revenue is None:
                    reason += "; developer revenue unknown: treated as large developer"
                elif float(revenue) <= rev_entry.value:
                    reason += (
                        f"; frontier model, but developer revenue {float(revenue):.3g} "
                        f"<= {rev_entry.value:.3g} (not a large developer)"
                    )
                else:
                    reason += "; large developer"
        if regime == "raise_frontier" and not covered and facts.get("distilled_from_frontier"):
            flag = ref.flags.get("raise_covers_distilled_models")
            if flag is not None and flag.value:
                covered = True
                reason += "; distilled from a frontier model (coverage unverified [U], flag on)"
        out[regime] = RegimeResult(
            regime, covered, reason, thr, live.meta.citation, live.meta.verification, status
        )
    return out
