"""Han, Kana and Hangul names against Latin spellings: keys, pair scores, retrieval."""

from __future__ import annotations

import pytest

from distillguard.screening.crossscript import (
    key_distance,
    key_similarity,
    latin_key,
    latin_vowels,
)
from distillguard.screening.index import NameIndex
from distillguard.screening.matcher import Matcher, Query
from distillguard.screening.model import Alias, ListEntry
from distillguard.screening.normalize import normalize
from distillguard.screening.pairs import score_pair
from distillguard.screening.score import DEFAULT_CONFIG

T = DEFAULT_CONFIG.threshold


def test_every_script_reduces_a_transcription_to_the_latin_consonant_frame() -> None:
    assert latin_key("trump") == "TLMB"
    for spelling in ("트럼프", "トランプ", "特朗普"):
        (tok,) = normalize(spelling, "Person").tokens
        assert tok.x is not None
        assert key_similarity(tok.x.key, "TLMB") >= 0.85, (spelling, tok.x.key)
    kestrel = latin_key("kestrel")
    for spelling in ("케스트럴", "ケストレル"):
        (tok,) = normalize(spelling, "Person").tokens
        assert tok.x is not None and tok.x.key == kestrel, spelling


def test_key_distance_costs_follow_transcription() -> None:
    assert key_distance("TLMB", "TLMB") == 0.0
    assert key_distance("TLMB", "TLB") == 1.0  # a consonant lost costs in full
    assert key_distance("BLK", "BK") == 0.5  # an r/l dropped costs half (Park / 박)
    assert key_distance("KMN", "KMM") == 0.5  # m ~ n
    assert key_distance("BT", "KM") == key_distance("KM", "BT") == 2.0
    assert key_similarity("KM", "KN") == 0.0  # two-class keys must be equal to count


def test_kana_epenthetic_vowels_are_not_counted() -> None:
    (a, b) = normalize("ドナルド・トランプ", "Person").tokens
    assert a.x is not None and a.x.vowels == latin_vowels("donald")
    assert b.x is not None and "U" not in b.x.vowels  # the u added after p


@pytest.mark.parametrize(
    ("script", "latin"),
    [
        ("도널드 트럼프", "Donald Trump"),
        ("ドナルド・トランプ", "Donald Trump"),
        ("唐纳德·特朗普", "Donald Trump"),
        ("바락 오바마", "Barack Obama"),
        ("バラク・オバマ", "Barack Obama"),
        ("谢尔盖·拉夫罗夫", "Sergey Lavrov"),
        ("케스트럴 이보", "Ivo Kestrel"),  # order differs
        ("김정일", "Kim Jong Il"),  # native names: family name first, vowels count
        ("김정일", "KIM, Jong-il"),
        ("김 정일", "Kim Jong Il"),  # family name written apart
        ("정일 김", "Kim Jong Il"),  # Western order: family name last
        ("문재인", "Moon Jae-in"),
        ("반기문", "Ban Ki-moon"),
        ("毛泽东", "Mao Zedong"),
        ("邓小平", "Deng Xiaoping"),
        ("蔡英文", "Tsai Ing-wen"),  # Wade-Giles
    ],
)
def test_script_spelling_matches_latin_spelling(script: str, latin: str) -> None:
    assert score_pair(script, latin, "Person") >= T
    assert score_pair(latin, script, "Person") >= T


@pytest.mark.parametrize(
    ("script", "latin"),
    [
        ("김정일", "Kim Jong Un"),  # differ only in a vowel and a consonant
        ("김정일", "Jong Il Park"),  # family name differs
        ("정일 수진 김", "KIM, Jong Il"),  # a second given name the listed name lacks
        ("バラク・オバマ", "Osama bin Laden"),
        ("ドナルド・トランプ", "Donald Tusk"),
        ("毛泽东", "Mao Xinyu"),
        ("邓小平", "Deng Xiaohua"),
        ("高强", "Gao Shan"),  # pinyin q is not sh
        ("杨明", "Min Aung"),  # the y of yang counts in native names
        ("王丽军", "Ri Chun Hwan"),  # a family name must come first or last
        ("唐纳德·特朗普", "Donald"),  # every part of the script name must be found
    ],
)
def test_different_names_across_scripts_stay_apart(script: str, latin: str) -> None:
    assert score_pair(script, latin, "Person") < T


def test_a_cross_script_match_never_outranks_the_same_script() -> None:
    cross = score_pair("도널드 트럼프", "Donald Trump", "Person")
    assert cross < score_pair("Donald Trump", "Donald Trump", "Person")


def _index(*names: str) -> NameIndex:
    ix = NameIndex()
    for i, name in enumerate(names):
        ix.add(ListEntry("test", str(i), "Person", [Alias(name, "primary")]))
    # filler entries so that retrieval has to choose
    for i, name in enumerate(["KIM, Yo Han", "KIM, Jong Su", "JONG, Il Kim", "PAK, Jong Il"]):
        ix.add(ListEntry("test", f"f{i}", "Person", [Alias(name, "primary")]))
    ix.finalize()
    return ix


def test_screening_finds_latin_listed_names_from_script_queries() -> None:
    m = Matcher(_index("KIM, Jong Il", "KESTREL, Ivo", "TRUMP, Donald", "TUSK, Donald Franciszek"))
    for query, want in [
        ("김정일", "KIM, Jong Il"),
        ("김 정일", "KIM, Jong Il"),
        ("이보 케스트럴", "KESTREL, Ivo"),
        ("イボ・ケストレル", "KESTREL, Ivo"),
        ("唐纳德·特朗普", "TRUMP, Donald"),
    ]:
        hits = m.score_candidates(Query(query, "Person"))
        assert hits and hits[0].caption == want and hits[0].score >= T, (query, hits[:2])
        assert all(h.caption == want for h in hits if h.score >= T), query


def test_a_listed_middle_name_leaves_a_cross_script_match_for_review() -> None:
    # Known limit: parts the script name lacks cost as in the Latin scorer, and a
    # transcription is rarely exact, so such a match may land in the review band only.
    m = Matcher(_index("TRUMP, Donald John"))
    hits = m.score_candidates(Query("唐纳德·特朗普", "Person"))
    assert hits and hits[0].caption == "TRUMP, Donald John"
    assert hits[0].score >= DEFAULT_CONFIG.review_threshold


def test_unrelated_script_names_do_not_hit() -> None:
    m = Matcher(_index("KIM, Jong Il", "KESTREL, Ivo"))
    for query in ("박서연", "王 伟", "ミッチ・マコーネル", "高市早苗"):
        assert not [h for h in m.score_candidates(Query(query, "Person")) if h.score >= T], query
