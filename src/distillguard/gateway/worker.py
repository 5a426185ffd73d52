"""Off-hot-path consumers (online detector, ledger) in a separate worker process.

Why: both are CPU work per request (feature extraction, campaign linking, hashing,
signing). In a thread of the gateway process they share its GIL with the event loop and
add latency and lose throughput under load; in their own process they use another core.
Enabled with `[store] consumers = "process"` (default "thread"). The gateway's sink thread
still writes every RequestEvent durably first, then ships the serialised lines through a
pipe; the worker owns the ledger (one writer per ledger) and pushes detector verdicts to
identity with `set_risk`, which the gateway's identity cache picks up within its sync
interval (about a second) instead of at once. A graceful shutdown drains the pipe, flushes
the ledger (final checkpoint) and waits for the worker.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from typing import Any

import orjson

from distillguard.events import RequestEvent

log = logging.getLogger("distillguard.gateway.worker")

DETECT = b"D"  # feed the detector and the ledger
LEDGER = b"L"  # ledger only (decided, not to be profiled: e.g. /v1/models)
SKIP = b"-"


# The worker's scheduling priority (nice value, 0-19; higher yields more).
WORKER_NICE = 10


def _yield_cpu() -> None:
    """Lower this process's CPU priority below the gateway's request path.

    Why: the worker's work arrives in bursts (one batch of events every flush interval,
    about 50 ms of detector and ledger CPU for 256 events). At equal priority, a burst
    that holds a core when the gateway, its client and the upstream all need one at the
    same moment makes one of them wait a scheduler slice (several ms): that is the c=1
    tail bench/gateway measured. Niced, the worker is preempted as soon as a request-path
    process wakes, and still gets every core the request path leaves idle; under a load
    that saturates the machine, detector verdicts arrive later (the events are already
    durable: the gateway wrote them before forwarding them here).
    """
    try:
        os.nice(WORKER_NICE)
    except OSError:  # not permitted here: run at the normal priority
        log.warning("could not lower the consumer worker's priority")


def consumer_main(
    conn: Any, db_url: str, ledger_url: str | None, key_path: str | None, home: str, det: bool
) -> None:
    """The worker's loop: lines in, detector and ledger out, until the parent says stop."""
    os.environ["DISTILLGUARD_HOME"] = home
    _yield_cpu()
    from distillguard.gateway.server import make_detect_hook, make_ledger_hook, tune_gc
    from distillguard.gateway.sink import Outcome
    from distillguard.store.db import Database

    closers: list[Any] = []
    detect = ledger = None
    if det:
        from distillguard.detect import OnlineDetector
        from distillguard.identity import IdentityService

        db = Database(db_url)
        closers.append(db.close)
        detect = make_detect_hook(OnlineDetector(), IdentityService(db), None)
    if ledger_url is not None:
        from distillguard.ledger import open_ledger

        led = open_ledger(url=ledger_url, key_path=key_path)
        writer = led.writer()
        closers += [led.close, writer.close]
        ledger = make_ledger_hook(led, writer)
    tune_gc()
    while True:
        try:
            data = conn.recv_bytes()
        except EOFError:
            break
        if not data:
            break
        for line in data.split(b"\n"):
            kind, raw = line[:1], line[1:]
            try:
                d = orjson.loads(raw)
                ev = RequestEvent.from_dict(d)
            except Exception:
                log.exception("consumer could not read one event")
                continue
            # separately, as in the sink thread: a detector failure must never cost the
            # decision its ledger record (the audit trail), nor the other way round
            if kind == DETECT and detect is not None:
                try:
                    detect(ev)
                except Exception:
                    log.exception("detector failed on %s", ev.request_id)
            if ledger is not None and d.get("decision", {}).get("decided"):
                try:
                    ledger(Outcome(ev, d["decision"], None, True))
                except Exception:
                    log.exception("ledger enqueue failed on %s", ev.request_id)
    for fn in reversed(closers):
        try:
            fn()
        except Exception:
            log.exception("consumer close failed")
    conn.send_bytes(b"closed")


class ConsumerProcess:
    """The parent's handle: `forward(lines)` from the sink thread, `close()` at shutdown."""

    def __init__(
        self, db_url: str, ledger_url: str | None, key_path: str | None, home: str, det: bool
    ) -> None:
        ctx = mp.get_context("spawn")  # never fork a process that runs threads
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=consumer_main,
            args=(child, db_url, ledger_url, key_path, home, det),
            name="distillguard-consumers",
            daemon=True,
        )
        self.proc.start()
        child.close()

    def forward(self, lines: list[bytes]) -> None:
        if lines:
            self._conn.send_bytes(b"\n".join(lines))

    def close(self, timeout: float = 60.0) -> None:
        if not self.proc.is_alive():
            return
        try:
            self._conn.send_bytes(b"")
            if self._conn.poll(timeout):
                self._conn.recv_bytes()
        except (OSError, EOFError):
            pass
        self.proc.join(timeout)
        if self.proc.is_alive():
            log.error("consumer worker did not stop in time; terminating it")
            self.proc.terminate()
