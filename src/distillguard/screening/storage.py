"""Screening tables in the project database (SQLite default, PostgreSQL for replicas).

Why in the database and not only in memory: every decision must name the list snapshot it
used (source, date, content hash, entry count), verdicts are cached per subject so the
gateway pays a lookup, and reviewer clearances (who, why, for which entry version) must
survive restarts and be shared by replicas.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from distillguard.screening.model import ListEntry
from distillguard.store import Database

SCHEMA = [
    """CREATE TABLE screening_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        list_date TEXT,
        imported_at TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        entry_count INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        file_name TEXT,
        active INTEGER NOT NULL DEFAULT 1
    )""",
    """CREATE TABLE screening_entries (
        snapshot_id INTEGER NOT NULL,
        entry_id TEXT NOT NULL,
        entry_hash TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (snapshot_id, entry_id)
    )""",
    """CREATE TABLE screening_verdicts (
        subject_id TEXT PRIMARY KEY,
        subject_type TEXT NOT NULL,
        status TEXT NOT NULL,
        query TEXT NOT NULL,
        hits TEXT NOT NULL,
        snapshots TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    """CREATE TABLE screening_clearances (
        subject_id TEXT NOT NULL,
        source TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        entry_hash TEXT NOT NULL,
        cleared_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        cleared_at TEXT NOT NULL,
        PRIMARY KEY (subject_id, source, entry_id)
    )""",
    "CREATE INDEX screening_snapshots_source ON screening_snapshots (source, active)",
]


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass(slots=True)
class Snapshot:
    id: int
    source: str
    list_date: str | None
    imported_at: str
    content_hash: str
    entry_count: int
    skipped: int
    file_name: str | None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Snapshot:
        return cls(
            id=int(r["id"]),
            source=str(r["source"]),
            list_date=r["list_date"],
            imported_at=str(r["imported_at"]),
            content_hash=str(r["content_hash"]),
            entry_count=int(r["entry_count"]),
            skipped=int(r["skipped"]),
            file_name=r["file_name"],
        )


class ScreeningStore:
    """Snapshots, entries, verdicts and clearances; all SQL of the screening part lives here."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("screening", SCHEMA)

    # -- snapshots ----------------------------------------------------------------------
    def active_snapshots(self) -> list[Snapshot]:
        rows = self.db.query(
            "SELECT * FROM screening_snapshots WHERE active = 1 ORDER BY source, id"
        )
        return [Snapshot.from_row(r) for r in rows]

    def active_snapshot(self, source: str) -> Snapshot | None:
        r = self.db.query_one(
            "SELECT * FROM screening_snapshots WHERE source = ? AND active = 1 ORDER BY id DESC",
            (source,),
        )
        return Snapshot.from_row(r) if r else None

    def add_snapshot(
        self,
        source: str,
        entries: list[ListEntry],
        *,
        list_date: str | None,
        file_name: str | None,
        skipped: int,
    ) -> tuple[Snapshot, dict[str, str], dict[str, str]]:
        """Store a new active snapshot; return it with {entry_id: hash} of now and before."""
        hashes = {e.entry_id: e.content_hash() for e in entries}
        digest = hashlib.sha256()
        for eid in sorted(hashes):
            digest.update(f"{eid}\t{hashes[eid]}\n".encode())
        content_hash = digest.hexdigest()
        with self.db.transaction():
            prev = self.active_snapshot(source)
            before = self.entry_hashes(prev.id) if prev else {}
            self.db.execute(
                "UPDATE screening_snapshots SET active = 0 WHERE source = ? AND active = 1",
                (source,),
            )
            self.db.execute(
                "INSERT INTO screening_snapshots (source, list_date, imported_at, content_hash,"
                " entry_count, skipped, file_name, active) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                (source, list_date, now_iso(), content_hash, len(entries), skipped, file_name),
            )
            row = self.db.query_one(
                "SELECT * FROM screening_snapshots WHERE source = ? AND active = 1 "
                "ORDER BY id DESC",
                (source,),
            )
            assert row is not None
            snap = Snapshot.from_row(row)
            self.db.executemany(
                "INSERT INTO screening_entries (snapshot_id, entry_id, entry_hash, data) "
                "VALUES (?, ?, ?, ?)",
                (
                    (snap.id, e.entry_id, hashes[e.entry_id], orjson.dumps(e.to_dict()).decode())
                    for e in entries
                ),
            )
        return snap, hashes, before

    def entry_hashes(self, snapshot_id: int) -> dict[str, str]:
        rows = self.db.query(
            "SELECT entry_id, entry_hash FROM screening_entries WHERE snapshot_id = ?",
            (snapshot_id,),
        )
        return {str(r["entry_id"]): str(r["entry_hash"]) for r in rows}

    def load_entries(self, snapshot_id: int) -> list[tuple[ListEntry, str]]:
        rows = self.db.query(
            "SELECT entry_hash, data FROM screening_entries WHERE snapshot_id = ? "
            "ORDER BY entry_id",
            (snapshot_id,),
        )
        return [(ListEntry.from_dict(orjson.loads(r["data"])), str(r["entry_hash"])) for r in rows]

    # -- verdicts -----------------------------------------------------------------------
    def get_verdict(self, subject_id: str) -> dict[str, Any] | None:
        r = self.db.query_one(
            "SELECT * FROM screening_verdicts WHERE subject_id = ?", (subject_id,)
        )
        if r is None:
            return None
        out = dict(r)
        for k in ("query", "hits", "snapshots"):
            out[k] = orjson.loads(out[k])
        return out

    def all_verdicts(self) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM screening_verdicts ORDER BY subject_id")
        out = []
        for r in rows:
            d = dict(r)
            for k in ("query", "hits", "snapshots"):
                d[k] = orjson.loads(d[k])
            out.append(d)
        return out

    def put_verdict(
        self,
        subject_id: str,
        subject_type: str,
        status: str,
        query: dict[str, Any],
        hits: list[dict[str, Any]],
        snapshots: dict[str, int],
    ) -> None:
        params = (
            subject_type,
            status,
            orjson.dumps(query).decode(),
            orjson.dumps(hits).decode(),
            orjson.dumps(snapshots).decode(),
            now_iso(),
            subject_id,
        )
        with self.db.transaction():
            n = self.db.execute(
                "UPDATE screening_verdicts SET subject_type = ?, status = ?, query = ?, hits = ?,"
                " snapshots = ?, updated_at = ? WHERE subject_id = ?",
                params,
            )
            if n == 0:
                self.db.execute(
                    "INSERT INTO screening_verdicts (subject_type, status, query, hits, snapshots,"
                    " updated_at, subject_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    params,
                )

    # -- clearances ---------------------------------------------------------------------
    def clearances(self, subject_id: str) -> dict[tuple[str, str], dict[str, Any]]:
        rows = self.db.query(
            "SELECT * FROM screening_clearances WHERE subject_id = ?", (subject_id,)
        )
        return {(str(r["source"]), str(r["entry_id"])): dict(r) for r in rows}

    def add_clearance(
        self, subject_id: str, source: str, entry_id: str, entry_hash: str, by: str, reason: str
    ) -> None:
        with self.db.transaction():
            self.db.execute(
                "DELETE FROM screening_clearances WHERE subject_id = ? AND source = ? "
                "AND entry_id = ?",
                (subject_id, source, entry_id),
            )
            self.db.execute(
                "INSERT INTO screening_clearances (subject_id, source, entry_id, entry_hash,"
                " cleared_by, reason, cleared_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (subject_id, source, entry_id, entry_hash, by, reason, now_iso()),
            )
