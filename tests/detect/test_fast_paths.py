"""The fast paths of the feature code give exactly what the plain versions gave.

`_edge_segments` finds bounds with one regex each way (was seven str.find/rfind calls),
`mask` skips the per-word name test when no capital follows the first character, and
`_wordy` stops counting at `need`. These reference versions are the previous code.
"""

from __future__ import annotations

import random

from distillguard.detect import features as F

BOUNDS = ("\n", ". ", "? ", "! ", ": ", "。", "？")
ALPHABET = [*"abcXYZ\0 .?!:\n\t'\"$`“”0123456789", "。", "？", "É", "é", "ß", "İ", "中", "ǅ"]


def _edge_ref(t: str) -> tuple[str | None, str | None]:
    head = t[: F.MAX_SEG + 2]
    cut = min((i for b in BOUNDS if (i := head.find(b)) >= 0), default=-1)
    first = head[: cut + 1].strip() if cut >= 0 else None
    tail = t[-(F.MAX_SEG + 2) :].rstrip()
    cut = max(tail.rfind(b) for b in BOUNDS)
    last = tail[cut + 1 :].strip() if cut >= 0 else None
    return first or None, last or None


def _mask_ref(segment: str) -> str:
    s = segment[: F.MAX_SEG * 2]
    if "$" in s:
        s = F._LATEX_INLINE.sub(" M ", s)
    if '"' in s or "'" in s or "`" in s or "“" in s:
        s = F._QUOTED.sub(" Q ", s)
    words = s.translate(F._DIGITS).split()
    out = [
        "N"
        if i and w[:1].isupper() and w[1:2].islower() and words[i - 1][-1:] not in ".?!:"
        else w.lower()
        for i, w in enumerate(words)
    ]
    return " ".join(out)[: F.MAX_SEG]


def _wordy_ref(key: str, need: int) -> bool:
    n = len(F._REAL_WORD.findall(key, 0, 200))
    if n < need and not key.isascii():
        n += len(F._CJK.findall(key, 0, 200)) // 3
    return n >= need


def _strings(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    words = ["Hello", "world", "Solve", "this", "Anna", "step", "x", "The", "请一步", "É"]
    out = []
    for _ in range(count):
        if rng.random() < 0.5:
            out.append("".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 400))))
        else:
            parts = [rng.choice(words) + rng.choice(["", ".", "?", ":", ","]) for _ in range(60)]
            out.append(rng.choice([" ", "\n", ". "]).join(parts[: rng.randint(1, 60)]))
    return out


def test_edge_segments_equal_reference() -> None:
    for t in _strings(1, 3000):
        assert F._edge_segments(t) == _edge_ref(t), repr(t)


def test_mask_equal_reference() -> None:
    for t in _strings(2, 3000):
        assert F.mask(t) == _mask_ref(t), repr(t)


def test_wordy_equal_reference() -> None:
    for t in _strings(3, 3000):
        for need in (1, 2, 3):
            assert F._wordy(t, need) == _wordy_ref(t, need), repr(t)
