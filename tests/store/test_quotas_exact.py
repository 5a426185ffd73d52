"""Zero over-admission under heavy concurrency: many threads (memory backend) and many
processes x threads on a real Redis (one shared account / organisation), counted exactly."""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from distillguard.store.quotas import Limits, MemoryQuotas, QuotaPolicy, Quotas, RedisQuotas

NONE = Limits(None, None, None)


def _hammer(
    q: Quotas,
    account: str,
    org: str | None,
    est: int,
    iters: int,
    probe: Any,
    hold: bool,
) -> dict[str, int]:
    """Try `iters` admissions; with `hold`, keep each lease while bumping an in-flight probe."""
    admitted = tokens = peak = 0
    for _ in range(iters):
        a = q.acquire(account, org, est)
        if not a.ok:
            continue
        admitted += 1
        tokens += est
        if hold:
            peak = max(peak, probe.enter())
            probe.leave()
            q.release(a.lease, est)  # type: ignore[arg-type]
    return {"admitted": admitted, "tokens": tokens, "peak": peak}


class _ThreadProbe:
    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def enter(self) -> int:
        with self.lock:
            self.n += 1
            return self.n

    def leave(self) -> None:
        with self.lock:
            self.n -= 1


class _RedisProbe:
    """In-flight counter shared by processes (incremented only while a lease is held)."""

    def __init__(self, client: Any, key: str) -> None:
        self.client, self.key = client, key

    def enter(self) -> int:
        return int(self.client.incr(self.key))

    def leave(self) -> None:
        self.client.decr(self.key)


def _threads(fn: Any, n: int) -> list[dict[str, int]]:
    with ThreadPoolExecutor(n) as ex:
        return list(ex.map(lambda _: fn(), range(n)))


def _total(results: list[dict[str, int]], field: str) -> int:
    return sum(r[field] for r in results)


# -- memory backend: threads ----------------------------------------------------------
def test_memory_rpm_exact_under_threads() -> None:
    q = MemoryQuotas(QuotaPolicy(account=Limits(rpm=100), org=NONE))
    res = _threads(lambda: _hammer(q, "a", None, 0, 60, None, False), 16)
    assert _total(res, "admitted") == 100  # 960 attempts, exactly the limit


def test_memory_tpm_exact_under_threads() -> None:
    q = MemoryQuotas(QuotaPolicy(account=Limits(tpm=1000), org=NONE))
    res = _threads(lambda: _hammer(q, "a", None, 7, 40, None, False), 16)
    assert _total(res, "tokens") == 994  # floor(1000 / 7) * 7


def test_memory_concurrency_never_exceeded() -> None:
    q = MemoryQuotas(QuotaPolicy(account=Limits(concurrency=3), org=NONE))
    probe = _ThreadProbe()
    res = _threads(lambda: _hammer(q, "a", None, 1, 300, probe, True), 12)
    assert 0 < max(r["peak"] for r in res) <= 3
    assert _total(res, "admitted") > 100
    assert q.usage(account_id="a")["inflight"] == 0  # every slot came back


def test_memory_org_and_accounts_together() -> None:
    q = MemoryQuotas(QuotaPolicy(account=Limits(rpm=40), org=Limits(rpm=100)))
    per_account: dict[str, int] = {}

    def run(i: int) -> None:
        per_account[f"{i}"] = _hammer(q, f"acct{i % 4}", "org", 0, 60, None, False)["admitted"]

    with ThreadPoolExecutor(16) as ex:
        list(ex.map(run, range(16)))
    assert sum(per_account.values()) == 100
    assert all(q.usage(account_id=f"acct{i}")["requests"] <= 40 for i in range(4))
    assert sum(q.usage(account_id=f"acct{i}")["requests"] for i in range(4)) == 100


# -- Redis backend: processes x threads -----------------------------------------------
def _redis_worker(args: tuple[str, str, dict[str, Any], str, str | None, int, int, bool]) -> Any:
    url, prefix, policy, account, org, est, iters, hold = args
    pol = QuotaPolicy(
        account=Limits(**policy["account"]), org=Limits(**policy["org"]), lease_ttl_s=30.0
    )
    q = RedisQuotas(url, pol, prefix=prefix)
    probe = _RedisProbe(q._r, f"{prefix}:probe")
    try:
        return _threads(lambda: _hammer(q, account, org, est, iters, probe, hold), 4)
    finally:
        q.close()


