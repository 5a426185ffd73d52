"""Restarting `detect-follow`: it resumes from its cursor and rebuilds the detector's state
from a bounded window of recent events, not the whole table; accounts whose evidence is
older than the window keep the verdict identity holds until their new state reaches it."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from distillguard.detect.follow import Follower
from distillguard.events import RequestEvent
from distillguard.identity import IdentityService
from distillguard.store.db import Database
from tests.detect.helpers import chat_user, harvester
from tests.detect.test_follow import FakeIdentity, _insert, _traffic
from tests.detect.test_follow import db as db  # the fixture


class ListingIdentity(FakeIdentity):
    """A FakeIdentity that can list what it holds, as IdentityService.risk_states does."""

    def risk_states(self) -> dict[str, tuple[str, str | None, float]]:
        return {a: st for a, st in self.risk.items() if st[0] != "benign"}


class CountingDb:
    """The database, counting the event rows the follower reads."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.rows_read = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._db.query(sql, params)
        if "FROM gateway_events WHERE id >" in sql:
            self.rows_read += len(rows)
        return rows


def test_restart_reads_only_the_window_and_the_new_events(db: Database) -> None:
    evs = _traffic()
    _insert(db, evs[:150])
    ids = ListingIdentity()
    first = Follower(db, ids, batch=40)
    assert first.catch_up() == 150
    counting = CountingDb(db)
    _insert(db, evs[150:])
    again = Follower(counting, ids, batch=40, rebuild_events=30)
    assert again.start() == 30 and again.last_id == 150  # 30 replayed, none pushed
    assert counting.rows_read == 30
    assert again.catch_up() == len(evs) - 150
    assert counting.rows_read == 30 + len(evs) - 150  # nothing before the window was read
    assert again.stats.events == len(evs) - 150
    saved = db.query_one("SELECT last_id, events FROM detect_follow_cursor")
    assert saved is not None and saved["last_id"] == len(evs)
    assert saved["events"] == len(evs)  # counts what was folded in once, not replays

    empty = Follower(CountingDb(db), ids, rebuild_events=0)
    assert empty.start() == 0 and empty.last_id == len(evs) and empty.step() == 0


def test_a_window_that_covers_the_table_rebuilds_exactly_and_sets_no_floor(
    db: Database,
) -> None:
    evs = _traffic()
    _insert(db, evs)
    ids = ListingIdentity()
    Follower(db, ids).catch_up()
    for window in (len(evs), None):
        f = Follower(db, ids, rebuild_events=window)
        assert f.start() == len(evs) and f.stats.floored == 0 and not f._floor


def test_events_deleted_by_retention_also_set_floors(db: Database) -> None:
    rng = random.Random(6)
    evs = harvester("h0", 30, rng, spacing=2.0) + chat_user("c0", 10, rng, t0=200.0)
    evs.sort(key=lambda e: e.ts)
    _insert(db, evs)
    ids = ListingIdentity()
    Follower(db, ids).catch_up()
    assert ids.risk["h0"][0] == "distillation"
    db.execute("DELETE FROM gateway_events WHERE id <= 25")  # a retention job
    f = Follower(db, ids, rebuild_events=None)  # the whole table: what is left of it
    assert f.start() == len(evs) - 25 and f._floor == {"h0": 2}


def _more(account: str, n: int, rng: random.Random, t0: float) -> list[RequestEvent]:
    return harvester(account, n, rng, t0=t0, spacing=2.0)


def test_older_evidence_keeps_identitys_verdict_until_the_state_catches_up(
    db: Database,
) -> None:
    rng = random.Random(5)
    evs = harvester("h0", 30, rng, spacing=2.0) + harvester("h1", 30, rng, t0=0.5, spacing=2.0)
    evs += chat_user("c0", 10, rng, t0=200.0)
    evs.sort(key=lambda e: e.ts)
    _insert(db, evs)
    ids = ListingIdentity()
    Follower(db, ids).catch_up()
    assert ids.risk["h0"][0] == ids.risk["h1"][0] == "distillation"
    before = dict(ids.risk)
    # a second cursor at the same place, for the same restart without floors below
    db.execute(
        "INSERT INTO detect_follow_cursor (name, last_id, skipped, events, updated_at)"
        " SELECT 'plain', last_id, skipped, events, updated_at FROM detect_follow_cursor"
    )

    # restart with a window holding only the chat user's requests: h0 and h1 are rebuilt
    # from nothing, so their next requests look milder (suspicious from the 5th on)
    f = Follower(db, ids, rebuild_events=10)
    assert f.start() == 10 and f.stats.floored == 2 and f._floor == {"h0": 2, "h1": 2}
    plain = FakeIdentity()  # cannot list its states: no floors
    plain.risk = dict(before)
    g = Follower(db, plain, rebuild_events=10, name="plain")
    assert g.start() == 10 and g.stats.floored == 0
    _insert(db, _more("h0", 6, rng, t0=400.0) + _more("h1", 6, rng, t0=401.0))
    f.catch_up()
    g.catch_up()
    assert ids.risk["h0"] == before["h0"] and ids.risk["h1"] == before["h1"]
    assert f.stats.held_back > 0
    # without a floor the same restart writes the milder verdicts
    assert plain.risk["h0"][0] == plain.risk["h1"][0] == "suspicious", plain.risk

    # once an account's rebuilt state reaches identity's verdict again, it is normal again
    _insert(db, _more("h0", 40, rng, t0=500.0))
    f.catch_up()
    assert "h0" not in f._floor and "h1" in f._floor
    assert ids.risk["h0"][0] == "distillation"


def test_floors_with_the_real_identity_service(db: Database, tmp_path: Path) -> None:
    ids = IdentityService(db)
    for name in ("h0", "c0"):
        ids.create_account(name, id=name)
    rng = random.Random(8)
    evs = harvester("h0", 30, rng, spacing=2.0) + chat_user("c0", 10, rng, t0=200.0)
    evs.sort(key=lambda e: e.ts)
    _insert(db, evs)
    Follower(db, ids).catch_up()
    assert ids.get_account("h0").risk_verdict == "distillation"
    assert ids.risk_states().keys() == {"h0"}
    ids.set_review("h0", "cleared", reviewer="ana", reason="reviewed: a lab")
    f = Follower(db, ids, rebuild_events=10)
    assert f.start() == 10 and f._floor == {"h0": 2}
    _insert(db, _more("h0", 6, rng, t0=400.0))
    f.catch_up()
    a = ids.get_account("h0")
    assert a.risk_verdict == "distillation" and a.review is not None  # both kept


def test_bad_window() -> None:
    from distillguard.errors import DistillguardError

    with pytest.raises(DistillguardError, match="rebuild_events"):
        Follower(object(), FakeIdentity(), rebuild_events=-1)


def test_cli_rebuild_window(db: Database) -> None:
    from typer.testing import CliRunner

    from distillguard.cli import app

    _insert(db, _traffic()[:40])
    run = CliRunner().invoke
    res = run(app, ["detect-follow", "--store", db.url, "--once"])
    assert res.exit_code == 0 and "0 replayed, 40 new" in res.output, res.output
    res = run(app, ["detect-follow", "--store", db.url, "--once", "--rebuild-events", "7"])
    assert res.exit_code == 0 and "7 replayed, 0 new" in res.output, res.output
    res = run(app, ["detect-follow", "--store", db.url, "--once", "--rebuild-events", "-1"])
    assert res.exit_code == 2 and "Traceback" not in res.output
