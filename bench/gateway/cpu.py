"""In-process CPU cost of distillguard's per-request checks (target: <= 150 µs).

Runs the gateway's own request-path methods (the ones `_handle` calls, in order) with the
real parts (identity cache, rule pack, input guard, in-process quotas, metrics, event
construction and enqueue) on realistic prompts, without sockets. Also measures the
off-hot-path cost per event of the sink thread (table + JSONL write, detector, ledger).

    .venv/bin/python bench/gateway/cpu.py [--n 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

PROMPTS_BUILTIN = [
    "What is 17 * 23? Explain briefly.",
    "Can you help me write a polite email to my landlord about a broken heater? "
    "It has been out for a week and the nights are getting cold.",
    "Solve: a train leaves at 3 pm at 60 km/h, another at 4 pm at 80 km/h on the same "
    "track. When does the second catch up? Show the steps.",
]


def prompts() -> list[str]:
    from distillguard.paths import shared_data

    out = list(PROMPTS_BUILTIN)
    for parts in (("benign", "alpaca_eval_805.jsonl"), ("distill", "gsm8k_train.jsonl")):
        p = shared_data(*parts)
        if p is None:
            continue
        with p.open() as fh:
            for i, line in enumerate(fh):
                if i >= 200:
                    break
                out.append(json.loads(line)["prompt"])
    return out


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * (len(s) - 1)))]


def gateway_parts(prefix: str, consumers: str = "thread") -> Any:
    """The real gateway parts on a fresh home (every check on, quotas out of the way, one
    model routed nowhere: the request path is called in-process), and a clear-screened
    Tier 1 organisation to create accounts in. Shared with stall.py."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["DISTILLGUARD_HOME"] = str(home)
    from distillguard.gateway.adapters import load_parts
    from distillguard.gateway.config import GatewayConfig, ModelRoute

    cfg = GatewayConfig()
    cfg.store.home = str(home)
    cfg.store.events_jsonl = str(home / "events.jsonl")
    cfg.store.consumers = consumers
    cfg.quotas.rpm = cfg.quotas.org_rpm = 10**9
    cfg.quotas.tpm = cfg.quotas.org_tpm = 10**12
    cfg.models = {"general-chat": ModelRoute("general-chat", "http://127.0.0.1:9/v1")}
    parts = load_parts(cfg)
    ids: Any = parts.identity  # the IdentityService behind the gateway's port
    org = ids.create_org("Bench Corp", "US")
    ids.set_screening_status(org.id, "clear", "bench")
    return cfg, parts, org


def bench_key(parts: Any, org: Any, name: str) -> str:
    """A new verified US account of `org` and its API key."""
    ids: Any = parts.identity
    acct = ids.create_account(
        name, type="organization", org_id=org.id, nationality="US", kyc_level="verified"
    )
    return str(ids.issue_key(acct.id)[1])


async def measure(n: int) -> None:
    from distillguard.gateway.app import CHAT, Req
    from distillguard.gateway.server import build_gateway, tune_gc

    cfg, parts, org = gateway_parts("dg-cpu-")
    key = bench_key(parts, org, "cpu")
    app = build_gateway(cfg, parts)
    tune_gc()  # as `distillguard serve` does after start-up
    bodies = [
        orjson.dumps(
            {
                "model": "general-chat",
                "messages": [{"role": "user", "content": p}],
                "max_tokens": 256,
                "temperature": 0.7,
            }
        )
        for p in prompts()
    ]
    scope = {
        "type": "http",
        "method": "POST",
        "path": CHAT,
        "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", b"127.0.0.1:8080"),
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"100"),
            (b"user-agent", b"OpenAI/Python 1.54.0"),
        ],
    }
    stages = ("auth", "parse", "guard", "context", "rules", "quota", "event")
    acc: dict[str, list[float]] = {s: [] for s in stages}
    totals: list[float] = []
    pc = time.thread_time  # CPU time of this thread: robust to other load on the machine
    cpu0 = time.process_time()
    for i in range(n):
        body = bodies[i % len(bodies)]
        t0 = pc()
        r = Req(CHAT, t0)
        auth, _ = app._scan_headers(scope, r)
        base = await app._authenticate(auth, r)
        t1 = pc()
        data = app._parse_json(body)
        route = app._route(data, CHAT, r)
        app._extract(data, r)
        t2 = pc()
        guard = app._guard(r, route)
        t3 = pc()
        ctx = app._context(base, r, route, guard)
        r.ctx = ctx
        t4 = pc()
        app._decide(ctx, r)
        t5 = pc()
        await app._acquire(data, r)
        orjson.dumps(data)
        await parts.quotas.release_async(r.lease, 300)
        r.lease = None
        t6 = pc()
        r.tokens_out = 40
        app._finish(r)
        t7 = pc()
        for s, dt in zip(
            stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6), strict=True
        ):
            acc[s].append(dt * 1e6)
        totals.append((t7 - t0) * 1e6)
    cpu = (time.process_time() - cpu0) / n * 1e6
    print(
        f"per-request CPU (thread time) of the checks, {n} requests, "
        f"{len(bodies)} distinct prompts (µs):"
    )
    print("| stage | mean | p50 | p99 |")
    print("|---|---:|---:|---:|")
    for s in stages:
        xs = acc[s]
        print(f"| {s} | {sum(xs) / len(xs):.1f} | {pct(xs, 0.5):.1f} | {pct(xs, 0.99):.1f} |")
    print(
        f"| **all checks** | **{sum(totals) / n:.1f}** | **{pct(totals, 0.5):.1f}** | "
        f"**{pct(totals, 0.99):.1f}** |"
    )
    print(f"process CPU per request (all checks): {cpu:.1f} µs (target <= 150 µs)")
    # Off the hot path: how long the sink thread needs per event (write, detector, ledger).
    queued = app.sink.pending()
    t = time.perf_counter()
    c = time.process_time()
    app.sink.start()
    app.sink.flush(timeout=300)
    if parts.ledger_writer is not None:
        parts.ledger_writer.flush()
    wall = (time.perf_counter() - t) / max(1, queued) * 1e6
    cpu_ev = (time.process_time() - c) / max(1, queued) * 1e6
    print(
        f"off the hot path, per event: {wall:.0f} µs wall, {cpu_ev:.0f} µs CPU "
        f"(table + JSONL write, online detector, ledger), {queued} events"
    )
    await asyncio.to_thread(app.sink.close)
    parts.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    a = ap.parse_args()
    asyncio.run(measure(a.n))


if __name__ == "__main__":
    main()
