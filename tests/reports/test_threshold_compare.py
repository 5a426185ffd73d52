"""Reports' applicability follows each threshold's pack `compare` exactly at the boundary:
BIS 702.7 and SB 53 say "more than 10^26", the cluster test "greater than 300 Gbit/s" and
"greater than 10^20 OP/s", the EU "greater than 10^25"."""

from __future__ import annotations

import math

import pytest

from distillguard.reports.applicability import applies, frontier_versions
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import parse_time
from distillguard.rules import RuleEngine
from distillguard.store import Database

NOW = parse_time("2027-05-01T00:00:00Z")
UP = math.inf


@pytest.mark.parametrize(("flop", "bound"), [(1e26, False), (math.nextafter(1e26, UP), True)])
def test_training_run_at_and_above(
    engine: RuleEngine, db: Database, flop: float, bound: bool
) -> None:
    from distillguard.weights.registry import Registry

    reg = Registry(db)
    reg.add_compute(reg.add_version("m", "1"), "pretraining", flop, source="log", recorded_by="t")
    ref = engine.reference
    assert applies(db, ref, "bis_702_7", NOW) is bound
    assert applies(db, ref, "sb53", NOW) is bound  # revenue unknown: fail closed
    assert bool(frontier_versions(db, ref, "eu_systemic_risk_flop", NOW))  # 1e26 > 1e25


@pytest.mark.parametrize(
    ("gbps", "peak", "bound"),
    [(300, 2e20, False), (301, 1e20, False), (301, math.nextafter(1e20, UP), True)],
)
def test_cluster_at_and_above(
    engine: RuleEngine, db: Database, gbps: float, peak: float, bound: bool
) -> None:
    ReportsStore(db).add_cluster("c", location="x", accelerator="H100", accelerator_count=8,
                                 interconnect_gbps=gbps, peak_ops_per_s=peak)  # fmt: skip
    assert applies(db, engine.reference, "bis_702_7", NOW) is bound


def test_eu_exactly_at_threshold_is_not_presumed(engine: RuleEngine, db: Database) -> None:
    from distillguard.weights.registry import Registry

    reg = Registry(db)
    reg.add_compute(reg.add_version("m", "1"), "pretraining", 1e25, source="l", recorded_by="t")
    assert frontier_versions(db, engine.reference, "eu_systemic_risk_flop", NOW) == []
    reg.add_compute(reg.resolve("m@1"), "rl", 1.0e10, source="l", recorded_by="t")
    assert len(frontier_versions(db, engine.reference, "eu_systemic_risk_flop", NOW)) == 1