@pytest.fixture(scope="module")
def pool() -> Any:
    """One pool of 4 fresh processes (spawned once: start-up dominates the run time)."""
    with multiprocessing.get_context("spawn").Pool(4) as p:
        yield p


def _run_processes(
    pool: Any,
    redis_url: str,
    policy: dict[str, Any],
    jobs: list[tuple[str, str | None, int, int, bool]],
) -> tuple[list[list[dict[str, int]]], RedisQuotas]:
    prefix = f"dgtest:{uuid.uuid4().hex[:10]}"
    out = pool.map(_redis_worker, [(redis_url, prefix, policy, *j) for j in jobs], chunksize=1)
    pol = QuotaPolicy(account=Limits(**policy["account"]), org=Limits(**policy["org"]))
    return out, RedisQuotas(redis_url, pol, prefix=prefix)


def _cleanup(q: RedisQuotas) -> None:
    for k in q._r.scan_iter(match=f"{q.prefix}:*"):
        q._r.delete(k)
    q.close()


@pytest.mark.redis
def test_redis_exact_across_processes(redis_url: str, pool: Any) -> None:
    """4 processes x 4 threads on one organisation with 4 accounts: rpm exact on both
    levels, tokens exact, in-flight never above the limit, no slot leaked."""
    unl: dict[str, None] = {"rpm": None, "tpm": None, "concurrency": None}
    policy = {"account": {**unl, "rpm": 40}, "org": {**unl, "rpm": 100}}
    out, q = _run_processes(
        pool, redis_url, policy, [(f"acct{i}", "org", 0, 40, False) for i in range(4)]
    )
    try:
        per_process = [_total(r, "admitted") for r in out]
        assert sum(per_process) == 100  # 640 attempts; the org limit binds exactly
        assert all(n <= 40 for n in per_process)
        assert q.usage(org_id="org")["requests"] == 100
    finally:
        _cleanup(q)

    policy = {"account": {**unl, "tpm": 1000}, "org": unl}
    out, q = _run_processes(pool, redis_url, policy, [("a", None, 7, 30, False)] * 4)
    try:
        assert sum(_total(r, "tokens") for r in out) == 994
    finally:
        _cleanup(q)

    policy = {"account": {**unl, "concurrency": 3}, "org": {**unl, "concurrency": 2}}
    out, q = _run_processes(pool, redis_url, policy, [("a", "o", 1, 60, True)] * 4)
    try:
        peaks = [r["peak"] for rs in out for r in rs]
        assert 0 < max(peaks) <= 2  # the org's limit (2) is the tighter one
        assert sum(_total(r, "admitted") for r in out) > 50
        assert q.usage(account_id="a", org_id="o")["inflight"] == 0
    finally:
        _cleanup(q)


# -- asyncio: many concurrent tasks through the async API -------------------------------
def _async_burst(q: Quotas, tasks: int) -> list[bool]:
    import asyncio

    async def one() -> bool:
        a = await q.acquire_async("a", "o", 5)
        return a.ok

    async def run() -> list[bool]:
        res = await asyncio.gather(*(one() for _ in range(tasks)))
        if isinstance(q, RedisQuotas):
            await q.aclose()
        return list(res)

    return asyncio.run(run())


def test_memory_async_burst_exact() -> None:
    q = MemoryQuotas(QuotaPolicy(account=Limits(rpm=50), org=Limits(tpm=200)))
    assert sum(_async_burst(q, 300)) == 40  # the org's 200 tokens / 5 bind first


@pytest.mark.redis
def test_redis_async_burst_exact(redis_url: str) -> None:
    q = RedisQuotas(
        redis_url,
        QuotaPolicy(account=Limits(rpm=50), org=Limits(tpm=200)),
        prefix=f"dgtest:{uuid.uuid4().hex[:10]}",
    )
    try:
        assert sum(_async_burst(q, 300)) == 40
    finally:
        _cleanup(q)
