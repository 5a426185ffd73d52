"""The c=1 latency tail of one gateway, request by request: where do the slow ones go?

Why: run.py reports p50/p99 at concurrency 1 per target; this tool finds the causes of the
tail. It starts the stub and one distillguard gateway with every check on (the same
accounts and config as run.py), sends N sequential requests, and for each records the
client-side latency and the gateway's own `x-distillguard-overhead-ms` header (time in
the gateway minus the upstream wait). A slow request with a small overhead header lost
its time outside the measured window (waiting for the GIL or the event loop before or
after the handler); one with a large header lost it in our request path.

    .venv/bin/python bench/gateway/tail.py [TARGET ...] [--count N] [--stream] [--show K]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as bench  # noqa: E402  (same setup as the benchmark)


def pct(xs: list[float], q: float) -> float:
    return bench.pct(xs, q)


async def drive(
    url: str, keys: list[str], prompts: list[str], n: int, stream: bool, offset: int = 0
) -> Any:
    import aiohttp
    import orjson

    rows: list[tuple[float, float, float]] = []
    actions = DECISIONS.setdefault(url, {})
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=2)) as s:
        t_start = time.perf_counter()
        for i in range(offset, offset + n):
            body = orjson.dumps(
                {
                    "model": "general-chat",
                    "messages": [
                        {"role": "user", "content": f"{prompts[i % len(prompts)]} (#{i})"}
                    ],
                    "max_tokens": 64,
                    "stream": stream,
                }
            )
            h = {"content-type": "application/json"}
            if keys:
                h["authorization"] = f"Bearer {keys[i % len(keys)]}"
            t = time.perf_counter()
            async with s.post(url, data=body, headers=h) as r:
                if stream:
                    async for _ in r.content.iter_any():
                        pass
                else:
                    await r.read()
                ov = float(r.headers.get("x-distillguard-overhead-ms", "nan"))
                act = r.headers.get("x-distillguard-decision", "-")
                act += "+" + r.headers.get("x-distillguard-transforms", "") if act != "-" else ""
                actions[act] = actions.get(act, 0) + 1
                if r.status != 200:
                    raise SystemExit(f"HTTP {r.status}: {await r.text()}")
            rows.append((t - t_start, (time.perf_counter() - t) * 1000, ov))
    return rows


DECISIONS: dict[str, dict[str, int]] = {}


def wait_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "targets",
        nargs="*",
        default=["minimal", "dg"],
        help="'direct', 'minimal' or 'dg[:K=V,K=V...]' (gateway environment)",
    )
    ap.add_argument("--count", type=int, default=3000, help="requests per target")
    ap.add_argument("--block", type=int, default=250, help="requests per turn (interleaved)")
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--json", default="", help="write every request's row here")
    ap.add_argument("--show", type=int, default=0, help="list this many slowest per target")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dg-tail-"))
    env = {**os.environ, "DISTILLGUARD_HOME": str(tmp), "DISTILLGUARD_STORE_CONSUMERS": "process"}
    procs: list[subprocess.Popen[bytes]] = []
    urls: dict[str, tuple[str, list[str]]] = {}
    try:
        sp = bench.free_port()
        stub = f"http://127.0.0.1:{sp}"
        procs.append(
            subprocess.Popen(
                [bench.PY, "-m", "distillguard.gateway.stub", "--port", str(sp)], env=env
            )
        )
        bench.wait_http(stub + "/stub/stats")
        prompts_file = tmp / "prompts.txt"
        bench.write_prompts(prompts_file)
        prompts = prompts_file.read_text(encoding="utf-8").splitlines()
        cfg, keys_file = bench.setup_distillguard(tmp, stub)
        keys = keys_file.read_text().split()
        for i, spec in enumerate(a.targets):
            name, _, spec = spec.rpartition("@")  # "label@dg:K=V": a short label
            name = name or spec
            port = bench.free_port()
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            if spec == "direct":
                urls[name] = (stub + "/v1/chat/completions", [])
                continue
            if spec == "minimal":
                cmd = [bench.PY, str(HERE / "minimal_proxy.py"), str(port), stub + "/v1"]
                procs.append(subprocess.Popen(cmd))
                wait_port(port)
                urls[name] = (url, [])
                continue
            extra = dict(kv.split("=", 1) for kv in spec.partition(":")[2].split(",") if kv)
            own = tmp / f"g{i}"
            genv = {
                **env,
                "DISTILLGUARD_STORE_DATABASE_URL": f"sqlite:///{tmp / 'distillguard.db'}",
                "DISTILLGUARD_STORE_HOME": str(own),
                "DISTILLGUARD_STORE_EVENTS_JSONL": str(own / "events.jsonl"),
                **extra,
            }
            dg = bench.ROOT / ".venv" / "bin" / "distillguard"
            cmd = [str(dg), "serve", "--config", str(cfg), "--port", str(port)]
            if "SWITCH" in extra:  # experiment: the interpreter's GIL switch interval
                boot = (
                    f"import sys; sys.setswitchinterval({float(extra['SWITCH'])}); "
                    "from distillguard.cli import main; sys.exit(main())"
                )
                cmd = [bench.PY, "-c", boot, *cmd[1:]]
            log = open(tmp / f"gateway{i}.log", "wb")  # noqa: SIM115
            procs.append(subprocess.Popen(cmd, env=genv, stderr=log))
            bench.wait_http(f"http://127.0.0.1:{port}/readyz")
            urls[name] = (url, keys)
        for url, k in urls.values():
            asyncio.run(drive(url, k, prompts, 300, a.stream))  # warm-up
        load0 = os.getloadavg()[0]
        rows: dict[str, list[tuple[float, float, float]]] = {n: [] for n in urls}
        done = 0
        while done < a.count:
            b = min(a.block, a.count - done)
            for name, (url, k) in urls.items():
                rows[name] += asyncio.run(drive(url, k, prompts, b, a.stream, offset=done))
            done += b
        load1 = os.getloadavg()[0]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(15)
    print(
        f"load {load0:.2f} -> {load1:.2f}; {a.count} requests per target, "
        f"{'stream' if a.stream else 'json'}, blocks of {a.block} interleaved"
    )
    for name, rs in rows.items():
        lat = [r[1] for r in rs]
        ov = [r[2] for r in rs]
        print(
            f"{name:40} p50 {pct(lat, 0.5):6.3f}  p90 {pct(lat, 0.9):6.3f}  "
            f"p99 {pct(lat, 0.99):6.3f}  max {max(lat):7.2f}  "
            f"overhead p50 {pct(ov, 0.5):.3f} p99 {pct(ov, 0.99):.3f}"
        )
        print(f"    decisions: {DECISIONS.get(urls[name][0])}")
        if a.show:
            for t, lt, o in sorted(rs, key=lambda r: -r[1])[: a.show]:
                print(f"    t {t:8.3f}  {lt:7.2f} ms  overhead {o:7.3f} ms")
    if a.json:
        Path(a.json).write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
