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

from distillguard.screening.normalize import NormName, Token

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
    pairs.sort(reverse=True)
    used_q: set[int] = set()
    used_c: set[int] = set()
    num = 0.0
    den = 0.0
    for s, i, j in pairs:
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
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
    return score


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
