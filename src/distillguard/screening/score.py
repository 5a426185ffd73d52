"""The "best" name scorer: aligned name parts with typo, phonetic and script tolerance.

Why this design (and not one string distance over the whole name): listed names and
customer names differ in order ("SALEK, Abdulhai"), in parts present (patronymics, middle
names, initials), in spelling (typos, Qaddafi/Gadhafi, transliteration of abjad scripts
without vowels) and in tokenisation ("Abdul Hai" / "Abdulhai"). Each name part of the query
is therefore aligned to its best counterpart in the listed name (order-free, one-to-one),
every pair gets a similarity from a bounded edit allowance, metaphone and, for non-Latin
originals, a consonant skeleton; the score is the weighted share of matched name mass, where
unmatched query parts cost their full weight and unmatched listed parts a fraction
(customers often omit middle names; they rarely add names that the listed person lacks).
Date of birth, country and legal form are qualifiers that only subtract, and only when both
sides state them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from distillguard.screening.crossscript import (
    KANA,
    CrossKeys,
    key_distance,
    key_similarity,
    latin_key,
    latin_vowels,
    native_name,
    vowel_similarity,
)
from distillguard.screening.normalize import PARTICLES, NormName, Token

_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


@dataclass(frozen=True, slots=True)
class MatchConfig:
    """Thresholds and weights (documented in docs/screening.md, tuned once, not per list)."""

    threshold: float = 0.86
    review_threshold: float = 0.78
    extra_result_weight: float = 0.2
    extra_query_weight: float = 1.0
    min_pair_similarity: float = 0.5
    dob_year_disjoint: float = 0.15
    country_mismatch: float = 0.1
    legal_form_mismatch: float = 0.05
    ofac_threshold: float = 0.9
    ofac_review_threshold: float = 0.85


DEFAULT_CONFIG = MatchConfig()


def _allowed_edits(length: int) -> int:
    if length <= 2:
        return 0
    if length <= 5:
        return 1
    if length <= 9:
        return 2
    return 3


def token_similarity(a: Token, b: Token, person: bool, cross_script: bool = False) -> float:
    """Similarity of two name parts in [0, 1].

    `cross_script`: one of the names was written in a non-Latin script, so vowels may be
    missing from its romanisation and consonant skeletons are admissible evidence.
    """
    ta, tb = a.text, b.text
    if ta == tb:
        return 1.0
    la, lb = len(ta), len(tb)
    if la == 1 or lb == 1:
        return 0.9 if person and ta[0] == tb[0] else 0.0
    if ta.isdigit() or tb.isdigit():
        return 0.0
    m = max(la, lb)
    allowed = _allowed_edits(m)
    d = OSA.distance(ta, tb, score_cutoff=allowed + 3)
    # beyond the edit allowance a pair is weak evidence at most
    sim = 1.0 - d / m if d <= allowed else max(0.0, 1.0 - d / m) * 0.6
    if sim < 0.97 and (a.folded != ta or b.folded != tb):
        fa, fb = a.folded, b.folded
        fm = max(len(fa), len(fb))
        fallowed = _allowed_edits(fm)
        fd = OSA.distance(fa, fb, score_cutoff=fallowed + 1)
        if fd <= fallowed:
            sim = max(sim, 0.97 - fd / fm)
    if sim < 0.85 and len(a.phonetic) >= 3 and a.phonetic == b.phonetic and ta[0] == tb[0]:
        sim = 0.85
    if sim < 0.9 and cross_script and len(a.skeleton) >= 3 and a.skeleton == b.skeleton:
        sim = 0.9
    if m <= 5 and a.folded[:1] != b.folded[:1]:
        # First letters are the most reliable part of a written name (the reason behind
        # Jaro-Winkler's prefix weight); in short parts a different initial usually means a
        # different name ("Yong" / "Song" / "Tong"), not a typo.
        sim = max(0.0, sim - 0.15)
    return sim


# Similarity depends only on the two token texts and the two flags, so it is memoised:
# list and customer names reuse a small vocabulary of name parts.
_SIM_CACHE: dict[tuple[str, str, bool, bool], float] = {}


def _merge_adjacent(side: tuple[Token, ...], other: tuple[Token, ...]) -> tuple[Token, ...]:
    """Join adjacent parts that the other name writes as one ("abdul hai" -> "abdulhai")."""
    others = {t.text for t in other}
    out: list[Token] = []
    i = 0
    while i < len(side):
        if i + 1 < len(side):
            cat = side[i].text + side[i + 1].text
            if cat in others:
                out.append(
                    Token(
                        cat,
                        min(float(len(cat)), 6.0),
                        side[i].phonetic,
                        side[i].skeleton + side[i + 1].skeleton,
                        side[i].folded + side[i + 1].folded,
                    )
                )
                i += 2
                continue
        out.append(side[i])
        i += 1
    return tuple(out)


def _one_to_one(
    pairs: list[tuple[float, int, int]],
) -> tuple[list[tuple[float, int, int]], set[int], set[int]]:
    """Best-first one-to-one pairing of query parts with listed parts: each part is used
    once, by its most similar partner still free. Returns the pairs kept and the parts
    used on each side (the rest count against the score as unmatched)."""
    pairs.sort(reverse=True)
    used_q: set[int] = set()
    used_c: set[int] = set()
    chosen: list[tuple[float, int, int]] = []
    for p in pairs:
        if p[1] in used_q or p[2] in used_c:
            continue
        used_q.add(p[1])
        used_c.add(p[2])
        chosen.append(p)
    return chosen, used_q, used_c


def name_similarity(q: NormName, c: NormName, cfg: MatchConfig = DEFAULT_CONFIG) -> float:
    """Score two normalised names in [0, 1] (no qualifiers)."""
    qt, ct = q.tokens, c.tokens
    if len(qt) != len(ct):
        if len(qt) > len(ct):
            qt = _merge_adjacent(qt, ct)
        else:
            ct = _merge_adjacent(ct, qt)
    person = q.schema == "Person" or c.schema == "Person"
    cross = q.loose_vowels or c.loose_vowels
    pairs: list[tuple[float, int, int]] = []
    for i, a in enumerate(qt):
        for j, b in enumerate(ct):
            key = (a.text, b.text, person, cross)
            s = _SIM_CACHE.get(key, -1.0)
            if s < 0.0:
                s = token_similarity(a, b, person, cross)
                if len(_SIM_CACHE) > 500_000:
                    _SIM_CACHE.clear()
                _SIM_CACHE[key] = s
            if s >= cfg.min_pair_similarity:
                pairs.append((s, i, j))
    chosen, used_q, used_c = _one_to_one(pairs)
    num = 0.0
    den = 0.0
    for s, i, j in chosen:
        a, b = qt[i], ct[j]
        w = (
            min(a.weight, b.weight)
            if (len(a.text) == 1 or len(b.text) == 1)
            else ((a.weight + b.weight) / 2.0)
        )
        num += s * w
        den += w
    for i, a in enumerate(qt):
        if i not in used_q:
            den += a.weight * cfg.extra_query_weight
    for j, b in enumerate(ct):
        if j not in used_c:
            den += b.weight * cfg.extra_result_weight
    score = num / den if den > 0.0 else 0.0
    if score < 0.95 and (len(q.tokens) > 1 or len(c.tokens) > 1):
        score = max(score, _joined_similarity(q, c))
    if score < CROSS_SCRIPT_CAP and bool(q.xscript) != bool(c.xscript):
        score = max(score, cross_script_similarity(q, c, cfg))
    return score


# A cross-script match rests on consonant classes only: never as sure as a same-script one.
CROSS_SCRIPT_CAP = 0.95
# A cross-script match needs this many consonant classes in agreement: two-class keys
# ("KN", "SN") are shared by too many short names to be evidence on their own.
_MIN_CROSS_EVIDENCE = 4
# Kana keeps most vowels of what it transcribes (less the epenthetic ones); English
# spelling does not always show them ("Trump" is "toranpu"), so they weigh little.
_KANA_VOWEL_WEIGHT = 0.3
# Transcribed foreign names: key differences count at this share (see cross_script_similarity).
_FOREIGN_KEY_SLACK = 0.7
# Romanisations of native Korean and Chinese names keep the vowels: they weigh more.
_NATIVE_VOWEL_WEIGHT = 0.6


def _xweight(t: Token, key: str) -> float:
    if t.text in PARTICLES:
        return 1.0
    if t.weight <= 2.0:  # patronymics and other weak parts keep their low weight
        return t.weight
    return float(max(2, min(len(key), 4) + 1))


def cross_script_similarity(q: NormName, c: NormName, cfg: MatchConfig = DEFAULT_CONFIG) -> float:
    """Similarity of a Han/Kana/Hangul name and a Latin one by cross-script keys.

    A native Korean or Chinese name written as one word ("김정은", "习近平") is compared
    whole, consonants and vowels, against the other name's parts joined with the family
    name first ("Kim Jong Un", "Jong Un Kim"). Other names (foreign names transcribed
    with separators: "唐纳德·特朗普") are compared part by part, aligned one-to-one by key
    similarity, and also whole (for parts split differently).
    """
    script, latin = (q, c) if q.xscript else (c, q)
    words = [t.x for t in script.tokens if t.x is not None]
    unit = native_name(words, script.xseparated) if len(words) == len(script.tokens) else None
    if unit is not None:
        return min(CROSS_SCRIPT_CAP, _native_similarity(unit, latin))
    qk, ck = q.xkeys, c.xkeys
    pairs: list[tuple[float, int, int]] = []
    for i, a in enumerate(qk):
        for j, b in enumerate(ck):
            s = key_similarity(a, b)
            if s >= cfg.min_pair_similarity:
                # one half-cost step in a 4-class key is a good transcription, not a doubt
                s = 1.0 - _FOREIGN_KEY_SLACK * (1.0 - s)
                s -= _KANA_VOWEL_WEIGHT * (1.0 - _kana_vowel_sim(q.tokens[i], c.tokens[j]))
                pairs.append((s, i, j))
    chosen, used_q, used_c = _one_to_one(pairs)
    num = den = 0.0
    evidence = 0
    for s, i, j in chosen:
        w = (_xweight(q.tokens[i], qk[i]) + _xweight(c.tokens[j], ck[j])) / 2.0
        num += s * w
        den += w
        evidence += min(len(qk[i]), len(ck[j]))
    for i, t in enumerate(q.tokens):
        if i not in used_q:
            den += _xweight(t, qk[i]) * cfg.extra_query_weight
    for j, t in enumerate(c.tokens):
        if j not in used_c:
            den += _xweight(t, ck[j]) * cfg.extra_result_weight
    # every part of the script name must be found (a transcription drops no part)
    complete = len(used_q if q is script else used_c) == len(script.tokens)
    ok = complete and evidence >= _MIN_CROSS_EVIDENCE
    aligned = num / den if den > 0.0 and ok else 0.0
    return min(CROSS_SCRIPT_CAP, max(aligned, _joined_foreign(script, latin)))


def _kana_vowel_sim(a: Token, b: Token) -> float:
    """Vowel agreement of a Kana part with a Latin one (1.0 for any other pair)."""
    if a.x is not None and a.x.script == KANA and b.x is None:
        return vowel_similarity(a.x.vowels, latin_vowels(b.text))
    if b.x is not None and b.x.script == KANA and a.x is None:
        return vowel_similarity(b.x.vowels, latin_vowels(a.text))
    return 1.0


def _orders(latin: NormName, toks: list[Token]) -> list[list[Token]]:
    """Written order, and with the last part first ("Jinping Xi" / "Xi Jinping") unless a
    comma says which part comes first ("KIM, Jong Un")."""
    if len(toks) < 2 or "," in latin.original:
        return [toks]
    return [toks, toks[-1:] + toks[:-1]]


def _latin_parts(latin: NormName) -> list[Token]:
    return [t for t in latin.tokens if t.text not in PARTICLES] or list(latin.tokens)


def _same_family(script_head: str, latin_head: str) -> bool:
    """Family names agree: equal keys, one near class apart, or an r/l more (Park / 박)."""
    if script_head == latin_head:
        return True
    if key_distance(script_head, latin_head) > 0.5:
        return False
    return len(script_head) == len(latin_head) or (
        script_head.replace("L", "") == latin_head.replace("L", "")
    )


def _native_similarity(x: CrossKeys, latin: NormName) -> float:
    """A Korean or Chinese name written as one word vs a Latin name of 2-4 parts."""
    toks = _latin_parts(latin)
    if not 2 <= len(toks) <= 4:
        return 0.0  # a native name in Latin letters has a family and a given name
    best = 0.0
    for order in _orders(latin, toks):
        head = latin_key(order[0].text, native=True)
        # keys are squashed within a written word only: "jong un" is J N N, as "jeong-eun"
        lkey = "".join(latin_key(t.text, native=True) for t in order)
        if x.drop_l and head.startswith("L"):
            head, lkey = head[1:], lkey[1:]  # Korean drops an initial r/l: Lee, Rhee, Lim
        if not _same_family(x.nhead, head):
            continue  # the family name (first syllable) must be the first part
        if min(len(lkey), len(x.nkey)) < 3:
            continue
        lvow = "".join(latin_vowels(t.text) for t in order)
        sim = key_similarity(x.nkey, lkey)
        sim -= _NATIVE_VOWEL_WEIGHT * (1.0 - vowel_similarity(x.vowels, lvow))
        best = max(best, sim)
    return best


def _joined_foreign(script: NormName, latin: NormName) -> float:
    """Whole-name keys, for a foreign name split into parts differently on the two sides."""
    toks = _latin_parts(latin)
    if len(toks) > 4:
        return 0.0
    skey = "".join(t.x.key if t.x else latin_key(t.text) for t in script.tokens)
    svow = "".join(t.x.vowels if t.x else latin_vowels(t.text) for t in script.tokens)  # Kana
    best = 0.0
    for order in _orders(latin, toks):
        lkey = "".join(latin_key(t.text) for t in order)
        if min(len(lkey), len(skey)) < _MIN_CROSS_EVIDENCE:
            continue
        sim = key_similarity(skey, lkey)
        if script.xscript == KANA:
            lvow = "".join(latin_vowels(t.text) for t in order)
            sim -= _KANA_VOWEL_WEIGHT * (1.0 - vowel_similarity(svow, lvow))
        best = max(best, sim)
    return best


def _joined_similarity(q: NormName, c: NormName) -> float:
    """Same letters, different word boundaries ("Lauren Tnkunda" / "Laurent Nkunda")."""
    jq = "".join(t.text for t in q.tokens)
    jc = "".join(t.text for t in c.tokens)
    m = max(len(jq), len(jc))
    if m < 8 or not (jq.isalpha() and jc.isalpha()):  # numbers must match as parts
        return 0.0
    d = OSA.distance(jq, jc, score_cutoff=1)
    return 0.95 - d / m if d <= 1 else 0.0


def _years(values: list[str]) -> set[int]:
    out: set[int] = set()
    for v in values:
        out.update(int(y) for y in _YEAR.findall(v))
    return out


def qualifiers(
    q: NormName,
    c: NormName,
    *,
    query_dob: str | None,
    query_country: str | None,
    entry_dobs: list[str],
    entry_countries: list[str],
    cfg: MatchConfig = DEFAULT_CONFIG,
) -> dict[str, float]:
    """Penalties (negative numbers) from facts both sides state; empty when none apply."""
    out: dict[str, float] = {}
    if query_dob and entry_dobs:
        qy, ey = _years([query_dob]), _years(entry_dobs)
        if qy and ey:
            if any(abs(a - b) <= 1 for a in qy for b in ey):
                out["dob_year_match"] = 0.0
            else:
                out["dob_year_disjoint"] = -cfg.dob_year_disjoint
    if query_country and entry_countries:
        if query_country.lower() in {x.lower() for x in entry_countries}:
            out["country_match"] = 0.0
        else:
            out["country_mismatch"] = -cfg.country_mismatch
    if q.legal_forms and c.legal_forms and not set(q.legal_forms) & set(c.legal_forms):
        out["legal_form_mismatch"] = -cfg.legal_form_mismatch
    return out


def schemas_compatible(query_schema: str, entry_schema: str) -> bool:
    """A person query never matches a company or vessel, and the other way round."""
    if query_schema == "LegalEntity" or entry_schema == "LegalEntity":
        return True
    if query_schema == "Person" or entry_schema == "Person":
        return query_schema == entry_schema
    return True
