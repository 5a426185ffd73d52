"""Differential tests: the quota backends against a brute-force reference model.

The model keeps every admission and recomputes each limit from scratch; the backends must
take exactly the same decisions for random sequences of acquire / release / time steps
(memory backend, with a fake clock) and, within one window, Redis must agree with memory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillguard.store.quotas import Lease, Limits, MemoryQuotas, QuotaPolicy, RedisQuotas

ACCT = Limits(rpm=6, tpm=60, concurrency=3)
ORG = Limits(rpm=9, tpm=90, concurrency=4)
WINDOW, TTL = 10.0, 25.0


@dataclass
class Charge:
    at: float
    tokens: int
    request: bool
    lease: str


@dataclass
class Model:
    """Brute force: each subject's charges and leases, rescanned on every decision."""

    charges: dict[str, list[Charge]] = field(default_factory=dict)
    leases: dict[str, dict[str, float]] = field(default_factory=dict)

    def admit(self, now: float, subjects: list[tuple[str, Limits]], est: int, lease: str) -> bool:
        for key, lim in subjects:
            live = [c for c in self.charges.get(key, []) if c.at > now - WINDOW]
            reqs = sum(c.request for c in live)
            toks = sum(c.tokens for c in live)
            fly = sum(1 for exp in self.leases.get(key, {}).values() if exp > now)
            if lim.rpm is not None and reqs + 1 > lim.rpm:
                return False
            if lim.tpm is not None and toks + est > lim.tpm:
                return False
            if lim.concurrency is not None and fly + 1 > lim.concurrency:
                return False
        for key, _ in subjects:
            self.charges.setdefault(key, []).append(Charge(now, est, True, lease))
            self.leases.setdefault(key, {})[lease] = now + TTL
        return True

    def release(self, now: float, keys: list[str], lease: str, est: int, actual: int) -> None:
        for key in keys:
            self.leases.get(key, {}).pop(lease, None)
            mine = [c for c in self.charges.get(key, []) if c.lease == lease and c.request]
            if mine and mine[0].at > now - WINDOW:
                mine[0].tokens = actual
            elif actual > est and not any(
                c.lease == lease and not c.request for c in self.charges.get(key, [])
            ):
                self.charges.setdefault(key, []).append(Charge(now, actual - est, False, lease))


ops = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.sampled_from(["a", "b"]), st.integers(0, 40)),
        st.tuples(st.just("release"), st.integers(0, 30), st.integers(0, 50)),
        st.tuples(st.just("tick"), st.floats(0.0, 8.0), st.just(0)),
    ),
    min_size=1,
    max_size=60,
)


def _subjects(account: str) -> list[tuple[str, Limits]]:
    return [(f"a:{account}", ACCT), ("o:org", ORG)]


@settings(max_examples=150, deadline=None)
@given(ops=ops)
def test_memory_backend_matches_model(ops: list[tuple[str, object, object]]) -> None:
    now = [0.0]
    q = MemoryQuotas(
        QuotaPolicy(account=ACCT, org=ORG, window_s=WINDOW, lease_ttl_s=TTL), clock=lambda: now[0]
    )
    model = Model()
    leases: list[Lease] = []
    for op, x, y in ops:
        if op == "tick":
            now[0] += float(x)  # type: ignore[arg-type]
        elif op == "acquire":
            adm = q.acquire(str(x), "org", int(y))  # type: ignore[call-overload]
            lease_id = adm.lease.id if adm.lease else "-"
            assert adm.ok == model.admit(now[0], _subjects(str(x)), int(y), lease_id)  # type: ignore[call-overload]
            if adm.lease:
                leases.append(adm.lease)
        elif leases:
            # each lease is released once (the contract; repeats are covered in test_quotas.py)
            lease = leases.pop(int(x) % len(leases))  # type: ignore[call-overload]
            q.release(lease, int(y))  # type: ignore[call-overload]
            keys = [k for k, _ in _subjects(lease.account_id)]
            model.release(now[0], keys, lease.id, lease.tokens, int(y))  # type: ignore[call-overload]


@pytest.mark.redis
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=ops)
def test_redis_matches_memory_within_a_window(
    redis_url: str, ops: list[tuple[str, object, object]]
) -> None:
    """No time passes (a 1-hour window): every decision and reason must be identical."""
    pol = QuotaPolicy(account=ACCT, org=ORG, window_s=3600.0, lease_ttl_s=3600.0)
    mem = MemoryQuotas(pol, clock=lambda: 0.0)
    red = RedisQuotas(redis_url, pol, prefix=f"dgtest:{uuid.uuid4().hex[:10]}")
    pairs: list[tuple[Lease, Lease]] = []
    try:
        for op, x, y in ops:
            if op == "acquire":
                a = mem.acquire(str(x), "org", int(y))  # type: ignore[call-overload]
                b = red.acquire(str(x), "org", int(y))  # type: ignore[call-overload]
                assert (a.ok, a.reason, a.remaining_requests, a.remaining_tokens) == (
                    b.ok, b.reason, b.remaining_requests, b.remaining_tokens,
                )  # fmt: skip
                if a.lease and b.lease:
                    pairs.append((a.lease, b.lease))
            elif op == "release" and pairs:
                la, lb = pairs.pop(int(x) % len(pairs))  # type: ignore[call-overload]
                mem.release(la, int(y))  # type: ignore[call-overload]
                red.release(lb, int(y))  # type: ignore[call-overload]
        for acct in ("a", "b"):
            assert mem.usage(account_id=acct) == red.usage(account_id=acct, org_id="org")
    finally:
        for k in red._r.scan_iter(match=f"{red.prefix}:*"):
            red._r.delete(k)
        red.close()
