"""Cross-script phonetic keys: Han, Kana and Hangul names against Latin spellings.

Why: "도널드 트럼프", "ドナルド・トランプ" and "唐纳德·特朗普" are all "Donald Trump", but
their romanisations (doneoldeu teureompeu, donarudo toranpu, tang na de te lang pu) are
too far from the Latin spelling for an edit distance: the scripts add vowels after every
consonant, have no l/r or b/v/f distinction, and Chinese writes "Trump" as te-lang-pu. What
survives a transcription is the consonant frame. Both sides are therefore reduced to a key
of consonant classes (b/p/f/v/w -> B, k/g/c/q -> K, t/d -> T, s/z/ts -> S, sh/ch/j -> J,
l/r -> L, m, n, ng -> N; vowels, h and y dropped), derived per script by rule:

- Latin: English/European spelling rules (ph, th, ch, sh, tch, c before e/i, x, ...).
- Hangul: directly from the jamo (initial and final consonant of each syllable block).
- Kana: from the Hepburn romanisation (ン before b/p/m is m).
- Han: from the pinyin syllables (j/q/x/zh/ch/sh -> J, z/c -> S, r and "er" -> L).

Keys are compared with an edit distance whose costs follow what transcription does:
s ~ sh/j/ch (Chinese xi- for si-), t/d ~ j/ch (Japanese ji/chi, Chinese ji for di),
m ~ n, and a dropped or added l/r cost half. Kana keeps most vowels (less the ones it adds
to consonant clusters), so they count a little. Native Korean and Chinese names (one word
of two to four syllables, "김정은") are compared with h, w and a coarse vowel sequence
too, since their romanisations keep them ("Kim Jong Un" and "Kim Jong Il" differ only
there), and with the family name first. No table of names is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

HAN = "han"
KANA = "kana"
HANGUL = "hangul"


def script_of(word: str) -> str:
    """HAN, KANA or HANGUL when the word holds letters of that script (Kana wins over Han)."""
    found = ""
    for ch in word:
        o = ord(ch)
        if 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
            return HANGUL
        if 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F:
            return KANA
        if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF:
            found = HAN
    return found


# --- Latin -------------------------------------------------------------------------------
_LATIN_MULTI = (
    ("tch", "J"),
    ("sch", "J"),
    ("ch", "J"),
    ("sh", "J"),
    ("zh", "J"),
    ("ts", "S"),
    ("tz", "S"),
    ("dj", "J"),
    ("dz", "S"),
    ("cz", "J"),
    ("sz", "J"),
    ("ph", "B"),
    ("th", "T"),
    ("dh", "T"),
    ("kh", ""),
    ("gh", "K"),
    ("ck", "K"),
)
_LATIN_MULTI_BY_FIRST: dict[str, list[tuple[str, str]]] = {}
for _pat, _cls in _LATIN_MULTI:
    _LATIN_MULTI_BY_FIRST.setdefault(_pat[0], []).append((_pat, _cls))
_LATIN_ONE = {
    **dict.fromkeys("bpfvw", "B"),
    **dict.fromkeys("dt", "T"),
    **dict.fromkeys("gk", "K"),
    **dict.fromkeys("sz", "S"),
    "j": "J",
    **dict.fromkeys("lr", "L"),
    "m": "M",
    "n": "N",
}
_VOWELS = frozenset("aeiouy")


def _squash(key: str) -> str:
    out: list[str] = []
    for ch in key:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)


@lru_cache(maxsize=65536)
def latin_key(text: str, native: bool = False) -> str:
    """Consonant-class key of a Latin-script name part ("trump" -> "TLMB").

    `native`: for comparison with a native Korean or Chinese name, whose romanisations
    keep an initial h, a w and a syllable-initial y (Ho, Kwon, Wang, Yang) as letters."""
    t = text.lower()
    out: list[str] = []
    i, n = 0, len(t)
    if native and t.startswith("h") and (t[1:2] in _VOWELS or t[1:2] == "w"):
        out.append("H")
        i = 1
    while i < n:
        if native and (t.startswith("sh", i) or (t.startswith("x", i) and i == 0)):
            out.append("X")  # Chinese sh and x are not j, q, zh or ch
            i += 1 if t[i] == "x" else 2
            continue
        for pat, cls in _LATIN_MULTI_BY_FIRST.get(t[i], ()):
            if t.startswith(pat, i):
                out.append(cls)
                i += len(pat)
                break
        else:
            c = t[i]
            nx = t[i + 1] if i + 1 < n else ""
            if c == "c":
                out.append("S" if nx in ("e", "i", "y") else "K")
            elif c == "q":
                out.append("J" if nx == "i" else "K")  # pinyin qi-, Arabic/Latin q
            elif c == "x":
                out.append("J" if i == 0 else "KS")  # pinyin/Portuguese x- at the start
            elif c == "n" and nx == "g" and (i + 2 >= n or t[i + 2] not in _VOWELS):
                out.append("N")  # final ng is one nasal
                i += 1
            elif c == "w" and native:
                out.append("W")
            elif c == "y" and native and nx in _VOWELS and (i == 0 or t[i - 1] in _VOWELS):
                out.append("Y")  # a syllable-initial y glide: Yang, Yoon, Jae-young
            else:
                out.append(_LATIN_ONE.get(c, ""))
            i += 1
    return _squash("".join(out))


# --- Kana (from its Hepburn romanisation) ------------------------------------------------
_KANA_NASAL = re.compile(r"n(?=[bpm])")


def kana_key(romanised: str) -> str:
    """Key of a Kana word's romanisation ("toranpu" -> "TLMB")."""
    # the apostrophe parts moraic n from a vowel ("jon'un"): that n n is two sounds
    return "".join(latin_key(seg) for seg in _KANA_NASAL.sub("m", romanised).split("'"))


