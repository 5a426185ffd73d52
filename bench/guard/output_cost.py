"""Cost of the guard's output transforms per KB of reply, streamed and whole.

`.venv/bin/python bench/guard/output_cost.py [--replies 300] [--rev REV] [--repeat 3]`

What is measured: `StreamTransformer.feed(chunk)` over every parsed SSE chunk of a reply
plus `finish()` (streamed), and `transform_response(body)` (whole), with
`strip_reasoning` + `drop_logprobs`, with the leak check on and off. What is not: the
SSE parse and the JSON (de)serialisation the gateway does anyway; those are the
baseline, measured on the same chunks in the same run, so the figure reads on a shared
machine (report the ratio next to the absolute figure).

Replies are built at run time from GSM8K problems in ../shared/data (the file has final
answers only, so the reasoning is a trace built around each real problem and answer by
`guard.evaldata`, as in the leak tests). Sizes are log-normal, like real reasoning-model
replies: reasoning median ~2.5 KB (0.3-20 KB), answer median ~0.8 KB (0.1-8 KB). Half the
replies carry reasoning in `reasoning_content` (DeepSeek/vLLM style), a third inline in
`<think>` tags, the rest in the R1 style (closing tag only, `implicit_open` format). Each is
cut like a real upstream stream: a token (word piece of ~4 characters) per chunk, often
two or three (`--chunk-tokens`), in full OpenAI chunk objects (id, object, created,
model, fingerprint, choice with logprobs null), first chunk with the role, last with
finish_reason and usage.

Each reply is measured `--repeat` times in interleaved order (baseline, before, after,
...) and the best time per reply is kept (it removes scheduler stalls, not work), as
wall time and as the thread's CPU time (which does not count time spent preempted by
other jobs, so it reads better on a shared machine); figures are per-reply ms/KB of
reply text (reasoning + answer, UTF-8), p50 and p99 across replies, and the total over
all replies. With `--rev`, the transforms of that git
revision run side by side (before/after in one process).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from distillguard.guard.evaldata import build_trace, honest_answers
from distillguard.guard.formats import ReasoningFormat
from distillguard.paths import shared_data

sys.path.insert(0, str(Path(__file__).resolve().parent))

_PIECE = re.compile(r" ?[A-Za-z]{1,7}| ?[0-9]{1,3}|\s+|[^\sA-Za-z0-9]")
R1 = ReasoningFormat(fields=(), tags=("think",), implicit_open=True)
TRANSFORMS = {
    "leak check on": ["strip_reasoning", "drop_logprobs"],
    "leak check off": ["strip_reasoning", "drop_logprobs", "leak_check:off"],
}


def _lognormal(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    return int(min(hi, max(lo, rng.lognormvariate(math.log(median), sigma))))


def _pieces(text: str) -> list[str]:
    """Token-like pieces (~4 characters), the unit real upstreams stream in."""
    out = _PIECE.findall(text)
    assert "".join(out) == text
    return out


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-8f2c1e4a9b",
        "object": "chat.completion.chunk",
        "created": 1764300000,
        "model": "deepseek-r1",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def build_replies(
    n: int, seed: int = 7, chunk_tokens: tuple[int, ...] = (1, 1, 1, 2, 2, 3)
) -> list[dict[str, Any]]:
    """`n` replies: reasoning, answer, style, whole body and stream chunks."""
    p = shared_data("distill", "gsm8k_train.jsonl")
    if p is None:
        sys.exit("../shared/data/distill/gsm8k_train.jsonl not found")
    rows = [json.loads(line) for line in p.read_text(encoding="utf-8").split("\n") if line]
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        row = rows[(i * 37) % len(rows)]
        want_r = _lognormal(rng, 2500, 0.8, 300, 20000)
        want_a = _lognormal(rng, 800, 0.9, 100, 8000)
        parts: list[str] = []
        k = 0
        while sum(map(len, parts)) < want_r:
            parts.append(build_trace(row["prompt"], str(row["answer"]), i * 100 + k))
            k += 1
        reasoning = " ".join(parts)[:want_r]
        ans = [honest_answers(row["prompt"], str(row["answer"]))["short_explanation"]]
        j = i
        while sum(map(len, ans)) < want_a:  # more ordinary prose: other problems' text
            j += 1
            ans.append(rows[(j * 101) % len(rows)]["prompt"])
        answer = " ".join(ans)[:want_a]
        style = ("field", "field", "field", "tags", "tags", "r1")[i % 6]
        fmt = R1 if style == "r1" else None
        pieces: list[tuple[str, str]]
        if style == "field":
            body_msg = {"role": "assistant", "content": answer, "reasoning_content": reasoning}
            pieces = [("reasoning_content", x) for x in _pieces(reasoning)]
            pieces += [("content", x) for x in _pieces(answer)]
        else:
            text = ("<think>\n" if style == "tags" else "") + reasoning + "\n</think>\n\n" + answer
            body_msg = {"role": "assistant", "content": text}
            pieces = [("content", x) for x in _pieces(text)]
        chunks = [_chunk({"role": "assistant", "content": ""})]
        pos = 0
        while pos < len(pieces):
            take = rng.choice(chunk_tokens)
            group = pieces[pos : pos + take]
            pos += take
            delta: dict[str, str] = {}
            for key, x in group:
                delta[key] = delta.get(key, "") + x
            chunks.append(_chunk(delta))
        last = _chunk({}, "stop")
        last["usage"] = {"prompt_tokens": 80, "completion_tokens": len(pieces), "total_tokens": 0}
        chunks.append(last)
        body = {
            "id": "chatcmpl-8f2c1e4a9b",
            "object": "chat.completion",
            "created": 1764300000,
            "model": "deepseek-r1",
            "choices": [
                {"index": 0, "message": body_msg, "logprobs": None, "finish_reason": "stop"}
            ],
            "usage": last["usage"],
        }
        out.append(
            {
                "kb": (len(reasoning.encode()) + len(answer.encode())) / 1024,
                "fmt": fmt,
                "body": body,
                "chunks": chunks,
                "wire": [orjson.dumps(c) for c in chunks],
            }
        )
    return out


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--replies", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rev", default=None, help="git revision to compare against (before)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here too")
    ap.add_argument(
        "--chunk-tokens",
        default="1,1,1,2,2,3",
        help="tokens per chunk, drawn uniformly from this list (1 = one token per chunk)",
    )
    args = ap.parse_args()
    load0 = os.getloadavg()
    replies = build_replies(
        args.replies, chunk_tokens=tuple(int(x) for x in args.chunk_tokens.split(","))
    )
    from distillguard.guard import transforms as new_t

    impls: dict[str, Any] = {"after": new_t}
    if args.rev:
        import reference

        ref = reference.load(args.rev)
        impls = {"before": __import__(f"{ref.__name__}.transforms", fromlist=["x"]), **impls}

    def measure(fn: Callable[[], object]) -> tuple[float, float]:
        """(wall ms, thread CPU ms): CPU time does not count time spent preempted."""
        c0, t0 = time.thread_time(), time.perf_counter()
        fn()
        t1, c1 = time.perf_counter(), time.thread_time()
        return (t1 - t0) * 1000, (c1 - c0) * 1000

    cases: dict[str, Callable[[dict[str, Any]], Callable[[], object]]] = {}
    cases["baseline: json.loads+dumps of each chunk"] = lambda r: (
        lambda: [json.dumps(json.loads(w)) for w in r["wire"]]
    )
    cases["baseline: orjson.loads+dumps of each chunk"] = lambda r: (
        lambda: [orjson.dumps(orjson.loads(w)) for w in r["wire"]]
    )
    cases["baseline: json.loads+dumps of the whole body"] = lambda r: (
        lambda: json.dumps(json.loads(json.dumps(r["body"])))
    )
    for name, mod in impls.items():
        for tname, tr in TRANSFORMS.items():

            def streamed(
                r: dict[str, Any], mod: Any = mod, tr: list[str] = tr
            ) -> Callable[[], object]:
                def run() -> object:
                    st = mod.StreamTransformer(tr, r["fmt"])
                    out = [st.feed(c) for c in r["chunks"]]
                    out.append(st.finish())
                    return out

                return run

            def whole(
                r: dict[str, Any], mod: Any = mod, tr: list[str] = tr
            ) -> Callable[[], object]:
                return lambda: mod.transform_response(r["body"], tr, r["fmt"])

            cases[f"{name}: streamed, {tname}"] = streamed
            cases[f"{name}: whole, {tname}"] = whole
    names = list(cases)
    best: dict[str, list[float]] = {k: [math.inf] * len(replies) for k in names}
    best_cpu: dict[str, list[float]] = {k: [math.inf] * len(replies) for k in names}
    t_start = time.perf_counter()
    for rep in range(args.repeat):
        order = names[:] if rep % 2 == 0 else names[::-1]
        for i, r in enumerate(replies):
            for k in order:
                wall, cpu = measure(cases[k](r))
                best[k][i] = min(best[k][i], wall)
                best_cpu[k][i] = min(best_cpu[k][i], cpu)
    load1 = os.getloadavg()
    kb = [r["kb"] for r in replies]
    total_kb = sum(kb)
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    n_chunks = sum(len(r["chunks"]) for r in replies)
    print(
        f"{len(replies)} replies, {total_kb:.1f} KB of reply text (median {_pct(kb, 0.5):.2f} KB, "
        f"p99 {_pct(kb, 0.99):.2f} KB), {n_chunks} stream chunks "
        f"({total_kb * 1024 / n_chunks:.1f} characters per chunk on average); "
        f"best of {args.repeat} per reply; working tree at {rev}"
        + (f", before = {args.rev}" if args.rev else "")
    )
    print(
        f"load average {load0[0]:.2f} at start, {load1[0]:.2f} at end; "
        f"{time.perf_counter() - t_start:.1f} s measuring"
    )
    base = "baseline: json.loads+dumps of each chunk"
    result: dict[str, Any] = {"load": [load0[0], load1[0]], "kb": total_kb, "cases": {}}
    print()
    print(
        "| case | wall ms/KB p50 | p99 | total | CPU ms/KB p50 | p99 | total "
        "| CPU total / json per chunk |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    base_cpu = sum(best_cpu[base]) / total_kb
    for k in names:
        row: dict[str, float] = {}
        for label, b in (("wall", best[k]), ("cpu", best_cpu[k])):
            per = [t / w for t, w in zip(b, kb, strict=True)]
            row[f"{label}_p50"] = _pct(per, 0.5)
            row[f"{label}_p99"] = _pct(per, 0.99)
            row[f"{label}_total"] = sum(b) / total_kb
        result["cases"][k] = row
        print(
            f"| {k} | {row['wall_p50']:.3f} | {row['wall_p99']:.3f} | {row['wall_total']:.3f} "
            f"| {row['cpu_p50']:.3f} | {row['cpu_p99']:.3f} | {row['cpu_total']:.3f} "
            f"| {row['cpu_total'] / base_cpu:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
