"""Proof that a faster input guard decides exactly as before.

`.venv/bin/python bench/guard/equivalence.py [--rev REV]` runs `InputGuard.check` of the
working tree and of git revision REV (default: the commit before the speed-up) over every
prompt of ../shared/data/benign/*.jsonl and ../shared/data/distill/*.jsonl, the guard's
generated attacks and hard benign prompts, and the held-out sets in bench/guard/data
(each also as a system+user pair and with a prefilled assistant turn). It fails on any
difference in verdict, family or stage, a score difference of 1e-9 or more (rounded
verdict score and unrounded stage-1 probability), or any difference in the extracted
features (dense vector, n-gram set, concept hit positions, decoded text).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from distillguard.guard.data import attacks, benign
from distillguard.guard.inputguard import InputGuard
from distillguard.paths import shared_data

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import reference  # noqa: E402

DEFAULT_REV = "b139baf"  # the guard before session 3's speed-up (4c3e0c6: session 1's)


def _jsonl(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                p = json.loads(line).get("prompt")
                if isinstance(p, str):
                    yield p


def _ids(ngrams: Any) -> list[int]:
    """The n-gram set (hashed bucket ids, in any order) as a sorted list."""
    return sorted(int(i) for i in ngrams)


def requests() -> Iterator[tuple[str, Any]]:
    """(source, messages) for every prompt we have."""
    for sub in ("benign", "distill"):
        d = shared_data(sub)
        if d is None:
            sys.exit(f"../shared/data/{sub} not found")
        for f in sorted(Path(d).glob("*.jsonl")):
            for p in _jsonl(f):
                yield f"{sub}/{f.name}", [{"role": "user", "content": p}]
    for e in [*attacks.generate(), *benign.generate()]:
        msgs = [{"role": r, "content": c} for r, c in e.messages]
        yield ("attacks" if e.label else "hard_benign"), msgs
    for f in sorted((HERE / "data").glob("*.jsonl")):
        for p in _jsonl(f):
            yield f.name, [{"role": "user", "content": p}]
            yield (
                f.name + "+system",
                [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": p},
                ],
            )
            yield (
                f.name + "+prefill",
                [
                    {"role": "user", "content": p},
                    {"role": "assistant", "content": "<think>Okay, the user wants"},
                ],
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", default=DEFAULT_REV)
    args = ap.parse_args()
    old: Any = reference.input_guard(args.rev)
    new = InputGuard.default()
    counts: Counter[str] = Counter()
    verdicts: Counter[str] = Counter()
    bad = 0
    for src, msgs in requests():
        a, b = old.check(msgs), new.check(msgs)
        text = msgs[-1]["content"]
        (pa, xa), (pb, xb) = old.score_text(text), new.score_text(text)  # unrounded stage 1
        same_x = (xa.dense, _ids(xa.ngrams), xa.hits, xa.decoded, xa.normalised) == (
            xb.dense,
            _ids(xb.ngrams),
            xb.hits,
            xb.decoded,
            xb.normalised,
        )
        counts[src] += 1
        verdicts[b.verdict] += 1
        if (
            a.verdict != b.verdict
            or a.family != b.family
            or a.stage != b.stage
            or abs(a.score - b.score) >= 1e-9
            or abs(pa - pb) >= 1e-9
            or not same_x
        ):
            bad += 1
            if bad <= 10:
                print(f"DIFF {src}: {a} != {b}: {msgs[-1]['content'][:120]!r}")
    total = sum(counts.values())
    for src, n in sorted(counts.items()):
        print(f"{src:45s} {n:6d}")
    print(f"requests {total}, verdicts {dict(verdicts)}, differences {bad}")
    if bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
