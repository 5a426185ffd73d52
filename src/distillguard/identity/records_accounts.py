"""Accounts: individuals and organisation members, with status, KYC level, limits, and
the screening and risk states other parts record; every change validated and audited.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.identity import validate as v
from distillguard.identity.errors import NotFoundError
from distillguard.identity.models import Account
from distillguard.identity.records_orgs import OrgRecords
from distillguard.identity.rows import (
    account_from_row,
    epoch_iso,
    jsonable,
    limit_columns,
    now_iso,
    parse_epoch,
    parse_time,
)
from distillguard.store.quotas import Limits

CLEARED_TTL_DAYS = 90.0  # a cleared review is looked at again after this, by default
CLEARED_MARGIN = 0.15  # the rise of the detector's score that ends a cleared review
MAX_TTL_DAYS = 3650.0
REVIEW_COLUMNS = (
    "review_disposition", "review_by", "review_reason", "review_at", "review_score",
    "review_verdict", "review_campaign", "review_margin", "review_expires_at",
)  # fmt: skip


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
        """Store the detector's state for an account (no write when nothing moved).

        This is the detector's channel: the next detector update replaces what it wrote.
        A reviewer's decision goes through `set_review`, whose columns this never touches.
        """
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

    def set_review(
        self,
        account_id: str,
        disposition: str,
        *,
        reviewer: str,
        reason: str,
        expires_at: datetime | str | None = None,
        ttl_days: float | None = None,
        margin: float | None = None,
    ) -> Account:
        """Record a reviewer's disposition of the account's detector risk (replaces any).

        `cleared`: the detector's verdict stops driving enforcement until the review lapses:
        at its expiry (default `CLEARED_TTL_DAYS`), once the detector's score reaches the
        score at review time plus `margin` (default `CLEARED_MARGIN`), or once the account
        joins another campaign. `confirmed`: blocked by the default rules whatever the
        detector says (no expiry unless one is given). The detector's score, verdict and
        campaign at review time are stored with it.
        """
        disp = v.choice(disposition, v.REVIEW_DISPOSITIONS, "disposition")
        who = v.text(reviewer, "reviewer", max_len=200)
        why = v.text(reason, "reason", max_len=2000)
        if expires_at is not None and ttl_days is not None:
            raise DistillguardError("give expires_at or ttl_days, not both")
        exp = parse_time(expires_at, "expires_at")
        if ttl_days is not None:
            if (
                isinstance(ttl_days, bool)
                or not isinstance(ttl_days, (int, float))
                or not 0 < ttl_days <= MAX_TTL_DAYS
            ):
                raise DistillguardError(
                    f"ttl_days: {ttl_days!r} is not a number of days from 0 to {MAX_TTL_DAYS}"
                )
        elif exp is None and disp == "cleared":
            ttl_days = CLEARED_TTL_DAYS
        if ttl_days is not None:
            exp = epoch_iso(time.time() + float(ttl_days) * 86400.0)
        elif exp is not None and parse_epoch(exp) <= time.time():
            raise DistillguardError(f"expires_at: {exp} is in the past")
        if margin is not None and (
            isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 < margin <= 1
        ):
            raise DistillguardError(f"margin: {margin!r} is not a number above 0, at most 1")
        if disp == "cleared" and margin is None:
            margin = CLEARED_MARGIN
        if disp == "confirmed" and margin is not None:
            raise DistillguardError("margin applies to cleared reviews only")
        acct = self.get_account(account_id)
        cols: dict[str, Any] = {
            "review_disposition": disp,
            "review_by": who,
            "review_reason": why,
            "review_at": now_iso(),
            "review_score": acct.risk_score,
            "review_verdict": acct.risk_verdict,
            "review_campaign": acct.risk_campaign,
            "review_margin": None if margin is None else float(margin),
            "review_expires_at": exp,
        }
        detail = {k.removeprefix("review_"): val for k, val in cols.items()}
        return self._update_account(account_id, "account.review", cols, detail)

    def remove_review(self, account_id: str, *, reviewer: str, reason: str) -> Account:
        """Withdraw the reviewer's disposition: the detector decides again."""
        who = v.text(reviewer, "reviewer", max_len=200)
        why = v.text(reason, "reason", max_len=2000)
        acct = self.get_account(account_id)
        if acct.review is None:
            raise NotFoundError(f"account {acct.id!r} has no review to remove")
        cols = {c: None for c in REVIEW_COLUMNS}
        detail = {"by": who, "reason": why, "was": acct.review.disposition}
        return self._update_account(account_id, "account.review_removed", cols, detail)

    def risk_states(self) -> dict[str, tuple[str, str | None, float]]:
        """Account id -> (verdict, campaign, score) as stored, for every account the detector
        does not hold benign (what a restarted detector compares its rebuilt state with)."""
        rows = self.db.query(
            "SELECT id, risk_verdict, risk_campaign, risk_score FROM identity_accounts"
            " WHERE risk_verdict <> 'benign'"
        )
        return {
            r["id"]: (r["risk_verdict"], r["risk_campaign"], float(r["risk_score"])) for r in rows
        }

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
