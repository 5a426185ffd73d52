"""OFAC-compatible scoring (FAQ 249) for auditors who must reproduce OFAC's own search.

OFAC publishes the method, not the code: a prefilter on the first letter and at least 50%
edit-distance similarity, then the higher of (1) Jaro-Winkler over the whole name string
and (2) a composite of per-name-part scores using Jaro-Winkler and Soundex. Our reading of
(2): each query part takes its best counterpart among the listed name's parts, scoring the
pair's Jaro-Winkler, raised to 1.0 when both parts have the same Soundex code; parts of at
most two letters are ignored (as OFAC's tool does for "KIM JONG UN"), and the composite is
the mean over query parts. No transliteration beyond ASCII folding, no honorific or legal
form handling: that is the point of this mode - it reproduces OFAC, quirks included.
"""

from __future__ import annotations

from functools import lru_cache

import jellyfish
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rigour.names.tokenize import tokenize_name
from rigour.text.translit import ascii_text


@lru_cache(maxsize=65536)
def ofac_tokens(name: str) -> tuple[str, ...]:
    return tuple(t.upper() for t in tokenize_name(ascii_text(name)))


@lru_cache(maxsize=65536)
def _soundex(part: str) -> str:
    return jellyfish.soundex(part) if part.isalpha() else part


def ofac_prefilter(query: tuple[str, ...], listed: tuple[str, ...]) -> bool:
    """FAQ 249's candidate filter: same first letter and >= 50% edit-distance similarity."""
    if not query or not listed:
        return False
    q, c = " ".join(query), " ".join(listed)
    if q[0] != c[0] and not any(p[0] == q[0] for p in listed):
        return False
    return Levenshtein.normalized_similarity(q, c) >= 0.5 or any(
        Levenshtein.normalized_similarity(a, b) >= 0.5 for a in query for b in listed
    )


def ofac_score(query: tuple[str, ...], listed: tuple[str, ...]) -> tuple[float, float, float]:
    """(score, whole-string JW, per-part composite), all in [0, 1]."""
    if not query or not listed:
        return 0.0, 0.0, 0.0
    whole = JaroWinkler.similarity(" ".join(query), " ".join(listed))
    parts = [p for p in query if len(p) > 2] or list(query)
    total = 0.0
    for p in parts:
        sp = _soundex(p)
        best = 0.0
        for c in listed:
            s = 1.0 if sp == _soundex(c) and len(c) > 2 else JaroWinkler.similarity(p, c)
            if s > best:
                best = s
        total += best
    composite = total / len(parts)
    return max(whole, composite), whole, composite
