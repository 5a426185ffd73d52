"""Matching the concept lexicon (`lexicon_data`) against casefolded text, fast.

Why not one big regex: Python's `re` tries every alternative at every position, about
10 ms per KB for ~1,000 patterns. Here each pattern is filed under its literal first
characters and only word starts are visited (see `_build` and `find`). The data and its
names (LEXICON, CATEGORIES, the anchor stems, family and decode cues) are re-exported, so
`lexicon` stays the one name callers use.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from re import _constants as _C  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any, TypeAlias

from distillguard.guard.lexicon_data import (
    ANCHOR_CJK,
    ANCHOR_STEMS,
    CATEGORIES,
    DECODE_CUES,
    FAMILY_CUES,
    LEXICON,
    cue,
)

__all__ = [
    "ANCHOR_CJK",
    "ANCHOR_STEMS",
    "CATEGORIES",
    "DECODE_CUES",
    "FAMILY_CUES",
    "LEXICON",
    "anchors",
    "cue",
    "expand",
    "find",
    "odd_chars",
    "start_filter",
    "trie_pattern",
]

# Matching: Python's `re` tries every alternative at every position, which for ~1,000
# patterns costs about 10 ms per KB. Instead each pattern is keyed by its literal first
# characters; we visit only word starts (and every CJK character), look the key up in a
# dict, and run the few patterns filed under it anchored at that position. Patterns
# without a literal start (a handful) run as one ordinary regex per category.
# Hebrew and Thai are matched at every character too: Hebrew attaches prefixes (ה, ו, ש,
# ל, ב) to words, and Thai writes no spaces between words.
_CJK = "\u0590-\u05ff\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD_START = re.compile(rf"[^\W\d_{_CJK}][^\W{_CJK}]*|[{_CJK}]|[<`\[#(]")


def _keys(pat: str) -> list[str] | None:
    """The literal first characters of a pattern (expanded over simple classes), or None."""
    if pat.startswith(r"\b"):
        pat = pat[2:]
    units: list[list[str]] = []
    i = 0
    while len(units) < 3 and i < len(pat):
        c = pat[i]
        if c == "[":
            j = pat.find("]", i)
            cls = pat[i + 1 : j]
            if j < 0 or any(x in cls for x in "-^\\"):
                break
            units.append(list(cls))
            i = j + 1
        elif c == "\\":
            nxt = pat[i + 1 : i + 2]
            if not nxt or nxt.isalnum():
                break
            units.append([nxt])
            i += 2
        elif c in "(.*+?{|^$)":
            break
        else:
            units.append([c])
            i += 1
        if i < len(pat) and pat[i] in "?*{":
            units.pop()
            break
    if not units:
        return None
    return ["".join(p) for p in itertools.product(*units)]


def _structure(pat: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, group depth before it) of a pattern's characters outside
    escapes and character classes."""
    depth, i = 0, 0
    while i < len(pat):
        c = pat[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            j = pat.find("]", i + 2)
            i = (j if j >= 0 else len(pat)) + 1
            continue
        yield i, c, depth
        depth += (c == "(") - (c == ")")
        i += 1


def _group_end(pat: str) -> int:
    """Index of the ")" closing the group that opens the pattern, or -1."""
    for i, c, depth in _structure(pat):
        if c == ")" and depth == 1:
            return i
    return -1


def _split_alternatives(body: str) -> list[str]:
    cuts = [i for i, c, depth in _structure(body) if c == "|" and depth == 0]
    return [body[a + 1 : b] for a, b in zip([-1, *cuts], [*cuts, len(body)], strict=True)]


MAX_VARIANTS = 64


def expand(pat: str) -> list[str] | None:
    """`pat` as patterns that each start with literal characters (a leading `\\b` dropped,
    leading alternations and optional groups spelt out), or None when it cannot be.
    Keyed patterns are tried only at word starts looked up by their first characters."""
    if pat.startswith(r"\b"):
        pat = pat[2:]
    if _keys(pat):
        return [pat]
    if not pat.startswith("(?:"):
        return None
    end = _group_end(pat)
    if end < 0:
        return None
    alts = _split_alternatives(pat[3:end])
    rest = pat[end + 1 :]
    if rest.startswith("?"):
        if rest.startswith(("??", "?+")):
            return None
        alts.append("")
        rest = rest[1:]
    elif rest[:1] in ("*", "+", "{"):
        return None
    out: list[str] = []
    for a in alts:
        if a.startswith("^"):
            return None
        sub = expand(a + rest)
        if sub is None:
            return None
        out.extend(sub)
        if len(out) > MAX_VARIANTS:
            return None
    return out


# Filing: every string a match of a keyed pattern must start with (its literal first
# characters, small classes spelt out: `_literal_starts`). A key that starts with a letter
# is filed under its word part (the letters and digits before a space, quote, CJK...):
# whole-word keys in _FULL (a prefix of the word at a word start), keys that go on past
# their word in _EXT (the word equals the word part, the rest is checked with
# `startswith`); a key that starts with anything else (`<`, `(`, CJK, Hebrew, Thai: words
# of one character) in _SINGLE under that character.
_Entry = tuple[int, str]  # (pattern index, key)
_PATTERNS: list[tuple[str, Any]] = []  # (category, bound `match`)
_FULL: dict[str, list[int]] = {}
_EXT: dict[str, list[_Entry]] = {}
_SINGLE: dict[str, list[_Entry]] = {}
_FULL_PREFIXES: set[str] = set()  # every prefix of a _FULL key
_WHOLE: dict[str, list[int]] = {}  # keys that must be the whole word (a `\b` follows)
# Words of HEAD or more characters are looked up by their first HEAD characters (so the
# cache of lookups stops growing: new words in new prompts mostly have a known head):
# the keys that can fit such a word by its head, each to check with `startswith`.
HEAD = 4
_LONG_BY_HEAD: dict[str, list[_Entry]] = {}
_RESIDUAL: dict[str, re.Pattern[str]] = {}
_RESIDUAL_STARTS: dict[str, tuple[tuple[str, ...], bool] | None] = {}
_WORD_CHAR = re.compile(rf"[^\W{_CJK}]")  # continues a word (a match of _WORD_START)
_LETTER = re.compile(rf"[^\W\d_{_CJK}]")  # starts one
MAX_KEY_VARIANTS = 64


def _literal_starts(pat: str) -> tuple[list[str], bool] | None:
    """Every string a match of `pat` starts with: its leading literal characters and
    classes of literals, spelt out (at most MAX_KEY_VARIANTS strings), and whether the
    pattern has a word boundary right after them (`u\\b`, `cot\\b`: the whole word), or
    None."""
    try:
        parsed = _parser.parse(pat)
    except re.error:
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    units: list[list[str]] = []
    n = 1
    whole = False
    for op, av in parsed:
        if op is _C.LITERAL:
            unit = [chr(av)]
        elif op is _C.IN and av and all(o is _C.LITERAL for o, _ in av):
            unit = sorted({chr(a) for _, a in av})
        else:
            whole = op is _C.AT and av is _C.AT_BOUNDARY
            break
        if n * len(unit) > MAX_KEY_VARIANTS:
            break
        n *= len(unit)
        units.append(unit)
    if not units:
        return None
    return ["".join(x) for x in itertools.product(*units)], whole


def _word_part(key: str) -> str:
    """The part of a key that a word at a word start holds (up to the first character
    that ends a word)."""
    i = 1
    while i < len(key) and _WORD_CHAR.match(key, i):
        i += 1
    return key[:i]


def _build() -> None:
    residual: dict[str, list[str]] = {}
    for cat, pats in LEXICON.items():
        for pat in pats:
            variants = expand(pat)
            if not variants:
                residual.setdefault(cat, []).append(pat)
                continue
            for v in variants:
                starts = _literal_starts(v)
                if not starts:  # `expand` gives only patterns with a literal start
                    raise AssertionError(f"lexicon pattern without a literal start: {v!r}")
                keys, whole = starts
                i = len(_PATTERNS)
                _PATTERNS.append((cat, re.compile(v).match))
                for k in dict.fromkeys(keys):
                    if not _LETTER.match(k):
                        _SINGLE.setdefault(k[0], []).append((i, k))
                        continue
                    w = _word_part(k)
                    if w == k and whole:
                        # the boundary after it: only the word k itself (a longer word
                        # goes on with a word character, where `\b` fails)
                        _WHOLE.setdefault(k, []).append(i)
                        if len(k) >= HEAD:
                            _LONG_BY_HEAD.setdefault(k[:HEAD], []).append((i, k))
                        continue
                    if w == k:
                        _FULL.setdefault(k, []).append(i)
                        _FULL_PREFIXES.update(k[:n] for n in range(1, len(k) + 1))
                    else:
                        _EXT.setdefault(w, []).append((i, k))
                    if len(k) > HEAD and len(w) >= HEAD:  # fits only words of >= HEAD
                        _LONG_BY_HEAD.setdefault(k[:HEAD], []).append((i, k))
    for cat, pats in residual.items():
        joined = "|".join(f"(?:{p})" for p in pats)
        _RESIDUAL[cat] = re.compile(start_filter(joined) + f"(?:{joined})")
        chars, nullable, at_start = _first(_parser.parse(joined))
        _RESIDUAL_STARTS[cat] = (
            None if chars is None or nullable or not chars else (tuple(sorted(chars)), at_start)
        )


_Parsed = Any  # re._parser's items (untyped)


def _first(items: _Parsed) -> tuple[set[str] | None, bool, bool]:
    """(characters a match can start with or None if unknown, can be empty, may start at
    the beginning of the text) of a parsed regex sequence; conservative."""
    chars: set[str] = set()
    at_start = False
    for op, av in items:
        if op is _C.LITERAL:
            return chars | {chr(av)}, False, at_start
        if op is _C.IN:
            if any(o is not _C.LITERAL for o, _ in av):
                return None, False, at_start
            return chars | {chr(a) for _, a in av}, False, at_start
        if op is _C.AT and av is _C.AT_BOUNDARY:
            continue  # zero-width: the match starts at the next character
        if op in (_C.SUBPATTERN, _C.BRANCH, _C.MAX_REPEAT, _C.MIN_REPEAT):
            if op is _C.SUBPATTERN:
                alts, min_rep = [av[3]], 1
            elif op is _C.BRANCH:
                alts, min_rep = av[1], 1
            else:
                alts, min_rep = [av[2]], av[0]
            nullable = min_rep == 0
            for alt in alts:
                if alt and alt[0] == (_C.AT, _C.AT_BEGINNING):
                    at_start = True  # `^` without MULTILINE: the match starts at 0
                    continue
                c, n, a = _first(alt)
                if c is None:
                    return None, False, at_start
                chars |= c
                nullable = nullable or n
                at_start = at_start or a
            if not nullable:
                return chars, False, at_start
            continue
        return None, False, at_start
    return chars, True, at_start


def start_filter(pattern: str) -> str:
    """A lookahead that rejects, with one character test, positions where no match can
    start (Python's `re` would otherwise try every alternative at every position); it
    changes no match. Empty when the first characters cannot be determined."""
    try:
        chars, nullable, at_start = _first(_parser.parse(pattern))
    except re.error:  # the compile below reports it
        return ""
    if chars is None or nullable or not chars:
        return ""
    cls = "(?=[" + "".join(re.escape(c) for c in sorted(chars)) + "])"
    return rf"(?:\A|{cls})" if at_start else cls


_build()


def anchors(text: str, limit: int) -> list[int]:
    """Positions (word starts) of anchor stems in casefolded text, at most `limit`."""
    out: list[int] = []
    for m in _ANCHOR_RX.finditer(text):
        p = m.start()
        if p == 0 or not text[p - 1].isalnum():
            out.append(p)
            if len(out) >= limit:
                return out
    for c in ANCHOR_CJK:
        p = text.find(c)
        while p >= 0 and len(out) < limit:
            out.append(p)
            p = text.find(c, p + 200)
    return sorted(out)


# The patterns to try at one word, looked up once per word head (the word itself when
# shorter than HEAD) and cached.
_Cand: TypeAlias = tuple[str, tuple[str, ...] | None, Any]
# () when no pattern can match at the word, else (keys one of which the text must start
# with there, or None when the word itself holds a key; the candidates)
_Cands: TypeAlias = tuple[()] | tuple[tuple[str, ...] | None, tuple[_Cand, ...]]
_BY_WORD: dict[str, _Cands] = {}
_BY_WORD_MAX = 200_000  # bound on cached heads (memory); beyond it heads are not cached


def _candidates(word: str) -> _Cands:
    """(category, keys to check with `startswith` or None, bound `match`) of every pattern
    that can match at the start of a word (a match of _WORD_START) that is `word`, or,
    when `word` has HEAD characters, that starts with it: a pattern not listed cannot
    match there, because none of the strings its matches start with fits. When every
    candidate has keys to check, all of them go first as one test."""
    known: dict[int, None] = {}  # patterns whose key the word itself holds
    tocheck: dict[int, list[str]] = {}
    if _LETTER.match(word):
        for n in range(1, len(word) + 1):  # the word's prefixes that begin some key
            head = word[:n]
            if head not in _FULL_PREFIXES:
                break
            got = _FULL.get(head) if n < HEAD or len(word) == n else None  # longer: below
            if got:
                known.update(dict.fromkeys(got))
        # a word of HEAD+ characters: every key that goes on past the head (or is a
        # whole word of HEAD+ characters), checked; a shorter word: the keys that go on
        # past the whole word, and those that are the word
        if len(word) >= HEAD:
            ext = _LONG_BY_HEAD.get(word, ())
        else:
            ext = _EXT.get(word, ())
            if word in _WHOLE:
                known.update(dict.fromkeys(_WHOLE[word]))
    else:
        ext = _SINGLE.get(word, ())
    if not known and not ext:  # most words: nothing to try (cheap: a new word costs this)
        if len(_BY_WORD) < _BY_WORD_MAX:
            _BY_WORD[word] = ()
        return ()
    for i, k in ext:
        if k == word:
            known[i] = None
        elif i not in known:
            tocheck.setdefault(i, []).append(k)
    found: list[tuple[int, tuple[str, ...] | None]] = [(i, None) for i in known]
    found += [(i, tuple(ks)) for i, ks in tocheck.items() if i not in known]
    listed = tuple((_PATTERNS[i][0], ks, _PATTERNS[i][1]) for i, ks in sorted(found))
    pre = None if known else tuple(dict.fromkeys(k for _, ks, _ in listed for k in ks or ()))
    cands: _Cands = (pre, listed) if listed else ()
    if len(_BY_WORD) < _BY_WORD_MAX:
        _BY_WORD[word] = cands
    return cands


def trie_pattern(words: list[str]) -> str:
    """A regex matching any of the literal `words`, as a trie: `re` tries alternatives
    one by one, so a flat alternation of a thousand words costs a thousand tests where
    a trie costs one per character."""
    tree: dict[str, Any] = {}
    for w in words:
        node = tree
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree)


