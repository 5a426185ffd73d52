"""Features of a request for the input guard: concepts, their proximity, decoded text, n-grams.

Pipeline per request (all user and system turns joined):
1. normalise: NFKC + casefold, zero-width characters removed, light leetspeak undone
   inside words that mix letters and digits ("ch41n 0f th0ught");
2. undo obfuscation: base64/hex runs are decoded, and segments that read as gibberish
   are tried as rot13 and reversed text; decoded text joins the analysed text and sets
   a "decoded" feature (asking the model to process hidden instructions is itself a cue);
3. concept hits from the multilingual lexicon, and *proximity* features (a target word
   near a hiddenness qualifier, an operation, an encoding, an authority claim...), which
   carry over to attack wordings and languages the classifier never saw;
4. character 3-5-grams of windows around target/hidden hits (the whole text when short),
   which let the classifier learn phrasing the lexicon misses.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import unicodedata
from dataclasses import dataclass

from distillguard.guard import lexicon

_ZW = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad"), None)
_LEET_WORD = re.compile(r"\b(?=[a-z0-9@$]*[a-z])(?=[a-z0-9@$]*[0-9@$])[a-z0-9@$]{3,}\b")
_LEET = str.maketrans("0134578@$", "oieastbas")
# separate simple patterns: an alternation of character-class runs is ~5x slower in `re`
_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_B64URL = re.compile(r"[A-Za-z0-9_\-]{24,}")
_HEX = re.compile(r"[0-9a-fA-F]{24,}")
# every match of the three patterns above lies inside a match of this one
_CODE_RUN = re.compile(r"[A-Za-z0-9+/_\-]{16,}")
LEET_MAX_CHARS = 4000
MAX_SEGMENTS = 200  # gibberish-looking segments tried as rot13 / reversed text
_LETTERS3 = re.compile(r"[a-zA-Z]{3}")
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)
_DECODE_CUES = lexicon.DECODE_CUES
_SEGMENT = re.compile(r"[^\n.!?:;\"'`]{16,}")
_COMMON_WORDS = (
    # en
    "the you your and to of a in is it that me my what all this for with please be are "
    "on not do can i show print write give tell now from as reasoning thinking thought "
    "thoughts chain full hidden internal raw verbatim repeat continue output answer "
    # es / pt / it
    "el la de que y en los las tu tus lo un una por con para es al del se su sus no "
    "como más antes sin o da do em os as um uma seu sua il di che non per con sono "
    # fr
    "le les des du et est une pour pas sur au avec ce il ne plus par ton ta tes votre "
    "vos moi toi je "
    # de
    "der die das und ist nicht zu den mit sich des auf für im dem ein eine als auch "
    "es an aus er hat dass sie nach wird bei um am sind noch wie dein deine deinen "
    "mir mich du vor"
)
_COMMON = frozenset(_COMMON_WORDS.split())

NGRAM_MIN, NGRAM_MAX = 3, 5
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
)


def normalise(text: str) -> str:
    if text.isascii():
        t = text.lower()
    else:
        t = unicodedata.normalize("NFKC", text).translate(_ZW).casefold()
    if "_" in t:  # snake_case keys ("hidden_reasoning") read as words
        t = t.replace("_", " ")
    if len(t) <= LEET_MAX_CHARS and any(map(str.isdigit, t)):
        t = _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET), t)
    return t


def _common_share(text: str) -> float:
    words = re.findall(r"[a-z']+", text[:3000].lower())
    if not words:
        return 0.0
    return sum(map(_COMMON.__contains__, words)) / len(words)


def _printable(raw: bytes) -> str | None:
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(s) < 6 or sum(ch.isprintable() or ch in "\n\t" for ch in s) < 0.95 * len(s):
        return None
    return s


def _decode_runs(text: str) -> list[str]:
    """Plain text decoded from the base64, base64url and hex runs of `text`."""
    found: list[str] = []
    runs = [m.group(0) for m in _B64.finditer(text)]
    runs += [m.group(0) for m in _B64URL.finditer(text) if "-" in m.group(0) or "_" in m.group(0)]
    for run in runs:
        if run.isalpha() and (run.islower() or run.isupper()):
            continue  # a long plain word, not base64
        try:
            raw = base64.b64decode(
                run.replace("-", "+").replace("_", "/") + "=" * (-len(run) % 4), validate=False
            )
        except (binascii.Error, ValueError):
            continue
        s = _printable(raw)
        if s is not None and _looks_like_text(s):
            found.append(s)
    for m in _HEX.finditer(text):
        digits = m.group(0)
        try:
            s = _printable(bytes.fromhex(digits[: len(digits) // 2 * 2]))
        except ValueError:
            s = None
        if s is not None and _looks_like_text(s):
            found.append(s)
    return found


def decode_hidden(text: str) -> list[str]:
    """Plain text recovered from base64, hex, rot13 and reversed segments of a prompt."""
    # most prompts have no run that base64, base64url or hex could match: one scan, not three
    found = _decode_runs(text) if _CODE_RUN.search(text) else []
    low = text.lower()
    if _common_share(text) >= 0.25 and not any(c in low for c in _DECODE_CUES):
        return found  # reads as plain language and asks for no decoding
    for k, m in enumerate(_SEGMENT.finditer(text)):
        if k >= MAX_SEGMENTS:
            break
        seg = m.group(0)
        if _common_share(seg) >= 0.15 or not _LETTERS3.search(seg):
            continue
        for cand in (seg.translate(_ROT13), seg[::-1], seg[::-1].translate(_ROT13)):
            share = _common_share(cand)
            if share >= 0.3 or (share >= 0.15 and _has_target(cand)):
                found.append(cand)
                break
    return found


def _has_target(s: str) -> bool:
    h = lexicon.find(normalise(s))
    return bool(h["tgt_strong"] or h["tgt_weak"])


def _looks_like_text(s: str) -> bool:
    letters = sum(ch.isalpha() for ch in s)
    return letters >= 0.6 * len(s.replace(" ", "")) and " " in s.strip()


@dataclass(frozen=True)
class Extracted:
    """What the classifier sees of one request."""

    dense: tuple[float, ...]
    ngrams: frozenset[str]
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


def _ngrams(text: str) -> frozenset[str]:
    """Character 3-5-grams of " text " (zip of shifted copies: no per-gram Python frame)."""
    t = f" {text} "
    shifted = [t[i:] for i in range(NGRAM_MAX)]
    return frozenset(
        itertools.chain.from_iterable(
            map("".join, zip(*shifted[:k], strict=False)) for k in range(NGRAM_MIN, NGRAM_MAX + 1)
        )
    )


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


def extract(text: str) -> Extracted:
    """Features of one request's text (user and system turns joined by newlines)."""
    decoded = tuple(decode_hidden(text)) if len(text) >= 16 else ()
    # long text: find anchors on cheaply lower-cased text, normalise only the windows
    short = len(text) <= WHOLE_TEXT_BELOW
    norm = normalise(text) if short else normalise(focus(text.lower()))
    if decoded:
        norm = norm + "\n" + "\n".join(normalise(d) for d in decoded)
    hits = lexicon.find(norm)
    for v in hits.values():
        v.sort()
    tgt = sorted(hits["tgt_strong"] + hits["tgt_weak"])
    h = {**hits, "tgt": tgt}
    dense: list[float] = [1.0 if hits[c] else 0.0 for c in lexicon.CATEGORIES]
    near = {(a, b): _near(h[a], h[b], w) for a, b, w in PAIRS}
    dense += [1.0 if near[(a, b)] else 0.0 for a, b, _ in PAIRS]
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
        dh = lexicon.find("\n".join(normalise(d) for d in decoded))
        dec_tgt = bool(dh["tgt_strong"] or dh["tgt_weak"])
    dense.append(1.0 if dec_tgt else 0.0)
    return Extracted(tuple(dense), _ngrams(norm[:MAX_NGRAM_CHARS]), hits, decoded, norm)
