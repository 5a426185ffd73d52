"""classify_model per regime, and pack diff details."""

from __future__ import annotations

import pytest

from distillguard.rules import RuleEngine, classify_model, default_pack_path, load_pack
from distillguard.rules.diff import diff_packs
from distillguard.rules.pack import load_pack_text


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    return RuleEngine.from_path(default_pack_path())


def test_classify_thresholds_and_dates(engine: RuleEngine) -> None:
    r = classify_model(
        engine, {"training_flop": 3e25, "developer_revenue_usd": 1e9}, at="2027-02-01"
    )
    assert not r["us_4e091"].covered and r["eu_systemic_risk"].covered
    assert not r["sb53_frontier"].covered and r["bis_702_7_reporting"].status == "proposed"
    big = classify_model(
        engine, {"training_flop": 2e26, "developer_revenue_usd": 1e8}, at="2026-11-01"
    )
    assert big["us_4e091"].covered and big["sb53_frontier"].covered
    assert "not a large developer" in big["sb53_frontier"].reason
    assert big["raise_frontier"].status == "not_in_force"  # RAISE from 2027-01-01
    assert (
        classify_model(engine, {"training_flop": 2e26, "published": True}, at="2026-11-01")[
            "us_4e091"
        ].covered
        is False
    )


def test_classify_fail_closed_and_flags(engine: RuleEngine) -> None:
    r = classify_model(engine, {}, at="2026-11-01")
    assert r["us_4e091"].covered and "unknown" in r["us_4e091"].reason
    # synthetic-data compute counts under the conservative [U] flag
    r = classify_model(
        engine, {"training_flop": 8e25, "synthetic_data_flop": 3e25}, at="2026-11-01"
    )
    assert r["us_4e091"].covered
    r = classify_model(
        engine, {"training_flop": 1e24, "distilled_from_frontier": True}, at="2027-03-01"
    )
    assert r["raise_frontier"].covered and "[U]" in r["raise_frontier"].reason


def test_diff_warns_on_deleted_rule() -> None:
    old = load_pack(default_pack_path())
    text = default_pack_path().read_text()
    start = text.index("  - id: account.new_on_frontier")
    end = text.index("  # ----", start)
    new = load_pack_text(text[:start] + text[end:], "new.yaml")
    d = diff_packs(old, new)
    assert d.rules_removed == ["account.new_on_frontier"]
    assert any("history is never deleted" in line for line in d.lines())
    assert diff_packs(old, old).empty
