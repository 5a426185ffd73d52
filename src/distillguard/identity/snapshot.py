"""AccountSnapshot, what the gateway knows about a caller, and the in-memory cache of them.

Why a snapshot: the rules need account, organisation, KYC, screening and risk on every
request; reading them from the database each time would put a query in the hot path. A
snapshot is built once per key and cached; `IdentityService` invalidates entries at once
for changes made in this process and within `sync_interval_s` for changes made by other
replicas (see `service.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from distillguard.identity.models import Account, Org
from distillguard.store.quotas import Limits

# Most severe first: a combined status is the most severe of its parts.
_SEVERITY = ("hit", "review", "stale", "unknown", "clear")


def combined_screening(account_status: str, org_status: str | None) -> str:
    """The screening status the rules see for an account.

    An organisation member's own status is often never screened ("unknown") because the
    organisation is the customer; then the organisation's status stands. Otherwise the
    more severe of the two wins (a hit on either side is a hit).
    """
    if org_status is None:
        return account_status
    if account_status == "unknown":
        return org_status
    return min(account_status, org_status, key=_SEVERITY.index)


def _epoch(ts: str | None) -> float | None:
    if ts is None:
        return None
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """An immutable view of one caller (key, account, organisation) at one moment."""

    account: Account
    org: Org | None
    key_id: str | None = None
    key_expires_at: str | None = None
    kyc_missing: tuple[str, ...] = ()
    kyc_record: bool = False
    loaded_at: float = field(default_factory=time.time)
    _created: float = field(default=0.0, repr=False)
    _expires: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_created", _epoch(self.account.created_at) or 0.0)
        object.__setattr__(self, "_expires", _epoch(self.key_expires_at))

    @property
    def account_id(self) -> str:
        return self.account.id

    @property
    def org_id(self) -> str | None:
        return self.org.id if self.org else None

    @property
    def status(self) -> str:
        """ "suspended" when the account or its organisation is suspended."""
        if self.account.status != "active" or (self.org and self.org.status != "active"):
            return "suspended"
        return "active"

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def screening_status(self) -> str:
        return combined_screening(
            self.account.screening_status, self.org.screening_status if self.org else None
        )

    @property
    def account_limits(self) -> Limits:
        return self.account.limits

    @property
    def org_limits(self) -> Limits | None:
        return self.org.limits if self.org else None

    @property
    def expires_at(self) -> float | None:
        """The key's expiry as epoch seconds (None: never expires)."""
        return self._expires

    def expired(self, now: float | None = None) -> bool:
        return self._expires is not None and (now or time.time()) >= self._expires

    def to_context(self, now: float | None = None) -> dict[str, Any]:
        """The account/org/screening/risk parts of the rules' access context (fresh dict)."""
        a, o = self.account, self.org
        age = max(0.0, ((now or time.time()) - self._created) / 86400.0)
        return {
            "account": {
                "id": a.id,
                "type": a.type,
                "status": self.status,
                "kyc_level": a.kyc_level,
                "nationality": a.nationality,
                "age_days": age,
                "kyc_record_complete": self.kyc_record and not self.kyc_missing,
            },
            "org": {
                "id": o.id if o else None,
                "name": o.name if o else None,
                "hq_country": o.hq_country if o else None,
                "parent_hq_country": o.parent_hq_country if o else None,
                "allowlists": list(o.allowlists) if o else [],
                "status": o.status if o else None,
            },
            "screening": {
                "status": self.screening_status,
                "account_status": a.screening_status,
                "org_status": o.screening_status if o else None,
                "ref": a.screening_ref or (o.screening_ref if o else None),
            },
            "risk": self.risk_context(now),
        }

    def risk_context(self, now: float | None = None) -> dict[str, Any]:
        """The detector's state, and the reviewer's disposition as it stands at `now`:
        `review` is "none", "cleared" or "confirmed" while the review holds, "lapsed" once
        it no longer does (the detector's verdict drives enforcement again)."""
        a, r = self.account, self.account.review
        return {
            "score": a.risk_score,
            "verdict": a.risk_verdict,
            "campaign": a.risk_campaign,
            "review": "none" if r is None else r.state(a.risk_score, a.risk_campaign, now),
            "reviewed_by": r.reviewer if r else None,
            "reviewed_score": r.score if r else None,
        }


@dataclass(slots=True)
class _Entry:
    snap: AccountSnapshot | None  # None: a known-bad key (negative entry)
    until: float  # monotonic deadline for negative entries; inf for positive ones


class SnapshotCache:
    """key hash -> snapshot, with reverse maps so a change to an account or org drops its keys.

    A generation counter closes the load/invalidate race: a snapshot loaded before an
    invalidation is not stored after it.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: dict[str, _Entry] = {}
        self._by_subject: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._max = max_entries
        self.generation = 0
        # Raw lookup for the hot path (a bound dict method, no call frame of ours): it does
        # not expire negative entries, so use it only to find positive ones; `get` otherwise.
        self.lookup = self._entries.get

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key_hash: str) -> _Entry | None:
        e = self._entries.get(key_hash)
        if e is not None and e.snap is None and time.monotonic() >= e.until:
            return None
        return e

    def put(self, key_hash: str, snap: AccountSnapshot | None, generation: int, ttl: float) -> None:
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= self._max:
                self._drop(next(iter(self._entries)))
            until = float("inf") if snap is not None else time.monotonic() + ttl
            self._entries[key_hash] = _Entry(snap, until)
            if snap is not None:
                for subject in (snap.account.id, snap.org_id):
                    if subject:
                        self._by_subject.setdefault(subject, set()).add(key_hash)

    def _drop(self, key_hash: str) -> None:
        e = self._entries.pop(key_hash, None)
        if e is not None and e.snap is not None:
            for subject in (e.snap.account.id, e.snap.org_id):
                keys = self._by_subject.get(subject or "")
                if keys is not None:
                    keys.discard(key_hash)
                    if not keys:
                        del self._by_subject[subject or ""]

    def invalidate(
        self, *, key_hashes: Iterable[str] = (), subjects: Iterable[str | None] = ()
    ) -> None:
        """Drop entries by key hash and by account/org id."""
        with self._lock:
            self.generation += 1
            for h in key_hashes:
                self._drop(h)
            for s in subjects:
                if s:
                    for h in list(self._by_subject.get(s, ())):
                        self._drop(h)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._by_subject.clear()
