"""The weight registry: models, versions, artifacts, compute, custody, grants, incidents.

Why a registry: RAND SL3 and the EU Code of Practice expect an inventory of every copy of
unreleased weights, least-privilege access reviewed every six months, and weight theft
reported within days; export classification needs the training compute with its sources.
All of it lives in `distillguard.store.Database` (SQLite by default, PostgreSQL for
several machines), in tables prefixed `wt_`. Rows are never deleted: grants are revoked,
custody entries retired, classifications superseded, so the history stays auditable.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.store import Database

PHASES = ("pretraining", "fine_tuning", "rl", "synthetic_data", "other")
PERMISSIONS = ("read", "decrypt", "sign", "transfer_request", "transfer_approve", "admin")
REVIEW_DAYS = 182  # six months

SCHEMA = [
    """CREATE TABLE wt_models (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
       developer TEXT, developer_revenue_usd REAL, created_at TEXT NOT NULL)""",
    """CREATE TABLE wt_versions (id TEXT PRIMARY KEY, model_id TEXT NOT NULL
       REFERENCES wt_models(id), version TEXT NOT NULL, parameters INTEGER,
       training_tokens REAL, published INTEGER NOT NULL DEFAULT 0, root_digest TEXT,
       created_at TEXT NOT NULL, UNIQUE (model_id, version))""",
    """CREATE TABLE wt_artifacts (id TEXT PRIMARY KEY, version_id TEXT NOT NULL
       REFERENCES wt_versions(id), path TEXT NOT NULL, format TEXT NOT NULL,
       size INTEGER NOT NULL, sha256 TEXT NOT NULL, parameters INTEGER)""",
    "CREATE INDEX wt_artifacts_sha ON wt_artifacts (sha256)",
    """CREATE TABLE wt_compute (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id TEXT NOT NULL
       REFERENCES wt_versions(id), phase TEXT NOT NULL, flop REAL NOT NULL,
       estimated INTEGER NOT NULL, method TEXT NOT NULL, source TEXT NOT NULL,
       recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    """CREATE TABLE wt_custody (id TEXT PRIMARY KEY, version_id TEXT NOT NULL
       REFERENCES wt_versions(id), location TEXT NOT NULL, storage TEXT NOT NULL,
       encrypted INTEGER NOT NULL, key_holder TEXT, status TEXT NOT NULL,
       recorded_by TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    """CREATE TABLE wt_grants (id TEXT PRIMARY KEY, model_id TEXT NOT NULL
       REFERENCES wt_models(id), subject TEXT NOT NULL, permission TEXT NOT NULL,
       granted_by TEXT NOT NULL, granted_at TEXT NOT NULL, review_due TEXT NOT NULL,
       certified_by TEXT, certified_at TEXT, revoked_by TEXT, revoked_at TEXT)""",
    """CREATE TABLE wt_incidents (id TEXT PRIMARY KEY, kind TEXT NOT NULL, version_id TEXT,
       discovered_at TEXT NOT NULL, detail TEXT NOT NULL, deadlines TEXT NOT NULL,
       status TEXT NOT NULL)""",
    """CREATE TABLE wt_classifications (id INTEGER PRIMARY KEY AUTOINCREMENT,
       version_id TEXT NOT NULL REFERENCES wt_versions(id), computed_at TEXT NOT NULL,
       pack_hash TEXT NOT NULL, inputs_digest TEXT NOT NULL, trigger TEXT NOT NULL,
       result TEXT NOT NULL)""",
    """CREATE TABLE wt_transfers (id TEXT PRIMARY KEY, version_id TEXT NOT NULL
       REFERENCES wt_versions(id), requested_by TEXT NOT NULL, requested_at TEXT NOT NULL,
       request TEXT NOT NULL, screening TEXT NOT NULL, decision TEXT NOT NULL,
       required_approvals INTEGER NOT NULL, status TEXT NOT NULL, licence_ref TEXT,
       package TEXT)""",
    """CREATE TABLE wt_approvals (transfer_id TEXT NOT NULL REFERENCES wt_transfers(id),
       approver TEXT NOT NULL, approved_at TEXT NOT NULL, PRIMARY KEY (transfer_id, approver))""",
    """CREATE TABLE wt_vault_files (file_id TEXT PRIMARY KEY, version_id TEXT NOT NULL
       REFERENCES wt_versions(id), artifact TEXT NOT NULL, location TEXT NOT NULL,
       created_by TEXT NOT NULL, created_at TEXT NOT NULL)""",
    # signed approvals (approvals.py): approvers are Ed25519 keys registered by an admin
    """CREATE TABLE wt_approvers (key_id TEXT PRIMARY KEY, name TEXT NOT NULL,
       public_key TEXT NOT NULL, added_by TEXT NOT NULL, added_at TEXT NOT NULL,
       revoked_by TEXT, revoked_at TEXT)""",
    "ALTER TABLE wt_approvals ADD COLUMN key_id TEXT",
    "ALTER TABLE wt_approvals ADD COLUMN statement TEXT",
    "ALTER TABLE wt_approvals ADD COLUMN signature TEXT",
]


def now() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class VersionRef:
    model_id: str
    model: str
    version_id: str
    version: str

    def __str__(self) -> str:
        return f"{self.model}@{self.version}"


class Registry:
    """Typed access to the wt_ tables; every write is one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.migrate("weights", SCHEMA)

    # -- models and versions --------------------------------------------------------------
    def ensure_model(
        self, name: str, *, developer: str | None = None, revenue_usd: float | None = None
    ) -> str:
        row = self.db.query_one("SELECT id FROM wt_models WHERE name = ?", (name,))
        if row:
            if developer is not None or revenue_usd is not None:
                self.db.execute(
                    "UPDATE wt_models SET developer = COALESCE(?, developer), "
                    "developer_revenue_usd = COALESCE(?, developer_revenue_usd) WHERE id = ?",
                    (developer, revenue_usd, row["id"]),
                )
            return str(row["id"])
        mid = new_id("mdl")
        self.db.execute(
            "INSERT INTO wt_models (id, name, developer, developer_revenue_usd, created_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (mid, name, developer, revenue_usd, iso(now())),
        )
        return mid

    def add_version(
        self,
        model: str,
        version: str,
        *,
        parameters: int | None = None,
        training_tokens: float | None = None,
        published: bool = False,
        developer: str | None = None,
        revenue_usd: float | None = None,
    ) -> VersionRef:
        with self.db.transaction():
            mid = self.ensure_model(model, developer=developer, revenue_usd=revenue_usd)
            if self.db.query_one(
                "SELECT id FROM wt_versions WHERE model_id = ? AND version = ?", (mid, version)
            ):
                raise DistillguardError(f"{model}@{version} is already registered")
            vid = new_id("ver")
            self.db.execute(
                "INSERT INTO wt_versions (id, model_id, version, parameters, training_tokens, "
                "published, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (vid, mid, version, parameters, training_tokens, int(published), iso(now())),
            )
        return VersionRef(mid, model, vid, version)

    def resolve(self, spec: str) -> VersionRef:
        """`model@version`, or `model` for its latest version."""
        name, _, ver = spec.partition("@")
        sql = (
            "SELECT m.id AS mid, m.name, v.id AS vid, v.version FROM wt_models m "
            "JOIN wt_versions v ON v.model_id = m.id WHERE m.name = ?"
        )
        rows = (
            self.db.query(sql + " AND v.version = ?", (name, ver))
            if ver
            else self.db.query(sql + " ORDER BY v.created_at DESC, v.version DESC", (name,))
        )
        if not rows:
            raise DistillguardError(f"no registered model version {spec!r}")
        r = rows[0]
        return VersionRef(str(r["mid"]), str(r["name"]), str(r["vid"]), str(r["version"]))

    def version_row(self, ref: VersionRef) -> dict[str, Any]:
        row = self.db.query_one(
            "SELECT v.*, m.developer, m.developer_revenue_usd FROM wt_versions v "
            "JOIN wt_models m ON m.id = v.model_id WHERE v.id = ?",
            (ref.version_id,),
        )
        assert row is not None
        return row

    def set_published(self, ref: VersionRef, published: bool) -> None:
        self.db.execute(
            "UPDATE wt_versions SET published = ? WHERE id = ?", (int(published), ref.version_id)
        )

    def set_revenue(self, ref: VersionRef, revenue_usd: float | None) -> None:
        self.db.execute(
            "UPDATE wt_models SET developer_revenue_usd = ? WHERE id = ?",
            (revenue_usd, ref.model_id),
        )

    def versions(self) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT m.name, v.version, v.id, v.published, v.parameters, v.root_digest "
            "FROM wt_versions v JOIN wt_models m ON m.id = v.model_id ORDER BY m.name, v.version"
        )

    # -- artifacts ------------------------------------------------------------------------
    def add_artifacts(
        self, ref: VersionRef, files: list[dict[str, Any]], root_digest: str | None
    ) -> None:
        with self.db.transaction():
            for f in files:
                self.db.execute(
                    "INSERT INTO wt_artifacts (id, version_id, path, format, size, sha256, "
                    "parameters) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (new_id("art"), ref.version_id, f["path"], f["format"], f["size"],
                     f["sha256"], f.get("parameters")),
                )  # fmt: skip
            if root_digest:
                self.db.execute(
                    "UPDATE wt_versions SET root_digest = ? WHERE id = ?",
                    (root_digest, ref.version_id),
                )

    def artifacts(self, ref: VersionRef) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT path, format, size, sha256, parameters FROM wt_artifacts "
            "WHERE version_id = ? ORDER BY path",
            (ref.version_id,),
        )

    def artifacts_by_sha(self, sha256: str) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT a.path, a.version_id, m.name, v.version FROM wt_artifacts a "
            "JOIN wt_versions v ON v.id = a.version_id JOIN wt_models m ON m.id = v.model_id "
            "WHERE a.sha256 = ?",
            (sha256,),
        )

    def artifact_sizes(self) -> set[int]:
        return {int(r["size"]) for r in self.db.query("SELECT DISTINCT size FROM wt_artifacts")}

    # -- compute ledger -------------------------------------------------------------------
    def add_compute(
        self,
        ref: VersionRef,
        phase: str,
        flop: float,
        *,
        source: str,
        recorded_by: str,
        estimated: bool = False,
        method: str = "measured",
    ) -> None:
        if phase not in PHASES:
            raise DistillguardError(f"unknown compute phase {phase!r} (use {', '.join(PHASES)})")
        if not flop >= 0 or flop != flop or flop == float("inf"):
            raise DistillguardError(f"training compute must be a finite number >= 0, got {flop}")
        if not source.strip():
            raise DistillguardError("every compute entry needs a source (log, invoice, paper)")
        self.db.execute(
            "INSERT INTO wt_compute (version_id, phase, flop, estimated, method, source, "
            "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ref.version_id, phase, float(flop), int(estimated), method, source, recorded_by,
             iso(now())),
        )  # fmt: skip

    def compute(self, ref: VersionRef) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT phase, flop, estimated, method, source, recorded_by, recorded_at "
            "FROM wt_compute WHERE version_id = ? ORDER BY id",
            (ref.version_id,),
        )

    # -- custody --------------------------------------------------------------------------
    def add_custody(
        self,
        ref: VersionRef,
        location: str,
        *,
        storage: str,
        encrypted: bool,
        key_holder: str | None,
        recorded_by: str,
    ) -> str:
        cid = new_id("cus")
        self.db.execute(
            "INSERT INTO wt_custody (id, version_id, location, storage, encrypted, key_holder, "
            "status, recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)",
            (cid, ref.version_id, location, storage, int(encrypted), key_holder, recorded_by,
             iso(now())),
        )  # fmt: skip
        return cid

    def custody(self, ref: VersionRef | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT c.id, m.name, v.version, c.location, c.storage, c.encrypted, c.key_holder, "
            "c.status, c.recorded_at FROM wt_custody c JOIN wt_versions v ON v.id = c.version_id "
            "JOIN wt_models m ON m.id = v.model_id WHERE c.status = 'active'"
        )
        if ref is None:
            return self.db.query(sql + " ORDER BY m.name, v.version, c.location")
        return self.db.query(sql + " AND c.version_id = ? ORDER BY c.location", (ref.version_id,))

    def is_known_location(self, version_id: str, location: Path) -> bool:
        loc = location.resolve()
        for r in self.db.query(
            "SELECT location FROM wt_custody WHERE version_id = ? AND status = 'active'",
            (version_id,),
        ):
            known = Path(str(r["location"]))
            if known.is_absolute() and (loc == known or loc.is_relative_to(known)):
                return True
        return False

    # -- grants ---------------------------------------------------------------------------
    def grant(
        self,
        model: str,
        subject: str,
        permission: str,
        *,
        granted_by: str,
        review_days: int = REVIEW_DAYS,
    ) -> str:
        if permission not in PERMISSIONS:
            raise DistillguardError(
                f"unknown permission {permission!r} (use {', '.join(PERMISSIONS)})"
            )
        mid = self.resolve(model).model_id
        gid = new_id("grt")
        t = now()
        self.db.execute(
            "INSERT INTO wt_grants (id, model_id, subject, permission, granted_by, granted_at, "
            "review_due) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (gid, mid, subject, permission, granted_by, iso(t), iso(t + timedelta(review_days))),
        )
        return gid

    def recertify(self, grant_id: str, *, by: str, review_days: int = REVIEW_DAYS) -> str:
        row = self.db.query_one("SELECT * FROM wt_grants WHERE id = ?", (grant_id,))
        if row is None or row["revoked_at"]:
            raise DistillguardError(f"no active grant {grant_id}")
        if row["subject"] == by:
            raise DistillguardError("a grant cannot be re-certified by its own holder")
        t = now()
        due = iso(t + timedelta(review_days))
        self.db.execute(
            "UPDATE wt_grants SET certified_by = ?, certified_at = ?, review_due = ? WHERE id = ?",
            (by, iso(t), due, grant_id),
        )
        return due

    def revoke(self, grant_id: str, *, by: str) -> None:
        if not self.db.execute(
            "UPDATE wt_grants SET revoked_by = ?, revoked_at = ? WHERE id = ? "
            "AND revoked_at IS NULL",
            (by, iso(now()), grant_id),
        ):
            raise DistillguardError(f"no active grant {grant_id}")

    def grants(self, model: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT g.id, m.name AS model, g.subject, g.permission, g.granted_by, g.granted_at, "
            "g.review_due, g.certified_by, g.revoked_at FROM wt_grants g "
            "JOIN wt_models m ON m.id = g.model_id"
        )
        rows = (
            self.db.query(sql + " WHERE m.name = ? ORDER BY g.review_due", (model,))
            if model
            else self.db.query(sql + " ORDER BY g.review_due")
        )
        t = now()
        for r in rows:
            r["state"] = (
                "revoked"
                if r["revoked_at"]
                else ("expired" if parse_iso(str(r["review_due"])) <= t else "active")
            )
        return rows

    def is_admin(self, subject: str) -> bool:
        """A live `admin` grant on any model (who may register approver keys)."""
        row = self.db.query_one(
            "SELECT id FROM wt_grants WHERE subject = ? AND permission = 'admin' "
            "AND revoked_at IS NULL AND review_due > ?",
            (subject, iso(now())),
        )
        return row is not None

    def has_grant(
        self, ref: VersionRef, subject: str, permission: str, at: datetime | None = None
    ) -> bool:
        t = iso(at or now())
        row = self.db.query_one(
            "SELECT id FROM wt_grants WHERE model_id = ? AND subject = ? AND permission IN (?, "
            "'admin') AND revoked_at IS NULL AND review_due > ?",
            (ref.model_id, subject, permission, t),
        )
        return row is not None

    # -- incidents ------------------------------------------------------------------------
    def open_incident(
        self,
        kind: str,
        version_id: str | None,
        detail: dict[str, Any],
        deadlines: list[dict[str, Any]],
        discovered_at: datetime | None = None,
    ) -> str:
        iid = new_id("inc")
        self.db.execute(
            "INSERT INTO wt_incidents (id, kind, version_id, discovered_at, detail, deadlines, "
            "status) VALUES (?, ?, ?, ?, ?, ?, 'open')",
            (iid, kind, version_id, iso(discovered_at or now()), json.dumps(detail),
             json.dumps(deadlines)),
        )  # fmt: skip
        return iid

    def incidents(self) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT * FROM wt_incidents ORDER BY discovered_at")
        for r in rows:
            r["detail"] = json.loads(r["detail"])
            r["deadlines"] = json.loads(r["deadlines"])
        return rows
