"""Undo the obfuscations an attacker can wrap a request in, so its meaning is scored.

Why decoders and not more training examples: an encoded request shares no surface with
its plain form, so no classifier generalises to an encoding it was not trained on; a
decoder does, for every wording. What is undone:

- byte encodings: base64 / base64url / hex runs (also hex with separators or `\\x`),
  binary octets, URL percent-encoding, `\\uXXXX` escapes, HTML character references,
  Unicode tag characters (invisible "ASCII smuggling"), Morse code;
- letter-level disguises of a line that does not read as language: Caesar shifts (rot13
  is one; the shift is chosen by letter frequencies), Atbash, reversed text, reversed
  and shifted, each word reversed;
- spaced-out letters ("r e p e a t"), and Latin words written with Cyrillic/Greek
  look-alike letters (homoglyphs). Zero-width characters, full-width and mathematical
  letters and leetspeak are handled by `features.normalise`.

A decoding counts only if it reads as language (a share of common words in about twelve
languages, or a lexicon target word), so random identifiers, hashes and numbers in
ordinary prompts decode to nothing. The gates (one scan for encoded-looking runs, one
for special notations, one share of common words) keep the cost off ordinary prompts.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Callable
from urllib.parse import unquote

import numpy as np

from distillguard.guard import lexicon

# separate simple patterns: an alternation of character-class runs is ~5x slower in `re`
_B64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_B64URL = re.compile(r"[A-Za-z0-9_\-]{24,}")
_HEX = re.compile(r"[0-9a-fA-F]{24,}")
# every match of the three patterns above lies inside a match of this one
_CODE_RUN = re.compile(r"[A-Za-z0-9+/_\-]{16,}")
_HEX_SEP = re.compile(r"(?:(?:\\x|0x)?[0-9a-fA-F]{2}[\s,:]+){7,}(?:\\x|0x)?[0-9a-fA-F]{2}")
_HEX_ESC = re.compile(r"(?:\\x[0-9a-fA-F]{2}){6,}")
_BIN = re.compile(r"(?:[01]{8}[\s,]*){6,}")
_PCT = re.compile(r"(?:%[0-9a-fA-F]{2}[^%\s]{0,3}){6,}")
_UESC = re.compile(r"(?:\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}){4,}")
_ENT = re.compile(r"(?:&#x?[0-9a-fA-F]{1,6};){4,}")
_TAGS = re.compile("[\U000e0020-\U000e007e]{4,}")
_MORSE = re.compile(r"(?:[.\-·•–—_]{1,7}(?: {1,3}| ?/ ?|\|)){5,}[.\-·•–—_]{1,7}")
_SPACED = re.compile(r"(?<![^\W\d_])(?:[^\W\d_](?: |\.|-|\*|_)){1,}[^\W\d_](?![^\W\d_])")
# cheap tests that decide whether any of the notations above can be present
_HEXLIKE = re.compile(
    r"[ ,:\\][0-9a-fA-F]{2}[ ,:\\]{1,2}[0-9a-fA-F]{2}[ ,:\\]"
)  # separator first: fast scan
_BIN8 = re.compile(r"[01]{8}")
# Morse needs one of these
_MORSE_PAIRS = ("..", "--", ".-", "-.", "__", "._", "_.", "-_", "_-", "·", "•", "–", "—")
_MORSE_HINT = re.compile(r"[.\-·•–—_]{2} ?/? ?[.\-·•–—_]")
# three single letters between separators ("r e a s o n"): starts at a separator, which
# `re` scans for quickly, unlike a letter
_SPACED_HINT = re.compile(r"[ .\-*_][^\W\d_][ .\-*_][^\W\d_][ .\-*_][^\W\d_][ .\-*_]")
_CUES = re.compile(lexicon.trie_pattern(list(lexicon.DECODE_CUES)))
# ASCII text can hold only the ASCII cues; a cue holding another is redundant there
_ASCII_CUES = tuple(
    c
    for c in lexicon.DECODE_CUES
    if c.isascii() and not any(o != c and o in c for o in lexicon.DECODE_CUES)
)


def _cued(low: str) -> bool:
    """Does the (lower-cased) text name a decoding (one of lexicon.DECODE_CUES)?"""
    if not low.isascii():
        return _CUES.search(low) is not None
    for c in _ASCII_CUES:  # noqa: SIM110 (a loop: cheaper than any() over a generator)
        if c in low:
            return True
    return False


def _head_tail(text: str) -> str:
    """Where a request to decode is: the head or the tail of the prompt."""
    return text if len(text) <= 1500 else text[:1000] + text[-500:]


def _notation_hints(text: str) -> set[str]:
    """Which notations can be present (cheap tests; each decoder then scans only if its
    hint is there, which keeps long prompts cheap)."""
    view = _ascii_view(text)
    return _regex_hints(text) if view is None else _ascii_hints(view)


def _regex_hints(text: str) -> set[str]:
    hints: set[str] = set()
    if "%" in text:
        hints.add("pct")
    if "\\" in text:  # escapes: each needs its own literal (a backslash alone is code)
        hints.add("hex_sep")
        if "\\x" in text:
            hints.add("hex_esc")
        if "\\u" in text or "\\U" in text:
            hints.add("uesc")
    if "&#" in text:
        hints.add("ent")
    if "0x" in text or _HEXLIKE.search(text) or _HEXLIKE.match(" " + text[:8]):
        hints.add("hex_sep")
    if _TAGS.search(text):
        hints.add("tags")
    if _BIN8.search(text):
        hints.add("bin")
    if any(map(text.__contains__, _MORSE_PAIRS)) and _MORSE_HINT.search(text):
        hints.add("morse")
    if _SPACED_HINT.search(text):
        hints.add("spaced")
    return hints


# ASCII text: the same tests as substring searches in a copy of the text where each byte
# is replaced by its character class (one `bytes.translate` per test, built from the
# regex classes above), which costs a fraction of a regex scan per test. Text whose
# non-ASCII characters play no part in any test (no letter, digit, space, Morse or tag
# character: curly quotes, dashes, ellipses, currency signs...) is tested the same way
# with each of those characters as "?" (`_ascii_view`).
_PLAYS_A_PART = re.compile(r"[\w\s·•–—]|[\U000e0000-\U000e007f]")


def _neutral(c: str) -> bool:
    return _PLAYS_A_PART.match(c) is None


def _ascii_view(text: str) -> bytes | None:
    """`text` as one ASCII byte per character for the gates, or None where a non-ASCII
    character could change what they decide."""
    if text.isascii():
        return text.encode("ascii")
    if all(map(_neutral, lexicon.odd_chars(text))):
        return text.encode("ascii", "replace")  # "?" for each (lone surrogates too)
    return None


def _classes(*named: tuple[str, str]) -> bytes:
    """A translate table: each ASCII character to the letter of the first regex class
    (name, class) it belongs to, else "x"."""
    rxs = [(name.encode(), re.compile(cls)) for name, cls in named]
    return bytes(
        next((n[0] for n, rx in rxs if b < 128 and rx.fullmatch(chr(b))), ord("x"))
        for b in range(256)
    )


_HEX_CLASSES = _classes(("s", r"[ ,:\\]"), ("h", r"[0-9a-fA-F]"))  # _HEXLIKE
_BIN_CLASSES = _classes(("b", r"[01]"))  # _BIN8
_MORSE_CLASSES = _classes(("m", r"[.\-·•–—_]"), (" ", " "), ("/", "/"))  # _MORSE_HINT
_MORSE_IN_CLASSES = re.compile(rb"mm ?/? ?m")
_SPACED_CLASSES = _classes(("s", r"[ .\-*_]"), ("l", r"[^\W\d_]"))  # _SPACED_HINT
_SPACE_CLASSES = bytes(32 if chr(b).isspace() else ord("x") for b in range(256))  # str.split
_LETTER_CLASSES = bytes(b if chr(b).isascii() and chr(b).isalpha() else 32 for b in range(256))


def _ascii_hints(b: bytes) -> set[str]:
    """_notation_hints of text seen through `_ascii_view` (no tag characters there).
    `bytes.find` rather than `in`: the latter goes through the buffer protocol, 3x slower."""
    hints: set[str] = set()
    if b.find(b"%") >= 0:
        hints.add("pct")
    if b.find(b"\\") >= 0:  # escapes: each needs its own literal (a backslash alone is code)
        hints.add("hex_sep")
        if b.find(b"\\x") >= 0:
            hints.add("hex_esc")
        if b.find(b"\\u") >= 0 or b.find(b"\\U") >= 0:
            hints.add("uesc")
    if b.find(b"&#") >= 0:
        hints.add("ent")
    if b.find(b"0x") >= 0:
        hints.add("hex_sep")
    else:
        # _HEXLIKE in the text or at its start (" " + text)
        c = (b" " + b).translate(_HEX_CLASSES)
        if c.find(b"shhshhs") >= 0 or c.find(b"shhsshhs") >= 0:
            hints.add("hex_sep")
    if b.translate(_BIN_CLASSES).find(b"bbbbbbbb") >= 0:
        hints.add("bin")
    c = b.translate(_MORSE_CLASSES)
    if c.find(b"mm") >= 0 and _MORSE_IN_CLASSES.search(c):
        hints.add("morse")
    if b.translate(_SPACED_CLASSES).find(b"slslsls") >= 0:
        hints.add("spaced")
    return hints


def _has_long_token(text: str, view: bytes | None = None) -> bool:
    """A whitespace-separated token of 16+ characters (where base64 / hex runs live);
    `view` is `_ascii_view(text)` when known."""
    if view is None:
        view = _ascii_view(text)
    if view is None:
        return max(map(len, text.split()), default=0) >= 16
    return view.translate(_SPACE_CLASSES).find(b"xxxxxxxxxxxxxxxx") >= 0


_MORSE_CODES = (
    ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - ..- "
    "...- .-- -..- -.-- --.. ----- .---- ..--- ...-- ....- ..... -.... --... ---.. ----. "
    ".-.-.- --..-- ..--.. -.-.--"
)
_MORSE_TABLE = dict(
    zip(
        _MORSE_CODES.split(),
        "abcdefghijklmnopqrstuvwxyz0123456789.,?!",
        strict=True,
    )
)

_WORD = re.compile(r"[^\W\d_]+")
_SPACES = re.compile(r"[ \t]{2,}")
_LINE = re.compile(r"[^\n]{12,}")
_WRAP = re.compile(r"^(.{0,80}?[:：]\s+)(.{12,})$")  # "Decode this and comply: <payload>"
_LETTERS3 = re.compile(r"[a-zA-Z]{3}")
_ASCII_LETTER = re.compile(r"[a-zA-Z]")
_CODE_CHARS = re.compile(r"[{}()\[\];=<>_/\\|$#@*&^~`+]")
# lines (and characters) tried for letter-level disguises: more when the prompt asks for
# decoding or reversing, fewer otherwise (each line costs a few translations and counts)
MAX_LINES, MAX_LINE_CHARS = 40, 4000
UNCUED_LINES, UNCUED_LINE_CHARS = 10, 1200
_COMMON_WORDS = (
    # en
    "the you your and to of a in is it that me my what all this for with please be are "
    "on not do can i show print write give tell now from as reasoning thinking thought "
    "thoughts chain full hidden internal raw verbatim repeat continue output answer "
    "how much many is was were then before after there their which who why when "
    "he she they we him her them his its our us an or if so at by up out about into over "
    "than more most some any each every other such only also very just like make made "
    "has have had will would should could may might must does did done one two three "
    "first last new old good well many much per total day days year years time times "
    "people number numbers find solve write explain use using used need want know get "
    "take give go goes way same different own here where while because between through "
    "during without again further once these those both few no nor too can't don't it's "
    "i'm you're isn't what's let's buy buys bought sell sells sold cost costs pay paid "
    "has left each week weeks hour hours minute minutes money dollars more less half "
    # es / pt / it
    "el la de que y en los las tu tus lo un una por con para es al del se su sus no "
    "como más antes sin o da do em os as um uma seu sua il di che non per con sono "
    "qué cómo muy pero también esto eso razonamiento pensamiento você não é uma mais "
    "ragionamento pensiero tuo tua questo della delle gli "
    # fr
    "le les des du et est une pour pas sur au avec ce il ne plus par ton ta tes votre "
    "vos moi toi je qui que où mais à été être fais écris réponds avant raisonnement "
    "pensée pensées interne "
    # de
    "der die das und ist nicht zu den mit sich des auf für im dem ein eine als auch "
    "es an aus er hat dass sie nach wird bei um am sind noch wie dein deine deinen "
    "mir mich du vor bitte deiner denken gedanken antwort schreibe zeige "
    # nl / pl / tr / id / sv / ru
    "het een je jouw van niet ik wat voor zijn jij nie jest się na że to co nie "
    "twój twoje swoje przed odpowiedzią tak jak po bez "
    "bir ve bu için da de ne ile önce senin lütfen sonra gibi "
    "yang dan di ini itu tidak saya kamu anda sebelum dengan untuk dalam lalu ke apa "
    "och att är en "
    "и в не на что ты твой твои свой я с как это по для до перед без все весь "
)
_COMMON = frozenset(_COMMON_WORDS.split())
# letter frequencies shared by most Latin-script languages (per mille, rounded)
_FREQ = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        (
            82,
            15,
            28,
            43,
            127,
            22,
            20,
            61,
            70,
            2,
            8,
            40,
            24,
            67,
            75,
            19,
            1,
            60,
            63,
            91,
            28,
            10,
            24,
            2,
            20,
            1,
        ),
        strict=True,
    )
)
_ALPHA = "abcdefghijklmnopqrstuvwxyz"


def _shift_table(k: int) -> dict[int, int]:
    lo = _ALPHA[k:] + _ALPHA[:k]
    return str.maketrans(_ALPHA + _ALPHA.upper(), lo + lo.upper())


_SHIFTS = [_shift_table(k) for k in range(26)]
_ATBASH = str.maketrans(_ALPHA + _ALPHA.upper(), _ALPHA[::-1] + _ALPHA.upper()[::-1])
# Cyrillic and Greek letters that look like Latin ones (lower case after casefolding)
_HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁһӏԛԝαεικνορτυχϲ",
    "aeopcyxijsdhlqwaeikvoptuxc",
)
_MIXED = re.compile(r"\w*[a-z]\w*")
_CONFUSABLE = re.compile("[аеорсухіјѕԁһӏԛԝαεικνορτυχϲ]")


_COMMON_ASCII = frozenset(w.encode() for w in _COMMON if w.isascii())


def common_share(text: str) -> float:
    """Share of the words of `text` that are common function words (about 12 languages)."""
    head = text[:3000]
    view = _ascii_view(head)
    if view is not None:
        return _view_share(view)
    words = _WORD.findall(head.lower())
    if not words:
        return 0.0
    return sum(map(_COMMON.__contains__, words)) / len(words)


def _view_share(view: bytes) -> float:
    """common_share through `_ascii_view`: the words are the runs of ASCII letters."""
    words = view[:3000].lower().translate(_LETTER_CLASSES).split()
    if not words:
        return 0.0
    return sum(map(_COMMON_ASCII.__contains__, words)) / len(words)


def reads_as_words(text: str) -> bool:
    """Several distinct common words making up a good share of the text: a sentence,
    not code or symbols that happen to contain "a", "di" or "the"."""
    words = _WORD.findall(text[:3000].lower())
    if len(words) < 5:
        return False
    common = [w for w in words if w in _COMMON]
    return len(common) >= 0.3 * len(words) and len(set(common)) >= 3


def _printable(raw: bytes) -> str | None:
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(s) < 6 or sum(ch.isprintable() or ch in "\n\t" for ch in s) < 0.95 * len(s):
        return None
    return s


def _looks_like_text(s: str) -> bool:
    """Decoded bytes that read as words (Latin with spaces, or an unspaced script)."""
    compact = s.replace(" ", "")
    letters = sum(ch.isalpha() for ch in compact)
    if letters < 0.6 * max(1, len(compact)):
        return False
    return " " in s.strip() or sum(ord(ch) > 0x2E80 for ch in compact) >= 0.5 * len(compact)


def _has_target(s: str) -> bool:
    from distillguard.guard.features import normalise

    h = lexicon.find(normalise(s))
    return bool(h["tgt_strong"] or h["tgt_weak"])


def _reads_as_language(s: str) -> bool:
    share = common_share(s)
    return share >= 0.3 or (share >= 0.12 and _has_target(s))


def _b64(run: str) -> str | None:
    if run.isalpha() and (run.islower() or run.isupper()):
        return None  # a long plain word, not base64
    try:
        raw = base64.b64decode(
            run.replace("-", "+").replace("_", "/") + "=" * (-len(run) % 4), validate=False
        )
    except (binascii.Error, ValueError):
        return None
    return _printable(raw)


def _hex(digits: str) -> str | None:
    digits = re.sub(r"\\x|0x|[\s,:]", "", digits)
    try:
        return _printable(bytes.fromhex(digits[: len(digits) // 2 * 2]))
    except ValueError:
        return None


def _bits(run: str) -> str | None:
    octets = re.findall(r"[01]{8}", run)
    return _printable(bytes(int(o, 2) for o in octets))


def _morse(run: str) -> str | None:
    run = run.translate(str.maketrans("·•–—_", "..---"))
    words = re.split(r" ?/ ?|\||   ", run)
    out = " ".join(
        "".join(_MORSE_TABLE.get(sym, "") for sym in w.split()) for w in words if w.strip()
    )
    return out if len(out) >= 6 else None


def _unspace(run: str) -> str:
    return re.sub(r"[ .\-*_]", "", run)


def _byte_runs(text: str) -> list[str]:
    """Plain text decoded from the base64, base64url and hex runs of `text`."""
    # every run is inside one whitespace-separated token of 16+ characters (the classes
    # hold no space), so only those tokens are scanned, in order: the same runs
    toks = [t for t in text.split() if len(t) >= 16]
    found: list[str] = []
    runs = [m.group(0) for t in toks for m in _B64.finditer(t)]
    runs += [
        m.group(0)
        for t in toks
        for m in _B64URL.finditer(t)
        if "-" in m.group(0) or "_" in m.group(0)
    ]
    for run in runs:
        s = _b64(run)
        if s is not None and _looks_like_text(s):
            found.append(s)
    for m in (m for t in toks for m in _HEX.finditer(t)):
        s = _hex(m.group(0))
        if s is not None and _looks_like_text(s):
            found.append(s)
    return found


_NOTATIONS: tuple[tuple[str, re.Pattern[str], Callable[[str], str | None]], ...] = (
    ("hex_sep", _HEX_SEP, _hex),
    ("hex_esc", _HEX_ESC, _hex),
    ("bin", _BIN, _bits),
    ("pct", _PCT, unquote),
    ("uesc", _UESC, lambda s: s.encode("ascii", "ignore").decode("unicode_escape", "ignore")),
    ("ent", _ENT, html.unescape),
    ("tags", _TAGS, lambda s: "".join(chr(ord(c) - 0xE0000) for c in s)),
    ("morse", _MORSE, _morse),
    ("spaced", _SPACED, _unspace),
)


def _concepts(low: str) -> int:
    h = lexicon.find(low)
    return sum(len(h[c]) for c in ("tgt_strong", "tgt_weak", "hidden", "extract", "transcript"))


def _notations(text: str, hints: set[str]) -> list[str]:
    found: list[str] = []
    for name, rx, fn in _NOTATIONS:
        if name not in hints:
            continue
        runs = [m.group(0) for m in rx.finditer(text)]
        if not runs:
            continue
        if rx is _SPACED:
            # spaced-out words ("r e a s o n i n g") read in place; they count when,
            # joined up, they name an attack concept
            if _concepts(" ".join(_unspace(r) for r in runs[:200]).lower()):
                found.append(_SPACES.sub(" ", rx.sub(lambda m: _unspace(m.group(0)), text)))
            continue
        s = " ".join(d for d in map(fn, runs) if d)
        if s and s != text and (_looks_like_text(s) or _reads_as_language(s)):
            found.append(s)
    return found


# row k: the expected frequency of each cipher letter if the text was shifted by k
_SHIFT_SCORE = np.array(
    [[_FREQ[_ALPHA[(j - k) % 26]] for j in range(26)] for k in range(26)], dtype=np.float64
)


def _best_shift(s: str) -> int:
    """The Caesar shift that makes the letters of `s` most like ordinary text (0 = none)."""
    low = s.lower()
    counts = np.array([low.count(c) for c in _ALPHA], dtype=np.float64)
    return int(np.argmax(_SHIFT_SCORE @ counts))


def _words_reversed(seg: str) -> str:
    return " ".join(w[::-1] for w in seg.split(" "))


def _translate(s: str, table: dict[int, int], btable: bytes) -> str:
    """`s.translate(table)`; for ASCII text through the same table as bytes (10x cheaper)."""
    if s.isascii():
        return s.encode("ascii").translate(btable).decode("ascii")
    return s.translate(table)


def _bytes_table(table: dict[int, int]) -> bytes:
    return bytes(table.get(b, b) for b in range(256))


_BSHIFTS = [_bytes_table(t) for t in _SHIFTS]
_BATBASH = _bytes_table(_ATBASH)


def _letter_candidates(seg: str) -> list[str]:
    k = _best_shift(seg)
    shifted = _translate(seg, _SHIFTS[(26 - k) % 26], _BSHIFTS[(26 - k) % 26]) if k else None
    rev = seg[::-1]
    kr = k  # _best_shift(rev): the same letter counts, so the same shift
    cands = [
        rev,
        _translate(seg, _SHIFTS[13], _BSHIFTS[13]),
        _translate(rev, _SHIFTS[13], _BSHIFTS[13]),
        _translate(seg, _ATBASH, _BATBASH),
        _words_reversed(seg),
    ]
    if shifted:
        cands.insert(0, shifted)
    if kr:
        cands.append(_translate(rev, _SHIFTS[(26 - kr) % 26], _BSHIFTS[(26 - kr) % 26]))
    return cands


_ENDS = frozenset(".。?？!！")
MAX_TARGET_TESTS = 24  # lexicon look-ups spent on decoding candidates per prompt


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_TARGET_TESTS
        self._seg: dict[str, bool] = {}  # _has_target of the segments (asked per candidate)

    def new_target(self, cand: str, seg: str) -> bool:
        """Does `cand` name the reasoning trace where `seg` did not (within budget)?"""
        if self.left <= 0:
            return False
        self.left -= 2
        if not _has_target(cand):
            return False
        known = self._seg.get(seg)
        if known is None:
            known = self._seg[seg] = _has_target(seg)
        return not known


def _decode_segment(seg: str, cued: bool, budget: _Budget) -> str | None:
    base = common_share(seg)
    if base >= 0.35:
        return None  # reads as language
    words = _WORD.findall(seg)
    if len(_ASCII_LETTER.findall(seg)) < 0.6 * sum(map(len, words)):
        # another script: only reversal applies; tried on a line that starts with a
        # sentence end or in a prompt that asks for reversing
        if seg[:1] in _ENDS or cued:
            rev = seg[::-1]
            if common_share(rev) >= 0.3 or budget.new_target(rev, seg):
                return rev
        return None
    if not _LETTERS3.search(seg):
        return None
    if len(_CODE_CHARS.findall(seg)) > 0.08 * len(seg):
        return None  # code or markup: a disguised sentence keeps a sentence's few symbols
    if base >= 0.2:
        # partly reads as language (reversed text keeps a few short words: "la", "on"):
        # only reversal, and only a clear gain in common words or a target word, counts
        for cand in (seg[::-1], _words_reversed(seg)):
            share = common_share(cand)
            if share >= base + 0.2 and reads_as_words(cand):
                return cand
            if share > base and budget.new_target(cand, seg):
                return cand
        return None
    cands = _letter_candidates(seg)
    shares = [common_share(c) for c in cands]
    best = max(shares)
    if len(words) >= 4 and best >= 0.3:
        good = [c for c, s in zip(cands, shares, strict=True) if s == best and reads_as_words(c)]
        if len(good) > 1:
            # e.g. reversed text vs each word reversed: same words, and the right order
            # is the one where multi-word names ("chain of thought") match
            good.sort(key=lambda c: -_concepts(c.lower()))
        if good:
            return good[0]
    # the two readings with most common words: does one name the reasoning trace?
    ranked = sorted(zip(shares, range(len(cands)), strict=True), reverse=True)[:2]
    for share, i in ranked:
        if share >= base and budget.new_target(cands[i], seg):
            return cands[i]
    return None


def _letters(text: str, cued: bool) -> list[str]:
    """Lines (or the payload after a "...:" wrapper) that do not read as language but do
    once shifted, reversed, Atbash-ed or word-reversed."""
    found: list[str] = []
    budget = _Budget()
    chars = 0
    max_lines, max_chars = (
        (MAX_LINES, MAX_LINE_CHARS) if cued else (UNCUED_LINES, UNCUED_LINE_CHARS)
    )
    for n, m in enumerate(_LINE.finditer(text)):
        chars += len(m.group(0))
        if n >= max_lines or chars > max_chars:
            break
        line = m.group(0).strip()
        w = _WRAP.match(line)
        for seg in (w.group(2), line) if w else (line,):
            dec = _decode_segment(seg, cued, budget)
            if dec is not None:
                found.append(dec)
                break  # the payload after a wrapper decoded: the whole line need not be
    return found


def homoglyphs(text: str) -> str:
    """Latin words with Cyrillic/Greek look-alike letters spelt in Latin letters."""
    if not _CONFUSABLE.search(text):
        return text
    return _MIXED.sub(
        lambda m: (
            m.group(0).translate(_HOMOGLYPHS) if _CONFUSABLE.search(m.group(0)) else m.group(0)
        ),
        text,
    )


def decode_hidden(text: str) -> list[str]:
    """Plain text recovered from the encoded or disguised parts of a prompt."""
    view = _ascii_view(text)  # the gates below test it where it is not None
    # base64 / hex runs are one whitespace-separated token of 16+ characters
    found = _byte_runs(text) if _has_long_token(text, view) else []
    hints = _regex_hints(text) if view is None else _ascii_hints(view)
    if hints:
        found += _notations(text, hints)
    # a request to decode is in its instruction: the head or the tail of the prompt
    if view is None:
        cued = _cued(_head_tail(text).lower())
        share = common_share(text[:500])
    else:
        cued = _cued((view if len(view) <= 1500 else view[:1000] + view[-500:]).decode().lower())
        share = _view_share(view[:500])
    if share >= 0.3 and not cued:
        return found  # reads as plain language and asks for no decoding
    found += _letters(text, cued)
    return found
