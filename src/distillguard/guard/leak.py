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
_TOKEN_ASCII = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[a-z]+")  # the same on lower-case ASCII
_NUM_COMMA = re.compile(r"[0-9],[0-9]")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_\-]{24,}={0,2}")
_HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2}[\s:]?){16,}")
_ROT13 = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "NOPQRSTUVWXYZABCDEFGHIJKLMnopqrstuvwxyzabcdefghijklm",
)
_STOP_WORDS = """
    a an the and or but if then so of to in on at by for with from as is are was were be
    been being it its this that these those there here we you he she they i me my our your
    his her their them us do does did done has have had having not no yes can could would
    should will shall may might must also just than too very more most less least much many
    some any each every all both either neither one two per into onto over under about after
    before again once only own same such what which who whom whose when where why how let
    lets let's now need needs first next finally total answer therefore thus hence because
    since get gets got make makes made
"""
_STOP = frozenset(_STOP_WORDS.split())


def tokens(text: str) -> list[str]:
    """Lower-cased word/number tokens; CJK characters are one token each; 1,200 -> 1200."""
    low = text.lower()
    toks = _TOKEN_ASCII.findall(low) if low.isascii() else _TOKEN.findall(low)
    return [t.replace(",", "") for t in toks] if _NUM_COMMA.search(low) else toks


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


_RUN_CAP = 4096  # longest partial word or encoded run held back; longer ones are read in pieces
_RUN_CHARS = "+/=_-"  # besides letters and digits: what an encoded run is made of


def _run_start(text: str) -> int:
    """Start of the trailing partial word or encoded run of `text` (len(text) if none).

    Scans back over the new text only, so holding a long run back costs nothing extra."""
    cut = len(text)
    while cut > 0 and (text[cut - 1].isalnum() or text[cut - 1] in _RUN_CHARS):
        cut -= 1
    return cut


class ReasoningIndex:
    """The hidden reasoning, reduced to the sets the reader looks up.

    Built incrementally (`extend`) as reasoning streams in, each piece tokenised and hashed
    once: no re-indexing of the whole trace when the answer starts or when reasoning and
    answer interleave. Text after the last space waits for the next piece, so pieces cut
    anywhere give the same index as the whole text (up to `_RUN_CAP` without a space)."""

    __slots__ = ("_carry", "_p1", "_p2", "bi", "n_tokens", "tri", "uni")

    def __init__(self) -> None:
        self.uni: set[str] = set()
        self.bi: set[tuple[str, str]] = set()
        self.tri: set[tuple[str, str, str]] = set()
        self.n_tokens = 0
        self._p1: str | None = None
        self._p2: str | None = None
        self._carry = ""

    @classmethod
    def build(cls, reasoning: str) -> ReasoningIndex:
        ix = cls()
        ix.extend(reasoning, final=True)
        return ix

    def extend(self, text: str, *, final: bool = False) -> None:
        """Index more reasoning; `final` also indexes a trailing partial word."""
        if final:
            head, self._carry = self._carry + text, ""
        else:
            cut = max(text.rfind(" "), text.rfind("\n")) + 1  # tokens never span a space
            if cut:
                head, self._carry = self._carry + text[:cut], text[cut:]
            else:
                head, self._carry = "", self._carry + text
                if len(self._carry) > _RUN_CAP:  # no word break for that long: index anyway
                    head, self._carry = self._carry, ""
        toks = tokens(head) if head else []
        if not toks:
            return
        self.uni.update(t for t in set(toks).difference(_STOP) if _content(t))
        prev = [p for p in (self._p2, self._p1) if p is not None]
        seq = prev + toks if prev else toks
        self.bi.update(itertools.pairwise(seq))
        self.tri.update(zip(seq, seq[1:], seq[2:], strict=False))
        self.n_tokens += len(toks)
        if len(seq) >= 2:
            self._p2, self._p1 = seq[-2], seq[-1]
        else:
            self._p2, self._p1 = self._p1, seq[-1]


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


def _printable(text: str, upto: int) -> bool:
    """Decoded bytes that read as text (not binary noise from decoding a non-encoded run)."""
    ok = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    return ok >= 0.9 * len(text) and "\ufffd" not in text[: max(0, upto)]


_B64_PIECE = re.compile(r"[A-Za-z0-9+/_\-]*={0,2}")
_HEX_PIECE = re.compile(r"[0-9a-fA-F]*")


