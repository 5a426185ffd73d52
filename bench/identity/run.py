"""Per-call costs of the identity and quota calls the gateway makes on every request.

Measures, each next to a floor measured in the same run (the machine is shared and noisy):
- `IdentityService.authenticate(key)` on a cache hit  vs  SHA-256 of the key + a dict lookup;
- `authenticate` on a cache miss (database load, SQLite; PostgreSQL with --pg);
- a quota round trip `acquire` + `release`:
  MemoryQuotas  vs  a lock-protected dict update;
  RedisQuotas (sync and asyncio)  vs  two Redis PINGs on the same client (2 round trips).
Usage: .venv/bin/python bench/identity/run.py [--n 20000] [--redis URL] [--pg DSN]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def per_call_us(fn: Callable[[], Any], n: int, repeats: int = 5) -> float:
    """Median over `repeats` runs of the mean time per call, in microseconds."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(runs)


def async_per_call_us(make: Callable[[], Any], n: int, repeats: int = 5) -> float:
    async def run() -> float:
        runs = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(n):
                await make()
            runs.append((time.perf_counter() - t0) / n * 1e6)
        return statistics.median(runs)

    return asyncio.run(run())


def bench_identity(db_url: str, n: int, label: str) -> list[tuple[str, float, float | None]]:
    from distillguard.identity import IdentityService
    from distillguard.store.db import Database

    db = Database(db_url)
    ids = IdentityService(db)
    org = ids.create_org(f"bench-{time.time_ns()}", "US")
    acct = ids.create_account("bench", type="organization", org_id=org.id)
    keys = [ids.issue_key(acct.id)[1] for _ in range(200)]
    key = keys[0]
    ids.authenticate(key)
    table = {hashlib.sha256(key.encode()).hexdigest(): object()}

    def floor() -> Any:
        return table.get(hashlib.sha256(key.encode()).hexdigest())

    floor_us = per_call_us(floor, n)
    hit_us = per_call_us(lambda: ids.authenticate(key), n)
    ctx_us = per_call_us(lambda: ids.authenticate(key).to_context(), n)  # type: ignore[union-attr]

    def miss() -> None:
        ids._cache.clear()
        ids.authenticate(keys[int(time.perf_counter_ns()) % len(keys)])

    miss_us = per_call_us(miss, max(200, n // 50))
    db.close()
    return [
        ("authenticate, cache hit", hit_us, floor_us),
        ("authenticate + to_context(), cache hit", ctx_us, floor_us),
        (f"authenticate, cache miss ({label})", miss_us, None),
    ]


def bench_memory(n: int) -> list[tuple[str, float, float | None]]:
    from distillguard.store.quotas import Limits, MemoryQuotas, QuotaPolicy

    q = MemoryQuotas(QuotaPolicy(account=Limits(10**9, 10**12, 10**6),
                                 org=Limits(10**9, 10**12, 10**6)))  # fmt: skip
    lock = threading.Lock()
    d: dict[str, int] = {}

    def floor() -> None:
        with lock:
            d["a"] = d.get("a", 0) + 1
        with lock:
            d["a"] -= 1

    def rt() -> None:
        a = q.acquire("acct", "org", 100)
        q.release(a.lease, 80)  # type: ignore[arg-type]

    return [("quota acquire+release, memory", per_call_us(rt, n), per_call_us(floor, n))]


def bench_redis(url: str, n: int) -> list[tuple[str, float, float | None]]:
    import redis
    import redis.asyncio as aredis

    from distillguard.store.quotas import Limits, QuotaPolicy, RedisQuotas

    prefix = f"dgbench:{time.time_ns()}"
    pol = QuotaPolicy(account=Limits(10**9, 10**12, 10**6), org=Limits(10**9, 10**12, 10**6))
    q = RedisQuotas(url, pol, prefix=prefix)
    r = redis.Redis.from_url(url)

    def rt() -> None:
        a = q.acquire("acct", "org", 100)
        q.release(a.lease, 80)  # type: ignore[arg-type]

    def floor() -> None:
        r.ping()
        r.ping()

    m = max(500, n // 10)
    out: list[tuple[str, float, float | None]] = [
        ("quota acquire+release, Redis sync", per_call_us(rt, m), per_call_us(floor, m))
    ]

    async def arun() -> tuple[float, float]:
        ar = aredis.Redis.from_url(url)

        async def art() -> None:
            a = await q.acquire_async("acct", "org", 100)
            await q.release_async(a.lease, 80)  # type: ignore[arg-type]

        async def afloor() -> None:
            await ar.ping()
            await ar.ping()

        res = []
        for fn in (art, afloor):
            runs = []
            for _ in range(5):
                t0 = time.perf_counter()
                for _ in range(m):
                    await fn()
                runs.append((time.perf_counter() - t0) / m * 1e6)
            res.append(statistics.median(runs))
        await ar.aclose()
        await q.aclose()
        return res[0], res[1]

    a_us, a_floor = asyncio.run(arun())
    out.append(("quota acquire+release, Redis asyncio", a_us, a_floor))
    for k in r.scan_iter(match=f"{prefix}:*"):
        r.delete(k)
    r.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="calls per timed run")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    ap.add_argument("--pg", default=None, help="PostgreSQL DSN for the cache-miss figure")
    args = ap.parse_args()
    rows: list[tuple[str, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += bench_identity(f"sqlite:///{Path(tmp) / 'b.db'}", args.n, "SQLite")
    if args.pg:
        rows += bench_identity(args.pg, args.n, "PostgreSQL")[2:]
    rows += bench_memory(args.n)
    try:
        rows += bench_redis(args.redis, args.n)
    except Exception as exc:  # no server: say so, measure the rest
        print(f"(Redis at {args.redis} not measured: {exc})")
    print("| call | µs per call | floor (same run) | ratio |")
    print("|---|---:|---:|---:|")
    for name, us, floor in rows:
        f = "-" if floor is None else f"{floor:.2f}"
        ratio = "-" if floor is None else f"{us / floor:.1f}x"
        print(f"| {name} | {us:.2f} | {f} | {ratio} |")


if __name__ == "__main__":
    main()
