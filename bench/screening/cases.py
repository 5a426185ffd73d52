"""Benchmark cases built at run time from ../shared/data/screening (never copied into git).

Lists: OFAC SDN 2024-05-03 sdn.csv joined with the 2026 alt/add files (aliases of entries
absent from the 2024 file are counted as skipped) and the UN consolidated list (2018).

Labelled pairs (the shared data has none, so they are built here, the same way every run):
- positives: (treated, untreated) UN pairs whose strings differ (typos, reorderings), and
  each of the 81 spellings of one name against its SDN caption "Vladimir Vladimirovich Putin";
- hard negatives: for every negative query (US Congress members, synthetic US/global persons,
  Norwegian companies) the most similar listed name in the whole SDN+UN index, and for every
  UN positive the most similar name of a *different* UN entry (skipping names identical to
  the true one: a few persons are listed twice). "Most similar" is measured by
  a neutral metric that is neither matcher under test: rapidfuzz ratio on sorted lower-case
  ASCII tokens.
- split: a pair goes to half A (threshold tuning) or B (reporting) by a hash of its text.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process
from rigour.text.translit import ascii_text

from distillguard.screening.model import ListEntry
from distillguard.screening.sources_ofac import parse_ofac
from distillguard.screening.sources_un import parse_un

PUTIN = "Vladimir Vladimirovich Putin"


@dataclass(slots=True)
class Pair:
    name1: str
    name2: str
    schema: str
    label: bool
    origin: str

    @property
    def half(self) -> str:
        h = hashlib.sha256(f"{self.name1}|{self.name2}".encode()).digest()[0]
        return "A" if h % 2 == 0 else "B"


def load_lists(d: Path) -> tuple[list[ListEntry], list[ListEntry], int]:
    ofac = parse_ofac(
        d / "ofac_sdn_2024-05-03" / "sdn.csv",
        d / "ofac_alt_add_2026" / "alt.csv",
        d / "ofac_alt_add_2026" / "add.csv",
    )
    un = parse_un(d / "un_sc_consolidated_2018-10-29.xml")
    return ofac.entries, un.entries, ofac.skipped + un.skipped


def _col(path: Path, col: str, delimiter: str = ",") -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [r[col] for r in csv.DictReader(fh, delimiter=delimiter) if r.get(col)]


def load_queries(d: Path) -> dict[str, list[str]]:
    return {
        "un_treated": _col(d / "opensanctions_yente_positives_un_treated.csv", "full_name"),
        "un_untreated": _col(d / "opensanctions_yente_positives_un_untreated.csv", "full_name"),
        "congress": _col(
            d / "opensanctions_yente_positives_us_congress_untreated.csv", "full_name"
        ),
        "synthetic_us": _col(d / "opensanctions_yente_validation_negatives_us.csv", "full_name"),
        "synthetic_global": _col(
            d / "opensanctions_yente_validation_negatives_global.csv", "full_name"
        ),
        "norway_companies": _col(
            d / "negatives_norwegian_company_names.csv", "business_name", delimiter=";"
        ),
        "putin_81": [
            x.strip()
            for x in (d / "opensanctions_putin_name_variants.txt").read_text("utf-8").splitlines()
            if x.strip()
        ],
    }


def neutral_key(name: str) -> str:
    return " ".join(sorted(ascii_text(name).lower().replace(",", " ").split()))


def build_pairs(queries: dict[str, list[str]], entries: list[ListEntry]) -> list[Pair]:
    """The labelled pair set described in the module docstring."""
    pairs: list[Pair] = []
    for t, u in zip(queries["un_treated"], queries["un_untreated"], strict=True):
        if t != u:
            pairs.append(Pair(t, u, "Person", True, "un_typo"))
    for v in queries["putin_81"]:
        if v != PUTIN:
            pairs.append(Pair(v, PUTIN, "Person", True, "putin_81"))
    names: list[str] = []
    owner: list[int] = []
    for i, e in enumerate(entries):
        for a in e.names:
            names.append(a.name)
            owner.append(i)
    keys = [neutral_key(n) for n in names]
    for origin in ("congress", "synthetic_us", "synthetic_global", "norway_companies"):
        schema = "Organization" if origin == "norway_companies" else "Person"
        for q in queries[origin]:
            best = process.extractOne(neutral_key(q), keys, scorer=fuzz.ratio)
            if best is not None:
                pairs.append(Pair(q, names[best[2]], schema, False, f"neg_{origin}"))
    un_idx = [i for i, e in enumerate(entries) if e.source == "un"]
    un_names = [(names[j], owner[j], keys[j]) for j in range(len(names)) if owner[j] in set(un_idx)]
    by_name: dict[str, int] = {}
    for n, o, _ in un_names:
        by_name.setdefault(neutral_key(n), o)
    un_keys = [k for _, _, k in un_names]
    for t, u in zip(queries["un_treated"], queries["un_untreated"], strict=True):
        own = by_name.get(neutral_key(u))
        if own is None:
            continue
        tkey, ukey = neutral_key(t), neutral_key(u)
        for _, _score, j in process.extract(tkey, un_keys, scorer=fuzz.ratio, limit=8):
            # another entry, and not a name identical to the true one (the UN list has a few
            # persons listed twice; no name matcher can or should tell those apart)
            if un_names[j][1] != own and un_names[j][2] not in (tkey, ukey):
                pairs.append(Pair(t, un_names[j][0], "Person", False, "neg_un_other_entry"))
                break
    return pairs