class _RunDecoder:
    """Decodes a long encoded run piece by piece (pieces are multiples of 4 characters, so
    base64 and hex stay aligned; UTF-8 characters split across pieces are reassembled).
    A reading is dropped for the rest of the run as soon as a piece does not decode to
    readable text."""

    __slots__ = ("b64", "hex")

    def __init__(self) -> None:
        utf8 = codecs.getincrementaldecoder("utf-8")
        self.b64: codecs.IncrementalDecoder | None = utf8(errors="replace")
        self.hex: codecs.IncrementalDecoder | None = utf8(errors="replace")

    def feed(self, piece: str, final: bool) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.b64 is not None:
            raw: bytes | None = None
            if _B64_PIECE.fullmatch(piece):
                try:
                    pad = "=" * (-len(piece) % 4) if final else ""
                    raw = base64.b64decode(piece.replace("-", "+").replace("_", "/") + pad)
                except (binascii.Error, ValueError):
                    raw = None
            text = self.b64.decode(raw, final) if raw is not None else None
            if text is None or not _printable(text, len(text)):
                self.b64 = None
            elif text:
                out.append(("base64", text))
        if self.hex is not None:
            text = None
            if _HEX_PIECE.fullmatch(piece):
                try:
                    text = self.hex.decode(bytes.fromhex(piece[: len(piece) // 2 * 2]), final)
                except ValueError:
                    text = None
            if text is None or not _printable(text, len(text)):
                self.hex = None
            elif text:
                out.append(("hex", text))
        return out


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
    _run: _RunDecoder | None = None

    def __post_init__(self) -> None:
        self._lanes = [
            _Lane("plain", "", False),
            _Lane("word_reversed", "", True),
            _Lane("rot13", "rot13", False),
            _Lane("reversed", "rev", True),
        ]

    def _read_tokens(self, toks: list[str], lanes: list[_Lane]) -> None:
        # Set operations in C instead of a Python loop per token: this is the hot path.
        # `set.intersection(iterable)` probes the index without building the answer's
        # n-gram sets; plain and word-reversed reading share their unigram lookup.
        if not toks:
            return
        ix = self.index
        u_plain: set[str] | None = None
        for lane in lanes:
            xf = lane.xf
            if xf == "rot13":
                xs = " ".join(toks).translate(_ROT13).split(" ")
            elif xf == "rev":
                xs = [t[::-1] for t in toks]
            else:
                xs = toks
            if xf:
                u = ix.uni.intersection(xs)
            else:
                u = u_plain = ix.uni.intersection(xs) if u_plain is None else u_plain
            lane.seen += len(xs)
            lane.uhits += len(u)
            prev = [p for p in (lane.p2, lane.p1) if p is not None]
            seq = prev + xs if prev else xs
            if len(seq) >= 2:
                lane.p2, lane.p1 = seq[-2], seq[-1]
            else:
                lane.p2, lane.p1 = lane.p1, seq[-1]
            if xf and lane.uhits < max(2, lane.seen // 10):
                continue  # a disguise lane that finds no reasoning words so far: skip n-grams
            if lane.backward:
                b = ix.bi.intersection(zip(seq[1:], seq, strict=False))
                g = ix.tri.intersection(zip(seq[2:], seq[1:], seq, strict=False))
            else:
                b = ix.bi.intersection(itertools.pairwise(seq))
                g = ix.tri.intersection(zip(seq, seq[1:], seq[2:], strict=False))
            self.m_uni |= u
            self.m_bi |= b
            self.m_tri |= g
            self.lane_hits[lane.name] = self.lane_hits.get(lane.name, 0) + len(b) + len(g)

    def _decode_runs(self, text: str) -> None:
        # a base64 run is one word of 24+ characters: most text has none (exact pre-check)
        b64 = _B64_RUN.finditer(text) if max(map(len, text.split()), default=0) >= 24 else ()
        for m in b64:
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
        if _printable(text, len(text) - 2):
            self._feed_text(text, how, whole=True)

    def _feed_text(self, text: str, how: str, *, whole: bool) -> None:
        """Read decoded text in the sub-reader (a whole run, or a piece of a long one)."""
        if self._decoded is None:
            self._decoded = LeakReader(self.index, self.thresholds)
            self._decoded._lanes = [_Lane(how, "", False)]
        before = len(self.m_tri) + len(self.m_bi)
        sub = self._decoded
        sub.m_uni, sub.m_bi, sub.m_tri = self.m_uni, self.m_bi, self.m_tri
        if whole:
            sub._read_tokens(tokens(text), sub._lanes)
        else:
            cut = _run_start(text)
            head, sub.carry = sub.carry + text[:cut], text[cut:]
            sub._read_tokens(tokens(head), sub._lanes)
        gained = len(self.m_tri) + len(self.m_bi) - before
        self.lane_hits[how] = self.lane_hits.get(how, 0) + gained

    def add(self, text: str) -> None:
        """Read more answer text; a trailing partial word or encoded run waits for the next
        (up to `_RUN_CAP` characters: a longer run is read, and decoded, piece by piece)."""
        cut = _run_start(text)
        if cut == 0:
            self.carry += text
        else:
            run_end, head, self.carry = self.carry, text[:cut], text[cut:]
            if self._run is not None:  # the long run ends here: decode its last piece
                k = 0
                while k < cut and (head[k].isalnum() or head[k] in _RUN_CHARS):
                    k += 1
                self._run_piece(run_end + head[:k], final=True)
                run_end, head = "", head[k:]
            self._read(run_end + head)
        if len(self.carry) > _RUN_CAP:
            n = (len(self.carry) - 64) // 4 * 4
            piece, self.carry = self.carry[:n], self.carry[n:]
            self._run_piece(piece, final=False)

    def _run_piece(self, piece: str, *, final: bool) -> None:
        """Read a piece of a long run: as text (words joined by '-' or '_' are still words)
        and, while it keeps decoding to readable text, as base64 and as hex."""
        self._read_tokens(tokens(piece), self._lanes)
        if self._run is None:
            self._run = _RunDecoder()
        for how, text in self._run.feed(piece, final):
            self._feed_text(text, how, whole=False)
        if final:
            self._run = None
            sub = self._decoded
            if sub is not None and sub.carry:
                rest, sub.carry = sub.carry, ""
                self._feed_text(rest, sub._lanes[0].name, whole=True)

    def finish(self) -> None:
        """Read whatever is still held back (end of the answer)."""
        rest, self.carry = self.carry, ""
        if self._run is not None:
            self._run_piece(rest, final=True)
        elif rest:
            self._read(rest)

    def _read(self, text: str) -> None:
        self._read_tokens(tokens(text), self._lanes)
        if len(text) >= 24:
            self._decode_runs(text)

    def over(self) -> bool:
        """`score().leaked`, without building the score (checked after every batch)."""
        ix, th = self.index, self.thresholds
        if (
            len(ix.uni) < th.min_reasoning_words
            or len(self.m_bi) + len(self.m_tri) < th.min_matched
        ):
            return False
        c3 = len(self.m_tri) / len(ix.tri) if ix.tri else 0.0
        c2 = len(self.m_bi) / len(ix.bi) if ix.bi else 0.0
        c1 = len(self.m_uni) / len(ix.uni) if ix.uni else 0.0
        return max(c3 / th.trigram, c2 / th.bigram, c1 / th.unigram) >= 1.0

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

    `hold` characters are kept back (plus a partial word or encoded run, at most
    `_RUN_CAP`) so a leak is usually caught before its text reaches the client; once a leak
    is seen nothing more is released. Reasoning is indexed as it arrives, in pieces of
    `index_batch` characters, and answer text is read in batches of `batch`: each
    character is tokenised and looked up once, whatever the chunk size, and nothing is
    re-scanned per chunk.
    """

    detector: LeakDetector = field(default_factory=LeakDetector)
    hold: int = 256
    batch: int = 128
    index_batch: int = 1024
    active: bool = True  # False: the leak check is off, reasoning is not even indexed
    withheld: bool = False
    last: LeakScore | None = None
    has_reasoning: bool = False
    _index: ReasoningIndex = field(default_factory=ReasoningIndex)
    _rbuf: list[str] = field(default_factory=list)
    _rlen: int = 0
    _reader: LeakReader | None = None
    _pending: str = ""
    _unread: str = ""

    def add_reasoning(self, text: str) -> None:
        if text and self.active:
            self.has_reasoning = True
            self._rbuf.append(text)
            self._rlen += len(text)
            if self._rlen >= self.index_batch:
                self._index_reasoning(final=False)

    def _index_reasoning(self, *, final: bool) -> None:
        if self._rbuf or final:
            text = "".join(self._rbuf)
            self._rbuf.clear()
            self._rlen = 0
            self._index.extend(text, final=final)

    def _read_unread(self) -> LeakReader:
        self._index_reasoning(final=True)  # the reader sees all reasoning so far
        r = self._reader
        if r is None:
            r = self._reader = self.detector.reader(self._index)
        r.add(self._unread)
        self._unread = ""
        return r

    def add_content(self, text: str) -> str:
        """Feed answer text; returns the part that is safe to send now ('' once withheld).

        Text is read in batches of `batch` characters (a token-sized chunk at a time
        would cost more in per-call overhead than the check itself); nothing is
        released before it has been read."""
        if self.withheld or not text:
            return ""
        if not self.has_reasoning:
            return text
        self._pending += text
        self._unread += text
        if len(self._unread) < self.batch:
            return ""
        r = self._read_unread()
        if r.over():
            self.last = r.score()
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
        if not self.has_reasoning:
            out, self._pending = self._pending, ""
            return out
        r = self._read_unread()
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
