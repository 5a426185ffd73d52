"""Quotas: requests per minute, tokens per minute and concurrent requests, exact under load.

Why this design: a gateway that checks usage before a call and counts it after lets N
concurrent requests all pass the same check (LiteLLM #18730: TPM overrun six-fold). Here
admission is one atomic step per request that checks AND charges every subject at once
(the account and its organisation; all-or-nothing), so no interleaving of callers, on
one replica or many, can admit past a limit.

Semantics (the same for both backends; see docs/identity.md):
- rpm: at most `rpm` admissions in any sliding window of `window_s` (default 60 s).
- tpm: a request is admitted only if the tokens charged in the window plus its estimate
  fit in `tpm`. `release(lease, actual)` replaces the estimate by the actual usage: a
  refund when smaller, a debt that holds back later requests when larger (if the
  admission already left the window, the excess is charged at release time).
- concurrency: at most `concurrency` unexpired leases. A lease expires `lease_ttl_s`
  after admission (default 300 s) unless renewed, so a crashed replica cannot hold
  slots for longer than that; long streams call `renew(lease)`.
Backends: `MemoryQuotas` (embedded mode; one process; thread- and asyncio-safe) and
`RedisQuotas` (several replicas; two Lua scripts, Redis server time, cluster-safe keys).
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol, cast

from distillguard.errors import DistillguardError


@dataclass(frozen=True, slots=True)
class Limits:
    """One subject's limits; None means "the policy default", see `QuotaPolicy`."""

    rpm: int | None = None
    tpm: int | None = None
    concurrency: int | None = None


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """Defaults for subjects without their own limits (None in a default = unlimited)."""

    account: Limits = Limits(rpm=600, tpm=400_000, concurrency=64)
    org: Limits = Limits(rpm=6_000, tpm=4_000_000, concurrency=512)
    window_s: float = 60.0
    lease_ttl_s: float = 300.0
    concurrency_retry_s: float = 1.0  # Retry-After hint when only concurrency is full
    shadow: bool = False  # admit everything, but report what would have been refused

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.lease_ttl_s <= 0:
            raise DistillguardError("quota window_s and lease_ttl_s must be positive")

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> QuotaPolicy:
        """From config keys rpm, tpm, concurrency, org_rpm, org_tpm, org_concurrency,
        window_s, lease_ttl_s, shadow (missing keys keep their defaults)."""
        d = cls()

        def pick(key: str, default: int | None) -> int | None:
            return int(cfg[key]) if cfg.get(key) is not None else default

        return cls(
            account=Limits(
                pick("rpm", d.account.rpm),
                pick("tpm", d.account.tpm),
                pick("concurrency", d.account.concurrency),
            ),
            org=Limits(
                pick("org_rpm", d.org.rpm),
                pick("org_tpm", d.org.tpm),
                pick("org_concurrency", d.org.concurrency),
            ),
            window_s=float(cfg.get("window_s", d.window_s)),
            lease_ttl_s=float(cfg.get("lease_ttl_s", d.lease_ttl_s)),
            shadow=bool(cfg.get("shadow", False)),
        )

    def resolve(self, own: Limits | None, default: Limits) -> Limits:
        if own is None:
            return default
        return Limits(
            own.rpm if own.rpm is not None else default.rpm,
            own.tpm if own.tpm is not None else default.tpm,
            own.concurrency if own.concurrency is not None else default.concurrency,
        )


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof of admission: pass it to `release` (and `renew` for long requests)."""

    id: str
    account_id: str
    org_id: str | None
    tokens: int  # the estimate reserved at admission


@dataclass(frozen=True, slots=True)
class Admission:
    ok: bool
    reason: str | None = None  # e.g. "account_rpm", "org_tpm", "account_concurrency"
    retry_after_s: float | None = None  # None with ok=False: can never fit (limit 0, est > tpm)
    lease: Lease | None = None
    remaining_requests: int | None = None  # smallest over the subjects; None = unlimited
    remaining_tokens: int | None = None
    shadow: bool = False  # admitted only because the policy is in shadow mode

    def headers(self) -> dict[str, str]:
        """OpenAI-style rate-limit headers for the response."""
        h: dict[str, str] = {}
        if self.remaining_requests is not None:
            h["x-ratelimit-remaining-requests"] = str(self.remaining_requests)
        if self.remaining_tokens is not None:
            h["x-ratelimit-remaining-tokens"] = str(self.remaining_tokens)
        if not self.ok and self.retry_after_s is not None:
            h["retry-after"] = str(max(1, int(self.retry_after_s + 0.999)))
        return h


class Quotas(Protocol):
    """What the gateway calls (both backends implement it)."""

    policy: QuotaPolicy

    def acquire(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        *,
        account_limits: Limits | None = None,
        org_limits: Limits | None = None,
    ) -> Admission: ...

    def release(self, lease: Lease, actual_tokens: int | None = None) -> None: ...

    def renew(self, lease: Lease) -> bool: ...

    async def acquire_async(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        *,
        account_limits: Limits | None = None,
        org_limits: Limits | None = None,
    ) -> Admission: ...

    async def release_async(self, lease: Lease, actual_tokens: int | None = None) -> None: ...

    async def renew_async(self, lease: Lease) -> bool: ...


def _check_tokens(n: int | None, what: str) -> None:
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise DistillguardError(f"{what} must be a non-negative integer, got {n!r}")


def _subjects(
    policy: QuotaPolicy,
    account_id: str,
    org_id: str | None,
    account_limits: Limits | None,
    org_limits: Limits | None,
) -> list[tuple[str, str, Limits]]:
    """(name, subject key, limits) for the account and, if any, its organisation."""
    out = [("account", f"a:{account_id}", policy.resolve(account_limits, policy.account))]
    if org_id is not None:
        out.append(("org", f"o:{org_id}", policy.resolve(org_limits, policy.org)))
    return out


class _LeaseIds:
    """Unique lease ids without a system call each: a random per-process prefix + a counter."""

    def __init__(self) -> None:
        self._prefix = f"l{secrets.token_hex(6)}."
        self._count = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._count)}"


# -- in-process backend -------------------------------------------------------------------
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

    def token_retry(self, now: float, window: float, need: int) -> float:
        freed = 0
        for c in self.log:
            freed += c.tokens
            if freed >= need:
                return c.at + window - now
        return window


class MemoryQuotas:
    """Exact quotas for one process (the embedded mode). One lock; O(1) amortised."""

    def __init__(
        self, policy: QuotaPolicy | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or QuotaPolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._subjects: dict[str, _Subject] = {}
        self._ids = _LeaseIds()

    def acquire(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        *,
        account_limits: Limits | None = None,
        org_limits: Limits | None = None,
    ) -> Admission:
        _check_tokens(est_tokens, "est_tokens")
        p = self.policy
        subjects = _subjects(p, account_id, org_id, account_limits, org_limits)
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
                if lim.rpm is not None:
                    left = lim.rpm - s.requests - 1
                    if left < 0:
                        refusals.append((f"{name}_rpm", s.request_retry(now, window, lim.rpm)))
                    rem_req = max(left, 0) if rem_req is None else min(rem_req, max(left, 0))
                if lim.tpm is not None:
                    left = lim.tpm - s.tokens - est_tokens
                    if left < 0:
                        wait = None if est_tokens > lim.tpm else s.token_retry(now, window, -left)
                        refusals.append((f"{name}_tpm", wait))
                    rem_tok = max(left, 0) if rem_tok is None else min(rem_tok, max(left, 0))
                if (
                    lim.concurrency is not None
                    and len(s.leases) >= lim.concurrency
                    and s.inflight(now) >= lim.concurrency
                ):
                    wait = None if lim.concurrency == 0 else p.concurrency_retry_s
                    refusals.append((f"{name}_concurrency", wait))
            reason = refusals[0][0] if refusals else None
            if refusals and not p.shadow:
                waits = [w for _, w in refusals]
                retry = None if None in waits else max(w for w in waits if w is not None)
                return Admission(False, reason, retry, None, rem_req, rem_tok)
            lease = Lease(self._ids.next(), account_id, org_id, est_tokens)
            for s in states:
                c = _Charge(now, lease.id, est_tokens, True)
                s.log.append(c)
                s.by_id[lease.id] = c
                s.requests += 1
                s.tokens += est_tokens
                s.leases[lease.id] = now + p.lease_ttl_s
            return Admission(True, reason, None, lease, rem_req, rem_tok, shadow=bool(refusals))

    def release(self, lease: Lease, actual_tokens: int | None = None) -> None:
        _check_tokens(actual_tokens, "actual_tokens")
        with self._lock:
            now = self._clock()
            for _, key, _ in _subjects(self.policy, lease.account_id, lease.org_id, None, None):
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

    def renew(self, lease: Lease) -> bool:
        """Extend the lease's concurrency slot by `lease_ttl_s`; False if it had expired."""
        with self._lock:
            now = self._clock()
            found = False
            for _, key, _ in _subjects(self.policy, lease.account_id, lease.org_id, None, None):
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

    # The lock is held for microseconds and never across an await: safe in an event loop.
    async def acquire_async(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        *,
        account_limits: Limits | None = None,
        org_limits: Limits | None = None,
    ) -> Admission:
        return self.acquire(
            account_id, org_id, est_tokens, account_limits=account_limits, org_limits=org_limits
        )

    async def release_async(self, lease: Lease, actual_tokens: int | None = None) -> None:
        self.release(lease, actual_tokens)

    async def renew_async(self, lease: Lease) -> bool:
        return self.renew(lease)