# u after a consonant (before another consonant or at the end) and a final o after t/d
# are the vowels Japanese adds to consonants ("toranpu", "donarudo"): not in the Latin name
_KANA_EPENTHETIC = re.compile(r"(?<=[bcdfghjkmprstvwz])u(?![aeiou])|(?<=[td])o$")


def kana_vowels(romanised: str) -> str:
    """Vowel classes of a Kana word without the epenthetic ones ("donarudo" -> "OA")."""
    return latin_vowels(_KANA_EPENTHETIC.sub("", romanised.replace("'", "")))


# --- Han (from pinyin syllables) ---------------------------------------------------------
_PINYIN_INITIALS = (
    ("zh", "J"),
    ("ch", "J"),
    ("sh", "J"),
    *((c, "B") for c in "bpfw"),
    *((c, "T") for c in "dt"),
    *((c, "K") for c in "gk"),
    *((c, "J") for c in "jqx"),
    *((c, "S") for c in "zcs"),
    *((c, "L") for c in "lr"),
    ("m", "M"),
    ("n", "N"),
)


def pinyin_syllable_key(syl: str, native: bool = False) -> str:
    """Key of one pinyin syllable: its initial and a final nasal ("lang" -> "LN")."""
    if syl in ("er", "r"):
        return "L"
    if native and (syl[:1] in ("h", "w", "y", "x") or syl.startswith("sh")):
        head = "X" if syl[0] in "xs" else syl[0].upper()  # x and sh: X, apart from j/q/zh/ch
        return head + ("N" if syl.endswith("n") or syl.endswith("ng") else "")
    head = ""
    for pat, cls in _PINYIN_INITIALS:
        if syl.startswith(pat):
            head = cls
            break
    tail = "N" if syl.endswith("n") or syl.endswith("ng") else ""
    return head + tail


# --- Hangul (from the jamo) --------------------------------------------------------------
# initial consonants in Unicode order: g kk n d tt r m b pp s ss - j jj ch k t p h
_HANGUL_INITIAL = "KKNTTLMBBSS-JJJKTB-"
# final consonants: - g kk gs n nj nh d l lg lm lb ls lt lp lh m b bs s ss ng j ch k t p h
_HANGUL_FINAL = ("", "K", "K", "K", "N", "N", "N", "T", "L", "K", "M", "L", "L", "L", "B", "L",
                 "M", "B", "B", "T", "T", "N", "T", "T", "K", "T", "B", "T")  # fmt: skip
# vowels: a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i
# (Q: eo, romanised eo, o or u; the w-vowels also give the Latin spelling's w -> B)
_HANGUL_VOWEL = "AEAEQEQEOAEEOUQEIUUII"
_HANGUL_W = frozenset((9, 10, 14, 15, 16))


