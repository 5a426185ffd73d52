"""Load generator (aiohttp; `wrk`/`hey` are not installed on the development machine).

Closed loop: `--concurrency` workers each send the next request as soon as the last one
finished (fully read, streaming included), for `--count` requests or `--duration`
seconds. Prints one JSON object: latencies (ms), statuses, elapsed, errors.
Usage: python loadgen.py URL --model M [--key K | --keys-file F] [--prompts-file P]
       [--stream] [--concurrency C] [--count N | --duration S]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

import aiohttp
import orjson


async def run(a: argparse.Namespace) -> dict[str, Any]:
    prompts = [a.prompt]
    if a.prompts_file:
        with open(a.prompts_file, encoding="utf-8") as fh:
            prompts = [line.rstrip("\n") for line in fh if line.strip()]
    keys = [a.key] if a.key else [""]
    if a.keys_file:
        with open(a.keys_file, encoding="utf-8") as fh:
            keys = [line.strip() for line in fh if line.strip()]

    # Every request has a distinct prompt (a counter), so no cache anywhere can short-cut;
    # requests rotate over the accounts' keys like traffic from many customers.
    def body(i: int) -> bytes:
        return orjson.dumps(
            {
                "model": a.model,
                "messages": [{"role": "user", "content": f"{prompts[i % len(prompts)]} (#{i})"}],
                "max_tokens": 64,
                "stream": a.stream,
            }
        )

    counter = [0]
    lat: list[float] = []
    overhead: list[float] = []  # distillguard's own x-distillguard-overhead-ms, when sent
    statuses: dict[str, int] = {}
    errors: list[str] = []
    deadline = time.perf_counter() + a.duration if a.duration else None
    remaining = [a.count]
    conn = aiohttp.TCPConnector(limit=a.concurrency + 4, limit_per_host=a.concurrency + 4)
    async with aiohttp.ClientSession(connector=conn) as s:

        async def worker() -> None:
            while True:
                if deadline is not None:
                    if time.perf_counter() >= deadline:
                        return
                elif remaining[0] <= 0:
                    return
                else:
                    remaining[0] -= 1
                counter[0] += 1
                data = body(counter[0])
                headers = {"content-type": "application/json"}
                key = keys[counter[0] % len(keys)]
                if key:
                    headers["authorization"] = f"Bearer {key}"
                t = time.perf_counter()
                try:
                    async with s.post(a.url, data=data, headers=headers) as r:
                        if a.stream:
                            async for _ in r.content.iter_any():
                                pass
                        else:
                            await r.read()
                        st = str(r.status)
                        ov = r.headers.get("x-distillguard-overhead-ms")
                        if ov is not None:
                            overhead.append(float(ov))
                except Exception as exc:  # counted, never fatal
                    st = "exc"
                    if len(errors) < 5:
                        errors.append(repr(exc))
                lat.append((time.perf_counter() - t) * 1000)
                statuses[st] = statuses.get(st, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(a.concurrency)))
        elapsed = time.perf_counter() - t0
    return {
        "latencies_ms": lat,
        "overhead_ms": overhead,
        "statuses": statuses,
        "elapsed_s": elapsed,
        "errors": errors,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--model", default="bench")
    ap.add_argument("--key", default="")
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=0.0)
    ap.add_argument("--prompt", default="What is 17 * 23? Explain briefly.")
    ap.add_argument("--prompts-file", default="", help="one prompt per line")
    ap.add_argument("--keys-file", default="", help="one API key per line (rotated)")
    a = ap.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    res = asyncio.run(run(a))
    res["latencies_ms"] = [round(x, 4) for x in res["latencies_ms"]]
    # the event loop may have left stdout non-blocking: a large result then came out
    # truncated at the pipe's buffer size
    os.set_blocking(sys.stdout.fileno(), True)
    sys.stdout.buffer.write(orjson.dumps(res) + b"\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
