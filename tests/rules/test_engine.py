"""Decision semantics: precedence, reasons, fail-closed errors, time, determinism."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillguard.rules import RuleEngine, default_pack_path, load_pack_text
from distillguard.rules.samples import access_context, transfer_context
from tests.rules.conftest import MINI_PACK

ERROR_PACK = (
    MINI_PACK
    + """\
  - id: r.score
    domain: access
    title: score
    citation: test
    status: in_force
    verification: V
    condition: risk.score > 0.5
    action: degrade
    transforms: [strip_reasoning]
    reason_code: score
  - id: r.t
    domain: transfer
    title: flop
    citation: test
    status: in_force
    verification: V
    condition: model.training_flop >= threshold("flop")
    action: licence_required
    reason_code: flop
"""
)


@pytest.fixture(scope="module")
def default_engine() -> RuleEngine:
    return RuleEngine.from_path(default_pack_path())


@pytest.fixture(scope="module")
def err_engine() -> RuleEngine:
    return RuleEngine(load_pack_text(ERROR_PACK, "err.yaml"))


def test_most_restrictive_wins_and_all_reasons_listed(err_engine: RuleEngine) -> None:
    ctx = {
        "screening": {"status": "hit"},
        "risk": {"score": 0.9},
        "account": {"kyc_level": "none"},
        "model": {"name": "m1"},
    }
    d = err_engine.decide("access", ctx)
    assert d.action == "block"
    assert d.rule_ids == ["r.hit", "r.kyc", "r.score"]  # ordered by restrictiveness
    assert d.transforms == []  # a block carries no transforms
    assert d.reasons[0].citation == "test" and d.reasons[0].reason_code == "hit"


def test_nothing_matches_gives_domain_default(err_engine: RuleEngine) -> None:
    assert err_engine.decide("access", {}).action == "allow"
    assert err_engine.decide("transfer", {"model": {"training_flop": 1}}).action == (
        "licence_required"  # transfer default is fail-safe
    )


def test_runtime_type_error_blocks_with_rule_error(err_engine: RuleEngine) -> None:
    d = err_engine.decide("access", {"risk": {"score": "high"}})
    assert d.action == "block"
    assert d.errors == 1
    (r,) = d.reasons
    assert (r.rule_id, r.reason_code) == ("r.score", "rule_error")
    assert "TypeError" in (r.detail or "")
    t = err_engine.decide("transfer", {"model": {"training_flop": "lots"}})
    assert t.action == "prohibited" and t.reason_codes == ["rule_error"]


def test_malformed_context_fails_closed(err_engine: RuleEngine) -> None:
    d = err_engine.decide("access", ["not", "a", "dict"])
    assert d.action == "block" and d.reason_codes == ["rule_error"]
    d = err_engine.decide("access", {"request": {"time": "yesterday"}})
    assert d.action == "block" and d.reason_codes == ["rule_error"]
    d = err_engine.decide("access", {"model": "m1"})  # section is not a mapping
    assert d.action == "block"


def test_missing_values(err_engine: RuleEngine) -> None:
    # ordering with a missing value is false; `not in` with a missing value is true
    assert err_engine.decide("access", {"risk": {"score": None}}).action == "allow"
    # `in` a literal list with a missing value is false (a rule wanting fail-closed
    # behaviour writes `not in [...]`, as the default pack does)
    d = err_engine.decide("access", {"model": {"name": "m1"}})
    assert d.action == "allow"
    d = err_engine.decide("access", {"model": {"name": "m1"}, "account": {"kyc_level": "basic"}})
    assert d.action == "hold_for_review" and d.rule_ids == ["r.kyc"]


def test_unknown_domain_is_an_error(err_engine: RuleEngine) -> None:
    from distillguard.errors import DistillguardError

    with pytest.raises(DistillguardError, match="unknown domain"):
        err_engine.decide("billing", {})


def test_explain_reports_skipped_and_errors(default_engine: RuleEngine) -> None:
    ctx = {
        "account": {"nationality": "DE", "kyc_level": "basic"},
        "risk": {"score": "x"},
        "screening": {"status": "clear"},
        "request": {"time": "2026-11-20T00:00:00Z"},
    }
    ex = default_engine.explain("access", ctx)
    outcomes = {t.rule_id: t.outcome for t in ex.rules}
    assert outcomes["iaas_cip.foreign_customer"] == "skipped"
    assert outcomes["bis.is_informed.foreign_person"] == "skipped"
    assert outcomes["screening.missing"] == "not_matched"
    # risk.score "x" is only compared when verdict is distillation: no error here
    assert ex.decision.action == "allow"
    ctx["risk"] = {"verdict": "distillation", "score": "x"}
    ex = default_engine.explain("access", ctx)
    assert {t.rule_id: t.outcome for t in ex.rules}["detect.distillation_campaign"] == "error"
    assert ex.decision.action == "block" and "rule_error" in ex.decision.reason_codes


def test_decision_time_selects_rules_and_reference(default_engine: RuleEngine) -> None:
    ctx = {
        "account": {"type": "organization", "nationality": "KH", "kyc_level": "basic"},
        "org": {"id": "o", "hq_country": "KH"},
        "screening": {"status": "clear"},
    }
    assert default_engine.decide("access", ctx, at="2026-02-02").action == "hold_for_review"
    assert default_engine.decide("access", ctx, at="2026-02-03").action == "allow"
    ctx["request"] = {"time": "2026-02-02T23:59:59Z"}
    assert default_engine.decide("access", ctx).action == "hold_for_review"


def test_decision_serialises(default_engine: RuleEngine) -> None:
    d = default_engine.decide("access", {"screening": {"status": "hit"}}, at="2026-11-01")
    js = d.to_dict()
    assert js["action"] == "block" and js["at"] == "2026-11-01"
    assert js["reasons"][0]["rule_id"] == "screening.hit"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_property_erroring_condition_blocks(err_engine: RuleEngine, value: Any) -> None:
    d = err_engine.decide("access", {"risk": {"score": value}})
    numeric = isinstance(value, int | float)  # bool is an int in Python
    if value is None or numeric:
        assert d.errors == 0
        assert d.action == ("degrade" if numeric and value > 0.5 else "allow")
    else:
        assert d.action == "block"
        assert d.reason_codes == ["rule_error"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    junk=json_values,
    field=st.sampled_from(
        [
            "account.kyc_level",
            "account.nationality",
            "org.allowlists",
            "risk.score",
            "params.n",
            "screening.status",
            "request.country",
            "org.hq_country",
            "model.name",
        ]
    ),
)
def test_property_decisions_deterministic(
    default_engine: RuleEngine, seed: int, junk: Any, field: str
) -> None:
    rng = random.Random(seed)
    ctx = access_context(rng)
    sec, name = field.split(".")
    ctx[sec][name] = junk  # arbitrary, possibly ill-typed value
    d1 = default_engine.decide("access", ctx)
    d2 = default_engine.decide("access", ctx)
    fresh = RuleEngine(default_engine.pack)
    d3 = fresh.decide("access", ctx)
    assert d1 == d2 == d3
    if d1.errors:
        assert d1.action == "block"


def test_generated_contexts_never_error(default_engine: RuleEngine) -> None:
    rng = random.Random(7)
    seen = set()
    for _ in range(2000):
        d = default_engine.decide("access", access_context(rng))
        assert d.errors == 0
        seen.add(d.action)
        t = default_engine.decide("transfer", transfer_context(rng))
        assert t.errors == 0
    assert seen == {"allow", "degrade", "throttle", "hold_for_review", "block"}


def test_lower_case_country_codes_get_the_same_answer(default_engine: RuleEngine) -> None:
    up = default_engine.decide("access", {"request": {"country": "IR"}}, at="2026-11-01")
    low = default_engine.decide("access", {"request": {"country": "ir"}}, at="2026-11-01")
    assert up.action == low.action == "block"
    assert default_engine.reference.tier("mo") == 3


def test_list_literals_only() -> None:
    from distillguard.rules import PackError

    bad = MINI_PACK.replace(
        'condition: screening.status == "hit"', 'condition: risk.score in [threshold("flop")]'
    )
    with pytest.raises(PackError, match="literal strings or numbers"):
        load_pack_text(bad, "x.yaml")
