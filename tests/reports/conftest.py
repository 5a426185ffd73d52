"""Fixtures for the reports tests: a fresh SQLite database and the shipped rule pack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from distillguard.rules import RuleEngine, default_pack_path
from distillguard.store import Database


@pytest.fixture(scope="session")
def engine() -> RuleEngine:
    return RuleEngine.from_path(default_pack_path())


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Database]:
    d = Database(f"sqlite:///{tmp_path / 'dg.db'}")
    yield d
    d.close()


@pytest.fixture()
def ledger(tmp_path: Path) -> Iterator[Any]:
    from distillguard.ledger import open_ledger

    led = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "ledger.key")
    yield led
    led.close()


@pytest.fixture()
def key(tmp_path: Path) -> Any:
    from distillguard.reports.signing import load_or_create_key

    return load_or_create_key(tmp_path / "reports.key")


@pytest.fixture()
def frontier_db(db: Database) -> Database:
    """Fixture records: one frontier model (2.1e26 ops) with custody, a small model, two
    clusters (one qualifying), a CBRN evaluation only (offensive cyber absent), a profile
    without security descriptions, a planned run, a framework, some model facts."""
    from distillguard.reports.store import ReportsStore
    from distillguard.reports.timeutil import parse_time
    from distillguard.weights.registry import Registry

    reg = Registry(db)
    big = reg.add_version("frontier-x", "1", parameters=400_000_000_000, developer="Acme AI Inc.")
    reg.add_compute(big, "pretraining", 1.9e26, source="cluster logs run 17", recorded_by="t")
    reg.add_compute(big, "fine_tuning", 1.5e25, source="cluster logs run 18", recorded_by="t")
    reg.add_compute(big, "rl", 5e24, source="invoice 2026-118", recorded_by="t", estimated=True)
    reg.add_custody(
        big,
        "/vault/frontier-x/1",
        storage="vault",
        encrypted=True,
        key_holder="kms:prod-weights",
        recorded_by="t",
    )
    small = reg.add_version("mini", "2", parameters=8_000_000_000)
    reg.add_compute(small, "pretraining", 3e23, source="logs", recorded_by="t")
    st = ReportsStore(db)
    st.add_cluster(
        "iad-1",
        location="Ashburn, VA data centre 4",
        country="US",
        accelerator="NVIDIA H100 SXM",
        accelerator_count=65_536,
        interconnect_gbps=3200,
        peak_ops_per_s=6.5e19 * 2,
    )
    st.add_cluster(
        "lab-2",
        location="Palo Alto lab",
        country="US",
        accelerator="NVIDIA L40S",
        accelerator_count=64,
        interconnect_gbps=400,
        peak_ops_per_s=2.3e16,
    )
    st.add_evaluation(
        "frontier-x",
        version="1",
        area="cbrn",
        method="expert red team, 40 h",
        result="uplift below the framework threshold",
        mitigations="refusal training; classifier on bio prompts",
        evaluator="Third Party Evals Ltd",
        performed_at=parse_time("2026-10-20T00:00:00Z"),
    )
    st.set_profile(
        name="Acme AI",
        legal_name="Acme AI Inc.",
        country="US",
        us_person=True,
        revenue_usd=2.5e9,
        revenue_year=2025,
        website="https://acme.example",
        contacts=[{"role": "compliance", "name": "Jo Smith", "email": "jo@acme.example"}],
    )
    st.add_planned_run(
        "frontier-y",
        planned_start=parse_time("2027-03-01T00:00:00Z"),
        expected_ops=5e26,
        cluster="iad-1",
    )
    st.add_planned_run(
        "far-future",
        planned_start=parse_time("2028-06-01T00:00:00Z"),
        expected_ops=5e26,
        cluster=None,
    )
    st.add_framework(
        "2026.1",
        title="Acme Frontier Safety Framework",
        published_at=parse_time("2026-01-15T00:00:00Z"),
        url="https://acme.example/framework",
    )
    for k, v in {
        "release_date": "2026-12-01",
        "languages": "English, French",
        "modalities_output": "text",
        "intended_uses": "general assistant",
    }.items():
        st.set_model_fact("frontier-x", k, v)
    return db
