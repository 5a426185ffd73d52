"""Classification at and around every threshold, from the default pack's reference data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.store import Database
from distillguard.weights import classify, deps
from distillguard.weights.registry import Registry

AT = datetime(2026, 11, 28, tzinfo=UTC)  # RAISE not yet in force
AT_2027 = datetime(2027, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine() -> object:
    return deps.load_engine()


@pytest.fixture()
def reg(tmp_path: Path) -> Iterator[Registry]:
    db = Database(f"sqlite:///{tmp_path / 'reg.db'}")
    yield Registry(db)
    db.close()


def _classify(
    reg: Registry, engine: object, flop: float | None, *, published: bool = False,
    revenue: float | None = 1e9, at: datetime = AT, synthetic: float = 0.0,
) -> classify.Classification:  # fmt: skip
    ref = reg.add_version(f"m{len(reg.versions())}", "1", published=published, revenue_usd=revenue)
    if flop is not None:
        reg.add_compute(ref, "pretraining", flop, source="cluster log", recorded_by="t")
    if synthetic:
        reg.add_compute(ref, "synthetic_data", synthetic, source="gen log", recorded_by="t")
    return classify.classify(reg, engine, ref, at)


def test_thresholds_come_from_the_pack(engine: object) -> None:
    t = AT.timestamp()
    assert deps.threshold(engine, "us_4e091_training_flop", t).value == 1e26
    assert deps.threshold(engine, "eu_systemic_risk_flop", t).value == 1e25
    raise_th = deps.threshold(engine, "raise_frontier_flop", t)
    assert raise_th.value == 1e26 and not raise_th.in_force


@pytest.mark.parametrize(
    ("flop", "status"),
    [(9.99e25, "not_controlled"), (1e26, "controlled"), (1.01e26, "controlled")],
)
def test_us_4e091_at_and_around(reg: Registry, engine: object, flop: float, status: str) -> None:
    c = _classify(reg, engine, flop)
    assert c.get("us_4e091").status == status
    assert any("threshold 1e+26" in e for e in c.get("us_4e091").explanation)


def test_us_4e091_published_weights_excluded(reg: Registry, engine: object) -> None:
    r = _classify(reg, engine, 5e26, published=True).get("us_4e091")
    assert (r.status, r.in_scope) == ("not_controlled", False)
    assert any("published" in e for e in r.explanation)


def test_us_4e091_fails_closed_without_compute(reg: Registry, engine: object) -> None:
    c = _classify(reg, engine, None)
    assert c.get("us_4e091").status == "controlled"
    assert c.get("eu_gpai_systemic_risk").status == "unknown"


@pytest.mark.parametrize(
    ("flop", "in_scope"), [(9.9e24, False), (1e25, False), (1.0000001e25, True)]
)
def test_eu_systemic_risk_strictly_above(
    reg: Registry, engine: object, flop: float, in_scope: bool
) -> None:
    r = _classify(reg, engine, flop, published=True).get("eu_gpai_systemic_risk")
    assert r.in_scope is in_scope  # open weights do not escape the EU presumption


@pytest.mark.parametrize(
    ("flop", "revenue", "frontier", "large"),
    [
        (1e26, 1e9, False, True),
        (1.01e26, 5e8, True, False),
        (1.01e26, 5.01e8, True, True),
        (1.01e26, None, True, None),
    ],
)
def test_sb53_compute_and_revenue(
    reg: Registry, engine: object, flop: float, revenue: float | None, frontier: bool,
    large: bool | None,
) -> None:  # fmt: skip
    r = _classify(reg, engine, flop, revenue=revenue).get("ca_sb53")
    assert (r.in_scope, r.large_developer, r.in_force) == (frontier, large, True)


def test_raise_in_force_only_from_2027(reg: Registry, engine: object) -> None:
    before = _classify(reg, engine, 2e26).get("ny_raise")
    assert before.in_scope and not before.in_force
    assert any("applies from 2027-01-01" in e for e in before.explanation)
    after = _classify(reg, engine, 2e26, at=AT_2027).get("ny_raise")
    assert after.in_scope and after.in_force


def test_fine_tuning_rl_add_up_and_synthetic_flag(reg: Registry, engine: object) -> None:
    ref = reg.add_version("sum", "1")
    reg.add_compute(ref, "pretraining", 8e25, source="a", recorded_by="t")
    reg.add_compute(ref, "fine_tuning", 1e25, source="b", recorded_by="t")
    c = classify.classify(reg, engine, ref, AT)
    assert c.get("us_4e091").status == "not_controlled"
    reg.add_compute(ref, "rl", 1e25, source="c", recorded_by="t")
    assert classify.classify(reg, engine, ref, AT).get("us_4e091").status == "controlled"
    syn = _classify(reg, engine, 9.5e25, synthetic=1e25)
    count, tag = deps.flag(engine, classify.SYNTHETIC_FLAG, False)
    assert tag == "U"
    assert syn.get("us_4e091").status == ("controlled" if count else "not_controlled")


def test_6nd_estimate_is_stated(reg: Registry, engine: object) -> None:
    ref = reg.add_version("est", "1", parameters=int(1e12), training_tokens=2e13)
    c = classify.classify(reg, engine, ref, AT)
    assert c.estimated and c.total_flop == pytest.approx(1.2e26)
    assert c.get("us_4e091").status == "controlled"
    assert any("ESTIMATE 6·N·D" in e for e in c.get("us_4e091").explanation)


def test_reclassification_history(reg: Registry, engine: object) -> None:
    ref = reg.add_version("hist", "1")
    reg.add_compute(ref, "pretraining", 5e25, source="a", recorded_by="t")
    _, changed = classify.reclassify(reg, engine, ref, "register", AT)
    assert changed
    _, changed = classify.reclassify(reg, engine, ref, "manual", AT)
    assert not changed  # nothing new: no duplicate history row
    reg.add_compute(ref, "fine_tuning", 6e25, source="b", recorded_by="t")
    c, changed = classify.reclassify(reg, engine, ref, "ledger_change", AT)
    assert changed and c.get("us_4e091").status == "controlled"
    hist = classify.history(reg, ref)
    assert [h["trigger"] for h in hist] == ["register", "ledger_change"]
    assert hist[0]["result"]["us_4e091"][0] == "not_controlled"


def test_bad_compute_entries_refused(reg: Registry) -> None:
    ref = reg.add_version("bad", "1")
    with pytest.raises(DistillguardError, match="unknown compute phase"):
        reg.add_compute(ref, "inference", 1.0, source="x", recorded_by="t")
    with pytest.raises(DistillguardError, match="finite"):
        reg.add_compute(ref, "pretraining", float("nan"), source="x", recorded_by="t")
    with pytest.raises(DistillguardError, match="source"):
        reg.add_compute(ref, "pretraining", 1.0, source=" ", recorded_by="t")
    with pytest.raises(DistillguardError, match="already registered"):
        reg.add_version("bad", "1")


def test_incident_deadlines_follow_classification(reg: Registry, engine: object) -> None:
    c = _classify(reg, engine, 2e26)
    found = datetime(2026, 11, 28, 12, tzinfo=UTC)
    dl = classify.incident_deadlines(c, engine, found)
    due = {(d["regime"], d["event"]): d["due"] for d in dl}
    ev = "serious_cybersecurity_incident_or_weight_exfiltration"
    assert due[("eu_cop", ev)] == "2026-12-03T12:00:00Z"  # 5 days
    assert due[("eu_cop", "intermediate_report")] == "2026-12-26T12:00:00Z"  # every 4 weeks
    assert due[("sb53", "critical_safety_incident")] == "2026-12-13T12:00:00Z"  # 15 days
    assert due[("bis_702_7", "quarterly_notice")] == "2027-01-15T00:00:00Z"
    assert "raise" not in {d["regime"] for d in dl}  # not in force yet
    small = _classify(reg, engine, 1e24)
    assert classify.incident_deadlines(small, engine, found) == []


def test_publishing_reclassifies_with_history(tmp_path: Path, engine: object) -> None:
    from distillguard.weights.deps import Audit
    from distillguard.weights.service import WeightsService

    svc = WeightsService(Database(f"sqlite:///{tmp_path / 's.db'}"), engine=engine,
                         audit=Audit(None))  # fmt: skip
    ref = svc.reg.add_version("pub", "1")
    svc.reg.add_compute(ref, "pretraining", 2e26, source="log", recorded_by="t")
    assert svc.classify("pub@1")[0].get("us_4e091").status == "controlled"
    c = svc.set_published("pub@1", True, actor="cfo")
    assert c.get("us_4e091").status == "not_controlled"
    assert c.get("eu_gpai_systemic_risk").in_scope  # publication does not lift the EU presumption
    triggers = [h["trigger"] for h in classify.history(svc.reg, ref)]
    assert triggers == ["manual", "published_change"]
    svc.db.close()


@pytest.mark.parametrize("flop", [1e24, 1e25, 5e25, 1e26, 2e26])
@pytest.mark.parametrize("published", [False, True])
def test_agrees_with_rules_classify_model(
    reg: Registry, engine: object, flop: float, published: bool
) -> None:
    """One implementation: the same answer as the rules part's helper, at the exact
    thresholds too (it is what classifies)."""
    from distillguard.rules.classify import classify_model

    ours = _classify(reg, engine, flop, published=published, revenue=1e9)
    theirs = classify_model(engine, {"training_flop": flop, "published": published,  # type: ignore[arg-type]
                                     "developer_revenue_usd": 1e9}, at=AT)  # fmt: skip
    pairs = {"us_4e091": "us_4e091", "eu_gpai_systemic_risk": "eu_systemic_risk",
             "ca_sb53": "sb53_frontier"}  # fmt: skip
    for mine, rules_key in pairs.items():
        assert ours.get(mine).in_scope == theirs[rules_key].covered, (mine, flop, published)
