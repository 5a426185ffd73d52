"""The ground every identity write stands on: one transaction per change, its audit row
(`identity_changes`, whose version also drives cross-replica cache invalidation), the
actor who made it, and the id and column helpers shared by organisations and accounts.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson

from distillguard.errors import DistillguardError
from distillguard.identity import validate as v
from distillguard.identity.errors import ConflictError
from distillguard.identity.rows import limit_columns, now_iso
from distillguard.identity.schema import STATEMENTS
from distillguard.store.db import Database


def _is_integrity_error(exc: Exception) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, psycopg.IntegrityError)


# Who is making changes, recorded in the audit trail; set with `ACTOR.set(...)` (the CLI,
# the admin API per request) or left at its default for library callers.
ACTOR: ContextVar[str | None] = ContextVar("distillguard_identity_actor", default=None)


class RecordsBase:
    """The database, the write transaction, the audit log and the shared column helpers."""

    def __init__(self, db: Database, *, key_pepper: bytes | None = None) -> None:
        self.db = db
        db.migrate("identity", STATEMENTS)
        if key_pepper is None and os.environ.get("DISTILLGUARD_KEY_PEPPER"):
            key_pepper = os.environ["DISTILLGUARD_KEY_PEPPER"].encode("utf-8")
        self._pepper = key_pepper
        # versions this process wrote (already applied to its own cache when committed)
        self._own_versions: set[int] = set()

    @contextmanager
    def _write(self) -> Iterator[None]:
        """A write transaction; a uniqueness race lost to another writer is a ConflictError."""
        try:
            with self.db.transaction():
                yield
        except DistillguardError:
            raise
        except Exception as exc:
            if _is_integrity_error(exc):
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ConflictError(f"conflicting concurrent change: {first}") from None
            raise

    def _invalidate(
        self, *, key_hashes: list[str] | None = None, subjects: list[str | None] | None = None
    ) -> None:
        """Called after each committed change; the caching subclass drops entries."""

    # -- change log ---------------------------------------------------------------------
    def _current_version(self) -> int:
        row = self.db.query_one("SELECT value FROM identity_meta WHERE name = 'version'")
        return int(row["value"]) if row else 0

    def _log(
        self,
        action: str,
        *,
        org_id: str | None = None,
        account_id: str | None = None,
        key_hash: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit/invalidation row; call inside the writing transaction."""
        self.db.execute("UPDATE identity_meta SET value = value + 1 WHERE name = 'version'")
        version = self._current_version()
        self._own_versions.add(version)
        self.db.execute(
            "INSERT INTO identity_changes (version, at, action, org_id, account_id, key_hash, "
            "detail, actor) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                version,
                now_iso(),
                action,
                org_id,
                account_id,
                key_hash,
                orjson.dumps(detail).decode() if detail else None,
                ACTOR.get(),
            ),
        )

    def changes(self, subject_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The audit trail, newest first, optionally for one account or organisation."""
        sql = "SELECT version, at, actor, action, org_id, account_id, detail FROM identity_changes"
        params: tuple[Any, ...] = ()
        if subject_id:
            sql += " WHERE account_id = ? OR org_id = ?"
            params = (subject_id, subject_id)
        rows = self.db.query(sql + " ORDER BY version DESC LIMIT ?", (*params, limit))
        for r in rows:
            r["detail"] = orjson.loads(r["detail"]) if r["detail"] else None
        return rows

    def _new_id(self, prefix: str, given: str | None) -> str:
        if given is None:
            return f"{prefix}_{secrets.token_hex(8)}"
        ident = v.ident(given)
        for table in ("identity_orgs", "identity_accounts"):
            if self.db.query_one(f"SELECT 1 AS x FROM {table} WHERE id = ?", (ident,)):
                raise ConflictError(f"id {ident!r} is already in use")
        return ident

    def _columns(self, changes: dict[str, Any], checks: dict[str, Any]) -> dict[str, Any]:
        unknown = set(changes) - set(checks) - {"limits"}
        if unknown:
            raise DistillguardError(f"cannot change {', '.join(sorted(unknown))}")
        cols = {k: checks[k](val) for k, val in changes.items() if k != "limits"}
        if "limits" in changes and changes["limits"] is None:  # back to the defaults
            cols.update(rpm=None, tpm=None, max_concurrency=None)
        else:
            cols.update(limit_columns(changes.get("limits"), "limits"))
        return cols

    def _set(self, table: str, row_id: str, cols: dict[str, Any]) -> None:
        cols = {**cols, "updated_at": now_iso()}
        assign = ", ".join(f"{c} = ?" for c in cols)
        self.db.execute(
            f"UPDATE {table} SET {assign}, version = version + 1 WHERE id = ?",
            (*cols.values(), row_id),
        )
