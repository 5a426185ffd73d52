"""IdentityRecords: organisations, accounts, KYC records and API keys in the database.

Why one class for every write: each change is validated, written together with its
audit row (`identity_changes`) in one transaction, and reported to `_invalidate` so the
snapshot cache (in `IdentityService`) drops what it changed. The class is built in
layers, one module each: `records_base` (transaction, audit log, actor), `records_orgs`,
`records_accounts`, and here KYC records and API keys.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import orjson

from distillguard.identity import validate as v
from distillguard.identity.errors import NotFoundError
from distillguard.identity.keys import display_prefix, generate_key, hash_key
from distillguard.identity.models import ApiKey, KycRecord
from distillguard.identity.records_accounts import AccountRecords
from distillguard.identity.records_base import ACTOR
from distillguard.identity.rows import key_from_row, now_iso, parse_time

__all__ = ["ACTOR", "IdentityRecords"]


class IdentityRecords(AccountRecords):
    """Create, read and change identity records (no caching: see `IdentityService`)."""

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
