"""ScreeningService: lists in the database, an in-process index, cached verdicts per subject.

Why this shape: the gateway must pay a dictionary lookup per request, not a fuzzy search;
fuzzy screening runs at onboarding (`screen_subject`) and again only when a list snapshot
changes, and then only against the entries that changed (`import_list` -> `rescreen`).
Stale or missing lists fail closed: `screen_name` raises, `screen_subject` and `status_of`
answer "stale" / "unknown", which the rules treat as deny or hold.

This part does not import identity (parts stay decoupled): verdict changes are returned as
`VerdictChange` records; the caller propagates each one with
`IdentityService.set_screening_status(change.subject_id, change.new, change.ref)`.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.screening.index import NameIndex
from distillguard.screening.matcher import Matcher, Query
from distillguard.screening.model import SOURCES, Hit, ListEntry, ParseResult, canonical_schema
from distillguard.screening.normalize import MAX_NAME_CHARS
from distillguard.screening.score import DEFAULT_CONFIG, MatchConfig
from distillguard.screening.storage import ScreeningStore, Snapshot
from distillguard.store import Database

log = logging.getLogger("distillguard.screening")

DEFAULT_MAX_AGE_DAYS = 14.0
SUBJECT_TYPES = ("organization", "account", "beneficial_owner", "weight_recipient")


class StaleListsError(DistillguardError):
    """Screening refused: a list is older than the configured maximum age, or none is loaded."""


def max_age_from_env() -> float | None:
    """DISTILLGUARD_SCREENING_MAX_AGE_DAYS: a number of days, or "off" (offline audits only)."""
    raw = os.environ.get("DISTILLGUARD_SCREENING_MAX_AGE_DAYS")
    if raw is None or not raw.strip():
        return DEFAULT_MAX_AGE_DAYS
    if raw.strip().lower() in ("off", "none"):
        return None
    try:
        return float(raw)
    except ValueError:
        raise DistillguardError(
            f"DISTILLGUARD_SCREENING_MAX_AGE_DAYS={raw!r}: expected a number of days or 'off'"
        ) from None


@dataclass(slots=True)
class SourceStatus:
    source: str
    snapshot_id: int
    list_date: str | None
    imported_at: str
    age_days: float
    entries: int
    skipped: int
    content_hash: str
    stale: bool


@dataclass(slots=True)
class VerdictChange:
    """A subject whose screening status changed; `ref` names the evidence."""

    subject_id: str
    old: str
    new: str
    ref: str


@dataclass(slots=True)
class Verdict:
    subject_id: str
    status: str  # clear | hit | review | stale
    hits: list[Hit]
    cleared: list[Hit] = field(default_factory=list)
    snapshots: dict[str, int] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        snaps = ",".join(f"{k}#{v}" for k, v in sorted(self.snapshots.items()))
        top = self.hits[0] if self.hits else None
        return f"screening:{snaps}" + (f":{top.source}/{top.entry_id}" if top else "")


@dataclass(slots=True)
class ImportReport:
    snapshot: Snapshot
    added: int
    changed: int
    removed: int
    skipped: int
    skip_reasons: dict[str, int]
    changes: list[VerdictChange]


def _age_days(snap: Snapshot, now: datetime) -> float:
    stamp = snap.list_date or snap.imported_at
    try:
        dt = datetime.fromisoformat(stamp)
    except ValueError:
        dt = datetime.fromisoformat(snap.imported_at)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return max(0.0, (now - dt).total_seconds() / 86400.0)


class ScreeningService:
    """Denied-party screening over the lists stored in `db` (see module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        max_age_days: float | str | None = "env",
        config: MatchConfig = DEFAULT_CONFIG,
    ) -> None:
        self.store = ScreeningStore(db)
        self.config = config
        self.max_age_days: float | None = (
            max_age_from_env() if max_age_days == "env" else max_age_days  # type: ignore[assignment]
        )
        self._lock = threading.RLock()
        self._index: NameIndex | None = None
        self._loaded: dict[str, int] = {}
        self._snapshots: list[Snapshot] = []
        self._checked_at = 0.0
        self._cache: dict[str, str] = {}
        self._fresh_until = 0.0
        self._fresh_state: tuple[float, bool] = (0.0, False)

    # -- lists --------------------------------------------------------------------------
    def import_list(
        self,
        path: Path,
        source: str,
        *,
        alt: Path | None = None,
        add: Path | None = None,
        list_date: str | None = None,
        encoding: str | None = None,
        fmt: str | None = None,
    ) -> ImportReport:
        """Parse, store as a new snapshot, and re-screen the subjects the change can affect."""
        result = parse_file(path, source, alt=alt, add=add, encoding=encoding, fmt=fmt)
        snap, now_hashes, before = self.store.add_snapshot(
            source,
            result.entries,
            list_date=list_date or result.list_date,
            file_name=path.name,
            skipped=result.skipped,
        )
        changed_ids = {k for k, h in now_hashes.items() if before.get(k) != h}
        removed_ids = set(before) - set(now_hashes)
        added = len([k for k in changed_ids if k not in before])
        self._index = None  # rebuilt on next use
        self._fresh_until = 0.0
        self._fresh_state = (0.0, False)
        changed_entries = [e for e in result.entries if e.entry_id in changed_ids]
        changes = self.rescreen(source, changed_entries, removed_ids, snap.id, now_hashes)
        log.info("imported %s snapshot %s: %s entries", source, snap.id, snap.entry_count)
        return ImportReport(
            snapshot=snap,
            added=added,
            changed=len(changed_ids) - added,
            removed=len(removed_ids),
            skipped=result.skipped,
            skip_reasons=dict(result.skip_reasons),
            changes=changes,
        )

    def status(self) -> list[SourceStatus]:
        now = datetime.now(UTC)
        out = []
        for s in self.store.active_snapshots():
            age = _age_days(s, now)
            out.append(
                SourceStatus(
                    source=s.source,
                    snapshot_id=s.id,
                    list_date=s.list_date,
                    imported_at=s.imported_at,
                    age_days=round(age, 2),
                    entries=s.entry_count,
                    skipped=s.skipped,
                    content_hash=s.content_hash,
                    stale=self.max_age_days is not None and age > self.max_age_days,
                )
            )
        return out

    def check_fresh(self) -> None:
        """Raise StaleListsError when no list is loaded or any loaded list is too old.

        The answer is cached for a few seconds so batch screening does not query the
        database per name; an import invalidates it at once.
        """
        now = time.monotonic()
        if self._fresh_until > now:
            return
        st = self.status()
        if not st:
            raise StaleListsError(
                "no sanctions lists loaded: run `distillguard lists import FILE --source ...`; "
                "screening fails closed"
            )
        stale = [s for s in st if s.stale]
        if stale:
            what = ", ".join(f"{s.source} ({s.age_days:.0f} days old)" for s in stale)
            log.error("screening refused: stale lists %s", what)
            raise StaleListsError(
                f"stale sanctions lists: {what}; maximum age {self.max_age_days:g} days. "
                "Import current lists; screening fails closed until then"
            )
        self._fresh_until = now + 5.0

    @property
    def index(self) -> NameIndex:
        """The in-process index over all active snapshots (rebuilt when they change)."""
        with self._lock:
            now = time.monotonic()
            if self._index is not None and now - self._checked_at < 5.0:
                return self._index
            snaps = self.store.active_snapshots()
            ids = {s.source: s.id for s in snaps}
            self._checked_at = now
            if self._index is None or ids != self._loaded:
                ix = NameIndex()
                for s in snaps:
                    for entry, h in self.store.load_entries(s.id):
                        ix.add(entry, snapshot_id=s.id, entry_hash=h)
                ix.finalize()
                # The index is long-lived: move it out of the cyclic GC's reach, or every
                # full collection walks ~10^6 objects and stalls a screen for tens of ms.
                gc.collect()
                gc.freeze()
                self._index, self._loaded, self._snapshots = ix, ids, snaps
            return self._index

    # -- screening ----------------------------------------------------------------------
    def screen_name(
        self,
        name: str,
        schema: str = "LegalEntity",
        country: str | None = None,
        dob: str | None = None,
        *,
        mode: str = "best",
        min_score: float | None = None,
    ) -> list[Hit]:
        """Hits for one name, best first (fails closed on stale or missing lists)."""
        self.check_fresh()
        matcher = Matcher(self.index, self.config)
        hits = matcher.score_candidates(
            Query(name, schema, country, dob), mode=mode, min_score=min_score
        )
        hashes = {s.id: s.content_hash for s in self._snapshots}
        for h in hits:
            h.snapshot_hash = hashes.get(h.snapshot_id or -1)
        return hits

    def _status_for(self, hits: list[Hit], mode: str = "best") -> str:
        threshold = self.config.threshold if mode == "best" else self.config.ofac_threshold
        if any(h.score >= threshold for h in hits):
            return "hit"
        return "review" if hits else "clear"

    def _split_cleared(self, subject_id: str, hits: list[Hit]) -> tuple[list[Hit], list[Hit]]:
        cleared = self.store.clearances(subject_id)
        live: list[Hit] = []
        gone: list[Hit] = []
        for h in hits:
            c = cleared.get((h.source, h.entry_id))
            (gone if c is not None and c["entry_hash"] == h.entry_hash else live).append(h)
        return live, gone

    def screen_subject(
        self,
        subject_id: str,
        names: list[str],
        schema: str = "LegalEntity",
        country: str | None = None,
        dob: str | None = None,
        *,
        subject_type: str = "account",
    ) -> Verdict:
        """Screen a customer, beneficial owner or weight recipient; cache and store the verdict."""
        if subject_type not in SUBJECT_TYPES:
            raise DistillguardError(
                f"unknown subject type {subject_type!r}: use {', '.join(SUBJECT_TYPES)}"
            )
        if not names:
            raise DistillguardError(f"subject {subject_id}: no names to screen")
        query = {
            "names": list(names),
            "schema": canonical_schema(schema),
            "country": country,
            "dob": dob,
            "subject_type": subject_type,
        }
        try:
            self.check_fresh()
        except StaleListsError as exc:
            log.error("subject %s not screened: %s", subject_id, exc)
            self.store.put_verdict(subject_id, subject_type, "stale", query, [], {})
            self._cache[subject_id] = "stale"
            return Verdict(subject_id, "stale", [])
        hits = self._screen_all(query)
        return self._store_verdict(subject_id, query, hits)

    def _screen_all(self, query: dict[str, Any], index: NameIndex | None = None) -> list[Hit]:
        matcher = Matcher(index or self.index, self.config)
        best: dict[tuple[str, str], Hit] = {}
        for name in query["names"]:
            q = Query(name, query["schema"], query.get("country"), query.get("dob"))
            for h in matcher.score_candidates(q):
                k = (h.source, h.entry_id)
                if k not in best or best[k].score < h.score:
                    best[k] = h
        return sorted(best.values(), key=lambda h: -h.score)

    def _store_verdict(self, subject_id: str, query: dict[str, Any], hits: list[Hit]) -> Verdict:
        live, cleared = self._split_cleared(subject_id, hits)
        status = self._status_for(live)
        snaps = {s.source: s.id for s in self.store.active_snapshots()}
        self.store.put_verdict(
            subject_id,
            query.get("subject_type", "account"),
            status,
            query,
            [h.to_dict() for h in hits],
            snaps,
        )
        self._cache[subject_id] = status
        return Verdict(subject_id, status, live, cleared, snaps)

    def status_of(self, subject_id: str) -> str:
        """The cached verdict for the gateway: clear | hit | review | stale | unknown.

        A stored verdict is only as good as the lists it was made with: while any list is
        stale (or none is loaded) every screened subject answers "stale" (fail closed).
        """
        status = self._cache.get(subject_id)
        if status is None:
            row = self.store.get_verdict(subject_id)
            status = str(row["status"]) if row else "unknown"
            self._cache[subject_id] = status
        if status != "unknown" and not self._lists_fresh():
            return "stale"
        return status

    def invalidate(self) -> None:
        """Forget cached freshness and index state (another process imported, or config changed)."""
        self._fresh_until = 0.0
        self._fresh_state = (0.0, False)
        self._checked_at = 0.0

    def _lists_fresh(self) -> bool:
        now = time.monotonic()
        if now < self._fresh_state[0]:
            return self._fresh_state[1]
        try:
            self.check_fresh()
            fresh = True
        except StaleListsError:
            fresh = False
        self._fresh_state = (now + 5.0, fresh)
        return fresh

    def verdict(self, subject_id: str) -> Verdict | None:
        row = self.store.get_verdict(subject_id)
        if row is None:
            return None
        hits = [Hit.from_dict(h) for h in row["hits"]]
        live, cleared = self._split_cleared(subject_id, hits)
        return Verdict(subject_id, str(row["status"]), live, cleared, dict(row["snapshots"]))

    def clear_hit(
        self, subject_id: str, source: str, entry_id: str, *, by: str, reason: str
    ) -> VerdictChange | None:
        """Record a reviewer's false-positive decision; valid until the list entry changes."""
        if not by.strip() or not reason.strip():
            raise DistillguardError("clearing a hit needs a reviewer (by) and a reason")
        row = self.store.get_verdict(subject_id)
        if row is None:
            raise DistillguardError(f"subject {subject_id} has not been screened")
        hits = [Hit.from_dict(h) for h in row["hits"]]
        match = [h for h in hits if h.source == source and h.entry_id == entry_id]
        if not match:
            raise DistillguardError(f"subject {subject_id} has no hit on {source}/{entry_id}")
        self.store.add_clearance(
            subject_id, source, entry_id, match[0].entry_hash or "", by, reason
        )
        old = str(row["status"])
        v = self._store_verdict(subject_id, row["query"], hits)
        if v.status != old:
            return VerdictChange(subject_id, old, v.status, f"cleared:{source}/{entry_id}:{by}")
        return None

    # -- re-screening on list change ----------------------------------------------------
    def rescreen(
        self,
        source: str,
        changed: list[ListEntry],
        removed: set[str],
        snapshot_id: int,
        hashes: dict[str, str],
    ) -> list[VerdictChange]:
        """Re-screen stored subjects against changed/new entries of one source only.

        Subjects whose verdict is "stale" (onboarded while lists were stale) are screened in
        full as soon as the lists are fresh again.
        """
        verdicts = self.store.all_verdicts()
        stale = any(row["status"] == "stale" for row in verdicts)
        if not verdicts or (not changed and not removed and not stale):
            return []
        delta = NameIndex()
        for e in changed:
            delta.add(e, snapshot_id=snapshot_id, entry_hash=hashes[e.entry_id])
        delta.finalize()
        touched = {e.entry_id for e in changed} | removed
        out: list[VerdictChange] = []
        self.invalidate()
        for row in verdicts:
            if row["status"] == "stale":
                # never screened for real: screen in full now, if the lists allow it
                if self._lists_fresh():
                    v = self._store_verdict(
                        str(row["subject_id"]), row["query"], self._screen_all(row["query"])
                    )
                    out.append(VerdictChange(v.subject_id, "stale", v.status, v.ref))
                continue
            old_hits = [Hit.from_dict(h) for h in row["hits"]]
            kept = [h for h in old_hits if not (h.source == source and h.entry_id in touched)]
            new_hits = self._screen_all(row["query"], delta) if changed else []
            if not new_hits and len(kept) == len(old_hits):
                continue  # nothing this change can affect
            hits = sorted(kept + new_hits, key=lambda h: -h.score)
            v = self._store_verdict(str(row["subject_id"]), row["query"], hits)
            if v.status != row["status"]:
                out.append(VerdictChange(v.subject_id, str(row["status"]), v.status, v.ref))
        return out


