"""Features of a request for the input guard: concepts, their proximity, decoded text, n-grams.

Pipeline per request (all user and system turns joined):
1. normalise: NFKC + casefold, zero-width characters removed, light leetspeak undone
   inside words that mix letters and digits ("ch41n 0f th0ught");
2. undo obfuscation (`decode.py`: byte encodings, ciphers, reversed text, spaced letters,
   homoglyphs...); decoded text joins the analysed text and sets a "decoded" feature
   (asking the model to process hidden instructions is itself a cue);
3. concept hits from the multilingual lexicon, and *proximity* features (a target word
   near a hiddenness qualifier, an operation, an encoding, an authority claim...), which
   carry over to attack wordings and languages the classifier never saw;
4. character 3-5-grams of windows around target/hidden hits (the whole text when short),
   which let the classifier learn phrasing the lexicon misses.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from distillguard.guard import lexicon
from distillguard.guard.decode import decode_hidden, homoglyphs
from distillguard.guard.transcript import fake_reasoning_turn

__all__ = [
    "Analysed",
    "Extracted",
    "analyse",
    "decode_hidden",
    "extract",
    "focus",
    "is_quiet",
    "normalise",
]

# invisible characters: zero-width, bidi marks, word joiners, variation selectors and
# Unicode tag characters (the latter are also decoded as hidden ASCII by `decode.py`)
_ZW = dict.fromkeys(
    [
        *map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad"),
        *map(ord, "\u034f\u180e\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
        *range(0xFE00, 0xFE10),
        *range(0xE0000, 0xE0080),
    ],
    None,
)
_ZW_CHARS = frozenset(map(chr, _ZW))
# words of Latin letters (with diacritics: "ł4ńcuch") that mix in digits or @ / $
_LEET_WORD = re.compile(
    r"(?<![\w@$])(?=[a-zß-ɏ0-9@$]*[a-zß-ɏ])(?=[a-zß-ɏ0-9@$]*[0-9@$])[a-zß-ɏ0-9@$]{2,}(?![\w@$])"
)
_LEET = str.maketrans("0134578@$", "oieastbas")
_LEET_CHAR = re.compile(r"[0-9]")  # leetspeak is undone only in text with a digit
# a _LEET_WORD match has a letter next to a digit, @ or $ (one scan from those characters)
_LEET_NEXT = re.compile(r"[0-9@$](?:(?<=[a-zß-ɏ].)|(?=[a-zß-ɏ]))")
LEET_MAX_CHARS = 4000

NGRAM_MIN, NGRAM_MAX = 3, 5
# n-grams are hashed into 2**NGRAM_BITS buckets (polynomial hash of the code points, then
# a multiplicative mix); the model holds one weight per bucket in a flat array, so scoring
# is a few vectorised operations instead of building ~3 strings per character
NGRAM_BITS = 18  # 256k buckets: the weight table (1 MB) and the dedup table stay in cache
_P = np.uint64(1_000_003)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SEEDS = (
    np.uint64(0x51ED27A3C6B1F35D),
    np.uint64(0x2545F4914F6CDD1D),
    np.uint64(0x7F4A7C159E3779B9),
)
_SHIFT = np.uint64(64 - NGRAM_BITS)
_MASK64 = (1 << 64) - 1
WINDOW = 100  # characters each side of an anchor kept from a long prompt
WHOLE_TEXT_BELOW = 600  # shorter texts are analysed whole
MAX_ANCHORS = 6
MAX_NGRAM_CHARS = 800  # n-grams of at most this much analysed text

PAIRS: tuple[tuple[str, str, int], ...] = (
    ("hidden", "tgt", 60),
    ("extract", "tgt", 80),
    ("transform", "tgt", 80),
    ("encoding", "tgt", 160),
    ("self", "tgt", 30),
    ("authority", "tgt", 400),
    ("transcript", "tgt", 400),
    ("wrapping", "tgt", 120),
    ("dataset", "tgt", 400),
    ("explain", "tgt", 60),
    ("topic", "tgt", 80),
    ("hidden", "extract", 60),
    ("encoding", "extract", 80),
)
DENSE_NAMES: tuple[str, ...] = (
    *(f"has_{c}" for c in lexicon.CATEGORIES),
    *(f"near_{a}_{b}" for a, b, _ in PAIRS),
    "strong_near_extract_or_transform",
    "hidden_tgt_op",
    "self_hidden_tgt",
    "explain_without_hidden",
    "topic_without_self",
    "roles_in_user_text",
    "decoded_text",
    "decoded_has_target",
    "fake_reasoning_turn",
)


def normalise(text: str) -> str:
    if text.isascii():
        t = text.lower()
    else:
        t = unicodedata.normalize("NFKC", text)
        if not lexicon.odd_chars(t).isdisjoint(_ZW_CHARS):  # translate costs ~30 ns a character
            t = t.translate(_ZW)
        t = homoglyphs(t.casefold())
    if "_" in t:  # snake_case keys ("hidden_reasoning") read as words
        t = t.replace("_", " ")
    if len(t) <= LEET_MAX_CHARS and _may_be_leet(t):
        t = _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), t)
    return t


# ASCII text: digits "d", @ and $ "a", lower-case letters "l" (as _LEET_CHAR, _LEET_NEXT)
_LEET_CLASSES = bytes(
    ord("d" if chr(b).isascii() and chr(b).isdigit() else "a" if chr(b) in "@$" else "l")
    if chr(b) in "0123456789@$abcdefghijklmnopqrstuvwxyz"
    else ord("x")
    for b in range(256)
)


def _may_be_leet(t: str) -> bool:
    """A digit in the text and a letter next to a digit, @ or $ (else _LEET_WORD cannot
    match); byte-class substring tests for ASCII text."""
    if not t.isascii():
        return bool(_LEET_CHAR.search(t) and _LEET_NEXT.search(t))
    c = t.encode("ascii").translate(_LEET_CLASSES)
    return c.find(b"d") >= 0 and any(c.find(pair) >= 0 for pair in (b"ld", b"dl", b"la", b"al"))


@dataclass(frozen=True)
class Extracted:
    """What the classifier sees of one request."""

    dense: tuple[float, ...]
    ngrams: np.ndarray = field(compare=False)  # distinct n-gram bucket ids (int64)
    hits: dict[str, list[int]]
    decoded: tuple[str, ...]
    normalised: str


def _near(a: list[int], b: list[int], w: int) -> bool:
    if not a or not b:
        return False
    j = 0
    for x in a:  # both lists are sorted
        while j < len(b) and b[j] < x - w:
            j += 1
        if j < len(b) and abs(b[j] - x) <= w:
            return True
    return False


def ngram_id(gram: str) -> int:
    """Bucket of one n-gram (the scalar definition `_ngrams` vectorises; used by tests)."""
    h = 0
    for ch in gram:
        h = (h * int(_P) + ord(ch)) & _MASK64
    h ^= int(_SEEDS[len(gram) - NGRAM_MIN])
    return ((h * int(_MIX)) & _MASK64) >> (64 - NGRAM_BITS)


_local = threading.local()


def _stamp() -> np.ndarray:
    s: np.ndarray | None = getattr(_local, "stamp", None)
    if s is None:
        s = _local.stamp = np.zeros(1 << NGRAM_BITS, dtype=np.int16)
    return s


_POS = np.arange(3 * (MAX_NGRAM_CHARS + 2), dtype=np.int16)  # < 2**15 n-grams


# the constants as 0-d arrays: numpy resolves array operands faster than scalar ones
_P0, _MIX0, _SHIFT0 = np.array(_P), np.array(_MIX), np.array(_SHIFT)
_SEEDS0 = tuple(np.array(s) for s in _SEEDS)


def _ngrams(text: str) -> np.ndarray:
    """Distinct bucket ids of the character 3-5-grams of " text " (text <= MAX_NGRAM_CHARS)."""
    raw = f" {text[:MAX_NGRAM_CHARS]} ".encode("utf-32-le", "surrogatepass")  # lone surrogates too
    c = np.frombuffer(raw, dtype=np.uint32).astype(np.uint64)
    n = len(c)
    sizes = [max(n - k + 1, 0) for k in range(NGRAM_MIN, NGRAM_MAX + 1)]  # grams of each size
    # the 3-, 4- and 5-gram hashes side by side in one buffer, computed in place
    buf = np.empty(sum(sizes), dtype=np.uint64)
    h = c[:-1] * _P0
    h += c[1:]
    parts = []
    lo = 0
    for k, m in enumerate(sizes):
        part = buf[lo : lo + m]
        np.multiply(h[:m], _P0, out=part)
        part += c[2 + k :]
        parts.append(part)
        h = part  # the next size extends this one
        lo += m
    for part, seed in zip(parts, _SEEDS0, strict=True):
        part ^= seed
    buf *= _MIX0
    buf >>= _SHIFT0
    ids = buf.view(np.int64)  # < 2**NGRAM_BITS: the same values
    if len(ids) < 2:
        return ids
    # distinct ids without a sort: write each position into its bucket, keep the
    # position that stayed (one per bucket whatever the write order)
    stamp = _stamp()
    pos = _POS[: len(ids)]
    stamp[ids] = pos
    out: np.ndarray = ids[stamp[ids] == pos]
    return out


def focus(norm: str) -> str:
    """The part of a (normalised) prompt worth analysing: all of it when short, else
    windows around anchor stems, so cost and chance co-occurrences do not grow with
    the length of a pasted document."""
    if len(norm) <= WHOLE_TEXT_BELOW:
        return norm
    pieces: list[str] = []
    end = -1
    for a in lexicon.anchors(norm, MAX_ANCHORS):
        lo, hi = max(0, a - WINDOW, end), a + WINDOW
        if hi > lo:
            pieces.append(norm[lo:hi])
            end = hi
    return "\n".join(pieces)


@dataclass(slots=True)
class Analysed:
    """The cheap first part of the features: decoded text, normalised text, concept hits
    and whether the text fabricates a reasoning turn (read-only by convention: not frozen,
    which makes it 4x cheaper to build, once per request)."""

    decoded: tuple[str, ...]
    norm: str
    hits: dict[str, list[int]]
    fake_turn: bool


# Concepts at least one of which every attack we have seen names (checked on all our
# generated and held-out attacks: docs/guard.md). A request with none of them, nothing
# decoded and no fabricated turn is allowed without the n-gram stage (`is_quiet`). An
# operation word alone ("show", "print", "repeat") is not among them: without an object
# that names the model's thinking, its hiddenness or the model itself it asks for nothing.
QUIET_WITHOUT: tuple[str, ...] = (
    "tgt_strong",
    "tgt_weak",
    "hidden",
    "encoding",
    "authority",
    "transcript",
    "wrapping",
    "dataset",
    "self",
)


MAX_DECODED = 8  # decoded pieces analysed per request


def decoded_view(decoded: tuple[str, ...]) -> str:
    """Normalised decoded text, long pieces cut to windows like a long prompt is (a
    decoded copy of a long document must not cost more than the document)."""
    return "\n".join(
        normalise(d) if len(d) <= WHOLE_TEXT_BELOW else normalise(focus(d.lower()))
        for d in decoded[:MAX_DECODED]
    )


def analyse(text: str, decode: bool = True) -> Analysed:
    """Decode (unless told not to: text that already holds its decoded parts), normalise,
    find concepts, look for a fabricated turn."""
    decoded = tuple(decode_hidden(text)) if decode and len(text) >= 16 else ()
    # long text: find anchors on cheaply lower-cased text, normalise only the windows
    short = len(text) <= WHOLE_TEXT_BELOW
    norm = normalise(text) if short else normalise(focus(text.lower()))
    if decoded:
        norm = norm + "\n" + decoded_view(decoded)
    hits = lexicon.find(norm)
    return Analysed(decoded, norm, hits, fake_reasoning_turn(norm))


def is_quiet(a: Analysed) -> bool:
    """No attack concept, nothing decoded, no fabricated turn (see QUIET_WITHOUT)."""
    return not a.decoded and not a.fake_turn and not any(map(a.hits.__getitem__, QUIET_WITHOUT))


def extract(text: str, a: Analysed | None = None) -> Extracted:
    """Features of one request's text (user and system turns joined by newlines)."""
    a = a or analyse(text)
    decoded, norm, hits = a.decoded, a.norm, a.hits
    for v in hits.values():
        v.sort()
    tgt = sorted(hits["tgt_strong"] + hits["tgt_weak"])
    h = {**hits, "tgt": tgt}
    dense: list[float] = [1.0 if hits[c] else 0.0 for c in lexicon.CATEGORIES]
    near = {(a_, b): bool(h[a_] and h[b]) and _near(h[a_], h[b], w) for a_, b, w in PAIRS}
    dense += [1.0 if near[(a_, b)] else 0.0 for a_, b, _ in PAIRS]
    strong = hits["tgt_strong"]
    dense.append(
        1.0 if _near(strong, hits["extract"], 100) or _near(strong, hits["transform"], 100) else 0.0
    )
    op = near[("extract", "tgt")] or near[("transform", "tgt")]
    dense.append(1.0 if near[("hidden", "tgt")] and op else 0.0)
    dense.append(1.0 if near[("self", "tgt")] and near[("hidden", "tgt")] else 0.0)
    dense.append(1.0 if hits["explain"] and not near[("hidden", "tgt")] else 0.0)
    dense.append(1.0 if hits["topic"] and not near[("self", "tgt")] else 0.0)
    dense.append(min(len(hits["transcript"]), 4) / 4)
    dense.append(1.0 if decoded else 0.0)
    dec_tgt = False
    if decoded:
        dh = lexicon.find(decoded_view(decoded))
        dec_tgt = bool(dh["tgt_strong"] or dh["tgt_weak"])
    dense.append(1.0 if dec_tgt else 0.0)
    dense.append(1.0 if a.fake_turn else 0.0)
    return Extracted(tuple(dense), _ngrams(norm[:MAX_NGRAM_CHARS]), hits, decoded, norm)
