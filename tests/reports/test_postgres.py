"""The reports store, clocks and a signed BIS notice on a real PostgreSQL server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from distillguard.reports import api
from distillguard.reports.clocks import due_items
from distillguard.reports.incidents import open_incident
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import parse_time
from distillguard.rules import RuleEngine
from distillguard.store import Database

pytestmark = pytest.mark.postgres


def test_clocks_and_notice_on_postgres(
    pg_schema: str, engine: RuleEngine, ledger: Any, key: Any
) -> None:
    from distillguard.weights.registry import Registry

    db = Database(pg_schema)
    try:
        t0 = parse_time("2027-03-30T22:00:00-07:00")
        iid = open_incident(db, engine.reference, "weight_exfiltration", t0, imminent=True)
        st = ReportsStore(db)
        st.file(iid, "sb53", "imminent_risk_of_death_or_serious_injury", at=t0)
        reg = Registry(db)
        v = reg.add_version("frontier-x", "1", developer="Acme AI Inc.")
        reg.add_compute(v, "pretraining", 2e26, source="logs", recorded_by="t")
        now = t0 + timedelta(hours=30)
        items = {(d.regime, d.event, d.source): d for d in due_items(db, engine.reference, now)}
        assert ("sb53", "imminent_risk_of_death_or_serious_injury", "incident") not in items
        raise_24 = items[("raise", "imminent_risk_of_death_or_serious_injury", "incident")]
        assert raise_24.status(now) == "overdue"
        assert items[("bis_702_7", "quarterly_notice", "incident")].due == parse_time(
            "2027-04-15T00:00:00Z"
        )
        env = api.quarterly_notice(db, engine, ledger, now, key)
        assert env["report"]["sections"]["training_runs"]["completed"][0]["total_ops"] == 2e26
        assert api.mark_filed(db, engine, env["report_id"], now) == [iid]
        assert st.reports()[0]["filed_at"] is not None
    finally:
        db.close()
