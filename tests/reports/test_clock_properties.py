"""Properties of the deadline arithmetic over random discovery times and time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.reports.clocks import plan
from distillguard.rules import RuleEngine, default_pack_path

ENGINE = RuleEngine.from_path(default_pack_path())
ZONES = ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Chatham", "Europe/Dublin"]


@settings(max_examples=60, deadline=None)
@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31)),
    st.sampled_from(ZONES),
    st.booleans(),
)
def test_every_deadline_matches_its_clock(local: datetime, zone: str, imminent: bool) -> None:
    t0 = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    ref = ENGINE.reference
    p = plan(ref, "weight_exfiltration", t0, imminent)
    started = {(d.regime, d.event) for d in p.deadlines}
    skipped = {(s["regime"], s["event"]) for s in p.not_in_force}
    it = ref.incident_types["weight_exfiltration"]
    expected = set(it.clocks) | (set(it.imminent_clocks) if imminent else set())
    assert started | skipped == expected and not started & skipped
    assert (("raise", "safety_incident") in started) == (t0 >= datetime(2027, 1, 1, tzinfo=UTC))
    for d in p.deadlines:
        c = ref.clock(d.regime, d.event)
        assert c is not None and d.due > t0
        if c.deadline is not None:
            assert d.due - t0 == c.deadline  # exact elapsed time, whatever the zone
        elif c.every is not None:
            assert d.due - t0 == c.every
        else:  # the first listed calendar date strictly after discovery, 00:00 UTC
            assert d.due.strftime("%m-%d") in c.dates and d.due.time().hour == 0
            assert d.due - t0 <= timedelta(days=92)
            between = [t0 + timedelta(days=k) for k in range(1, (d.due - t0).days + 1)]
            assert not any(
                x.strftime("%m-%d") in c.dates
                and x.replace(hour=0, minute=0, second=0, microsecond=0) > t0
                and x.date() < d.due.date()
                for x in between
            )
