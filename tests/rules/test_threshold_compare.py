"""Each threshold's comparison is pack data and follows its law's wording, at the boundary.

4E091 "10^26 or more" is met at exactly 10^26 (gte); EU AI Act Art. 51(2) "greater than
10^25", SB 53 / RAISE "more than 10^26" and revenue "in excess of $500M", BIS 702.7 "more
than 10^26" are not met at exactly the value (gt). Values one float step either side.
"""

from __future__ import annotations

import math

import pytest

from distillguard.rules import RuleEngine, classify_model, default_pack_path
from distillguard.rules.pack import load_pack_text
from distillguard.rules.packerror import PackError

BELOW, AT, ABOVE = "below", "at", "above"

# regime -> (threshold name, value, compare, date it is in force)
REGIMES = {
    "us_4e091": ("us_4e091_training_flop", 1e26, "gte", "2026-11-01"),
    "eu_systemic_risk": ("eu_systemic_risk_flop", 1e25, "gt", "2026-11-01"),
    "sb53_frontier": ("sb53_frontier_flop", 1e26, "gt", "2026-11-01"),
    "raise_frontier": ("raise_frontier_flop", 1e26, "gt", "2027-03-01"),
    "bis_702_7_reporting": ("bis_702_7_training_ops", 1e26, "gt", "2026-11-01"),
}


def step(value: float, where: str) -> float:
    return {BELOW: math.nextafter(value, 0.0), AT: value, ABOVE: math.nextafter(value, math.inf)}[
        where
    ]


def expected(compare: str, where: str) -> bool:
    return where == ABOVE or (where == AT and compare == "gte")


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    return RuleEngine.from_path(default_pack_path())


def test_default_pack_encodes_each_laws_comparison(engine: RuleEngine) -> None:
    ref = engine.reference
    got = {name: ref.threshold_compare(name) for name in ref.thresholds}
    assert got == {
        "us_4e091_training_flop": "gte",  # "10^26 or more operations"
        "eu_systemic_risk_flop": "gt",  # "greater than 10^25"
        "sb53_frontier_flop": "gt",  # "more than 10^26"
        "sb53_large_developer_revenue_usd": "gt",  # "in excess of $500M"
        "raise_frontier_flop": "gt",
        "raise_large_developer_revenue_usd": "gt",
        "bis_702_7_training_ops": "gt",  # "more than 10^26"
        "bis_702_7_cluster_network_gbps": "gt",  # "greater than 300 Gbit/s"
        "bis_702_7_cluster_peak_ops_per_s": "gt",  # "greater than 10^20 OP/s"
    }


@pytest.mark.parametrize("where", [BELOW, AT, ABOVE])
@pytest.mark.parametrize("regime", sorted(REGIMES))
def test_classify_model_at_and_around(engine: RuleEngine, regime: str, where: str) -> None:
    name, value, compare, at = REGIMES[regime]
    flop = step(value, where)
    r = classify_model(engine, {"training_flop": flop, "developer_revenue_usd": 1e9}, at=at)[regime]
    want = expected(compare, where)
    assert r.compare == compare and r.threshold == value and r.in_force
    assert r.covered is want, (regime, where, r.reason)
    assert r.scope == ("in_scope" if want else "below_threshold")
    assert engine.reference.threshold_met(name, flop, at) is want


@pytest.mark.parametrize(
    ("revenue", "large", "treated"),
    [
        (math.nextafter(5e8, 0.0), False, False),
        (5e8, False, False),  # "in excess of $500M": exactly $500M is not large
        (math.nextafter(5e8, math.inf), True, True),
        (None, None, True),  # unknown: stated unknown, treated as large (fail closed)
    ],
)
@pytest.mark.parametrize(("regime", "at"), [("sb53_frontier", "2026-11-01"),
                                             ("raise_frontier", "2027-03-01")])  # fmt: skip
def test_revenue_at_and_around(
    engine: RuleEngine, regime: str, at: str, revenue: float | None, large: bool | None,
    treated: bool,
) -> None:  # fmt: skip
    r = classify_model(engine, {"training_flop": 2e26, "developer_revenue_usd": revenue}, at=at)[
        regime
    ]
    assert r.covered  # frontier model either way: revenue decides large-developer duties
    assert (r.large_developer, r.treated_as_large_developer) == (large, treated)
    if revenue is None:
        assert "unknown" in r.reason and "fail closed" in r.reason


def test_unknown_compute_fails_closed_with_unknown_scope(engine: RuleEngine) -> None:
    r = classify_model(engine, {}, at="2026-11-01")
    assert all(r[k].covered and r[k].scope == "unknown" for k in ("us_4e091", "sb53_frontier"))
    assert not r["raise_frontier"].covered and not r["raise_frontier"].in_force


@pytest.mark.parametrize("where", [BELOW, AT, ABOVE])
def test_transfer_rule_uses_the_4e091_comparison(engine: RuleEngine, where: str) -> None:
    """The pack's `controlled` definition (`>= threshold(...)`) agrees with classify_model."""
    flop = step(1e26, where)
    ctx = {
        "model": {"name": "weights", "training_flop": flop, "published": False},
        "recipient": {"org": "org_x", "hq_country": "GB", "parent_hq_country": "GB",
                      "destination_country": "GB", "screening_status": "clear"},
        "end_use": "commercial", "purpose": "inference", "gpu_count": 8,
    }  # fmt: skip
    d = engine.decide("transfer", ctx, at="2026-11-01")
    codes = {r.reason_code for r in d.reasons}
    assert ("below_4e091_threshold" in codes) is (where == BELOW), (where, d.action, codes)


def _pack(old: str, new: str) -> str:
    text = default_pack_path().read_text()
    assert old in text
    return text.replace(old, new, 1)


def test_condition_must_use_the_thresholds_comparison() -> None:
    bad = _pack('>= threshold("us_4e091_training_flop")', '> threshold("us_4e091_training_flop")')
    with pytest.raises(
        PackError,
        match=r"compare: gte, so write 'value >= .*\(met\) or 'value < .*\(not met\), not '>'",
    ):
        load_pack_text(bad, "bad.yaml")
    # the same test written the other way round is read mirrored and accepted
    ok = _pack('model.training_flop >= threshold("us_4e091_training_flop")',
               'threshold("us_4e091_training_flop") <= model.training_flop')  # fmt: skip
    load_pack_text(ok, "ok.yaml")
    # switching the law's comparison in the data makes the old operator wrong
    flipped = _pack("compare: gte  #", "compare: gt  #")
    with pytest.raises(PackError, match="compare: gt"):
        load_pack_text(flipped, "flipped.yaml")


def test_compare_is_validated() -> None:
    with pytest.raises(PackError, match=r"compare must be one of gte, gt.*'ge'"):
        load_pack_text(_pack("compare: gte  #", "compare: ge  #"), "bad.yaml")
    two = _pack(
        "    us_4e091_training_flop:\n      value: 1.0e+26\n      unit: operations\n"
        "      compare: gte",
        "    us_4e091_training_flop:\n    - value: 1.0e+26\n      unit: operations\n"
        "      compare: gte\n      citation: old\n      verification: V\n"
        "      effective_until: 2025-01-13\n"
        "    - value: 1.0e+26\n      unit: operations\n      compare: gt",
    )
    with pytest.raises(PackError, match="disagree on compare"):
        load_pack_text(two, "two.yaml")
