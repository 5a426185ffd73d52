"""Organisations: headquarters and ultimate parent's headquarters (what the country rules
read), allowlists, limits and status; every change validated and audited.
"""

from __future__ import annotations

from typing import Any

import orjson

from distillguard.identity import validate as v
from distillguard.identity.errors import ConflictError, NotFoundError
from distillguard.identity.models import Org
from distillguard.identity.records_base import RecordsBase
from distillguard.identity.rows import jsonable, limit_columns, now_iso, org_from_row
from distillguard.store.quotas import Limits


class OrgRecords(RecordsBase):
    """Create, read and change organisations."""

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
