"""The default pack: every rule has at least one passing test case, facts are tagged."""

from __future__ import annotations

from datetime import date

import pytest

from distillguard.rules import RuleEngine, default_pack_path
from distillguard.rules.testing import run_pack_tests


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    return RuleEngine.from_path(default_pack_path())


def test_all_cases_pass_and_cover_every_rule(engine: RuleEngine) -> None:
    report = run_pack_tests(engine)
    assert len(report.results) >= len(engine.pack.rules)
    assert [(c.name, c.problems) for c in report.failed] == []
    assert report.uncovered == []


def test_cambodia_leaves_d5_on_2026_02_03(engine: RuleEngine) -> None:
    ref = engine.reference
    assert ref.in_group("KH", "D:5", date(2026, 2, 2))
    assert not ref.in_group("KH", "D:5", date(2026, 2, 3))
    assert ref.tier("KH", date(2026, 2, 2)) == 3
    assert ref.tier("KH", date(2026, 2, 3)) == 2
    assert ref.tier("DE", date(2026, 11, 1)) == 1
    assert ref.tier("MO", date(2026, 11, 1)) == 3
    assert ref.tier("BR", date(2026, 11, 1)) == 2
    assert ref.tier(None) is None


def test_thresholds_and_clocks(engine: RuleEngine) -> None:
    ref = engine.reference
    assert ref.threshold("us_4e091_training_flop") == 1e26
    assert ref.threshold("eu_systemic_risk_flop") == 1e25
    assert ref.threshold("bis_702_7_cluster_network_gbps") == 300
    assert ref.licence_exceptions["LPP"].params["gpu_cap_per_order"] == 1700
    with pytest.raises(KeyError):  # RAISE applies from 2027-01-01
        ref.threshold("raise_frontier_flop", date(2026, 12, 31))
    assert ref.threshold("raise_frontier_flop", date(2027, 1, 1)) == 1e26
    sb53 = {c.event: c for c in ref.clocks("sb53")}
    from datetime import UTC, datetime, timedelta

    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    assert sb53["critical_safety_incident"].due(t0) - t0 == timedelta(days=15)
    eu = {c.event: c for c in ref.clocks("eu_cop")}
    assert eu["intermediate_report"].every == timedelta(weeks=4)
    (bis,) = ref.clocks("bis_702_7")
    assert bis.due(datetime(2026, 4, 15, 1, tzinfo=UTC)) == datetime(2026, 7, 15, tzinfo=UTC)
    assert bis.due(datetime(2026, 11, 1, tzinfo=UTC)) == datetime(2027, 1, 15, tzinfo=UTC)


def test_unverified_facts_are_marked(engine: RuleEngine) -> None:
    unverified = engine.reference.unverified()
    assert "flags.us_4e091_count_synthetic_data_compute" in unverified
    assert "flags.raise_covers_distilled_models" in unverified
    assert "thresholds.us_4e091_training_flop" not in unverified


def test_suspended_rule_kept_with_history(engine: RuleEngine) -> None:
    r = engine.pack.rule("ai_diffusion.4e091_licence")
    assert r.status == "suspended"
    assert [p.status for p in r.periods] == ["in_force", "suspended"]
