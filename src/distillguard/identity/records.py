"""IdentityRecords: organisations, accounts, KYC records and API keys in the database.

Why one class for every write: each change is validated, written together with its
audit row (`identity_changes`) in one transaction, and reported to `_invalidate` so the
snapshot cache (in `IdentityService`) drops what it changed.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import orjson

from distillguard.errors import DistillguardError
from distillguard.identity import validate as v
from distillguard.identity.errors import ConflictError, NotFoundError
from distillguard.identity.keys import display_prefix, generate_key, hash_key
from distillguard.identity.models import Account, ApiKey, KycRecord, Org
from distillguard.identity.rows import (
    account_from_row,
    jsonable,
    key_from_row,
    limit_columns,
    now_iso,
    org_from_row,
    parse_time,
)
from distillguard.identity.schema import STATEMENTS
from distillguard.store.db import Database
from distillguard.store.quotas import Limits


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


class IdentityRecords:
    """Create, read and change identity records (no caching: see `IdentityService`)."""

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

    # -- organisations ------------------------------------------------------------------
    def _new_id(self, prefix: str, given: str | None) -> str:
        if given is None:
            return f"{prefix}_{secrets.token_hex(8)}"
        ident = v.ident(given)
        for table in ("identity_orgs", "identity_accounts"):
            if self.db.query_one(f"SELECT 1 AS x FROM {table} WHERE id = ?", (ident,)):
                raise ConflictError(f"id {ident!r} is already in use")
        return ident

    def create_org(
        self,
        name: str,
        hq_country: str,
        *,
        parent_name: str | None = None,
        parent_hq_country: str | None = None,
        allowlists: list[str] | tuple[str, ...] = (),
        limits: Limits | dict[str, Any] | None = None,
        id: str | None = None,
    ) -> Org:
        """Register an organisation (its headquarters and ultimate parent's headquarters)."""
        name = v.text(name, "name", max_len=300)
        hq = v.country(hq_country, "hq_country")
        parent_hq = v.opt_country(parent_hq_country, "parent_hq_country")
        parent = v.opt_text(parent_name, "parent_name", max_len=300)
        allow = v.str_list(list(allowlists), "allowlists")
        cols = limit_columns(limits, "limits")
        with self._write():
            if self.db.query_one("SELECT id FROM identity_orgs WHERE name = ?", (name,)):
                raise ConflictError(f"an organisation named {name!r} already exists")
            org_id = self._new_id("org", id)
            ts = now_iso()
            self.db.execute(
                "INSERT INTO identity_orgs (id, name, hq_country, parent_name, parent_hq_country,"
                " allowlists, rpm, tpm, max_concurrency, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    org_id,
                    name,
                    hq,
                    parent,
                    parent_hq,
                    orjson.dumps(allow).decode(),
                    cols.get("rpm"),
                    cols.get("tpm"),
                    cols.get("max_concurrency"),
                    ts,
                    ts,
                ),
            )
            self._log("org.create", org_id=org_id, detail={"name": name, "hq_country": hq})
        return self.get_org(org_id)

    def find_org(self, ref: str) -> Org | None:
        row = self.db.query_one("SELECT * FROM identity_orgs WHERE id = ?", (ref,))
        row = row or self.db.query_one("SELECT * FROM identity_orgs WHERE name = ?", (ref,))
        return org_from_row(row) if row else None

    def get_org(self, ref: str) -> Org:
        """An organisation by id or name."""
        org = self.find_org(ref)
        if org is None:
            raise NotFoundError(f"no organisation {ref!r}")
        return org

    def list_orgs(self) -> list[Org]:
        return [org_from_row(r) for r in self.db.query("SELECT * FROM identity_orgs ORDER BY name")]

    def update_org(self, ref: str, **changes: Any) -> Org:
        """Change hq_country, parent_name, parent_hq_country, allowlists, name or limits."""
        checks = {
            "name": lambda x: v.text(x, "name", max_len=300),
            "hq_country": lambda x: v.country(x, "hq_country"),
            "parent_name": lambda x: v.opt_text(x, "parent_name", max_len=300),
            "parent_hq_country": lambda x: v.opt_country(x, "parent_hq_country"),
            "allowlists": lambda x: orjson.dumps(v.str_list(x, "allowlists")).decode(),
        }
        cols = self._columns(changes, checks)
        return self._update_org(ref, "org.update", cols, changes)

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

    def _update_org(
        self, ref: str, action: str, cols: dict[str, Any], detail: dict[str, Any]
    ) -> Org:
        org = self.get_org(ref)
        with self._write():
            if (
                "name" in cols
                and cols["name"] != org.name
                and self.db.query_one(
                    "SELECT id FROM identity_orgs WHERE name = ?", (cols["name"],)
                )
            ):
                raise ConflictError(f"an organisation named {cols['name']!r} already exists")
            self._set("identity_orgs", org.id, cols)
            self._log(action, org_id=org.id, detail=jsonable(detail))
        self._invalidate(subjects=[org.id])
        return self.get_org(org.id)

    def _set(self, table: str, row_id: str, cols: dict[str, Any]) -> None:
        cols = {**cols, "updated_at": now_iso()}
        assign = ", ".join(f"{c} = ?" for c in cols)
        self.db.execute(
            f"UPDATE {table} SET {assign}, version = version + 1 WHERE id = ?",
            (*cols.values(), row_id),
        )

    def suspend_org(self, ref: str, reason: str) -> Org:
        """Suspend an organisation: every member account stops working."""
        why = v.text(reason, "reason")
        return self._update_org(
            ref, "org.suspend", {"status": "suspended", "status_reason": why}, {"reason": why}
        )

    def reactivate_org(self, ref: str, reason: str | None = None) -> Org:
        why = v.opt_text(reason, "reason")
        return self._update_org(
            ref, "org.reactivate", {"status": "active", "status_reason": why}, {"reason": why}
        )

    # -- accounts -----------------------------------------------------------------------
    def create_account(
        self,
        name: str,
        *,
        type: str = "individual",
        org_id: str | None = None,
        nationality: str | None = None,
        kyc_level: str = "none",
        limits: Limits | dict[str, Any] | None = None,
        id: str | None = None,
    ) -> Account:
        """An individual customer, or a member of an organisation (`type="organization"`)."""
        name = v.text(name, "name", max_len=300)
        kind = v.choice(type, v.ACCOUNT_TYPES, "type")
        nat = v.opt_country(nationality, "nationality")
        level = v.choice(kyc_level, v.KYC_LEVELS, "kyc_level")
        cols = limit_columns(limits, "limits")
        org = self.get_org(org_id) if org_id else None
        if kind == "organization" and org is None:
            raise DistillguardError("type 'organization' needs an organisation (org_id)")
        if kind == "individual" and org is not None:
            raise DistillguardError("an individual account cannot belong to an organisation")
        with self._write():
            acct_id = self._new_id("acct", id)
            ts = now_iso()
            self.db.execute(
                "INSERT INTO identity_accounts (id, org_id, name, type, nationality, kyc_level,"
                " rpm, tpm, max_concurrency, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    acct_id,
                    org.id if org else None,
                    name,
                    kind,
                    nat,
                    level,
                    cols.get("rpm"),
                    cols.get("tpm"),
                    cols.get("max_concurrency"),
                    ts,
                    ts,
                ),
            )
            self._log(
                "account.create",
                account_id=acct_id,
                org_id=org.id if org else None,
                detail={"type": kind, "nationality": nat, "kyc_level": level},
            )
        return self.get_account(acct_id)

    def find_account(self, account_id: str) -> Account | None:
        row = self.db.query_one("SELECT * FROM identity_accounts WHERE id = ?", (account_id,))
        return account_from_row(row) if row else None

    def get_account(self, account_id: str) -> Account:
        acct = self.find_account(account_id)
        if acct is None:
            raise NotFoundError(f"no account {account_id!r}")
        return acct

    def list_accounts(
        self, *, org_id: str | None = None, status: str | None = None
    ) -> list[Account]:
        sql, params = "SELECT * FROM identity_accounts WHERE 1 = 1", []
        if org_id is not None:
            sql += " AND org_id = ?"
            params.append(self.get_org(org_id).id)
        if status is not None:
            sql += " AND status = ?"
            params.append(v.choice(status, v.STATUSES, "status"))
        return [
            account_from_row(r) for r in self.db.query(sql + " ORDER BY created_at, id", params)
        ]

    def update_account(self, account_id: str, **changes: Any) -> Account:
        """Change name, nationality or limits (status and KYC level have their own calls)."""
        checks = {
            "name": lambda x: v.text(x, "name", max_len=300),
            "nationality": lambda x: v.opt_country(x, "nationality"),
        }
        cols = self._columns(changes, checks)
        return self._update_account(account_id, "account.update", cols, changes)

    def _update_account(
        self, account_id: str, action: str, cols: dict[str, Any], detail: dict[str, Any]
    ) -> Account:
        acct = self.get_account(account_id)
        with self._write():
            self._set("identity_accounts", acct.id, cols)
            self._log(action, account_id=acct.id, org_id=acct.org_id, detail=jsonable(detail))
        self._invalidate(subjects=[acct.id])
        return self.get_account(acct.id)

    def suspend_account(self, account_id: str, reason: str) -> Account:
        why = v.text(reason, "reason")
        return self._update_account(
            account_id,
            "account.suspend",
            {"status": "suspended", "status_reason": why},
            {"reason": why},
        )

    def reactivate_account(self, account_id: str, reason: str | None = None) -> Account:
        why = v.opt_text(reason, "reason")
        return self._update_account(
            account_id,
            "account.reactivate",
            {"status": "active", "status_reason": why},
            {"reason": why},
        )

    def set_kyc_level(self, account_id: str, level: str, reason: str | None = None) -> Account:
        lvl = v.choice(level, v.KYC_LEVELS, "kyc_level")
        why = v.opt_text(reason, "reason")
        return self._update_account(
            account_id, "account.kyc_level", {"kyc_level": lvl}, {"kyc_level": lvl, "reason": why}
        )

    def set_risk(
        self, account_id: str, score: float, verdict: str, campaign: str | None = None
    ) -> Account:
        """Store the detector's state for an account (no write when nothing moved)."""
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
            raise DistillguardError(f"risk score {score!r} is not a number from 0 to 1")
        verdict = v.choice(verdict, v.RISK_VERDICTS, "verdict")
        campaign = v.opt_text(campaign, "campaign", max_len=200)
        acct = self.get_account(account_id)
        if (
            acct.risk_verdict == verdict
            and acct.risk_campaign == campaign
            and abs(acct.risk_score - score) < 0.01
        ):
            return acct
        cols = {"risk_score": float(score), "risk_verdict": verdict, "risk_campaign": campaign}
        return self._update_account(
            account_id, "account.risk", {**cols, "risk_at": now_iso()}, cols
        )

    def set_screening_status(self, subject_id: str, status: str, ref: str | None = None) -> None:
        """Record a screening outcome for an account or an organisation (by id)."""
        st = v.choice(status, v.SCREENING_STATUSES, "status")
        ref = v.opt_text(ref, "ref", max_len=500)
        cols = {"screening_status": st, "screening_ref": ref, "screening_at": now_iso()}
        detail = {"status": st, "ref": ref}
        if self.find_account(subject_id) is not None:
            self._update_account(subject_id, "account.screening", cols, detail)
        elif self.find_org(subject_id) is not None:
            self._update_org(subject_id, "org.screening", cols, detail)
        else:
            raise NotFoundError(f"no account or organisation {subject_id!r}")

    # -- KYC records --------------------------------------------------------------------
    def set_kyc_record(self, subject_id: str, record: KycRecord | dict[str, Any]) -> KycRecord:
        """Store the customer record of an account or an organisation (replaces it)."""
        rec = record if isinstance(record, KycRecord) else KycRecord.from_dict(record)
        acct = self.find_account(subject_id)
        org = None if acct else self.find_org(subject_id)
        if acct is None and org is None:
            raise NotFoundError(f"no account or organisation {subject_id!r}")
        sid = acct.id if acct else org.id  # type: ignore[union-attr]
        data = orjson.dumps(rec.to_dict()).decode()
        with self._write():
            if (
                self.db.execute(
                    "UPDATE identity_kyc SET record = ?, updated_at = ? WHERE subject_id = ?",
                    (data, now_iso(), sid),
                )
                == 0
            ):
                self.db.execute(
                    "INSERT INTO identity_kyc (subject_id, record, updated_at) VALUES (?, ?, ?)",
                    (sid, data, now_iso()),
                )
            self._log(
                "kyc.record",
                account_id=acct.id if acct else None,
                org_id=acct.org_id if acct else sid,
                detail={"missing": rec.missing(organisation=acct is None)},
            )
        self._invalidate(subjects=[sid])
        return rec

    def get_kyc_record(self, subject_id: str) -> KycRecord | None:
        row = self.db.query_one(
            "SELECT record FROM identity_kyc WHERE subject_id = ?", (subject_id,)
        )
        return KycRecord.from_dict(orjson.loads(row["record"])) if row else None

    # -- keys ---------------------------------------------------------------------------
    def issue_key(
        self,
        account_id: str,
        *,
        name: str | None = None,
        expires_at: datetime | str | None = None,
        env: str = "live",
    ) -> tuple[str, str]:
        """A new key for the account: returns (key_id, plaintext); the plaintext is not kept."""
        acct = self.get_account(account_id)
        label = v.opt_text(name, "name", max_len=200)
        exp = parse_time(expires_at, "expires_at")
        plaintext = generate_key(env)
        digest = hash_key(plaintext, self._pepper)
        key_id = f"key_{secrets.token_hex(8)}"
        with self._write():
            self.db.execute(
                "INSERT INTO identity_keys (id, account_id, key_hash, display_prefix, name,"
                " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key_id, acct.id, digest, display_prefix(plaintext), label, now_iso(), exp),
            )
            self._log(
                "key.issue",
                account_id=acct.id,
                org_id=acct.org_id,
                key_hash=digest,
                detail={"key_id": key_id, "expires_at": exp},
            )
        self._invalidate(key_hashes=[digest])
        return key_id, plaintext

    def revoke_key(self, key_id: str, reason: str | None = None) -> ApiKey:
        """Revoke a key (idempotent): it stops working here at once, elsewhere within the bound."""
        row = self.db.query_one("SELECT * FROM identity_keys WHERE id = ?", (key_id,))
        if row is None:
            raise NotFoundError(f"no API key {key_id!r}")
        if row["revoked_at"] is None:
            with self._write():
                self.db.execute(
                    "UPDATE identity_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (now_iso(), key_id),
                )
                self._log(
                    "key.revoke",
                    account_id=row["account_id"],
                    key_hash=row["key_hash"],
                    detail={"key_id": key_id, "reason": v.opt_text(reason, "reason")},
                )
            self._invalidate(key_hashes=[row["key_hash"]])
        return self.get_key(key_id)

    def get_key(self, key_id: str) -> ApiKey:
        row = self.db.query_one("SELECT * FROM identity_keys WHERE id = ?", (key_id,))
        if row is None:
            raise NotFoundError(f"no API key {key_id!r}")
        return key_from_row(row)

    def list_keys(self, account_id: str | None = None) -> list[ApiKey]:
        if account_id is None:
            rows = self.db.query("SELECT * FROM identity_keys ORDER BY created_at, id")
        else:
            rows = self.db.query(
                "SELECT * FROM identity_keys WHERE account_id = ? ORDER BY created_at, id",
                (self.get_account(account_id).id,),
            )
        return [key_from_row(r) for r in rows]
