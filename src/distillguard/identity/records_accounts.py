"""Accounts: individuals and organisation members, with status, KYC level, limits, and
the screening and risk states other parts record; every change validated and audited.
"""

from __future__ import annotations

from typing import Any

from distillguard.errors import DistillguardError
from distillguard.identity import validate as v
from distillguard.identity.errors import NotFoundError
from distillguard.identity.models import Account
from distillguard.identity.records_orgs import OrgRecords
from distillguard.identity.rows import account_from_row, jsonable, limit_columns, now_iso
from distillguard.store.quotas import Limits


class AccountRecords(OrgRecords):
    """Create, read and change accounts (and the screening state of accounts and orgs)."""

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
