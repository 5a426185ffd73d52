"""The shared-mode follower: ordered, resumable, exactly once (SQLite here; PostgreSQL and
two real gateway replicas in tests/gateway/test_shared_detect.py)."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from distillguard.detect import OnlineDetector
from distillguard.detect.follow import Follower
from distillguard.errors import DistillguardError
from distillguard.events import RequestEvent, format_ts
from distillguard.gateway.sink import SCHEMA
from distillguard.identity import NotFoundError
from distillguard.store.db import Database
from distillguard.store.locks import singleton
from tests.detect.helpers import chat_user, harvester


class FakeIdentity:
    """Records set_risk calls; can fail on demand or not know an account."""

    def __init__(self) -> None:
        self.risk: dict[str, tuple[str, str | None, float]] = {}
        self.calls = 0
        self.fail = 0
        self.unknown: set[str] = set()

    def set_risk(self, account: str, score: float, verdict: str, campaign: str | None) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("identity store down")
        if account in self.unknown:
            raise NotFoundError(account)
        self.calls += 1
        self.risk[account] = (verdict, campaign, score)


def _traffic() -> list[RequestEvent]:
    rng = random.Random(11)
    evs: list[RequestEvent] = []
    for i in range(6):
        evs += harvester(f"h{i}", 25, rng, t0=i * 0.1, spacing=2.0)
    for i in range(3):
        evs += chat_user(f"c{i}", 15, rng, t0=i * 0.2)
    evs.sort(key=lambda e: e.ts)
    return evs


def _insert(db: Database, evs: list[RequestEvent], ids: list[int] | None = None) -> None:
    for i, ev in enumerate(evs):
        row = (
            format_ts(ev.ts),
            ev.account,
            "/v1/chat/completions",
            orjson.dumps(ev.to_dict()).decode(),
        )
        if ids is None:
            db.execute(
                "INSERT INTO gateway_events (ts, account, endpoint, event) VALUES (?, ?, ?, ?)", row
            )
        else:
            db.execute("INSERT INTO gateway_events (id, ts, account, endpoint, event)"
                       " VALUES (?, ?, ?, ?, ?)", (ids[i], *row))  # fmt: skip


@pytest.fixture()
def db(tmp_path: Path) -> Any:
    d = Database(f"sqlite:///{tmp_path / 'shared.db'}")
    d.migrate("gateway_events", SCHEMA)
    yield d
    d.close()


def _view(det: OnlineDetector) -> dict[str, tuple[str, str | None, float]]:
    out = {}
    for a in det.states:
        s = det.account_state(a)
        assert s is not None
        out[a] = (s.verdict, s.campaign, round(s.score, 6))
    return out


def test_restart_neither_skips_nor_double_counts(db: Database) -> None:
    evs = _traffic()
    reference = OnlineDetector()
    for ev in evs:
        reference.observe(ev)
    first, second = evs[:100], evs[100:]
    _insert(db, first)
    ids = FakeIdentity()
    f1 = Follower(db, ids, batch=37)
    assert f1.catch_up() == 100 and f1.last_id == 100
    # a new process: the state is rebuilt from the cursor's events, then it follows on
    _insert(db, second)
    f2 = Follower(db, ids, batch=37)
    assert f2.start() == 100
    assert f2.catch_up() == len(second)
    assert f2.stats.events == len(second) and f2.last_id == len(evs)
    assert _view(f2.det) == _view(reference)  # same as one detector over everything once
    flagged = {a for a, (v, _, _) in _view(reference).items() if v == "distillation"}
    assert flagged == {f"h{i}" for i in range(6)}
    assert {a for a, (v, _, _) in ids.risk.items() if v == "distillation"} == flagged
    camps = {ids.risk[a][1] for a in flagged}
    assert len(camps) == 1 and None not in camps  # members that sent nothing lately too
    assert not any(a.startswith("c") for a in ids.risk)  # benign accounts: nothing written
    assert f2.step() == 0  # caught up


def test_a_hole_in_the_ids_is_waited_for_then_skipped_and_excluded_on_restart(
    db: Database,
) -> None:
    evs = _traffic()[:10]
    now = [0.0]
    _insert(db, evs[:3], ids=[1, 2, 3])
    _insert(db, evs[5:8], ids=[6, 7, 8])  # 4 and 5: a replica's batch not yet committed
    f = Follower(db, FakeIdentity(), gap_timeout_s=30, clock=lambda: now[0])
    assert f.catch_up() == 3 and f.last_id == 3
    now[0] = 10.0
    _insert(db, evs[3:5], ids=[4, 5])  # ... committed in time: read in id order
    assert f.catch_up() == 5 and f.last_id == 8 and f.skipped == []
    _insert(db, evs[9:10], ids=[10])  # 9 never comes (rolled back)
    assert f.step() == 0
    now[0] = 100.0  # past the timeout: given up, recorded, and the follower moves on
    assert f.step() == 1 and f.skipped == [[9, 9]] and f.stats.skipped_ids == 1
    _insert(db, evs[8:9], ids=[9])  # a row that turns up after all is not replayed later
    again = Follower(db, FakeIdentity())
    assert again.start() == 9 and again.skipped == [[9, 9]]


def test_failed_push_is_retried_without_observing_again(db: Database) -> None:
    _insert(db, _traffic())
    ids = FakeIdentity()
    f = Follower(db, ids, batch=1000)
    ids.fail = 1
    with pytest.raises(ConnectionError):
        f.step()
    seen = f.stats.events
    assert f.last_id > 0 and f._pending  # folded in, not yet written; cursor not saved
    row = db.query_one("SELECT last_id FROM detect_follow_cursor")
    assert row is None or row["last_id"] == 0
    assert f.step() == 0 and f.stats.events == seen and not f._pending
    assert any(v == "distillation" for v, _, _ in ids.risk.values())
    saved = db.query_one("SELECT last_id FROM detect_follow_cursor")
    assert saved is not None and saved["last_id"] == f.last_id


def test_unknown_accounts_and_unreadable_rows_do_not_stall_it(db: Database) -> None:
    evs = _traffic()
    _insert(db, evs[:50])
    sql = "INSERT INTO gateway_events (ts, account, endpoint, event) VALUES (?, ?, ?, ?)"
    ts, chat = "2026-11-02T00:00:00Z", "/v1/chat/completions"
    db.execute(sql, (ts, "h0", chat, "{not json"))
    db.execute(sql, (ts, "unauthenticated", chat, "{}"))
    _insert(db, evs[50:])
    ids = FakeIdentity()
    ids.unknown = {"h1"}
    f = Follower(db, ids)
    assert f.catch_up() == len(evs) + 2
    assert f.stats.bad_rows == 1 and f.stats.events == len(evs)
    assert "h1" not in ids.risk and "h0" in ids.risk


def test_one_follower_per_name_and_bad_settings(db: Database) -> None:
    with singleton(db, "detect-follow:default") as first:
        assert first
        with singleton(db, "detect-follow:default") as second:
            assert not second
        with singleton(db, "detect-follow:other") as third:
            assert third
    with pytest.raises(DistillguardError):
        Follower(db, FakeIdentity(), batch=0)


def test_cli_once(db: Database, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distillguard.cli import app
    from distillguard.identity import IdentityService

    ids = IdentityService(db)
    acct = ids.create_account("harvester", nationality="SG")
    evs = harvester(acct.id, 25, random.Random(2))
    _insert(db, evs)
    res = CliRunner().invoke(app, ["detect-follow", "--store", db.url, "--once"])
    assert res.exit_code == 0, res.output
    assert f"cursor at event id {len(evs)}" in res.output
    assert ids.get_account(acct.id).risk_verdict != "benign"
    res = CliRunner().invoke(app, ["detect-follow", "--store", db.url, "--once"])
    assert "25 replayed, 0 new" in res.output  # resumed from the stored cursor


def test_run_follows_until_stopped_and_survives_a_failing_identity(db: Database) -> None:
    import threading
    import time

    evs = _traffic()
    _insert(db, evs[:60])
    ids = FakeIdentity()
    ids.fail = 2  # the identity store is down for the first two attempts
    f = Follower(db, ids)
    stop = threading.Event()
    t = threading.Thread(target=f.run, kwargs={"poll_s": 0.01, "stop": stop, "report_s": 0.0})
    t.start()
    try:
        _insert(db, evs[60:])
        deadline = time.monotonic() + 20
        while f.last_id < len(evs) or f._pending:
            assert time.monotonic() < deadline, (f.last_id, f._pending)
            stop.wait(0.02)
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive() and f.lag() == 0 and f.stats.events == len(evs)
    assert {a for a, (v, _, _) in ids.risk.items() if v == "distillation"} == {
        f"h{i}" for i in range(6)
    }
