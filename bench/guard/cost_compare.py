"""Before/after cost of `InputGuard.check`, interleaved in one process.

`.venv/bin/python bench/guard/cost_compare.py [--rev REV] [--n 3000] [--clock thread]`: the
same requests as the guard benchmark's cost section (real benign prompts and generated
attacks, every k-th one), each checked by the guard of revision REV and by the working
tree, alternating which goes first, so machine noise hits both alike. Prints p50/p99 per
request for each (the first check of a request, its text new to the guard after the
warm-up on the first 200; and the best of --rounds), their ratio, a fixed noise probe and
the load average. `--clock thread` times the thread's CPU (`time.thread_time`, as
bench/gateway/cpu.py does) instead of wall time, which under load also counts time spent
waiting for a core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from distillguard.guard import training as T
from distillguard.guard.evaluate import cost_texts
from distillguard.guard.inputguard import InputGuard
from distillguard.paths import shared_data

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def file_prompts(files: list[str], per_file: int) -> list[str]:
    out: list[str] = []
    for f in files:
        p = shared_data(*f.split("/"))
        if p is None:
            sys.exit(f"../shared/data/{f} not found")
        out.extend(T.read_prompts(p)[:per_file])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    # 1ea53ce: the input guard as session 1 left it (string n-grams, no early exit)
    ap.add_argument("--rev", default="1ea53ce")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3, help="best of this many per request")
    ap.add_argument(
        "--files",
        nargs="*",
        help="time the first --per-file prompts of these ../shared/data files instead "
        "(e.g. benign/alpaca_eval_805.jsonl distill/gsm8k_train.jsonl: the gateway bench's)",
    )
    ap.add_argument("--per-file", type=int, default=200)
    ap.add_argument("--clock", choices=("wall", "thread"), default="wall")
    args = ap.parse_args()
    clock = time.thread_time if args.clock == "thread" else time.perf_counter
    guards: dict[str, Any] = {
        "before": reference.input_guard(args.rev),
        "after": InputGuard.default(),
    }
    prompts = file_prompts(args.files, args.per_file) if args.files else cost_texts(args.n)
    reqs = [[{"role": "user", "content": t}] for t in prompts]
    lat: dict[str, list[float]] = {k: [] for k in guards}
    best: dict[str, list[float]] = {k: [] for k in guards}
    noise: list[float] = []
    for g in guards.values():  # warm-up
        for m in reqs[:200]:
            g.check(m)
    for i, m in enumerate(reqs):
        order = list(guards) if i % 2 == 0 else list(reversed(guards))
        for _ in range(args.rounds):
            for k in order:
                a = clock()
                guards[k].check(m)
                dt = (clock() - a) * 1e6
                if len(lat[k]) <= i:
                    lat[k].append(dt)
                    best[k].append(dt)
                else:
                    best[k][i] = min(best[k][i], dt)
        a = clock()
        sum(range(3000))
        noise.append((clock() - a) * 1e6)
    print(
        f"{len(reqs)} requests, "
        f"mean {statistics.mean(len(t[0]['content']) for t in reqs):.0f} chars, "
        f"{args.clock} clock, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"| input guard | p50 µs | p99 µs | best-of-{args.rounds} p50 µs "
        f"| best-of-{args.rounds} p99 µs |"
    )
    print("|---|---:|---:|---:|---:|")
    for k in guards:
        print(
            f"| {k} | {_pct(lat[k], 0.5):.0f} | {_pct(lat[k], 0.99):.0f} | "
            f"{_pct(best[k], 0.5):.0f} | {_pct(best[k], 0.99):.0f} |"
        )
    r = {q: _pct(best["before"], q) / _pct(best["after"], q) for q in (0.5, 0.99)}
    print(f"| speed-up (best-of) | | | {r[0.5]:.2f}x | {r[0.99]:.2f}x |")
    print(
        f"noise probe (sum(range(3000))): p50 {_pct(noise, 0.5):.0f} µs, "
        f"p99 {_pct(noise, 0.99):.0f} µs"
    )
    print(json.dumps({k: {"p50": _pct(v, 0.5), "p99": _pct(v, 0.99)} for k, v in best.items()}))


if __name__ == "__main__":
    main()
