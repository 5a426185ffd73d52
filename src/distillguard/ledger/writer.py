"""Background batch writer: the caller pays an enqueue, a thread pays the hashing and I/O.

`enqueue` canonicalises the record on the caller's thread (so a bad record fails there
and later mutation by the caller cannot change what is logged) and stamps the time;
the writer thread appends batches of up to `batch_size` records in one transaction,
lingering up to `linger_s` to fill a batch. A record, and a payload row handed over by
`Ledger.commit_payload`, is durable once `flush()` returns (or `close()`). A failed
batch stays at the head of the queue and is retried with backoff; `flush()` waits
through a transient failure (a locked database) but raises once `fail_after` attempts
made during the flush have failed, instead of pretending success.
Checkpoints are issued every `checkpoint_every` records or `checkpoint_interval_s`
seconds, and on `close()`.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import TYPE_CHECKING, Any

from distillguard.errors import DistillguardError

from .canonical import canonical_json
from .records import now_stamp
from .storage import PayloadRow

if TYPE_CHECKING:
    from .ledger import Ledger


class LedgerWriter:
    """Batched, thread-backed appender for one ledger."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        batch_size: int,
        linger_s: float,
        checkpoint_every: int,
        checkpoint_interval_s: float,
        max_queue: int,
    ) -> None:
        self._ledger = ledger
        self.batch_size = batch_size
        self.linger_s = linger_s
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval_s = checkpoint_interval_s
        self.max_queue = max_queue
        self._queue: collections.deque[tuple[bytes, bytes]] = collections.deque()
        self._payloads: list[PayloadRow] = []
        # A plain Lock taken directly on the enqueue path (a Condition's `with` goes
        # through a Python-level __enter__, twice the cost); the Condition shares it.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._enqueued = 0
        self._durable = 0
        self._payloads_added = 0  # payload rows handed in / written: flush waits for both
        self._payloads_durable = 0
        self._flush_wanted = False
        self._closing = False
        self.closed = False
        self._error: BaseException | None = None
        self._failures = 0
        self.fail_after = 5
        self._last_cp_size = -1
        self._last_cp_time = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()

    def enqueue(self, record: dict[str, Any]) -> None:
        """Queue one record (blocks only while `max_queue` records are pending)."""
        if not isinstance(record, dict):
            raise DistillguardError("a ledger record must be a JSON object")
        item = (canonical_json(record), now_stamp())
        queue = self._queue
        with self._lock:
            if self._closing:
                raise DistillguardError("ledger writer is closed")
            while len(queue) >= self.max_queue:
                self._cond.wait(0.1)
            queue.append(item)
            self._enqueued += 1
            if len(queue) == self.batch_size:
                self._cond.notify_all()

    def enqueue_payload(self, row: PayloadRow) -> None:
        with self._lock:
            self._payloads.append(row)
            self._payloads_added += 1

    def flush(self, timeout: float | None = None) -> int:
        """Block until everything enqueued so far is durable; return the log size."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._enqueued
            failures_at_start = self._failures
            target_payloads = self._payloads_added
            self._flush_wanted = True
            self._cond.notify_all()
            # Payloads count as durable when written, not when the thread takes them.
            while self._durable < target or self._payloads_durable < target_payloads:
                if self._error is not None and (
                    self._failures - failures_at_start >= self.fail_after
                ):
                    raise DistillguardError(f"ledger write failed: {self._error}")
                if not self._thread.is_alive():
                    raise DistillguardError("ledger writer thread stopped")
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise DistillguardError("ledger flush timed out")
                self._cond.wait(0.05 if left is None else min(left, 0.05))
        return self._ledger.size

    def close(self) -> None:
        """Flush, stop the thread and issue a final checkpoint."""
        if self.closed:
            return
        try:
            self.flush()
        finally:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            self._thread.join()
            self.closed = True
        if self._ledger._key is not None:
            self._ledger.checkpoint()

    def _take(self) -> tuple[list[tuple[bytes, bytes]], list[PayloadRow]]:
        with self._cond:
            end = time.monotonic() + self.linger_s
            while not self._closing:
                n = len(self._queue)
                if n >= self.batch_size or (self._flush_wanted and (n or self._payloads)):
                    break
                left = end - time.monotonic()
                if n and left <= 0:
                    break
                self._cond.wait(left if n and left > 0 else 0.05)
                if not n:
                    end = time.monotonic() + self.linger_s
                if self._checkpoint_due():
                    break
            queue = self._queue
            if len(queue) <= self.batch_size:  # take all: one C-level copy, no popleft loop
                batch = list(queue)
                queue.clear()
            else:
                popleft = queue.popleft
                batch = [popleft() for _ in range(self.batch_size)]
            payloads, self._payloads = self._payloads, []
            if not self._queue:
                self._flush_wanted = False
            self._cond.notify_all()
            return batch, payloads

    def _checkpoint_due(self) -> bool:
        if self._ledger._key is None:
            return False
        return time.monotonic() - self._last_cp_time >= self.checkpoint_interval_s

    def _run(self) -> None:
        backoff = 0.05
        while True:
            batch, payloads = self._take()
            if batch or payloads:
                try:
                    self._ledger._append_encoded(batch, payloads)
                except BaseException as exc:  # keep the records; retry after a pause
                    with self._cond:
                        self._queue.extendleft(reversed(batch))
                        self._payloads[:0] = payloads
                        self._error = exc
                        self._failures += 1
                        self._cond.notify_all()
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 1.0)
                    with self._cond:
                        if self._closing:
                            return
                    continue
                backoff = 0.05
                with self._cond:
                    self._error = None
                    self._failures = 0
                    self._durable += len(batch)
                    self._payloads_durable += len(payloads)
                    self._cond.notify_all()
            self._maybe_checkpoint()
            with self._cond:
                if self._closing and not self._queue and not self._payloads:
                    return

    def _maybe_checkpoint(self) -> None:
        led = self._ledger
        if led._key is None:
            return
        size = led.storage.head_size()
        if self._last_cp_size < 0:
            cp = led.storage.latest_checkpoint()
            self._last_cp_size = cp.size if cp else 0
        if size <= self._last_cp_size:
            self._last_cp_time = time.monotonic()
            return
        if size - self._last_cp_size >= self.checkpoint_every or self._checkpoint_due():
            try:
                led.checkpoint()
            except DistillguardError:
                return  # retried on the next batch; verify reports a persistent problem
            self._last_cp_size = size
            self._last_cp_time = time.monotonic()
