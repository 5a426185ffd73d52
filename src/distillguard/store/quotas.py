"""Quotas: requests per minute, tokens per minute and concurrent requests (work in progress)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """One subject's limits; None means "the policy default", see `QuotaPolicy`."""

    rpm: int | None = None
    tpm: int | None = None
    concurrency: int | None = None