_HANGUL_Y = frozenset((2, 3, 6, 7, 12, 17))
_HANGUL_Y_OR_I = _HANGUL_Y | {20}


def hangul_syllables(word: str) -> list[tuple[str, str, str, bool]]:
    """Per Hangul syllable block: key, vowel class, native key (h and w kept), and whether
    it is an initial-less syllable on i or y (where Korean drops an r/l: 리 -> 이, "Lee")."""
    out: list[tuple[str, str, str, bool]] = []
    for ch in word:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            ini, med, fin = code // 588, (code % 588) // 28, code % 28
            head = _HANGUL_INITIAL[ini].replace("-", "")
            nhead = "H" if ini == 18 else head
            if med in _HANGUL_W:
                nhead += "W"
                head = head or "B"
            elif ini == 11 and med in _HANGUL_Y:
                nhead = "Y"  # 양 Yang, 윤 Yoon, 영 Young
            tail = _HANGUL_FINAL[fin]
            y_or_i = ini == 11 and med in _HANGUL_Y_OR_I
            out.append((head + tail, _HANGUL_VOWEL[med], nhead + tail, y_or_i))
    return out


# --- vowels (native Korean and Chinese names only) ---------------------------------------
_VOWEL_GROUPS = (
    ("eu", "U"),
    ("eo", "Q"),  # Korean eo (romanised eo, o or u)
    ("ui", "I"),
    ("ia", "A"),  # pinyin finals: the main vowel counts (jian is not jin)
    ("ie", "E"),
    ("io", "O"),
    ("iu", "U"),
    ("ua", "A"),
    ("uo", "O"),
    ("ue", "E"),
    ("oo", "U"),
    ("ou", "U"),
    ("ee", "I"),
    ("ae", "E"),
    ("ai", "E"),
    ("ay", "E"),
    ("oe", "E"),
    ("oi", "E"),
    ("ao", "A"),
)
_VOWEL_RUN = re.compile(r"[aeiou]+|y(?![aeiou])")


@lru_cache(maxsize=65536)
def latin_vowels(text: str) -> str:
    """Coarse vowel classes of a romanised name part ("jong" -> "O", "myung" -> "U")."""
    out: list[str] = []
    for m in _VOWEL_RUN.finditer(text.lower()):
        run = m.group(0)
        for pat, cls in _VOWEL_GROUPS:
            if run.startswith(pat):
                out.append(cls)
                break
        else:
            out.append("I" if run[0] == "y" else run[0].upper())
    return "".join(out)


# --- keys of one written word ----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CrossKeys:
    """The cross-script keys of one word written in Han, Kana or Hangul."""

    key: str  # consonant classes (retrieval, and comparison of transcribed foreign names)
    script: str = KANA
    vowels: str = ""  # vowel classes (Kana: less the epenthetic vowels)
    syllables: int = 0  # Han and Hangul: characters / syllable blocks
    native: bool = False  # a Korean or Chinese name of 2-4 syllables written as one word
    head: str = ""  # Han and Hangul: key of the first syllable (the family name)
    nkey: str = ""  # Han and Hangul: key with h and w kept, syllables not squashed
    nhead: str = ""  # nkey of the first syllable
    drop_l: bool = False  # Hangul starting on an i/y syllable (Lee, Rhee, Lim, Ryu)


def word_keys(word: str, script: str, parts: list[str]) -> CrossKeys:
    """Keys of one word in `script`, given its romanisation `parts` (ICU, per syllable
    for Han, split at apostrophes for Kana)."""
    if script == KANA:
        rom = "'".join(parts)
        return CrossKeys(kana_key(rom), KANA, kana_vowels(rom))
    if script == HANGUL:
        syl = hangul_syllables(word)
        keys = [k for k, _, _, _ in syl]
        nkeys = [nk for _, _, nk, _ in syl]
        vowels = "".join(v for _, v, _, _ in syl)
        drop_l = bool(syl) and syl[0][3]
    else:  # Han: ICU gives one pinyin syllable per character
        syls = [p for p in parts if p.isalpha()]
        keys = [pinyin_syllable_key(p) for p in syls]
        nkeys = [pinyin_syllable_key(p, native=True) for p in syls]
        vowels = "".join(latin_vowels(p)[:1] for p in syls)
        drop_l = False
    return CrossKeys(
        key=_squash("".join(keys)),  # squashed: a transcribed "beul-la" is one l
        script=script,
        vowels=vowels,
        syllables=len(keys),
        native=2 <= len(keys) <= 4,
        head=keys[0] if keys else "",
        nkey="".join(nkeys),  # native names keep syllables apart ("jeong jae" is J N J)
        nhead=nkeys[0] if nkeys else "",
        drop_l=drop_l,
    )