# one C-level scan for the anchor stems (a trie; a match is kept at a word start)
_ANCHOR_RX = re.compile(trie_pattern(list(ANCHOR_STEMS)))


# the same words as _WORD_START in text whose non-ASCII characters are all non-word
# characters (ASCII text, or text with curly quotes, dashes, ellipses...): cheaper to scan
_WORD_START_ASCII = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*|[<`\[#(]")
RESIDUAL_MAX_STARTS = 64  # beyond this many possible starts, one regex scan
_ASCII = frozenset(map(chr, range(128)))
_NON_WORD = re.compile(r"\W")


def odd_chars(text: str) -> set[str]:
    """The distinct non-ASCII characters of `text`."""
    return set(text).difference(_ASCII)


def _ascii_words(text: str) -> bool:
    """Does _WORD_START_ASCII find the words of `text` (no non-ASCII word character)?"""
    return text.isascii() or all(map(_NON_WORD.match, odd_chars(text)))


def find(text: str) -> dict[str, list[int]]:
    """Positions of every category hit in casefolded text."""
    out: dict[str, list[int]] = {c: [] for c in CATEGORIES}
    memo = _BY_WORD
    words = _WORD_START_ASCII if _ascii_words(text) else _WORD_START
    for m in words.finditer(text):
        head = m[0][:HEAD]
        cands = memo.get(head)
        if cands is None:
            cands = _candidates(head)
        if not cands:
            continue
        p = m.start()
        pre, listed = cands
        if pre is not None and not text.startswith(pre, p):
            continue
        for cat, keys, match in listed:
            hits = out[cat]
            if (
                (not hits or hits[-1] != p)
                and (keys is None or text.startswith(keys, p))
                and match(text, p)
            ):
                hits.append(p)  # positions grow: a repeat at p is always the last one
    for cat, rx in _RESIDUAL.items():
        out[cat].extend(_residual(cat, rx, text))
    return out


def _residual(cat: str, rx: re.Pattern[str], text: str) -> list[int]:
    """Match starts of a residual category's regex, as `finditer` gives them, trying only
    the positions where a match can start (its first characters, and 0 if anchored)."""
    starts = _RESIDUAL_STARTS[cat]
    if starts is None:
        return [m.start() for m in rx.finditer(text)]
    chars, at_start = starts
    pos: list[int] = [0] if at_start else []
    for c in chars:
        i = text.find(c)
        while i >= 0:
            pos.append(i)
            if len(pos) > RESIDUAL_MAX_STARTS:
                return [m.start() for m in rx.finditer(text)]
            i = text.find(c, i + 1)
    if len(pos) > 1:
        pos = sorted(set(pos))
    out: list[int] = []
    end = 0
    for q in pos:
        if q >= end and (m := rx.match(text, q)):
            out.append(q)
            end = m.end()
    return out