# -- Redis backend ------------------------------------------------------------------------
def _script(name: str) -> str:
    return resources.files("distillguard.store").joinpath(name).read_text("utf-8")


_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local found = 0
for i = 1, #KEYS do
  local exp = redis.call('ZSCORE', KEYS[i], ARGV[1])
  if exp and tonumber(exp) > now then
    redis.call('ZADD', KEYS[i], 'XX', now + tonumber(ARGV[2]), ARGV[1])
    found = 1
  end
end
return found
"""


class RedisQuotas:
    """Exact quotas shared by every replica that points at the same Redis.

    Sync methods use a `redis.Redis` client, `*_async` methods a `redis.asyncio.Redis`
    client created on first use (create and use this object within one event loop).
    """

    def __init__(
        self, url: str, policy: QuotaPolicy | None = None, *, prefix: str = "dg:q"
    ) -> None:
        import redis

        self.policy = policy or QuotaPolicy()
        self.url = url
        self.prefix = prefix
        try:
            self._r = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        except ValueError as exc:
            raise DistillguardError(f"bad Redis URL {url!r}: {exc}") from None
        self._acq_src = _script("quotas_acquire.lua")
        self._rel_src = _script("quotas_release.lua")
        self._acq = self._r.register_script(self._acq_src)
        self._rel = self._r.register_script(self._rel_src)
        self._ren = self._r.register_script(_RENEW)
        self._ar: Any = None
        self._async_scripts: tuple[Any, Any, Any] | None = None
        self._alock = asyncio.Lock()
        self._ids = _LeaseIds()

    def _keys(self, account_id: str, org_id: str | None, subjects: list[Any]) -> list[str]:
        tag = f"{{{org_id if org_id is not None else 'a:' + account_id}}}"
        return [f"{self.prefix}:{tag}:{key}:{part}" for _, key, _ in subjects for part in
                ("log", "tok", "fly")]  # fmt: skip

    def _acquire_call(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        account_limits: Limits | None,
        org_limits: Limits | None,
    ) -> tuple[list[str], list[Any], Lease]:
        _check_tokens(est_tokens, "est_tokens")
        p = self.policy
        subjects = _subjects(p, account_id, org_id, account_limits, org_limits)
        lease = Lease(self._ids.next(), account_id, org_id, est_tokens)
        args: list[Any] = [
            lease.id,
            est_tokens,
            int(p.window_s * 1000),
            int(p.lease_ttl_s * 1000),
            1 if p.shadow else 0,
            int(p.concurrency_retry_s * 1000),
        ]
        for name, _, lim in subjects:
            args += [name, *(-1 if x is None else x for x in (lim.rpm, lim.tpm, lim.concurrency))]
        return self._keys(account_id, org_id, subjects), args, lease

    @staticmethod
    def _admission(res: list[Any], lease: Lease, shadow: bool) -> Admission:
        ok, reason, retry_ms, _, rem_req, rem_tok = res
        why = reason.decode() if isinstance(reason, bytes) else str(reason)
        admitted = bool(ok) or shadow
        return Admission(
            ok=admitted,
            reason=why or None,
            retry_after_s=None if admitted or retry_ms < 0 else retry_ms / 1000.0,
            lease=lease if admitted else None,
            remaining_requests=None if rem_req < 0 else int(rem_req),
            remaining_tokens=None if rem_tok < 0 else int(rem_tok),
            shadow=admitted and not ok,
        )

    def _release_call(self, lease: Lease, actual: int | None) -> tuple[list[str], list[Any]]:
        _check_tokens(actual, "actual_tokens")
        subjects = _subjects(self.policy, lease.account_id, lease.org_id, None, None)
        args = [lease.id, -1 if actual is None else actual, lease.tokens,
                int(self.policy.window_s * 1000)]  # fmt: skip
        return self._keys(lease.account_id, lease.org_id, subjects), args

    def _renew_call(self, lease: Lease) -> tuple[list[str], list[Any]]:
        subjects = _subjects(self.policy, lease.account_id, lease.org_id, None, None)
        keys = self._keys(lease.account_id, lease.org_id, subjects)[2::3]
        return keys, [lease.id, int(self.policy.lease_ttl_s * 1000)]

    def acquire(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        *,
        account_limits: Limits | None = None,
        org_limits: Limits | None = None,
    ) -> Admission:
        keys, args, lease = self._acquire_call(
            account_id, org_id, est_tokens, account_limits, org_limits
        )
        return self._admission(self._acq(keys=keys, args=args), lease, self.policy.shadow)

    def release(self, lease: Lease, actual_tokens: int | None = None) -> None:
        keys, args = self._release_call(lease, actual_tokens)
        self._rel(keys=keys, args=args)

    def renew(self, lease: Lease) -> bool:
        keys, args = self._renew_call(lease)
        return bool(self._ren(keys=keys, args=args))

    def usage(self, account_id: str | None = None, org_id: str | None = None) -> dict[str, int]:
        """Current window usage of one subject: requests, tokens, in-flight leases.

        For an account in an organisation pass both ids (the keys carry the org's tag).
        """
        subj = f"a:{account_id}" if account_id is not None else f"o:{org_id}"
        tag = org_id if org_id is not None else f"a:{account_id}"
        base = f"{self.prefix}:{{{tag}}}:{subj}"
        sec, usec = self._r.time()
        now_ms = sec * 1000 + usec // 1000
        cutoff = now_ms - int(self.policy.window_s * 1000)
        ids = cast(list[bytes], self._r.zrangebyscore(f"{base}:log", f"({cutoff}", "+inf"))
        vals = self._r.hmget(f"{base}:tok", ids) if ids else []
        return {
            "requests": sum(1 for i in ids if not i.endswith(b":o")),
            "tokens": sum(int(x or 0) for x in vals),
            "inflight": int(self._r.zcount(f"{base}:fly", f"({now_ms}", "+inf")),
        }

    async def _scripts(self) -> tuple[Any, Any, Any]:
        if self._async_scripts is None:
            async with self._alock:
                if self._async_scripts is None:
                    import redis.asyncio as aredis

                    self._ar = aredis.Redis.from_url(
                        self.url, socket_timeout=5, socket_connect_timeout=5
                    )
                    self._async_scripts = (
                        self._ar.register_script(self._acq_src),
                        self._ar.register_script(self._rel_src),
                        self._ar.register_script(_RENEW),
                    )
        return self._async_scripts

    async def acquire_async(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        *,
        account_limits: Limits | None = None,
        org_limits: Limits | None = None,
    ) -> Admission:
        keys, args, lease = self._acquire_call(
            account_id, org_id, est_tokens, account_limits, org_limits
        )
        acq, _, _ = await self._scripts()
        return self._admission(await acq(keys=keys, args=args), lease, self.policy.shadow)

    async def release_async(self, lease: Lease, actual_tokens: int | None = None) -> None:
        keys, args = self._release_call(lease, actual_tokens)
        _, rel, _ = await self._scripts()
        await rel(keys=keys, args=args)

    async def renew_async(self, lease: Lease) -> bool:
        keys, args = self._renew_call(lease)
        _, _, ren = await self._scripts()
        return bool(await ren(keys=keys, args=args))

    def close(self) -> None:
        self._r.close()

    async def aclose(self) -> None:
        if self._ar is not None:
            await self._ar.aclose()
        self._r.close()


def open_quotas(redis_url: str | None = None, policy: QuotaPolicy | None = None) -> Quotas:
    """`RedisQuotas` when a Redis URL is configured, else `MemoryQuotas`."""
    if redis_url:
        return RedisQuotas(redis_url, policy)
    return MemoryQuotas(policy)
