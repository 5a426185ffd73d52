"""Input-guard CPU per request when every request carries its conversation so far.

Why: the guard scores the user, system and tool turns of a request joined together (an
attack can be spread over turns), so a chat client that re-sends its whole history makes
every later turn re-analyse everything before it. The other cost figures check single
prompts; this one replays the ShareGPT sample of ../shared/data conversation by
conversation: turn k is checked with user turns 1..k and an assistant reply (filler of a
typical length) after each earlier one, as a chat client sends it.

    .venv/bin/python bench/guard/multiturn_cost.py [--reply-chars 760]

Prints p50/p99 of the thread's CPU time per request for first turns and for later turns,
by history length, and the load average.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import time

from distillguard.guard.inputguard import InputGuard
from distillguard.paths import shared_data


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reply-chars", type=int, default=760, help="length of each assistant turn")
    a = ap.parse_args()
    src = shared_data("benign", "sharegpt_sample.jsonl")
    if src is None:
        raise SystemExit(
            "../shared/data/benign/sharegpt_sample.jsonl not found (DISTILLGUARD_SHARED)"
        )
    convs: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for line in src.read_text("utf-8").splitlines():
        r = json.loads(line)
        convs[r["conv_id"]].append((int(r["turn"]), str(r["prompt"])))
    guard = InputGuard.default()
    reply = ("Here is an answer to that. " * 40)[: a.reply_chars]
    by_depth: dict[str, list[float]] = collections.defaultdict(list)
    chars: list[int] = []
    load0 = os.getloadavg()[0]
    for turns in convs.values():
        turns.sort()
        msgs: list[dict[str, str]] = []
        for k, (_, prompt) in enumerate(turns):
            msgs.append({"role": "user", "content": prompt})
            t = time.thread_time()
            guard.check(msgs)
            us = (time.thread_time() - t) * 1e6
            key = "1" if k == 0 else "2-4" if k < 4 else "5-9" if k < 9 else "10+"
            by_depth[key].append(us)
            by_depth["later" if k else "first"].append(us)
            if k:
                chars.append(sum(len(m["content"]) for m in msgs if m["role"] == "user"))
            msgs.append({"role": "assistant", "content": reply})
    load1 = os.getloadavg()[0]
    n = sum(len(v) for k, v in by_depth.items() if k in ("first", "later"))
    print(f"{len(convs)} conversations, {n} requests; load average {load0:.2f} -> {load1:.2f}")
    print("| turns | requests | p50 µs | p99 µs | max µs |")
    print("|---|---:|---:|---:|---:|")
    for key in ("first", "later", "1", "2-4", "5-9", "10+"):
        xs = by_depth.get(key)
        if xs:
            print(
                f"| {key} | {len(xs)} | {pct(xs, 0.5):.0f} | {pct(xs, 0.99):.0f} | {max(xs):.0f} |"
            )
    if chars:
        print(f"user text per later request: p50 {pct([float(c) for c in chars], 0.5):.0f} chars")


if __name__ == "__main__":
    main()
