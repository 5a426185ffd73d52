"""Leak detector: did the visible answer copy the hidden reasoning it was produced with?

Stripping the reasoning field is useless if a coerced model writes the same trace into
its answer, plainly or disguised. We index the hidden reasoning once (word 1/2/3-grams,
numbers and stop words left out of the unigram set) and measure how much of it the answer
*covers*: leaks reproduce most of the trace; honest answers share the result, some numbers
and a phrase or two, which is a small fraction of any real trace. Disguises are undone on
the answer side while reading it, token by token, so the same pass catches them:
rot13 (each token rotated), reversed text (each token reversed, n-grams read backwards),
reversed word order, and base64/hex runs (decoded and read as text). Reordered sentences
keep their inner n-grams; light paraphrase keeps most bigrams and content words.

The reader is incremental (`LeakReader.add(text)`) so a stream is checked as it arrives
with only a bounded tail held back (`StreamLeakGuard`). Cost is a handful of set lookups
per answer token (see bench/guard). Not covered: translation of the trace into another
language and free rewriting; those need a model, and the input guard is the first line.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import itertools
import re
from dataclasses import dataclass, field

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[0-9]+(?:[.,][0-9]+)*|[^\W\d_{_CJK}]+")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_\-]{24,}={0,2}")
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2}[\s:]?){16,}")
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "so",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "we",
        "you",
        "he",
        "she",
        "they",
        "i",
        "me",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "them",
        "us",
        "do",
        "does",
        "did",
        "done",
        "has",
        "have",
        "had",
        "having",
        "not",
        "no",
        "yes",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "also",
        "just",
        "than",
        "too",
        "very",
        "more",
        "most",
        "less",
        "least",
        "much",
        "many",
        "some",
        "any",
        "each",
        "every",
        "all",
        "both",
        "either",
        "neither",
        "one",
        "two",
        "per",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "after",
        "before",
        "again",
        "once",
        "only",
        "own",
        "same",
        "such",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "let",
        "lets",
        "let's",
        "now",
        "need",
        "needs",
        "first",
        "next",
        "finally",
        "total",
        "answer",
        "therefore",
        "thus",
        "hence",
        "because",
        "since",
        "get",
        "gets",
        "got",
        "make",
        "makes",
        "made",
    ]
)


def tokens(text: str) -> list[str]:
    """Lower-cased word/number tokens; CJK characters are one token each; 1,200 -> 1200."""
    return [t.replace(",", "") for t in _TOKEN.findall(text.lower())]


def _content(t: str) -> bool:
    return t not in _STOP and not t[0].isdigit() and (len(t) >= 3 or t >= "\u3040")


@dataclass(frozen=True)
class LeakThresholds:
    """Coverage of the reasoning's n-grams above which an answer counts as a leak."""

    trigram: float = 0.60
    bigram: float = 0.70
    unigram: float = 0.80
    min_matched: int = 12  # never call a leak on fewer matched n-grams than this
    min_reasoning_words: int = 12  # shorter traces are not worth (and too easy) to match


@dataclass
class ReasoningIndex:
    """The hidden reasoning, reduced to the sets the reader looks up."""

    uni: frozenset[str]
    bi: frozenset[tuple[str, str]]
    tri: frozenset[tuple[str, str, str]]
    n_tokens: int

    @classmethod
    def build(cls, reasoning: str) -> ReasoningIndex:
        toks = tokens(reasoning)
        return cls(
            uni=frozenset(t for t in toks if _content(t)),
            bi=frozenset(itertools.pairwise(toks)),
            tri=frozenset(zip(toks, toks[1:], toks[2:], strict=False)),
            n_tokens=len(toks),
        )


@dataclass(frozen=True)
class LeakScore:
    """How much of the reasoning an answer reproduced, and whether that is a leak."""

    leaked: bool
    score: float  # max coverage/threshold ratio: >= 1 means over a threshold
    trigram: float
    bigram: float
    unigram: float
    via: str | None  # "plain", "rot13", "reversed", "word_reversed", "base64", "hex"


class _Lane:
    """One way of reading the answer (plain, rot13, reversed...) with its n-gram window."""

    __slots__ = ("backward", "name", "p1", "p2", "seen", "uhits", "xf")

    def __init__(self, name: str, xf: str, backward: bool) -> None:
        self.name, self.xf, self.backward = name, xf, backward
        self.p1: str | None = None
        self.p2: str | None = None
        self.seen = 0
        self.uhits = 0


