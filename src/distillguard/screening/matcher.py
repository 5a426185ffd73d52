"""Screen one name against a `NameIndex`: retrieve candidates, score, qualify, explain.

Why separate from the index: retrieval is about not missing candidates cheaply, scoring
about deciding; both modes ("best" and the OFAC-compatible one) share the same retrieval
and the same explanation format, so an auditor can compare them hit by hit.
"""

from __future__ import annotations

from dataclasses import dataclass

from distillguard.errors import DistillguardError
from distillguard.screening.index import NameIndex
from distillguard.screening.model import Hit, canonical_schema
from distillguard.screening.normalize import NormName, normalize
from distillguard.screening.ofac import ofac_prefilter, ofac_score, ofac_tokens
from distillguard.screening.score import (
    DEFAULT_CONFIG,
    MatchConfig,
    name_similarity,
    qualifiers,
    schemas_compatible,
)

MODES = ("best", "ofac")


@dataclass(slots=True)
class Query:
    """A screening query: a name plus the optional facts used as qualifiers."""

    name: str
    schema: str = "LegalEntity"
    country: str | None = None
    dob: str | None = None


class Matcher:
    """Stateless scoring over an index; thresholds come from `MatchConfig`."""

    def __init__(self, index: NameIndex, config: MatchConfig = DEFAULT_CONFIG) -> None:
        self.index = index
        self.config = config

    def score_candidates(
        self, q: Query, *, mode: str = "best", limit: int = 20, min_score: float | None = None
    ) -> list[Hit]:
        """All entries scoring at least `min_score` (default: review threshold), best first."""
        if mode not in MODES:
            raise DistillguardError(f"unknown mode {mode!r}: use best or ofac")
        schema = canonical_schema(q.schema)
        norm = normalize(q.name, schema)
        if min_score is not None:
            floor = min_score
        elif mode == "ofac":
            floor = self.config.ofac_review_threshold
        else:
            floor = self.config.review_threshold
        country = q.country.strip().lower() if q.country else None
        by_entry: dict[int, Hit] = {}
        ofac_q = ofac_tokens(q.name) if mode == "ofac" else ()
        for nid in self.index.candidates(norm, limit=limit):
            cand = self.index.names[nid]
            entry = self.index.entries[cand.entry]
            if not schemas_compatible(schema, entry.schema):
                continue
            if mode == "ofac":
                listed = ofac_tokens(cand.name.original)
                if not ofac_prefilter(ofac_q, listed):
                    continue
                score, whole, per_part = ofac_score(ofac_q, listed)
                features = {"ofac_whole_jw": whole, "ofac_name_parts": per_part}
                total = score
                detail = "OFAC FAQ 249: max(whole-string JW, per-part JW/Soundex)"
            else:
                name_score = name_similarity(norm, cand.name, self.config)
                if name_score + 1e-9 < floor:
                    continue
                features = {"name": name_score}
                quals = qualifiers(
                    norm,
                    cand.name,
                    query_dob=q.dob,
                    query_country=country,
                    entry_dobs=entry.dates_of_birth,
                    entry_countries=entry.countries,
                    cfg=self.config,
                )
                features.update(quals)
                total = max(0.0, min(1.0, name_score + sum(quals.values())))
                detail = _alignment(norm, cand.name)
                if cand.kind == "weak":
                    total *= 0.95
                    features["weak_alias"] = -0.05 * (name_score + sum(quals.values()))
            if total + 1e-9 < floor:
                continue
            prev = by_entry.get(cand.entry)
            if prev is not None and prev.score >= total:
                continue
            by_entry[cand.entry] = Hit(
                source=entry.source,
                entry_id=entry.entry_id,
                caption=entry.caption,
                schema=entry.schema,
                score=round(total, 4),
                matched_alias=cand.name.original,
                alias_kind=cand.kind,
                query_name=q.name,
                features={k: round(v, 4) for k, v in features.items()},
                list_name=entry.list_name,
                programs=list(entry.programs),
                start_date=entry.start_date,
                federal_register_notice=entry.federal_register_notice,
                source_list_url=entry.source_list_url,
                snapshot_id=self.index.entry_snapshots[cand.entry] or None,
                entry_hash=self.index.entry_hashes[cand.entry],
                mode=mode,
                detail=detail,
            )
        return sorted(by_entry.values(), key=lambda h: (-h.score, h.source, h.entry_id))


def _alignment(q: NormName, c: NormName) -> str:
    """A short human-readable view of the two token lists that were compared."""
    lf = (
        f" [{'/'.join(q.legal_forms)} vs {'/'.join(c.legal_forms)}]"
        if q.legal_forms or c.legal_forms
        else ""
    )
    return f"{' '.join(q.texts)} ~ {' '.join(c.texts)}{lf}"