def native_name(words: list[CrossKeys], separated: bool) -> CrossKeys | None:
    """The keys of a whole Korean or Chinese name, when its words look like one.

    One word of 2-4 syllables ("김정은"), or several Han or Hangul words without the middle
    dot that marks transcribed foreign names, of 2-5 Han or 2-4 Hangul syllables in all
    (5 with a one-syllable family name apart): "王 伟", "김 정은", "정은 김"; the family
    name is the first word, or the last when only that one is a single syllable."""
    if not words or any(w.script == KANA for w in words):
        return None
    if len(words) == 1:
        return words[0] if words[0].native else None
    if separated:
        return None
    if words[-1].syllables == 1 and words[0].syllables > 1:
        words = words[-1:] + words[:-1]  # Western order: the family name written last
    total = sum(w.syllables for w in words)
    # a one-syllable family name written apart admits two two-syllable given names
    limit = 5 if all(w.script == HAN for w in words) or words[0].syllables == 1 else 4
    if not 2 <= total <= limit:
        return None
    first = words[0]
    return CrossKeys(
        key=_squash("".join(w.key for w in words)),
        script=first.script,
        vowels="".join(w.vowels for w in words),
        syllables=total,
        native=True,
        head=first.key,
        nkey="".join(w.nkey for w in words),
        nhead=first.nkey,
        drop_l=first.drop_l,
    )


# --- comparison --------------------------------------------------------------------------
_NEAR = {
    **{("S", "J"): 0.5, ("T", "J"): 0.5, ("T", "S"): 0.75, ("M", "N"): 0.5},
    **{("X", "J"): 0.5, ("X", "S"): 0.5},  # native names: sh/x vs j/ch and s
    **{("O", "U"): 0.5, ("E", "I"): 0.5, ("A", "E"): 0.5, ("U", "A"): 0.5},
    **{("Q", "O"): 0.25, ("Q", "U"): 0.25},  # Korean eo: romanised eo, o or u
}
_NEAR.update({(b, a): c for (a, b), c in list(_NEAR.items())})


# r/l are dropped or added by transcription; h, w and the y glide by romanisation
# systems (Wade-Giles "Ing" for ying, "Oh" for 오): inserting or deleting them costs half
_INDEL = dict.fromkeys("LHWY", 0.5)


@lru_cache(maxsize=262144)
def key_distance(a: str, b: str) -> float:
    """Edit distance between two keys with the transcription-aware costs."""
    if a == b:
        return 0.0
    if not a or not b:
        return sum(_INDEL.get(ch, 1.0) for ch in a or b)
    indel = _INDEL
    near = _NEAR
    del_b = [indel.get(cb, 1.0) for cb in b]
    prev = [0.0]
    for d in del_b:
        prev.append(prev[-1] + d)
    for ca in a:
        da = indel.get(ca, 1.0)
        left = prev[0] + da
        cur = [left]
        for j, cb in enumerate(b):
            diag = prev[j] + (0.0 if ca == cb else near.get((ca, cb), 1.0))
            up = prev[j + 1] + da
            left = left + del_b[j]
            left = diag if diag < up and diag < left else (up if up < left else left)
            cur.append(left)
        prev = cur
    return prev[-1]


def vowel_similarity(a: str, b: str) -> float:
    """Similarity of two vowel-class strings (1.0 when neither has vowels)."""
    m = max(len(a), len(b))
    return max(0.0, 1.0 - key_distance(a, b) / m) if m else 1.0


def key_similarity(a: str, b: str) -> float:
    """1 - distance / length; keys of one or two classes must be equal to count at all."""
    m = max(len(a), len(b))
    if m == 0:
        return 0.0
    if m <= 2:
        return 1.0 if a == b else 0.0
    return max(0.0, 1.0 - key_distance(a, b) / m)
