"""How long the gateway's background work stalls its event loop (the c=1 p99 question).

Why: at concurrency 1 the added p99 is decided by the few requests whose event loop could
not run when their bytes arrived: the sink thread (serialising, writing, forwarding
events) holds the GIL, and a waiting thread gets it back only when the holder releases
it or the switch interval (5 ms by default) forces it. End-to-end p99 on a shared 2-core
machine is mostly the machine's own noise; this measures the stall itself. One process,
the real gateway app and event sink (same config as `distillguard serve`): requests run
through the request path in the event loop at a steady rate (about what c=1 reaches),
while a ticker in the same loop records how late each 1 ms timer fires.

    .venv/bin/python bench/gateway/stall.py [--consumers process|thread] [--seconds 6]
        [--rate 1200] [--switch 0.005]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cpu import bench_key, gateway_parts, pct, prompts


async def measure(a: argparse.Namespace) -> None:
    from distillguard.gateway.app import CHAT, Req
    from distillguard.gateway.server import build_gateway, tune_gc

    cfg, parts, org = gateway_parts("dg-stall-", a.consumers)
    ids = parts.identity
    keys = [bench_key(parts, org, f"s{i}") for i in range(50)]
    pushes: list[tuple[str, float, str]] = []
    set_risk = ids.set_risk

    def counted_risk(account: str, score: float, verdict: str, *args: object) -> object:
        pushes.append((account, score, verdict))
        return set_risk(account, score, verdict, *args)

    ids.set_risk = counted_risk  # type: ignore[method-assign]
    app = build_gateway(cfg, parts)
    tune_gc()
    if a.gc:
        gc.set_threshold(a.gc, *gc.get_threshold()[1:])
    if a.switch:
        sys.setswitchinterval(a.switch)
    ps = prompts()
    bodies = [
        orjson.dumps({"model": "general-chat", "messages": [{"role": "user", "content": p}]})
        for p in ps
    ]

    def scope(k: str) -> dict[str, object]:
        return {
            "type": "http",
            "method": "POST",
            "path": CHAT,
            "client": ("127.0.0.1", 50000),
            "headers": [(b"authorization", f"Bearer {k}".encode())],
        }

    scopes = [scope(k) for k in keys]
    loop = asyncio.get_running_loop()
    stop = loop.time() + a.seconds

    # The prober: another process sends one byte every 0.5 ms over a socket pair; this
    # loop echoes it (as it would read a request's bytes), the prober times the round trip.
    mine, theirs = socket.socketpair()
    mine.setblocking(False)
    prober = subprocess.Popen(
        [sys.executable, "-c", PROBER, str(theirs.fileno()), str(a.seconds)],
        pass_fds=[theirs.fileno()],
        stdout=subprocess.PIPE,
    )
    theirs.close()

    def echo() -> None:
        try:
            data = mine.recv(64)
        except BlockingIOError:
            return
        if data:
            mine.send(data)

    loop.add_reader(mine.fileno(), echo)
    if not a.no_sink:
        app.sink.start()

    async def traffic() -> int:
        n = 0
        gap = 1.0 / a.rate
        nxt = loop.time()
        while loop.time() < stop:
            r = Req(CHAT, time.perf_counter())
            auth, _ = app._scan_headers(scopes[n % len(scopes)], r)
            base = await app._authenticate(auth, r)
            data = app._parse_json(bodies[n % len(bodies)])
            route = app._route(data, CHAT, r)
            app._extract(data, r)
            r.ctx = ctx = app._context(base, r, route, app._guard(r, route))
            app._decide(ctx, r)
            await app._acquire(data, r)
            await parts.quotas.release_async(r.lease, 300)
            r.lease = None
            r.tokens_out = 40
            app._finish(r)
            n += 1
            nxt += gap
            await asyncio.sleep(max(0.0, nxt - loop.time()))
        return n

    # garbage-collector passes in this process, and identity look-ups sent to a thread
    gcs: list[tuple[int, float]] = []
    gc_t = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_t[0] = time.thread_time()
        else:
            gcs.append((info["generation"], (time.thread_time() - gc_t[0]) * 1000))

    gc.callbacks.append(on_gc)
    slow_auth = [0]
    inner = ids._authenticate

    auth_ms: list[float] = []

    def counted(*args: object) -> object:
        slow_auth[0] += 1
        t = time.perf_counter()
        try:
            return inner(*args)
        finally:
            auth_ms.append((time.perf_counter() - t) * 1000)

    ids._authenticate = counted  # type: ignore[method-assign]
    tid = app.sink._thread.native_id if app.sink._thread is not None else None
    c0 = thread_cpu(tid)
    n = await traffic()
    c1 = thread_cpu(tid)
    out, _ = await asyncio.to_thread(prober.communicate)
    loop.remove_reader(mine.fileno())
    lags = orjson.loads(out)
    print(
        f"consumers={a.consumers} switch={sys.getswitchinterval() * 1000:.1f} ms, {n} requests "
        f"in {a.seconds:.0f} s, sink {'off' if a.no_sink else 'on'}, load "
        f"{os.getloadavg()[0]:.2f}; echo round trip (ms): "
        f"p50 {pct(lags, 0.5):.3f} p99 {pct(lags, 0.99):.3f} p99.9 {pct(lags, 0.999):.3f} "
        f"max {max(lags):.2f}; over 1 ms: {sum(x > 1 for x in lags)} of {len(lags)}; "
        f"sink thread CPU {(c1 - c0) / max(1, n) * 1e6:.0f} µs/event"
    )
    gc.callbacks.remove(on_gc)
    for g in (0, 1, 2):
        ms = [d for gen, d in gcs if gen == g]
        if ms:
            print(
                f"  gc gen {g} (threshold {gc.get_threshold()}): {len(ms)} passes, CPU max "
                f"{max(ms):.2f} ms, total {sum(ms):.1f} ms"
            )
    print(f"  identity look-ups in a thread (miss or poll): {slow_auth[0]}", end="")
    if auth_ms:
        print(f", in the thread p50 {pct(auth_ms, 0.5):.2f} ms, max {max(auth_ms):.2f} ms")
    else:
        print()
    if pushes:  # thread mode only: the detector runs in this process
        print(f"  detector risk pushes: {len(pushes)}, e.g. {pushes[:3]} ... {pushes[-3:]}")
    await asyncio.to_thread(app.sink.close)
    parts.close()


PROBER = """
import socket, sys, time, json
s = socket.socket(fileno=int(sys.argv[1]))
end = time.perf_counter() + float(sys.argv[2])
out = []
while time.perf_counter() < end:
    t = time.perf_counter()
    s.send(b"x")
    s.recv(64)
    out.append((time.perf_counter() - t) * 1000)
    time.sleep(0.0005)
print(json.dumps(out))
"""


def thread_cpu(tid: int | None) -> float:
    """CPU seconds of one thread of this process (from /proc)."""
    try:
        with open(f"/proc/self/task/{tid}/stat") as fh:
            f = fh.read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--consumers", default="process", choices=("process", "thread"))
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--rate", type=float, default=1200.0, help="requests per second")
    ap.add_argument("--no-sink", action="store_true", help="events queued, never written")
    ap.add_argument("--gc", type=int, default=0, help="young-generation GC threshold")
    ap.add_argument("--switch", type=float, default=0.0, help="GIL switch interval, s")
    a = ap.parse_args()
    threading.current_thread().name = "main"
    asyncio.run(measure(a))


if __name__ == "__main__":
    main()
