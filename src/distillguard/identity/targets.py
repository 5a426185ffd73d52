"""Which names to screen against denied-party lists, for each account and organisation.

Why here: the identity records know who stands behind a customer (the organisation, its
ultimate parent, the beneficial owners, the resellers in between), and RULES.md section 3
asks to screen customers *and their beneficial owners*. The screening part matches
names; this module says which names belong to which subject, so that a hit on any of
them can be recorded with `set_screening_status(subject_id, ...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from distillguard.identity.models import KycRecord
from distillguard.identity.records import IdentityRecords


@dataclass(frozen=True, slots=True)
class ScreeningTarget:
    subject_id: str  # the account or organisation whose status a hit changes
    # account_holder | organisation | ultimate_parent | legal_name | beneficial_owner | reseller
    role: str
    name: str
    schema: str  # FollowTheMoney schema: Person, Organization, LegalEntity (either)
    country: str | None


def _from_record(subject_id: str, rec: KycRecord, own_name: str) -> list[ScreeningTarget]:
    out = []
    if rec.name.casefold() != own_name.casefold():
        country = rec.address.country if rec.address else None
        out.append(ScreeningTarget(subject_id, "legal_name", rec.name, "LegalEntity", country))
    out += [
        ScreeningTarget(subject_id, "beneficial_owner", o.name, "LegalEntity", o.nationality)
        for o in rec.beneficial_owners
    ]
    out += [
        ScreeningTarget(subject_id, "reseller", r.name, "Organization", r.country)
        for r in rec.reseller_chain
    ]
    return out


def screening_targets(ids: IdentityRecords, subject_id: str | None = None) -> list[ScreeningTarget]:
    """Names to screen for one account/organisation (by id), or for all of them."""
    orgs = ids.list_orgs()
    accounts = ids.list_accounts()
    if subject_id is not None:
        orgs = [o for o in orgs if o.id == subject_id]
        accounts = [a for a in accounts if a.id == subject_id]
    out: list[ScreeningTarget] = []
    for o in orgs:
        out.append(ScreeningTarget(o.id, "organisation", o.name, "Organization", o.hq_country))
        if o.parent_name:
            out.append(
                ScreeningTarget(
                    o.id, "ultimate_parent", o.parent_name, "Organization", o.parent_hq_country
                )
            )
        rec = ids.get_kyc_record(o.id)
        if rec is not None:
            out += _from_record(o.id, rec, o.name)
    for a in accounts:
        rec = ids.get_kyc_record(a.id)
        if a.type == "individual":
            out.append(ScreeningTarget(a.id, "account_holder", a.name, "Person", a.nationality))
        if rec is not None:
            out += _from_record(a.id, rec, a.name)
    return out
