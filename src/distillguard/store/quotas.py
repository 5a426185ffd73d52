"""Quotas: requests per minute, tokens per minute and concurrent requests, exact under load.

Why this design: a gateway that checks usage before a call and counts it after lets N
concurrent requests all pass the same check (LiteLLM #18730: TPM overrun six-fold). Here
admission is one atomic step per request that checks AND charges every subject at once
(the account and its organisation; all-or-nothing), so no interleaving of callers, on
one replica or many, can admit past a limit.

Semantics (the same for both backends; see docs/identity.md):
- rpm: at most `rpm` admissions in any sliding window of `window_s` (default 60 s).
- tpm: a request is admitted only if the tokens charged in the window plus its estimate
  fit in `tpm`. `release(lease, actual)` replaces the estimate by the actual usage: a
  refund when smaller, a debt that holds back later requests when larger (if the
  admission already left the window, the excess is charged at release time).
- concurrency: at most `concurrency` unexpired leases. A lease expires `lease_ttl_s`
  after admission (default 300 s) unless renewed, so a crashed replica cannot hold
  slots for longer than that; long streams call `renew(lease)`.
Backends: `MemoryQuotas` (`quotas_memory.py`; embedded mode; one process; thread- and
asyncio-safe) and `RedisQuotas` (`quotas_redis.py`; several replicas; two Lua scripts,
Redis server time, cluster-safe keys). Shared types, and the `Quotas` base class that
holds the public sync and async methods of both, are in `quota_types.py`.
"""

from __future__ import annotations

from distillguard.store.quota_types import (
    Admission,
    Lease,
    Limits,
    QuotaPolicy,
    Quotas,
    QuotaUnavailable,
)
from distillguard.store.quotas_memory import MemoryQuotas
from distillguard.store.quotas_redis import RedisQuotas

__all__ = [
    "Admission",
    "Lease",
    "Limits",
    "MemoryQuotas",
    "QuotaPolicy",
    "QuotaUnavailable",
    "Quotas",
    "RedisQuotas",
    "open_quotas",
]


def open_quotas(redis_url: str | None = None, policy: QuotaPolicy | None = None) -> Quotas:
    """`RedisQuotas` when a Redis URL is configured, else `MemoryQuotas`."""
    if redis_url:
        return RedisQuotas(redis_url, policy)
    return MemoryQuotas(policy)
