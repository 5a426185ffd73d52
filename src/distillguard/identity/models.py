"""Identity records: organisations, accounts, API keys and the KYC customer record.

Why frozen dataclasses: records are read on the request path from a shared cache by
many threads; immutability means a snapshot can never change under a request. The KYC
record follows the minimum the Commerce IaaS rule asks of a Customer Identification
Program (89 FR 5698; shared RULES.md section 3): see docs/identity.md for the mapping.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.identity import validate as v
from distillguard.store.quotas import Limits


def _check_keys(data: object, cls: type, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise DistillguardError(f"{where}: an object is required")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise DistillguardError(
            f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return data


@dataclass(frozen=True, slots=True)
class Address:
    lines: tuple[str, ...]
    city: str
    country: str
    region: str | None = None
    postal_code: str | None = None

    @classmethod
    def from_dict(cls, data: object, where: str = "address") -> Address:
        d = _check_keys(data, cls, where)
        lines = v.str_list(d.get("lines"), f"{where}.lines", max_items=5)
        if not lines:
            raise DistillguardError(f"{where}.lines: at least one address line is required")
        return cls(
            lines=tuple(lines),
            city=v.text(d.get("city"), f"{where}.city", max_len=200),
            country=v.country(d.get("country"), f"{where}.country"),
            region=v.opt_text(d.get("region"), f"{where}.region", max_len=200),
            postal_code=v.opt_text(d.get("postal_code"), f"{where}.postal_code", max_len=32),
        )


@dataclass(frozen=True, slots=True)
class Payment:
    """How the account pays (means) and where the money comes from (source)."""

    means: str
    source: str
    country: str | None = None  # country of the paying bank or card issuer

    @classmethod
    def from_dict(cls, data: object, where: str = "payment") -> Payment:
        d = _check_keys(data, cls, where)
        return cls(
            means=v.choice(d.get("means"), v.PAYMENT_MEANS, f"{where}.means"),
            source=v.text(d.get("source"), f"{where}.source"),
            country=v.opt_country(d.get("country"), f"{where}.country"),
        )


@dataclass(frozen=True, slots=True)
class BeneficialOwner:
    name: str
    nationality: str | None = None
    share_pct: float | None = None  # ownership or control, 0-100

    @classmethod
    def from_dict(cls, data: object, where: str = "beneficial_owner") -> BeneficialOwner:
        d = _check_keys(data, cls, where)
        share = d.get("share_pct")
        if share is not None and (
            isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 100
        ):
            raise DistillguardError(f"{where}.share_pct: {share!r} is not a number from 0 to 100")
        return cls(
            name=v.text(d.get("name"), f"{where}.name", max_len=300),
            nationality=v.opt_country(d.get("nationality"), f"{where}.nationality"),
            share_pct=None if share is None else float(share),
        )


@dataclass(frozen=True, slots=True)
class Reseller:
    """One link of the chain between the provider and the customer (provider side first)."""

    name: str
    country: str
    contact_email: str | None = None

    @classmethod
    def from_dict(cls, data: object, where: str = "reseller") -> Reseller:
        d = _check_keys(data, cls, where)
        mail = d.get("contact_email")
        return cls(
            name=v.text(d.get("name"), f"{where}.name", max_len=300),
            country=v.country(d.get("country"), f"{where}.country"),
            contact_email=None if mail in (None, "") else v.email(mail, f"{where}.contact_email"),
        )


@dataclass(frozen=True, slots=True)
class KycRecord:
    """The customer record of a Customer Identification Program (IaaS KYC rule)."""

    name: str
    address: Address | None = None
    payment: Payment | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    access_ips: tuple[str, ...] = ()
    admin_ips: tuple[str, ...] = ()
    beneficial_owners: tuple[BeneficialOwner, ...] = ()
    reseller_chain: tuple[Reseller, ...] = ()
    verified_by: str | None = None
    notes: str | None = None

    @classmethod
    def from_dict(cls, data: object, where: str = "kyc") -> KycRecord:
        d = _check_keys(data, cls, where)

        def many(name: str, fn: Any, limit: int = 50) -> tuple[Any, ...]:
            items = d.get(name) or []
            if not isinstance(items, (list, tuple)):
                raise DistillguardError(f"{where}.{name}: a list is required")
            if len(items) > limit:
                raise DistillguardError(f"{where}.{name}: more than {limit} items")
            return tuple(fn(x, f"{where}.{name}[{i}]") for i, x in enumerate(items))

        addr, pay = d.get("address"), d.get("payment")
        return cls(
            name=v.text(d.get("name"), f"{where}.name", max_len=300),
            address=None if addr is None else Address.from_dict(addr, f"{where}.address"),
            payment=None if pay is None else Payment.from_dict(pay, f"{where}.payment"),
            emails=many("emails", v.email),
            phones=many("phones", v.phone),
            access_ips=many("access_ips", v.ip_network, 500),
            admin_ips=many("admin_ips", v.ip_network, 500),
            beneficial_owners=many("beneficial_owners", BeneficialOwner.from_dict),
            reseller_chain=many("reseller_chain", Reseller.from_dict, 10),
            verified_by=v.opt_text(d.get("verified_by"), f"{where}.verified_by", max_len=200),
            notes=v.opt_text(d.get("notes"), f"{where}.notes", max_len=4000),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def missing(self, *, organisation: bool) -> list[str]:
        """Minimum-record fields that are still empty (beneficial owners: organisations only)."""
        gaps = [
            name
            for name, ok in (
                ("address", self.address is not None),
                ("payment", self.payment is not None),
                ("emails", bool(self.emails)),
                ("phones", bool(self.phones)),
                ("access_ips", bool(self.access_ips)),
                ("beneficial_owners", bool(self.beneficial_owners) or not organisation),
            )
            if not ok
        ]
        return gaps


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    name: str
    hq_country: str
    parent_name: str | None
    parent_hq_country: str | None
    allowlists: tuple[str, ...]
    status: str
    status_reason: str | None
    screening_status: str
    screening_ref: str | None
    screening_at: str | None
    limits: Limits
    created_at: str
    updated_at: str
    version: int

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["allowlists"] = list(self.allowlists)
        return d


def _epoch(ts: str | None) -> float | None:
    if ts is None:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class Review:
    """A reviewer's disposition of the detector's risk for one account.

    `cleared` (reviewed, benign): the detector keeps scoring, but its verdict stops driving
    enforcement until the review lapses: at `expires_at`, once the detector's score reaches
    `score + margin` (`score`: the detector's score when the review was made), or once the
    account is linked into a campaign other than the one it was reviewed in.
    `confirmed` (reviewed, distillation): the default rules block the account whatever the
    detector says, until `expires_at` if one was given.
    """

    disposition: str
    reviewer: str
    reason: str
    at: str
    score: float
    verdict: str
    campaign: str | None = None
    margin: float | None = None
    expires_at: str | None = None

    def lapse(self, score: float, campaign: str | None, now: float | None = None) -> str | None:
        """Why the review no longer holds given the detector's state now (None: it holds)."""
        exp = _epoch(self.expires_at)
        if exp is not None and (time.time() if now is None else now) >= exp:
            return "expired"
        if self.disposition != "cleared":
            return None
        if self.margin is not None and score >= self.score + self.margin - 1e-9:
            return "score_rose"
        if campaign is not None and campaign != self.campaign:
            return "new_campaign"
        return None

    def state(self, score: float, campaign: str | None, now: float | None = None) -> str:
        """ "cleared" or "confirmed" while the review holds, else "lapsed"."""
        return "lapsed" if self.lapse(score, campaign, now) else self.disposition

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    org_id: str | None
    name: str
    type: str
    nationality: str | None
    status: str
    status_reason: str | None
    kyc_level: str
    screening_status: str
    screening_ref: str | None
    screening_at: str | None
    risk_score: float
    risk_verdict: str
    risk_campaign: str | None
    risk_at: str | None
    limits: Limits
    created_at: str
    updated_at: str
    version: int
    review: Review | None = None  # a reviewer's disposition (None: the detector decides)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """What is stored about a key: never the key itself."""

    id: str
    account_id: str
    display_prefix: str
    name: str | None
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["active"] = self.active
        return d


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """The result of issuing a key: the plaintext exists only here."""

    key: ApiKey
    plaintext: str = field(repr=False)
