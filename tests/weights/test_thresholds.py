"""Weights classification at, just below and just above every regime's threshold, through
the service and the CLI; it must agree with `rules.classify_model` (one implementation).

4E091 is met at exactly 10^26 ("10^26 or more"); EU (> 10^25), SB 53, RAISE and BIS 702.7
(> 10^26) are not. Revenue: "in excess of $500M". Values are one float step apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from distillguard.rules import classify_model
from distillguard.store import Database
from distillguard.weights import deps
from distillguard.weights.deps import Audit
from distillguard.weights.service import WeightsService
from tests.weights.test_cli import env, run  # noqa: F401  (fixture)
from tests.weights.test_signing import make_model

AT = datetime(2026, 11, 28, tzinfo=UTC)
AT_2027 = datetime(2027, 3, 1, tzinfo=UTC)

# weights regime key -> (value, met exactly at the value?, in-scope status, date)
CASES = {
    "us_4e091": (1e26, True, "controlled", AT),
    "eu_gpai_systemic_risk": (1e25, False, "in_scope", AT),
    "ca_sb53": (1e26, False, "in_scope", AT),
    "ny_raise": (1e26, False, "in_scope", AT_2027),
    "bis_702_7_reporting": (1e26, False, "in_scope", AT),
}
RULES_KEY = {"eu_gpai_systemic_risk": "eu_systemic_risk", "ca_sb53": "sb53_frontier",
             "ny_raise": "raise_frontier"}  # fmt: skip
SIDES = {"below": -1, "at": 0, "above": 1}


def _value(v: float, side: str) -> float:
    d = SIDES[side]
    return v if d == 0 else math.nextafter(v, math.inf if d > 0 else 0.0)


def _want(regime: str, side: str) -> bool:
    _, at_met, _, _ = CASES[regime]
    return side == "above" or (side == "at" and at_met)


@pytest.fixture(scope="module")
def engine() -> object:
    return deps.load_engine()


@pytest.fixture()
def svc(tmp_path: Path, engine: object) -> Iterator[WeightsService]:
    s = WeightsService(Database(f"sqlite:///{tmp_path / 's.db'}"), engine=engine,
                       audit=Audit(None))  # fmt: skip
    yield s
    s.db.close()


@pytest.mark.parametrize("side", list(SIDES))
@pytest.mark.parametrize("regime", list(CASES))
def test_service_at_and_around(svc: WeightsService, engine: object, regime: str, side: str) -> None:
    value, _, in_status, at = CASES[regime]
    flop = _value(value, side)
    ref = svc.reg.add_version("m", "1", revenue_usd=1e9)
    svc.reg.add_compute(ref, "pretraining", flop, source="cluster log", recorded_by="t")
    r = svc.classify("m@1", at=at)[0].get(regime)
    want = _want(regime, side)
    out_status = "not_controlled" if regime == "us_4e091" else "below_threshold"
    assert (r.in_scope, r.covered, r.in_force) == (want, want, True), r.explanation
    assert r.status == (in_status if want else out_status)
    rules = classify_model(engine, {"training_flop": flop, "developer_revenue_usd": 1e9},  # type: ignore[arg-type]
                           at=at)[RULES_KEY.get(regime, regime)]  # fmt: skip
    assert rules.covered is want and rules.compare == r.compare


@pytest.mark.parametrize(
    ("revenue", "large", "treated"),
    [(math.nextafter(5e8, 0.0), False, False), (5e8, False, False),
     (math.nextafter(5e8, math.inf), True, True), (None, None, True)],
)  # fmt: skip
@pytest.mark.parametrize(("regime", "at"), [("ca_sb53", AT), ("ny_raise", AT_2027)])
def test_service_revenue_at_and_around(
    svc: WeightsService, regime: str, at: datetime, revenue: float | None, large: bool | None,
    treated: bool,
) -> None:  # fmt: skip
    ref = svc.reg.add_version("m", "1", revenue_usd=revenue)
    svc.reg.add_compute(ref, "pretraining", 2e26, source="cluster log", recorded_by="t")
    r = svc.classify("m@1", at=at)[0].get(regime)
    assert r.in_scope and (r.large_developer, r.treated_as_large_developer) == (large, treated)
    if revenue is None:
        assert any("unknown" in e and "fail closed" in e for e in r.explanation)


def test_unknown_compute_starts_clocks_fail_closed(svc: WeightsService) -> None:
    svc.reg.add_version("u", "1")
    svc.open_incident(svc.reg.resolve("u@1"), {"event": "test"}, datetime(2026, 11, 28, tzinfo=UTC))
    [inc] = svc.reg.incidents()
    assert {"eu_cop", "sb53"} <= {d["regime"] for d in inc["deadlines"]}


def test_below_every_threshold_starts_no_regime_clock(svc: WeightsService) -> None:
    ref = svc.reg.add_version("s", "1")
    svc.reg.add_compute(ref, "pretraining", 1e25, source="log", recorded_by="t")  # EU: not > 1e25
    svc.open_incident(ref, {"event": "test"}, datetime(2026, 11, 28, tzinfo=UTC))
    assert svc.reg.incidents()[0]["deadlines"] == []


@pytest.mark.parametrize("side", list(SIDES))
def test_cli_at_and_around(env: Path, side: str) -> None:  # noqa: F811
    make_model(env / "m")
    for i, regime in enumerate(CASES):
        value, _, _, at = CASES[regime]
        spec = f"m{i}@1"
        run("register", spec, "m", "--compute", f"pretraining={_value(value, side)!r}@run.log",
            "--revenue", "1e9")  # fmt: skip
        data = json.loads(run("classify", spec, "--json", "--at", at.date().isoformat()))
        r = next(x for x in data["regimes"] if x["regime"] == regime)
        assert r["in_scope"] is _want(regime, side), (regime, side, r["explanation"])
        assert r["in_force"] and r["compare"] == ("gte" if regime == "us_4e091" else "gt")


def test_phases_summing_to_exactly_the_threshold(svc: WeightsService) -> None:
    """8.2e25 + 1.1e25 + 7e24 is 10^26 exactly (float addition would give one step less)."""
    ref = svc.reg.add_version("sum", "1", revenue_usd=1e9)
    for phase, flop in [("pretraining", 8.2e25), ("fine_tuning", 1.1e25), ("rl", 7e24)]:
        svc.reg.add_compute(ref, phase, flop, source="log", recorded_by="t")
    c = svc.classify("sum@1", at=AT)[0]
    assert c.total_flop == 1e26
    assert c.get("us_4e091").status == "controlled"  # 10^26 or more
    assert c.get("ca_sb53").status == "below_threshold"  # more than 10^26
