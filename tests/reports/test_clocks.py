"""Deadline arithmetic per regime, from the pack: hours vs days, time zones, quarter and
year ends, effective dates, repeating clocks, filings, the /metrics gauge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from distillguard.errors import DistillguardError
from distillguard.reports.clocks import due_items, nearest_deadline_seconds, plan
from distillguard.reports.incidents import open_incident
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import parse_time
from distillguard.rules import RuleEngine
from distillguard.store import Database


def _due(p, regime: str, event: str) -> datetime:  # type: ignore[no-untyped-def]
    [d] = [d for d in p.deadlines if (d.regime, d.event) == (regime, event)]
    return d.due  # type: ignore[no-any-return]


def test_weight_exfiltration_2027_all_regimes(engine: RuleEngine) -> None:
    t0 = parse_time("2027-03-10T09:30:00Z")
    p = plan(engine.reference, "weight_exfiltration", t0, imminent=False)
    assert _due(p, "sb53", "critical_safety_incident") == t0 + timedelta(days=15)
    assert _due(p, "raise", "safety_incident") == t0 + timedelta(hours=72)
    assert _due(
        p, "eu_cop", "serious_cybersecurity_incident_or_weight_exfiltration"
    ) == t0 + timedelta(days=5)
    assert _due(p, "eu_cop", "intermediate_report") == t0 + timedelta(weeks=4)
    assert _due(p, "bis_702_7", "quarterly_notice") == datetime(2027, 4, 15, tzinfo=UTC)
    # no imminent risk: the 24-hour clocks do not start
    assert all(d.event != "imminent_risk_of_death_or_serious_injury" for d in p.deadlines)
    assert p.deadlines == sorted(p.deadlines, key=lambda d: d.due)
    assert p.not_in_force == []


def test_imminent_risk_adds_24_hour_clocks(engine: RuleEngine) -> None:
    t0 = parse_time("2027-06-01T23:00:00Z")
    p = plan(engine.reference, "weight_exfiltration", t0, imminent=True)
    ev = "imminent_risk_of_death_or_serious_injury"
    assert _due(p, "sb53", ev) == _due(p, "raise", ev) == datetime(2027, 6, 2, 23, tzinfo=UTC)
    assert p.deadlines[0].event == ev  # the nearest first


def test_raise_not_in_force_before_2027(engine: RuleEngine) -> None:
    t0 = parse_time("2026-12-31T23:59:59Z")
    p = plan(engine.reference, "weight_exfiltration", t0, imminent=True)
    assert {d.regime for d in p.deadlines} == {"sb53", "eu_cop", "bis_702_7"}
    assert {(s["regime"], s["event"]) for s in p.not_in_force} == {
        ("raise", "safety_incident"),
        ("raise", "imminent_risk_of_death_or_serious_injury"),
    }
    # one second later RAISE applies
    p2 = plan(engine.reference, "weight_exfiltration", t0 + timedelta(seconds=1), imminent=True)
    assert "raise" in {d.regime for d in p2.deadlines}


def test_sb53_not_in_force_before_2026(engine: RuleEngine) -> None:
    p = plan(engine.reference, "critical_safety_incident", parse_time("2025-12-01T00:00Z"), True)
    assert p.deadlines == []
    assert len(p.not_in_force) == 4


def test_discovery_in_another_timezone(engine: RuleEngine) -> None:
    # 20:00 in Los Angeles on Dec 31 (PST, -08:00) is 04:00 UTC on Jan 1
    t0 = parse_time("2026-12-31T20:00:00", tz="America/Los_Angeles")
    assert t0 == datetime(2027, 1, 1, 4, tzinfo=UTC)
    assert t0 == parse_time("2026-12-31T20:00:00-08:00")
    p = plan(engine.reference, "weight_exfiltration", t0, imminent=True)
    # so RAISE is in force, and its 24-hour clock ends at 04:00 UTC on Jan 2
    ev = "imminent_risk_of_death_or_serious_injury"
    assert _due(p, "raise", ev) == datetime(2027, 1, 2, 4, tzinfo=UTC)
    # Tokyo: 09:00 +09:00 is midnight UTC; SB 53's 15 days are exact
    t1 = parse_time("2027-02-20T09:00:00+09:00")
    p1 = plan(engine.reference, "critical_safety_incident", t1, imminent=False)
    assert _due(p1, "sb53", "critical_safety_incident") == datetime(2027, 3, 7, tzinfo=UTC)


def test_naive_time_refused_and_bad_zone() -> None:
    with pytest.raises(DistillguardError, match="no timezone"):
        parse_time("2027-01-01T00:00:00")
    with pytest.raises(DistillguardError, match="unknown timezone"):
        parse_time("2027-01-01T00:00:00", tz="Mars/Olympus")
    with pytest.raises(DistillguardError, match="not an ISO 8601"):
        parse_time("yesterday")


def test_deadlines_crossing_quarter_and_year_end(engine: RuleEngine) -> None:
    ref = engine.reference
    # EU 5 days from Dec 29 crosses the year end (no leap-year surprises: 2027 is not one)
    t0 = parse_time("2027-12-29T12:00:00Z")
    p = plan(ref, "serious_cybersecurity_incident", t0, imminent=False)
    assert _due(p, "eu_cop", "serious_cybersecurity_incident_or_weight_exfiltration") == datetime(
        2028, 1, 3, 12, tzinfo=UTC
    )
    # 4-week intermediate report from Feb 10 2028 crosses the leap day
    t1 = parse_time("2028-02-10T00:00:00Z")
    p1 = plan(ref, "serious_cybersecurity_incident", t1, imminent=False)
    assert _due(p1, "eu_cop", "intermediate_report") == datetime(2028, 3, 9, tzinfo=UTC)
    # BIS: after Oct 15 the next quarterly date is Jan 15 of the next year
    p2 = plan(ref, "weight_exfiltration", parse_time("2027-10-15T00:00:01Z"), False)
    assert _due(p2, "bis_702_7", "quarterly_notice") == datetime(2028, 1, 15, tzinfo=UTC)
    # discovered at the end of March: the April notice; at 00:00 UTC on April 15 itself,
    # that notice is no longer "after" discovery, so July's is the one that must cover it
    p3 = plan(ref, "weight_exfiltration", parse_time("2027-03-31T23:00:00Z"), False)
    assert _due(p3, "bis_702_7", "quarterly_notice") == datetime(2027, 4, 15, tzinfo=UTC)
    p5 = plan(ref, "weight_exfiltration", parse_time("2027-04-15T00:00:00Z"), False)
    assert _due(p5, "bis_702_7", "quarterly_notice") == datetime(2027, 7, 15, tzinfo=UTC)
    # SB 53 15 days from Sept 20 crosses the quarter end
    p4 = plan(ref, "critical_safety_incident", parse_time("2027-09-20T08:00:00Z"), False)
    assert _due(p4, "sb53", "critical_safety_incident") == datetime(2027, 10, 5, 8, tzinfo=UTC)


def test_unknown_kind_fails_closed(engine: RuleEngine, db: Database) -> None:
    with pytest.raises(DistillguardError, match="unknown incident kind 'alien'"):
        open_incident(db, engine.reference, "alien", datetime.now(UTC))


def test_filings_and_repeating_clock(engine: RuleEngine, db: Database) -> None:
    ref = engine.reference
    t0 = parse_time("2027-05-01T00:00:00Z")
    iid = open_incident(db, ref, "serious_cybersecurity_incident", t0)
    st = ReportsStore(db)
    now = t0 + timedelta(days=6)
    items = due_items(db, ref, now)
    mine = [d for d in items if d.incident_id == iid]
    assert [(d.event, d.status(now)) for d in mine] == [
        ("serious_cybersecurity_incident_or_weight_exfiltration", "overdue"),
        ("intermediate_report", "due"),
    ]
    st.file(iid, "eu_cop", "serious_cybersecurity_incident_or_weight_exfiltration", at=now)
    st.file(iid, "eu_cop", "intermediate_report", at=now)
    mine = [d for d in due_items(db, ref, now) if d.incident_id == iid]
    assert [(d.event, d.occurrence, d.due) for d in mine] == [
        ("intermediate_report", 2, t0 + timedelta(weeks=8))
    ]
    st.close_incident(iid, "resolved")
    assert [d for d in due_items(db, ref, now) if d.incident_id == iid] == []


def test_nearest_deadline_gauge(engine: RuleEngine, db: Database) -> None:
    ref = engine.reference
    t0 = parse_time("2027-05-01T00:00:00Z")
    now = t0 + timedelta(hours=30)
    assert nearest_deadline_seconds(db, engine, now) is None  # nothing binds an empty org
    _qualifying_cluster(db)
    # periodic BIS notice only (a qualifying cluster binds 702.7): next quarterly date
    s = nearest_deadline_seconds(db, engine, now)
    assert s == (datetime(2027, 7, 15, tzinfo=UTC) - now).total_seconds()
    open_incident(db, ref, "critical_safety_incident", t0, imminent=True)
    s = nearest_deadline_seconds(db, engine, now)
    assert s == -6 * 3600  # the 24-hour clock ran out 6 hours ago
    assert nearest_deadline_seconds(db, ref, now) == s


def _qualifying_cluster(db: Database) -> None:
    ReportsStore(db).add_cluster(
        "iad-1",
        location="Ashburn",
        accelerator="H100",
        accelerator_count=65536,
        interconnect_gbps=3200,
        peak_ops_per_s=1.3e20,
    )


def test_periodic_bis_overdue_after_missed_quarter(engine: RuleEngine, db: Database) -> None:
    st = ReportsStore(db)
    _qualifying_cluster(db)
    st.add_report(
        {
            "id": "r1",
            "kind": "bis_702_7_quarterly_notice",
            "subject": "2027-04-15T00:00:00Z",
            "created_at": "2027-04-10T00:00:00Z",
            "sha256": "x",
            "signature": "s",
            "key_id": "k",
            "filed_at": "2027-04-12T00:00:00Z",
            "document": "{}",
        }
    )
    now = parse_time("2027-08-01T00:00:00Z")
    [bis] = [d for d in due_items(db, engine.reference, now) if d.regime == "bis_702_7"]
    assert bis.due == datetime(2027, 7, 15, tzinfo=UTC) and bis.status(now) == "overdue"


def test_imports_are_idempotent(engine: RuleEngine, db: Database) -> None:
    from distillguard.reports.incidents import import_weights_incidents, open_campaign_incident
    from distillguard.weights.registry import Registry

    reg = Registry(db)
    reg.open_incident(
        "weight_exfiltration", None, {"where": "bucket"}, [], parse_time("2027-02-01T00:00Z")
    )
    a = import_weights_incidents(db, engine.reference)
    b = import_weights_incidents(db, engine.reference)
    assert a == b and len(a) == 1
    report = {
        "accounts": [
            {"account": "x1", "first_flagged_at": "2027-02-02T10:00:00Z"},
            {"account": "x2", "first_flagged_at": "2027-02-02T09:00:00Z"},
        ],
        "campaigns": [{"id": "c1", "accounts": ["x1", "x2"], "requests": 9}],
    }
    iid = open_campaign_incident(db, engine.reference, report, "c1")
    inc = ReportsStore(db).incident(iid)
    assert inc["discovered_at"] == "2027-02-02T09:00:00Z" and inc["source"] == "detect"
    with pytest.raises(DistillguardError, match="no campaign 'zz'"):
        open_campaign_incident(db, engine.reference, report, "zz")


def test_date_with_offset_is_midnight_there() -> None:
    assert parse_time("2027-01-01Z") == datetime(2027, 1, 1, tzinfo=UTC)
    assert parse_time("2027-01-01-05:00") == datetime(2027, 1, 1, 5, tzinfo=UTC)
    with pytest.raises(DistillguardError, match="no timezone"):
        parse_time("2027-01-01")


def test_periodic_obligations_apply_only_when_covered(engine: RuleEngine, db: Database) -> None:
    from distillguard.weights.registry import Registry

    now = parse_time("2027-05-01T00:00:00Z")
    st = ReportsStore(db)
    # a cluster below the 1e20 ops/s threshold does not bind BIS 702.7
    st.add_cluster(
        "lab",
        location="lab",
        accelerator="L40S",
        accelerator_count=64,
        interconnect_gbps=400,
        peak_ops_per_s=2.3e16,
    )
    assert due_items(db, engine.reference, now) == []
    reg = Registry(db)
    v = reg.add_version("frontier-x", "1")
    reg.add_compute(v, "pretraining", 1.2e26, source="logs", recorded_by="t")
    regimes = {(d.regime, d.event) for d in due_items(db, engine.reference, now)}
    # a 1.2e26 model binds BIS and (revenue unknown: fail closed) SB 53's summaries
    assert regimes == {("bis_702_7", "quarterly_notice"), ("sb53", "internal_use_risk_summary")}
    st.set_profile(revenue_usd=1e8)  # not a large developer
    regimes = {(d.regime, d.event) for d in due_items(db, engine.reference, now)}
    assert regimes == {("bis_702_7", "quarterly_notice")}


def test_eu_threshold_crossing_opens_two_week_clock(engine: RuleEngine, db: Database) -> None:
    from distillguard.reports.incidents import import_threshold_crossings
    from distillguard.weights.registry import Registry

    reg = Registry(db)
    v = reg.add_version("mid", "1")
    reg.add_compute(v, "pretraining", 8e24, source="logs", recorded_by="t")
    assert import_threshold_crossings(db, engine.reference) == []  # below 1e25
    reg.add_compute(v, "fine_tuning", 3e24, source="logs", recorded_by="t")
    [iid] = import_threshold_crossings(db, engine.reference)
    assert import_threshold_crossings(db, engine.reference) == [iid]  # idempotent
    inc = ReportsStore(db).incident(iid)
    [d] = [
        d
        for d in due_items(db, engine.reference, parse_time(inc["discovered_at"]))
        if d.incident_id == iid
    ]
    assert (d.regime, d.event) == ("eu_ai_act", "systemic_risk_threshold_notification")
    assert d.due - parse_time(inc["discovered_at"]) == timedelta(days=14)
