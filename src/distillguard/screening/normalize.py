"""Name normalisation: one canonical token form for list names and for queries.

Why: the index keys, the scorer and the OFAC mode must see the same tokens, or an alias
indexed one way is looked up another. The pipeline (rigour 2.6.1 does the Unicode work):

1. NFC, trim; refuse empty names and names longer than MAX_NAME_CHARS (garbage, not names).
2. Persons: honorifics and titles removed (Mr, Dr, Sheikh, Haji, Mullah, ...).
   Organisations: legal forms (Ltd, LLC, OOO, GmbH, Co., Ltd., Aktiengesellschaft) found by
   rigour's org-type table, kept apart as generic forms (llc, jsc, ...), removed from the name.
3. Transliteration to ASCII (rigour's ICU4X tables for Cyrillic, Greek, Armenian, Georgian,
   Hangul; normality/ICU for the rest, e.g. Arabic, Han, Kana), casefold, tokenise.
4. Per token: metaphone (Latin spelling variants) and, for names written in a non-Latin
   script, a consonant skeleton (abjad scripts drop vowels: "bwtyn" ~ "putin").
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby

from rigour.names import extract_org_types, remove_org_types
from rigour.names.prefix import remove_person_prefixes
from rigour.names.tokenize import tokenize_name
from rigour.text.phonetics import metaphone
from rigour.text.translit import ascii_text

from distillguard.errors import DistillguardError
from distillguard.screening.crossscript import KANA, CrossKeys, latin_key, script_of, word_keys

MAX_NAME_CHARS = 300
_MIDDLE_DOTS = frozenset("·・•‧･")

# Titles and religious honorifics that precede names on sanctions lists, beyond rigour's
# own prefix list (which is applied first). Removed only while at least one token remains.
_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mister",
        "dr",
        "doctor",
        "prof",
        "professor",
        "sir",
        "lady",
        "lord",
        "madam",
        "madame",
        "sheikh",
        "shaikh",
        "sheik",
        "shaykh",
        "haji",
        "hajji",
        "hadji",
        "alhaj",
        "alhaji",
        "mullah",
        "mulla",
        "maulavi",
        "maulvi",
        "mawlawi",
        "moulavi",
        "maulana",
        "qari",
        "mufti",
        "imam",
        "sayed",
        "sayyid",
        "sayyed",
        "syed",
        "hafiz",
        "ustad",
        "ustadh",
        "general",
        "gen",
        "col",
        "colonel",
        "major",
        "maj",
        "capt",
        "captain",
        "lt",
        "lieutenant",
        "brig",
        "brigadier",
        "admiral",
        "president",
        "minister",
        "senator",
        "rep",
        "representative",
        "hon",
        "honorable",
        "honourable",
        "rev",
        "reverend",
        "excellency",
        "his",
        "her",
        "eng",
        "engineer",
    ]
)
# Name particles: meaningful but weak evidence on their own.
PARTICLES = frozenset(
    [
        "al",
        "el",
        "ul",
        "ud",
        "bin",
        "ibn",
        "bint",
        "ben",
        "abu",
        "abd",
        "abdul",
        "de",
        "da",
        "di",
        "del",
        "der",
        "van",
        "von",
        "la",
        "le",
        "du",
        "dos",
        "das",
    ]
)
# Words too common in organisation names to carry much evidence.
_ORG_GENERIC = frozenset(
    [
        "company",
        "co",
        "corp",
        "corporation",
        "group",
        "holding",
        "holdings",
        "international",
        "intl",
        "trading",
        "trade",
        "industries",
        "industrial",
        "industry",
        "enterprise",
        "enterprises",
        "general",
        "services",
        "service",
        "bank",
        "limited",
        "ltd",
        "inc",
        "the",
        "of",
        "and",
        "for",
        "import",
        "export",
        "investment",
        "investments",
        "development",
    ]
)
_ORG_STOP = frozenset(["the", "of", "and", "for", "&", "y", "et", "und"])

_SKELETON_MAP = str.maketrans(
    {
        "p": "b",
        "v": "b",
        "f": "b",
        "w": None,
        "r": "l",
        "q": "k",
        "c": "k",
        "g": "k",
        "z": "s",
        "d": "t",
        "a": None,
        "e": None,
        "i": None,
        "o": None,
        "u": None,
        "y": None,
        "h": None,
    }
)


# Spelling conventions of Latin-script transliterations that denote the same sound
# (German tsch, Dutch tj/oe, Polish w, Catalan tx, French ou, Hungarian gy, ...).
_FOLDS = (
    ("tsch", "ch"),
    ("tsj", "ch"),
    ("tch", "ch"),
    ("tj", "ch"),
    ("tx", "ch"),
    ("sch", "sh"),
    ("dzh", "j"),
    ("dj", "j"),
    ("zh", "j"),
    ("kh", "h"),
    ("dh", "d"),
    ("th", "t"),
    ("gh", "g"),
    ("ph", "f"),
    ("ck", "k"),
    ("q", "k"),
    ("w", "v"),
    ("ou", "u"),
    ("oe", "u"),
    ("ee", "i"),
    ("y", "i"),
)


@lru_cache(maxsize=65536)
def fold(token: str) -> str:
    """Collapse transliteration conventions and doubled letters.

    "Wladimirowitsch" and "Vladimirovich" fold to the same string.
    """
    out = token
    for a, b in _FOLDS:
        if a in out:
            out = out.replace(a, b)
    return _squash(out)


def _squash(text: str) -> str:
    return "".join(k for k, _ in groupby(text))


class InvalidNameError(DistillguardError):
    """A name that cannot be screened: empty, too long, or without letters."""


@dataclass(frozen=True, slots=True)
class Token:
    """One name part with its precomputed comparison keys."""

    text: str
    weight: float
    phonetic: str
    skeleton: str
    folded: str
    x: CrossKeys | None = None  # cross-script keys of a part written in Han, Kana, Hangul


@dataclass(frozen=True, slots=True)
class NormName:
    """A normalised name: tokens (without titles or legal forms) plus the legal forms."""

    original: str
    schema: str
    tokens: tuple[Token, ...]
    legal_forms: tuple[str, ...]
    non_latin: bool
    loose_vowels: bool = False
    xscript: str = ""  # HAN, KANA or HANGUL when a part was written in one of them
    xseparated: bool = False  # parts separated by a middle dot (transcribed foreign names)

    @property
    def xkeys(self) -> tuple[str, ...]:
        """Cross-script key per part (Latin parts by the Latin spelling rules)."""
        return tuple(t.x.key if t.x else latin_key(t.text) for t in self.tokens)

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(t.text for t in self.tokens)


def skeleton(token: str) -> str:
    """Consonant skeleton with confusable classes merged (b/p/f/v, k/q/c/g, s/z, t/d, l/r).

    The classes are the letters that scripts without them map onto each other: Arabic has no
    p or v, Korean and Japanese no l/r or f/v distinction; w is a vowel carrier in Arabic."""
    out = token.replace("sh", "s").replace("ch", "s").translate(_SKELETON_MAP)
    return _squash(out)  # "mohammad" -> "mhmt"


# Patronymic endings (after `fold`): often omitted by customers, so weak evidence either way.
_PATRONYMIC_ENDS = ("ovich", "evich", "ovic", "evic", "ovna", "evna", "ivna", "ogli", "oglu")


def _token_weight(text: str, schema: str) -> float:
    if text.isdigit():
        return 3.0
    base = float(min(len(text), 6))
    if text in PARTICLES:
        return 1.0
    if schema == "Person" and len(text) >= 7 and fold(text).endswith(_PATRONYMIC_ENDS):
        return 2.0
    if schema != "Person" and text in _ORG_GENERIC:
        return base * 0.4
    return base


@lru_cache(maxsize=131072)
def make_token(text: str, schema: str, x: CrossKeys | None = None) -> Token:
    """The comparison keys of one name part (cached: list and customer names share parts)."""
    alpha = text.isalpha()
    return Token(
        text=text,
        weight=_token_weight(text, schema),
        phonetic=metaphone(text) if alpha and len(text) > 2 else "",
        skeleton=skeleton(text) if alpha else "",
        folded=fold(text),
        x=x,
    )


_make_token = make_token


@lru_cache(maxsize=1)
def _prefix_heads() -> frozenset[str]:
    from rigour._core import person_name_prefixes_list

    return frozenset(p.split()[0].rstrip(".").casefold() for p in person_name_prefixes_list())


def _strip_person_prefixes(name: str) -> str:
    head = name.split(maxsplit=1)[0].rstrip(".,").casefold()
    if head not in _prefix_heads():
        return name
    return remove_person_prefixes(name) or name


# Scripts whose romanisation loses or invents vowels: Hebrew, Arabic, Syriac, Thaana
# (abjads) and the Brahmic scripts (inherent vowel "a"). Consonant skeletons are evidence
# only for these; syllabic romanisations (Han, Kana, Hangul) keep their vowels.
_LOOSE_VOWEL_RANGES = (
    (0x0590, 0x07BF),
    (0x0860, 0x08FF),
    (0x0900, 0x0DFF),
    (0x1000, 0x109F),
    (0xFB1D, 0xFDFF),
    (0xFE70, 0xFEFF),
)


def _loose_vowels(name: str) -> bool:
    return any(lo <= ord(ch) <= hi for ch in name for lo, hi in _LOOSE_VOWEL_RANGES)


def check_name(text: str) -> str:
    """Validate a raw name; return it NFC-normalised and trimmed, or raise InvalidNameError."""
    if text is None:
        raise InvalidNameError("empty name")
    name = unicodedata.normalize("NFC", str(text)).strip()
    if not name:
        raise InvalidNameError("empty name")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidNameError(f"name too long ({len(name)} characters; at most {MAX_NAME_CHARS})")
    return name


# (romanised text, script, cross-script keys) of one written word
_Word = tuple[str, str, CrossKeys | None]


@lru_cache(maxsize=65536)
def _ascii_tokens(text: str) -> tuple[_Word, ...]:
    """Tokenise in the original script first, then transliterate each token.

    Transliterating word by word keeps one token per written word: Han and Kana romanise
    syllable by syllable ("fu la ji mi er"), which would otherwise explode into many parts.
    Words in Han, Kana or Hangul also get their cross-script key (see crossscript.py).
    """
    out: list[_Word] = []
    for tok in tokenize_name(text.casefold()):
        if tok.isascii():
            out.append((tok, "", None))
            continue
        rom = ascii_text(tok).lower()
        parts = [p for p in tokenize_name(rom) if p.isascii()]
        romanised = "".join(parts)
        script = script_of(tok) if romanised else ""
        if script == KANA:  # romanised whole, split at the apostrophe ("jon'un")
            parts = rom.split("'")
        x = word_keys(tok, script, parts) if script else None
        # scripts without a transliteration keep their own letters (same-script matching)
        out.append((romanised if romanised else tok, script, x))
    return tuple(out)


@lru_cache(maxsize=65536)
def _name_tokens(work: str, schema: str) -> tuple[tuple[Token, ...], str]:
    """The name parts of a title- or legal-form-free name, and its Han/Kana/Hangul script."""
    raw = list(_ascii_tokens(work))
    drop = _TITLES if schema == "Person" else _ORG_STOP
    raw = [w for w in raw if w[0] not in drop] or raw
    tokens = tuple(_make_token(t, schema, x) for t, _, x in raw)
    return tokens, next((w[1] for w in raw if w[1]), "")


def normalize(text: str, schema: str = "LegalEntity") -> NormName:
    """Normalise one name for matching (raises InvalidNameError for names that cannot be)."""
    name = check_name(text)
    non_latin = not name.isascii() and any(ch.isalpha() and ord(ch) > 0x24F for ch in name)
    legal: tuple[str, ...] = ()
    work = name
    if schema == "Person":
        work = _strip_person_prefixes(work)
    else:
        low = work.casefold()
        found = extract_org_types(low, generic=True)
        if found:
            stripped = remove_org_types(low, replacement=" ").strip()
            if stripped and tokenize_name(stripped):
                legal = tuple(sorted({g for _, g in found}))
                work = stripped
    tokens, xscript = _name_tokens(work, schema)
    if not tokens:
        raise InvalidNameError(f"name has no letters or digits: {name!r}")
    return NormName(
        original=name,
        schema=schema,
        tokens=tokens,
        legal_forms=legal,
        non_latin=non_latin,
        loose_vowels=non_latin and _loose_vowels(name),
        xscript=xscript,
        xseparated=bool(xscript) and any(ch in _MIDDLE_DOTS for ch in name),
    )


def try_normalize(text: str, schema: str = "LegalEntity") -> NormName | None:
    """`normalize` for bulk paths: None instead of an error for an unusable name."""
    try:
        return normalize(text, schema)
    except InvalidNameError:
        return None
