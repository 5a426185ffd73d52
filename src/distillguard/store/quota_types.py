"""Quota vocabulary shared by both backends: limits, policy, leases, admissions.

Semantics are described in `distillguard.store.quotas` and docs/identity.md.
"""

from __future__ import annotations

import itertools
import secrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from distillguard.errors import DistillguardError


class QuotaUnavailable(DistillguardError):
    """The shared quota store cannot be reached: refuse the request (fail closed, 503)."""

    exit_code = 3


@dataclass(frozen=True, slots=True)
class Limits:
    """One subject's limits; None means "the policy default", see `QuotaPolicy`."""

    rpm: int | None = None
    tpm: int | None = None
    concurrency: int | None = None


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """Defaults for subjects without their own limits (None in a default = unlimited)."""

    account: Limits = Limits(rpm=600, tpm=400_000, concurrency=64)
    org: Limits = Limits(rpm=6_000, tpm=4_000_000, concurrency=512)
    window_s: float = 60.0
    lease_ttl_s: float = 300.0
    concurrency_retry_s: float = 1.0  # Retry-After hint when only concurrency is full
    shadow: bool = False  # admit everything, but report what would have been refused

    def __post_init__(self) -> None:
        if self.window_s <= 0 or self.lease_ttl_s <= 0:
            raise DistillguardError("quota window_s and lease_ttl_s must be positive")
        # a negative default would mean "refuse all" in memory but "unlimited" in Redis
        for who, lim in (("account", self.account), ("org", self.org)):
            for what in ("rpm", "tpm", "concurrency"):
                check_tokens(getattr(lim, what), f"quota {who} {what}")

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> QuotaPolicy:
        """From config keys rpm, tpm, concurrency, org_rpm, org_tpm, org_concurrency,
        window_s, lease_ttl_s, shadow (missing keys keep their defaults).

        A malformed value is a `DistillguardError` naming the key; `shadow` must be a real
        boolean, since the string "false" would otherwise switch enforcement off."""
        d = cls()

        def pick(key: str, default: int | None) -> int | None:
            v = cfg.get(key)
            if v is None:
                return default
            if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
                raise DistillguardError(f"quota {key} must be a whole number, got {v!r}")
            try:
                return int(v)
            except (TypeError, ValueError):
                raise DistillguardError(f"quota {key} must be a whole number, got {v!r}") from None

        def seconds(key: str, default: float) -> float:
            v = cfg.get(key)
            if v is None:
                return default
            try:
                return float(v)
            except (TypeError, ValueError):
                raise DistillguardError(
                    f"quota {key} must be a number of seconds, got {v!r}"
                ) from None

        shadow = cfg.get("shadow", False)
        if not isinstance(shadow, bool):
            raise DistillguardError(f"quota shadow must be true or false, got {shadow!r}")
        return cls(
            account=Limits(
                pick("rpm", d.account.rpm),
                pick("tpm", d.account.tpm),
                pick("concurrency", d.account.concurrency),
            ),
            org=Limits(
                pick("org_rpm", d.org.rpm),
                pick("org_tpm", d.org.tpm),
                pick("org_concurrency", d.org.concurrency),
            ),
            window_s=seconds("window_s", d.window_s),
            lease_ttl_s=seconds("lease_ttl_s", d.lease_ttl_s),
            shadow=shadow,
        )

    def resolve(self, own: Limits | None, default: Limits) -> Limits:
        if own is None:
            return default
        return Limits(
            own.rpm if own.rpm is not None else default.rpm,
            own.tpm if own.tpm is not None else default.tpm,
            own.concurrency if own.concurrency is not None else default.concurrency,
        )


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof of admission: pass it to `release` (and `renew` for long requests)."""

    id: str
    account_id: str
    org_id: str | None
    tokens: int  # the estimate reserved at admission


@dataclass(frozen=True, slots=True)
class Admission:
    ok: bool
    reason: str | None = None  # e.g. "account_rpm", "org_tpm", "account_concurrency"
    retry_after_s: float | None = None  # None with ok=False: can never fit (limit 0, est > tpm)
    lease: Lease | None = None
    remaining_requests: int | None = None  # smallest over the subjects; None = unlimited
    remaining_tokens: int | None = None
    shadow: bool = False  # admitted only because the policy is in shadow mode

    def headers(self) -> dict[str, str]:
        """OpenAI-style rate-limit headers for the response."""
        h: dict[str, str] = {}
        if self.remaining_requests is not None:
            h["x-ratelimit-remaining-requests"] = str(self.remaining_requests)
        if self.remaining_tokens is not None:
            h["x-ratelimit-remaining-tokens"] = str(self.remaining_tokens)
        if not self.ok and self.retry_after_s is not None:
            h["retry-after"] = str(max(1, int(self.retry_after_s + 0.999)))
        return h


Subjects = list[tuple[str, str, Limits]]  # (name, subject key, limits), see `subjects_of`


class Quotas(ABC):
    """What the gateway calls; both backends subclass it.

    The public sync and async signatures are written once here: each validates its
    arguments, resolves the subjects (the account and, if any, its organisation) and
    hands them to the backend's hooks. The `*_async` hooks default to the sync ones,
    which is right for a backend that never blocks on I/O (memory: microseconds under a
    lock, never held across an await); Redis overrides them with real async calls.
    """

    policy: QuotaPolicy

    def acquire(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        *,
        account_limits: Limits | None = None,
        org_limits: Limits | None = None,
    ) -> Admission:
        subjects = self._admit_subjects(account_id, org_id, est_tokens, account_limits, org_limits)
        return self._acquire(account_id, org_id, est_tokens, subjects)

    async def acquire_async(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        *,
        account_limits: Limits | None = None,
        org_limits: Limits | None = None,
    ) -> Admission:
        subjects = self._admit_subjects(account_id, org_id, est_tokens, account_limits, org_limits)
        return await self._acquire_async(account_id, org_id, est_tokens, subjects)

    def release(self, lease: Lease, actual_tokens: int | None = None) -> None:
        check_tokens(actual_tokens, "actual_tokens")
        self._release(lease, actual_tokens, self._lease_subjects(lease))

    async def release_async(self, lease: Lease, actual_tokens: int | None = None) -> None:
        check_tokens(actual_tokens, "actual_tokens")
        await self._release_async(lease, actual_tokens, self._lease_subjects(lease))

    def renew(self, lease: Lease) -> bool:
        """Extend the lease's concurrency slot by `lease_ttl_s`; False if it had expired."""
        return self._renew(lease, self._lease_subjects(lease))

    async def renew_async(self, lease: Lease) -> bool:
        return await self._renew_async(lease, self._lease_subjects(lease))

    def _admit_subjects(
        self,
        account_id: str,
        org_id: str | None,
        est_tokens: int,
        account_limits: Limits | None,
        org_limits: Limits | None,
    ) -> Subjects:
        check_tokens(est_tokens, "est_tokens")
        return subjects_of(self.policy, account_id, org_id, account_limits, org_limits)

    def _lease_subjects(self, lease: Lease) -> Subjects:
        return subjects_of(self.policy, lease.account_id, lease.org_id, None, None)

    # ---- backend hooks -----------------------------------------------------------------
    @abstractmethod
    def _acquire(
        self, account_id: str, org_id: str | None, est_tokens: int, subjects: Subjects
    ) -> Admission:
        """Check and charge every subject in one atomic step."""

    @abstractmethod
    def _release(self, lease: Lease, actual: int | None, subjects: Subjects) -> None: ...

    @abstractmethod
    def _renew(self, lease: Lease, subjects: Subjects) -> bool: ...

    async def _acquire_async(
        self, account_id: str, org_id: str | None, est_tokens: int, subjects: Subjects
    ) -> Admission:
        return self._acquire(account_id, org_id, est_tokens, subjects)

    async def _release_async(self, lease: Lease, actual: int | None, subjects: Subjects) -> None:
        self._release(lease, actual, subjects)

    async def _renew_async(self, lease: Lease, subjects: Subjects) -> bool:
        return self._renew(lease, subjects)


def check_tokens(n: int | None, what: str) -> None:
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        raise DistillguardError(f"{what} must be a non-negative integer, got {n!r}")


def subjects_of(
    policy: QuotaPolicy,
    account_id: str,
    org_id: str | None,
    account_limits: Limits | None,
    org_limits: Limits | None,
) -> Subjects:
    """(name, subject key, limits) for the account and, if any, its organisation."""
    out = [("account", f"a:{account_id}", policy.resolve(account_limits, policy.account))]
    if org_id is not None:
        out.append(("org", f"o:{org_id}", policy.resolve(org_limits, policy.org)))
    return out


class LeaseIds:
    """Unique lease ids without a system call each: a random per-process prefix + a counter."""

    def __init__(self) -> None:
        self._prefix = f"l{secrets.token_hex(6)}."
        self._count = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._count)}"
