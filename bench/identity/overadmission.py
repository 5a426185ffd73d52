"""Over-admission under concurrency: check-then-count (the usual gateway pattern) vs
distillguard's reserve-then-reconcile, both on the same real Redis, same load.

The naive limiter reads the account's token usage, admits the request if it fits, and
adds the tokens once the (simulated) model call has finished: concurrent requests all
read the same old usage and all pass. This is the failure reported for LiteLLM's TPM
limits (#18730: six-fold overrun). distillguard charges the estimate atomically before
the call and reconciles after.

Usage: .venv/bin/python bench/identity/overadmission.py [--redis URL] [--clients 64]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

TPM = 10_000
EST = 500  # tokens reserved per request (max_tokens-style estimate)
ACTUAL = (200, 500)  # tokens really used, uniform in this range


async def naive(url: str, clients: int, rounds: int, call_s: float) -> int:
    import redis.asyncio as aredis

    r = aredis.Redis(
        connection_pool=aredis.BlockingConnectionPool.from_url(url, max_connections=clients)
    )
    key = f"dgbench:naive:{time.time_ns()}"
    used = 0

    async def one() -> None:
        nonlocal used
        for _ in range(rounds):
            current = int(await r.get(key) or 0)
            if current + EST > TPM:
                continue
            await asyncio.sleep(call_s)  # the model call
            tokens = random.randint(*ACTUAL)
            await r.incrby(key, tokens)
            used += tokens

    await asyncio.gather(*(one() for _ in range(clients)))
    await r.delete(key)
    await r.aclose()
    return used


async def ours(url: str, clients: int, rounds: int, call_s: float) -> int:
    from distillguard.store.quotas import Limits, QuotaPolicy, RedisQuotas

    pol = QuotaPolicy(account=Limits(None, TPM, None), org=Limits(None, None, None))
    q = RedisQuotas(url, pol, prefix=f"dgbench:ours:{time.time_ns()}", max_connections=clients)
    used = 0

    async def one() -> None:
        nonlocal used
        for _ in range(rounds):
            a = await q.acquire_async("acct", None, EST)
            if not a.ok:
                continue
            await asyncio.sleep(call_s)
            tokens = random.randint(*ACTUAL)
            await q.release_async(a.lease, tokens)  # type: ignore[arg-type]
            used += tokens

    await asyncio.gather(*(one() for _ in range(clients)))
    for k in q._r.scan_iter(match=f"{q.prefix}:*"):
        q._r.delete(k)
    await q.aclose()
    return used


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--call-ms", type=float, default=50.0)
    args = ap.parse_args()
    random.seed(7)
    call_s = args.call_ms / 1000
    n = asyncio.run(naive(args.redis, args.clients, args.rounds, call_s))
    o = asyncio.run(ours(args.redis, args.clients, args.rounds, call_s))
    print(
        f"{args.clients} concurrent clients x {args.rounds} requests, {args.call_ms:.0f} ms calls,"
        f" limit {TPM} tokens/min, estimate {EST}, actual {ACTUAL[0]}-{ACTUAL[1]}"
    )
    print("| limiter | tokens used in the minute | vs limit |")
    print("|---|---:|---:|")
    print(f"| check-then-count (naive) | {n} | {n / TPM:.2f}x |")
    print(f"| distillguard reserve-then-reconcile | {o} | {o / TPM:.2f}x |")


if __name__ == "__main__":
    main()