@dataclass
class LeakReader:
    """Reads an answer incrementally and tracks which reasoning n-grams it reproduced."""

    index: ReasoningIndex
    thresholds: LeakThresholds = field(default_factory=LeakThresholds)
    m_uni: set[str] = field(default_factory=set)
    m_bi: set[tuple[str, str]] = field(default_factory=set)
    m_tri: set[tuple[str, str, str]] = field(default_factory=set)
    carry: str = ""
    lane_hits: dict[str, int] = field(default_factory=dict)
    _lanes: list[_Lane] = field(default_factory=list)
    _decoded: LeakReader | None = None

    def __post_init__(self) -> None:
        self._lanes = [
            _Lane("plain", "", False),
            _Lane("word_reversed", "", True),
            _Lane("rot13", "rot13", False),
            _Lane("reversed", "rev", True),
        ]

    def _read_tokens(self, toks: list[str], lanes: list[_Lane]) -> None:
        # Set operations in C instead of a Python loop per token: this is the hot path.
        ix = self.index
        for lane in lanes:
            if lane.xf == "rot13":
                xs = " ".join(toks).translate(_ROT13).split(" ")
            elif lane.xf == "rev":
                xs = [t[::-1] for t in toks]
            else:
                xs = toks
            u = ix.uni.intersection(xs)
            lane.seen += len(xs)
            lane.uhits += len(u)
            prev = [p for p in (lane.p2, lane.p1) if p is not None]
            seq = prev + xs if prev else xs
            if len(seq) >= 2:
                lane.p2, lane.p1 = seq[-2], seq[-1]
            elif seq:
                lane.p2, lane.p1 = lane.p1, seq[-1]
            if lane.xf and lane.uhits < max(2, lane.seen // 10):
                continue  # a disguise lane that finds no reasoning words so far: skip n-grams
            if lane.backward:
                bis = set(zip(seq[1:], seq, strict=False))
                tris = set(zip(seq[2:], seq[1:], seq, strict=False))
            else:
                bis = set(itertools.pairwise(seq))
                tris = set(zip(seq, seq[1:], seq[2:], strict=False))
            b = bis & ix.bi
            g = tris & ix.tri
            self.m_uni |= u
            self.m_bi |= b
            self.m_tri |= g
            self.lane_hits[lane.name] = self.lane_hits.get(lane.name, 0) + len(b) + len(g)

    def _decode_runs(self, text: str) -> None:
        for m in _B64_RUN.finditer(text):
            run = m.group(0)
            raw: bytes | None = None
            try:
                pad = "=" * (-len(run) % 4)
                raw = base64.b64decode(run.replace("-", "+").replace("_", "/") + pad)
            except (binascii.Error, ValueError):
                raw = None
            self._feed_decoded(raw, "base64")
        for m in _HEX_RUN.finditer(text):
            digits = re.sub(r"[\s:]", "", m.group(0))
            try:
                self._feed_decoded(bytes.fromhex(digits[: len(digits) // 2 * 2]), "hex")
            except ValueError:
                continue

    def _feed_decoded(self, raw: bytes | None, how: str) -> None:
        if not raw:
            return
        text = raw.decode("utf-8", errors="replace")
        printable = sum(ch.isprintable() or ch in "\n\t" for ch in text)
        if printable < 0.9 * len(text) or "\ufffd" in text[:-2]:
            return
        if self._decoded is None:
            self._decoded = LeakReader(self.index, self.thresholds)
            self._decoded._lanes = [_Lane(how, "", False)]
        before = len(self.m_tri) + len(self.m_bi)
        sub = self._decoded
        sub.m_uni, sub.m_bi, sub.m_tri = self.m_uni, self.m_bi, self.m_tri
        sub._read_tokens(tokens(text), sub._lanes)
        gained = len(self.m_tri) + len(self.m_bi) - before
        self.lane_hits[how] = self.lane_hits.get(how, 0) + gained

    def add(self, text: str) -> None:
        """Read more answer text; a trailing partial word or encoded run waits for the next."""
        buf = self.carry + text
        cut = len(buf)
        while cut > 0 and (buf[cut - 1].isalnum() or buf[cut - 1] in "+/=_-"):
            cut -= 1
        head, self.carry = buf[:cut], buf[cut:]
        if head:
            self._read(head)

    def finish(self) -> None:
        """Read whatever is still held back (end of the answer)."""
        if self.carry:
            rest, self.carry = self.carry, ""
            self._read(rest)

    def _read(self, text: str) -> None:
        self._read_tokens(tokens(text), self._lanes)
        if len(text) >= 24:
            self._decode_runs(text)

    def score(self) -> LeakScore:
        ix, th = self.index, self.thresholds
        c3 = len(self.m_tri) / len(ix.tri) if ix.tri else 0.0
        c2 = len(self.m_bi) / len(ix.bi) if ix.bi else 0.0
        c1 = len(self.m_uni) / len(ix.uni) if ix.uni else 0.0
        s = max(c3 / th.trigram, c2 / th.bigram, c1 / th.unigram)
        enough = (
            len(ix.uni) >= th.min_reasoning_words
            and len(self.m_bi) + len(self.m_tri) >= th.min_matched
        )
        via = max(self.lane_hits, key=lambda k: self.lane_hits[k]) if self.lane_hits else None
        if via is not None and self.lane_hits[via] == 0:
            via = None
        return LeakScore(s >= 1.0 and enough, round(s, 4), c3, c2, c1, via)


class LeakDetector:
    """Whole-answer check: `LeakDetector().check(reasoning, answer) -> LeakScore`."""

    def __init__(self, thresholds: LeakThresholds | None = None) -> None:
        self.thresholds = thresholds or LeakThresholds()

    def reader(self, reasoning: str | ReasoningIndex) -> LeakReader:
        ix = reasoning if isinstance(reasoning, ReasoningIndex) else ReasoningIndex.build(reasoning)
        return LeakReader(ix, self.thresholds)

    def check(self, reasoning: str, answer: str) -> LeakScore:
        r = self.reader(reasoning)
        r.add(answer)
        r.finish()
        return r.score()


@dataclass
class StreamLeakGuard:
    """Checks streamed answer text against the reasoning, releasing all but a short tail.

    `hold` characters are kept back (plus any encoded run not yet decoded) so a leak is
    usually caught before its text reaches the client; once a leak is seen nothing more is
    released. Reasoning that arrives before the answer is indexed when the answer starts.
    """

    detector: LeakDetector = field(default_factory=LeakDetector)
    hold: int = 256
    batch: int = 128
    reasoning_parts: list[str] = field(default_factory=list)
    withheld: bool = False
    last: LeakScore | None = None
    _reader: LeakReader | None = None
    _pending: str = ""
    _unread: str = ""
    _index_len: int = 0
    _reasoning_len: int = 0

    def add_reasoning(self, text: str) -> None:
        if text:
            self.reasoning_parts.append(text)
            self._reasoning_len += len(text)

    def _ensure_reader(self) -> LeakReader:
        size = self._reasoning_len
        if self._reader is None or size != self._index_len:
            # (Re)index when new reasoning arrived (interleaved thinking); keep what we matched.
            old = self._reader
            self._reader = self.detector.reader("".join(self.reasoning_parts))
            self._index_len = size
            if old is not None:
                r = self._reader
                r.carry, r.m_uni, r.m_bi, r.m_tri = old.carry, old.m_uni, old.m_bi, old.m_tri
        return self._reader

    def add_content(self, text: str) -> str:
        """Feed answer text; returns the part that is safe to send now ('' once withheld).

        Text is read in batches of `batch` characters (a token-sized chunk at a time
        would cost more in per-call overhead than the check itself); nothing is
        released before it has been read."""
        if self.withheld or not text:
            return ""
        if not self.reasoning_parts:
            return text
        self._pending += text
        self._unread += text
        if len(self._unread) < self.batch:
            return ""
        r = self._ensure_reader()
        r.add(self._unread)
        self._unread = ""
        self.last = r.score()
        if self.last.leaked:
            self.withheld, self._pending = True, ""
            return ""
        keep = max(self.hold, len(r.carry))
        if len(self._pending) <= keep:
            return ""
        out, self._pending = self._pending[:-keep], self._pending[-keep:]
        return out

    def finish(self) -> str:
        """End of answer: final check of the held tail; returns it unless it leaked."""
        if self.withheld:
            return ""
        if not self.reasoning_parts:
            out, self._pending = self._pending, ""
            return out
        r = self._ensure_reader()
        r.add(self._unread)
        self._unread = ""
        r.finish()
        self.last = r.score()
        if self.last.leaked:
            self.withheld, self._pending = True, ""
            return ""
        out, self._pending = self._pending, ""
        return out


def rot13(text: str) -> str:
    """rot13 of ASCII letters (used by tests and the benchmark to build disguised leaks)."""
    return codecs.encode(text, "rot13")
