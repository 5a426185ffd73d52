"""The event sink: every request's RequestEvent, written off the hot path by one thread.

Why a background batch writer: the request path only appends to a deque (well under a
microsecond); one thread serialises, writes batches to the `gateway_events` table and the
optional JSONL file, then feeds the online detector and the ledger. Records are written
before anything else touches them, a failed write is retried (never dropped), and
`close()` drains the queue, so nothing acknowledged to a client is lost on a graceful
shutdown. Each JSONL line is a RequestEvent (the fixed contract) plus two extra fields the
readers ignore or use: `decision` (action, rule ids, pack hash, code, transforms, status)
and `context` (the account snapshot and request context the rules saw, so `rules replay`
can re-decide exactly).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from distillguard.events import RequestEvent
from distillguard.store.db import Database

log = logging.getLogger("distillguard.gateway.sink")

# Events per write (one transaction, one JSONL append, one message to the worker), and a
# real sleep between writes and every few consumer calls. Why: this thread shares the GIL
# with the event loop, and a thread that releases the GIL only for a moment (an SQLite
# step, `sleep(0)`) usually takes it straight back before the waiting loop wakes; the
# loop then waits out the whole burst (a batch of 256 events: ~5 ms of serialising and
# inserting), which is the c=1 latency tail. A sleep blocks this thread, so the loop
# gets the GIL at once; small chunks bound a burst to about a millisecond.
_CHUNK = 64
_YIELD_S = 0.0002
_CONSUMER_STEP = 4

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS gateway_events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, request_id TEXT,"
    " account TEXT NOT NULL, org TEXT, model TEXT, endpoint TEXT, action TEXT,"
    " status INTEGER, event TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS gateway_events_account ON gateway_events (account, ts)",
]


@dataclass(slots=True)
class Outcome:
    """What the request path hands to the sink: the event and what was decided."""

    event: RequestEvent
    decision: dict[str, Any]
    context: dict[str, Any] | None
    authenticated: bool

    def to_dict(self) -> dict[str, Any]:
        d = self.event.to_dict()
        d["decision"] = self.decision
        if self.context is not None:
            d["context"] = self.context
        return d


# Hooks the gateway plugs in (kept as plain callables so the sink knows no other part).
DetectHook = Callable[[RequestEvent], None]
LedgerHook = Callable[[Outcome], None]


class EventSink:
    """Thread-backed batch writer. `submit()` is thread-safe and never blocks."""

    def __init__(
        self,
        db: Database | None,
        jsonl: Path | None = None,
        *,
        detect: DetectHook | None = None,
        ledger: LedgerHook | None = None,
        forward: Callable[[list[bytes]], None] | None = None,
        batch_size: int = 256,
        flush_interval_s: float = 0.2,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.jsonl = jsonl
        self.detect = detect
        self.ledger = ledger
        self.forward = forward
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.on_error = on_error
        self._q: deque[Outcome] = deque()
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._fh: Any = None
        self.written = 0
        self.submitted = 0
        self._idle = threading.Condition()
        if db is not None:
            db.migrate("gateway_events", SCHEMA)
        if jsonl is not None:
            jsonl.parent.mkdir(parents=True, exist_ok=True)
            self._fh = jsonl.open("ab")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dg-event-writer", daemon=True)
        self._thread.start()

    def submit(self, item: Outcome) -> None:
        self._q.append(item)
        self.submitted += 1
        if len(self._q) >= self.batch_size and not self._wake.is_set():
            self._wake.set()  # Event.set takes a lock: once per batch, not per event

    def pending(self) -> int:
        return len(self._q)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is written (True) or the timeout passes."""
        target = self.submitted
        deadline = time.monotonic() + timeout
        self._wake.set()
        with self._idle:
            while self.written < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.05))
                self._wake.set()
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Drain the queue, write everything, stop the thread, close the file."""
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        else:  # never started: write synchronously
            while self._q and self._drain_once():
                pass
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    # -- writer thread -----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            stop = self._stop
            while self._q:
                if self._drain_once():
                    if self._q:
                        time.sleep(_YIELD_S)  # let the event loop in between chunks
                else:
                    time.sleep(0.2)  # storage trouble: keep the batch, try again
                    if stop and not self._q:
                        break
            if stop and not self._q:
                return

    def _drain_once(self) -> bool:
        batch: list[Outcome] = []
        q = self._q
        while q and len(batch) < _CHUNK:
            batch.append(q.popleft())
        if not batch:
            return True
        try:
            lines = self._write(batch)
        except Exception:
            log.exception("event batch write failed; will retry")
            if self.on_error is not None:
                self.on_error()
            q.extendleft(reversed(batch))
            return False
        with self._idle:
            self.written += len(batch)
            self._idle.notify_all()
        if self.forward is not None:  # consumers in a worker process
            try:
                self.forward(
                    [
                        (b"D" if o.authenticated else b"L") + line
                        for o, line in zip(batch, lines, strict=True)
                        if o.authenticated or o.decision.get("decided")
                    ]
                )
            except Exception:
                log.exception("forwarding events to the consumer process failed")
        if self.detect is None and self.ledger is None:
            return True
        for i, item in enumerate(batch):  # after the durable write; failures are theirs
            # CPU-bound (detector, ledger hashing): hand the GIL to the event loop every
            # few events (see _YIELD_S)
            if i % _CONSUMER_STEP == _CONSUMER_STEP - 1:
                time.sleep(_YIELD_S)
            if item.authenticated and self.detect is not None:
                try:
                    self.detect(item.event)
                except Exception:
                    log.exception("detector failed on %s", item.event.request_id)
            if self.ledger is not None and item.decision.get("decided"):
                try:
                    self.ledger(item)
                except Exception:
                    log.exception("ledger enqueue failed on %s", item.event.request_id)
        return True

    def _write(self, batch: list[Outcome]) -> list[bytes]:
        lines: list[bytes] = []
        stamps: list[str] = []  # formatted once, for the line and the table's ts column
        for o in batch:  # a chunk at most (_CHUNK): see the yields in _run
            d = o.to_dict()
            stamps.append(d["ts"])
            lines.append(orjson.dumps(d))
        if self._fh is not None:
            self._fh.write(b"\n".join(lines) + b"\n")
            self._fh.flush()
        if self.db is not None:
            rows = [
                (
                    ts,
                    o.event.request_id,
                    o.event.account,
                    o.event.org,
                    o.event.model,
                    o.event.endpoint,
                    o.decision.get("action"),
                    o.decision.get("status"),
                    line.decode(),
                )
                for o, line, ts in zip(batch, lines, stamps, strict=True)
            ]
            with self.db.transaction():
                self.db.executemany(
                    "INSERT INTO gateway_events (ts, request_id, account, org, model, endpoint,"
                    " action, status, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        return lines


def iter_stored_events(
    db: Database, *, account: str | None = None, batch: int = 1000
) -> Iterator[dict[str, Any]]:
    """Stored RequestEvents (with `decision` and `context`) in insertion order."""
    last = 0
    while True:
        if account is None:
            rows = db.query(
                "SELECT id, event FROM gateway_events WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch),
            )
        else:
            rows = db.query(
                "SELECT id, event FROM gateway_events WHERE id > ? AND account = ?"
                " ORDER BY id LIMIT ?",
                (last, account, batch),
            )
        if not rows:
            return
        for r in rows:
            yield orjson.loads(r["event"])
        last = int(rows[-1]["id"])
