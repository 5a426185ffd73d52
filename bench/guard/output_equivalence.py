"""Old vs new output transforms on the same streams: same text sent, same verdicts.

`.venv/bin/python bench/guard/output_equivalence.py [--rev REV] [--replies 300]`

Speed work on the streamed path must not change what a client receives. This runs the
transforms of git revision REV (before) and of the working tree on the benchmark's
replies (bench/guard/output_cost.py) and on GSM8K-based leaks in every disguise
(`guard.evaldata.leak_variants`), streamed in 1-3-token chunks, and compares: the
concatenated visible text, whether and which choices were withheld, the finish_reason,
and the whole-response results. Prints the differences (none expected, except where a
leak cut now falls at a different character: reported separately, as the amount of
leaked text sent before the cut).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import output_cost
import reference

from distillguard.guard import transforms as new_t
from distillguard.guard.evaldata import build_trace, honest_answers, leak_variants
from distillguard.paths import shared_data

TR = ["strip_reasoning", "drop_logprobs"]


def _stream(
    mod: Any, chunks: list[dict[str, Any]], fmt: Any, tr: list[str]
) -> tuple[str, str, list[int]]:
    st = mod.StreamTransformer(tr, fmt)
    out: list[dict[str, Any]] = []
    for c in chunks:
        out.extend(st.feed(c))
    out.extend(st.finish())
    text = "".join(
        (c["choices"][0].get("delta") or {}).get("content") or "" for c in out if c.get("choices")
    )
    fin = [c["choices"][0].get("finish_reason") for c in out if c.get("choices")]
    last = next((f for f in reversed(fin) if f), "")
    return text, last, sorted(st.report.withheld_choices)


def _leak_streams(n: int) -> list[tuple[str, list[dict[str, Any]]]]:
    p = shared_data("distill", "gsm8k_train.jsonl")
    assert p is not None
    rows = [json.loads(x) for x in p.read_text(encoding="utf-8").split("\n") if x]
    rng = random.Random(3)
    out = []
    for i in range(n):
        row = rows[(i * 53) % len(rows)]
        trace = build_trace(row["prompt"], str(row["answer"]), i)
        answers = dict(leak_variants(trace, i))
        answers.update(
            {f"honest_{k}": v for k, v in honest_answers(row["prompt"], str(row["answer"])).items()}
        )
        for kind, ans in answers.items():
            pieces = [("reasoning_content", x) for x in output_cost._pieces(trace)]
            pieces += [("content", x) for x in output_cost._pieces(ans)]
            chunks = [output_cost._chunk({"role": "assistant", "content": ""})]
            pos = 0
            while pos < len(pieces):
                take = rng.choice((1, 1, 2, 3))
                d: dict[str, str] = {}
                for k, x in pieces[pos : pos + take]:
                    d[k] = d.get(k, "") + x
                pos += take
                chunks.append(output_cost._chunk(d))
            chunks.append(output_cost._chunk({}, "stop"))
            out.append((kind, chunks))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", default="ef69ee7")
    ap.add_argument("--replies", type=int, default=300)
    ap.add_argument("--leaks", type=int, default=100)
    args = ap.parse_args()
    ref = reference.load(args.rev)
    old_t = __import__(f"{ref.__name__}.transforms", fromlist=["x"])
    diffs: list[str] = []
    n = 0
    for i, r in enumerate(output_cost.build_replies(args.replies)):
        for tr in (TR, [*TR, "leak_check:off"], ["summarise_reasoning"]):
            n += 1
            a = _stream(old_t, r["chunks"], r["fmt"], tr)
            b = _stream(new_t, r["chunks"], r["fmt"], tr)
            if a != b:
                diffs.append(
                    f"reply {i} {tr}: old {a[1:]} {len(a[0])} chars, new {b[1:]} {len(b[0])} chars"
                )
            wa = old_t.transform_response(r["body"], tr, r["fmt"])[0]
            wb = new_t.transform_response(r["body"], tr, r["fmt"])[0]
            if wa != wb:
                diffs.append(f"reply {i} {tr}: whole responses differ")
    cut_shift: list[tuple[str, int, int]] = []
    for kind, chunks in _leak_streams(args.leaks):
        n += 1
        a = _stream(old_t, chunks, None, TR)
        b = _stream(new_t, chunks, None, TR)
        if a[1:] != b[1:]:
            diffs.append(f"{kind}: old {a[1:]}, new {b[1:]}")
        elif a[0] != b[0]:
            cut_shift.append((kind, len(a[0]), len(b[0])))
    print(f"{n} streams compared; {len(diffs)} differences in verdict or honest text")
    for d in diffs[:40]:
        print("  ", d)
    if cut_shift:
        more = sum(1 for _, x, y in cut_shift if y > x)
        print(
            f"{len(cut_shift)} leaks cut at a different point ({more} later, "
            f"{len(cut_shift) - more} earlier); worst: "
            f"{max(cut_shift, key=lambda t: t[2] - t[1])}"
        )


if __name__ == "__main__":
    main()
