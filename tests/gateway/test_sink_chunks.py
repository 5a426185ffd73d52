"""The event sink writes in small chunks (a short GIL burst each) and still loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from distillguard.events import RequestEvent
from distillguard.gateway import sink as sink_mod
from distillguard.gateway.sink import EventSink, Outcome
from distillguard.store.db import Database


def _outcome(i: int) -> Outcome:
    ev = RequestEvent(ts=datetime.now(UTC), account=f"acct{i % 7}", request_id=f"req{i}")
    return Outcome(ev, {"decided": True, "action": "allow", "status": 200}, None, True)


def test_everything_written_in_chunks(tmp_path: Path) -> None:
    n = sink_mod._CHUNK * 5 + 3
    db = Database(f"sqlite:///{tmp_path / 'e.db'}")
    forwarded: list[int] = []
    s = EventSink(db, tmp_path / "e.jsonl", forward=lambda lines: forwarded.append(len(lines)))
    s.start()
    for i in range(n):
        s.submit(_outcome(i))
    assert s.flush(timeout=30)
    assert s.written == n
    assert max(forwarded) <= sink_mod._CHUNK and sum(forwarded) == n  # chunk by chunk
    rows = db.query("SELECT request_id FROM gateway_events ORDER BY id")
    assert [r["request_id"] for r in rows] == [f"req{i}" for i in range(n)]  # in order
    s.close()
    db.close()
    assert len((tmp_path / "e.jsonl").read_bytes().splitlines()) == n


def test_close_without_start_writes_every_chunk(tmp_path: Path) -> None:
    n = sink_mod._CHUNK * 3 + 1
    s = EventSink(None, tmp_path / "e.jsonl")
    for i in range(n):
        s.submit(_outcome(i))
    s.close()  # never started: written synchronously, all of it
    assert len((tmp_path / "e.jsonl").read_bytes().splitlines()) == n
