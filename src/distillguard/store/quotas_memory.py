"""MemoryQuotas: the quota semantics of `quotas.py` for one process (the embedded mode).

Why a log per subject: a sliding window must forget each admission exactly `window_s`
after it, so every charge is kept in arrival order with running sums of requests and
tokens; expiring is a pop from the left, and admission checks and charges the account
and its organisation under one lock (all-or-nothing), so threads and asyncio tasks
can never admit past a limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from distillguard.store.quota_types import (
    Admission,
    Lease,
    LeaseIds,
    Limits,
    QuotaPolicy,
    Quotas,
    Subjects,
)


@dataclass(slots=True)
class _Charge:
    at: float
    id: str
    tokens: int
    request: bool  # False: a late excess charge (does not count as a request)


@dataclass(slots=True)
class _Subject:
    log: deque[_Charge] = field(default_factory=deque)
    by_id: dict[str, _Charge] = field(default_factory=dict)
    requests: int = 0
    tokens: int = 0
    leases: dict[str, float] = field(default_factory=dict)  # lease id -> expiry

    def expire(self, now: float, window: float) -> None:
        while self.log and self.log[0].at <= now - window:
            c = self.log.popleft()
            self.by_id.pop(c.id, None)
            self.tokens -= c.tokens
            self.requests -= c.request

    def inflight(self, now: float) -> int:
        """Unexpired leases (expired ones are dropped here, only when it can matter)."""
        for lid in [k for k, exp in self.leases.items() if exp <= now]:
            del self.leases[lid]
        return len(self.leases)

    def request_retry(self, now: float, window: float, rpm: int) -> float | None:
        """Seconds until enough admissions leave the window for one more (None: never)."""
        if rpm == 0:
            return None
        idx = self.requests - rpm  # a lower bound when late excess charges are in the log
        at = self.log[idx].at if idx < len(self.log) else now
        return at + window - now

    def check(
        self,
        name: str,
        lim: Limits,
        est_tokens: int,
        now: float,
        p: QuotaPolicy,
        refusals: list[tuple[str, float | None]],
    ) -> tuple[int | None, int | None]:
        """Append to `refusals` every limit one more request would break (with the wait
        before it could fit, None: never); return the requests and tokens that would be
        left after it (None: unlimited). The window must already be expired to `now`."""
        window = p.window_s
        left_req = left_tok = None
        if lim.rpm is not None:
            left_req = lim.rpm - self.requests - 1
            if left_req < 0:
                refusals.append((f"{name}_rpm", self.request_retry(now, window, lim.rpm)))
        if lim.tpm is not None:
            left_tok = lim.tpm - self.tokens - est_tokens
            if left_tok < 0:
                wait = None if est_tokens > lim.tpm else self.token_retry(now, window, -left_tok)
                refusals.append((f"{name}_tpm", wait))
        conc = lim.concurrency
        if conc is not None and len(self.leases) >= conc and self.inflight(now) >= conc:
            refusals.append((f"{name}_concurrency", None if conc == 0 else p.concurrency_retry_s))
        return left_req, left_tok

    def charge(self, lease_id: str, tokens: int, now: float, lease_expiry: float) -> None:
        """Count one admitted request: its tokens in the window and its concurrency slot."""
        c = _Charge(now, lease_id, tokens, True)
        self.log.append(c)
        self.by_id[lease_id] = c
        self.requests += 1
        self.tokens += tokens
        self.leases[lease_id] = lease_expiry

    def token_retry(self, now: float, window: float, need: int) -> float:
        freed = 0
        for c in self.log:
            freed += c.tokens
            if freed >= need:
                return c.at + window - now
        return window


def _smallest(acc: int | None, left: int | None) -> int | None:
    """The running minimum of what is left over the subjects (floored at 0; None: unlimited)."""
    if left is None:
        return acc
    left = max(left, 0)
    return left if acc is None else min(acc, left)


class MemoryQuotas(Quotas):
    """Exact quotas for one process (the embedded mode). One lock; O(1) amortised.

    The lock is held for microseconds and never across an await, so the inherited async
    methods simply call the sync hooks: safe in an event loop.
    """

    def __init__(
        self, policy: QuotaPolicy | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or QuotaPolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._subjects: dict[str, _Subject] = {}
        self._ids = LeaseIds()

    def _acquire(
        self, account_id: str, org_id: str | None, est_tokens: int, subjects: Subjects
    ) -> Admission:
        p = self.policy
        window = p.window_s
        with self._lock:
            now = self._clock()
            refusals: list[tuple[str, float | None]] = []
            rem_req: int | None = None
            rem_tok: int | None = None
            states = []
            for name, key, lim in subjects:
                s = self._subjects.get(key)
                if s is None:
                    s = self._subjects[key] = _Subject()
                if s.log and s.log[0].at <= now - window:
                    s.expire(now, window)
                states.append(s)
                left_req, left_tok = s.check(name, lim, est_tokens, now, p, refusals)
                rem_req = _smallest(rem_req, left_req)
                rem_tok = _smallest(rem_tok, left_tok)
            reason = refusals[0][0] if refusals else None
            if refusals and not p.shadow:
                waits = [w for _, w in refusals]
                retry = None if None in waits else max(w for w in waits if w is not None)
                return Admission(False, reason, retry, None, rem_req, rem_tok)
            lease = Lease(self._ids.next(), account_id, org_id, est_tokens)
            for s in states:
                s.charge(lease.id, est_tokens, now, now + p.lease_ttl_s)
            return Admission(True, reason, None, lease, rem_req, rem_tok, shadow=bool(refusals))

    def _release(self, lease: Lease, actual_tokens: int | None, subjects: Subjects) -> None:
        with self._lock:
            now = self._clock()
            for _, key, _ in subjects:
                s = self._subjects.get(key)
                if s is None:
                    continue
                s.leases.pop(lease.id, None)
                if actual_tokens is None:
                    continue
                c = s.by_id.get(lease.id)
                if c is not None and c.at > now - self.policy.window_s:
                    s.tokens += actual_tokens - c.tokens
                    c.tokens = actual_tokens
                elif actual_tokens > lease.tokens and f"{lease.id}:o" not in s.by_id:
                    extra = _Charge(now, f"{lease.id}:o", actual_tokens - lease.tokens, False)
                    s.log.append(extra)
                    s.by_id[extra.id] = extra
                    s.tokens += extra.tokens

    def _renew(self, lease: Lease, subjects: Subjects) -> bool:
        with self._lock:
            now = self._clock()
            found = False
            for _, key, _ in subjects:
                s = self._subjects.get(key)
                if s is not None and s.leases.get(lease.id, 0.0) > now:
                    s.leases[lease.id] = now + self.policy.lease_ttl_s
                    found = True
            return found

    def usage(self, account_id: str | None = None, org_id: str | None = None) -> dict[str, int]:
        """Current window usage of one subject: requests, tokens, in-flight leases."""
        key = f"a:{account_id}" if account_id is not None else f"o:{org_id}"
        with self._lock:
            s = self._subjects.get(key) or _Subject()
            now = self._clock()
            s.expire(now, self.policy.window_s)
            return {"requests": s.requests, "tokens": s.tokens, "inflight": s.inflight(now)}