def parse_file(
    path: Path,
    source: str,
    *,
    alt: Path | None = None,
    add: Path | None = None,
    encoding: str | None = None,
    fmt: str | None = None,
) -> ParseResult:
    """Dispatch to the parser of `source` (csl: JSON or CSV by extension or `fmt`)."""
    result = _parse(path, source, alt=alt, add=add, encoding=encoding, fmt=fmt)
    return _drop_unusable_names(result)


def _drop_unusable_names(result: ParseResult) -> ParseResult:
    """Count and drop names that cannot be screened (absurdly long); drop emptied entries."""
    kept = []
    for e in result.entries:
        names = [a for a in e.names if len(a.name) <= MAX_NAME_CHARS]
        for _ in range(len(e.names) - len(names)):
            result.skip(f"name longer than {MAX_NAME_CHARS} characters")
        if names:
            e.names = names
            kept.append(e)
    result.entries = kept
    return result


def _parse(
    path: Path,
    source: str,
    *,
    alt: Path | None,
    add: Path | None,
    encoding: str | None,
    fmt: str | None,
) -> ParseResult:
    if source not in SOURCES:
        raise DistillguardError(f"unknown source {source!r}: use {', '.join(SOURCES)}")
    if not path.is_file():
        raise DistillguardError(f"{path}: no such file")
    if (alt or add) and source != "ofac":
        raise DistillguardError("--alt/--add apply to --source ofac only")
    if source == "ofac":
        from distillguard.screening.sources_ofac import parse_ofac

        return parse_ofac(path, alt, add, encoding=encoding)
    if source == "un":
        from distillguard.screening.sources_un import parse_un

        return parse_un(path, encoding=encoding)
    from distillguard.screening.sources_csl import parse_csl_csv, parse_csl_json, parse_internal

    if source == "internal":
        return parse_internal(path, encoding=encoding)
    kind = (fmt or path.suffix.lstrip(".")).lower()
    if kind == "json":
        return parse_csl_json(path, encoding=encoding)
    if kind == "csv":
        return parse_csl_csv(path, encoding=encoding)
    raise DistillguardError(f"{path}: CSL files must be .json or .csv (or pass --format)")
