"""Denied-party screening: list ingestion, an in-process alias index, explainable matching.

Public API (see docs/screening.md):

    from distillguard.screening import ScreeningService
    svc = ScreeningService(db)                     # lists stored in db; in-process index
    svc.import_list(path, "ofac", alt=..., add=...)  # -> ImportReport (with VerdictChanges)
    hits = svc.screen_name("...", schema="Person", country=None)   # list[Hit]
    verdict = svc.screen_subject(subject_id, names=[...], schema=..., country=...)
    svc.status_of(subject_id)                      # cached: clear|hit|review|stale|unknown
    svc.clear_hit(subject_id, source, entry_id, by=..., reason=...)

Pairwise scoring without lists: `score_pair(name1, name2, schema)`.
"""

from distillguard.screening.matcher import Matcher, Query
from distillguard.screening.model import Hit, ListEntry
from distillguard.screening.pairs import score_pair
from distillguard.screening.score import DEFAULT_CONFIG, MatchConfig
from distillguard.screening.service import (
    ImportReport,
    ScreeningService,
    StaleListsError,
    Verdict,
    VerdictChange,
)

__all__ = [
    "DEFAULT_CONFIG",
    "Hit",
    "ImportReport",
    "ListEntry",
    "MatchConfig",
    "Matcher",
    "Query",
    "ScreeningService",
    "StaleListsError",
    "Verdict",
    "VerdictChange",
    "score_pair",
]
