"""Quota semantics, identical on the in-process backend and on a real Redis server."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from distillguard.errors import DistillguardError
from distillguard.store.quotas import (
    Limits,
    MemoryQuotas,
    QuotaPolicy,
    Quotas,
    RedisQuotas,
    open_quotas,
)

Make = Callable[..., Quotas]
NO_LIMITS = Limits(None, None, None)


@pytest.fixture(params=["memory", "redis"])
def make_q(request: pytest.FixtureRequest) -> Iterator[Make]:
    made: list[RedisQuotas] = []
    prefix = f"dgtest:{uuid.uuid4().hex[:10]}"

    def make(**policy: object) -> Quotas:
        pol = QuotaPolicy(**{"account": NO_LIMITS, "org": NO_LIMITS, **policy})  # type: ignore[arg-type]
        if request.param == "memory":
            return MemoryQuotas(pol)
        q = RedisQuotas(request.getfixturevalue("redis_url"), pol, prefix=f"{prefix}:{len(made)}")
        made.append(q)
        return q

    yield make
    for q in made:
        for k in q._r.scan_iter(match=f"{prefix}:*"):
            q._r.delete(k)
        q.close()


def test_rpm_limit_and_retry_after(make_q: Make) -> None:
    q = make_q(account=Limits(rpm=3))
    assert all(q.acquire("a", None, 0).ok for _ in range(3))
    a = q.acquire("a", None, 0)
    assert not a.ok and a.reason == "account_rpm" and a.lease is None
    assert a.retry_after_s is not None and 59.0 < a.retry_after_s <= 60.0
    assert a.headers()["retry-after"] == "60"
    assert q.acquire("b", None, 0).ok  # other accounts are not affected


def test_tpm_reserve_then_reconcile(make_q: Make) -> None:
    q = make_q(account=Limits(tpm=1000))
    first = q.acquire("a", None, 600)
    assert first.ok and first.remaining_tokens == 400 and first.lease is not None
    second = q.acquire("a", None, 600)
    assert not second.ok and second.reason == "account_tpm"
    q.release(first.lease, actual_tokens=100)  # refund of 500 tokens
    third = q.acquire("a", None, 600)
    assert third.ok and third.remaining_tokens == 300
    q.release(third.lease, actual_tokens=900)  # type: ignore[arg-type]  # debt: 100 + 900
    assert not q.acquire("a", None, 1).ok
    too_big = q.acquire("a", None, 1001)
    assert not too_big.ok and too_big.retry_after_s is None  # can never fit


def test_concurrency_and_release(make_q: Make) -> None:
    q = make_q(account=Limits(concurrency=2))
    l1, l2 = q.acquire("a", None, 10).lease, q.acquire("a", None, 10).lease
    assert l1 and l2
    third = q.acquire("a", None, 10)
    assert not third.ok and third.reason == "account_concurrency" and third.retry_after_s == 1.0
    q.release(l1, 5)
    q.release(l1, 5)  # idempotent
    assert q.acquire("a", None, 10).ok
    assert not q.acquire("a", None, 10).ok


def test_account_and_org_all_or_nothing(make_q: Make) -> None:
    q = make_q(account=Limits(rpm=5), org=Limits(rpm=3))
    assert q.acquire("a", "o", 0).ok and q.acquire("b", "o", 0).ok and q.acquire("a", "o", 0).ok
    refused = q.acquire("b", "o", 0)
    assert not refused.ok and refused.reason == "org_rpm"
    # the refusal charged nothing anywhere
    assert q.usage(account_id="b", org_id="o")["requests"] == 1  # type: ignore[attr-defined]
    assert q.usage(org_id="o")["requests"] == 3  # type: ignore[attr-defined]
    # the account limit binds first when both would refuse
    q2 = make_q(account=Limits(rpm=1), org=Limits(rpm=1))
    assert q2.acquire("a", "o", 0).ok
    assert q2.acquire("a", "o", 0).reason == "account_rpm"


def test_per_subject_limits_override_defaults(make_q: Make) -> None:
    q = make_q(account=Limits(rpm=1))
    assert q.acquire("vip", None, 0, account_limits=Limits(rpm=3)).ok
    assert q.acquire("vip", None, 0, account_limits=Limits(rpm=3)).ok
    assert q.acquire("vip", None, 0, account_limits=Limits(tpm=5)).reason == "account_rpm"
    blocked = q.acquire("zero", None, 0, account_limits=Limits(rpm=0))
    assert not blocked.ok and blocked.retry_after_s is None


def test_sliding_window_and_lease_expiry(make_q: Make) -> None:
    q = make_q(account=Limits(rpm=2, concurrency=1), window_s=0.4, lease_ttl_s=0.4)
    first = q.acquire("a", None, 0)  # never released: a "crashed replica"
    assert first.ok
    assert q.acquire("a", None, 0).reason == "account_concurrency"
    time.sleep(0.45)
    assert q.renew(first.lease) is False  # type: ignore[arg-type]  # already expired
    again = q.acquire("a", None, 0)
    assert again.ok  # slot and window freed by expiry
    assert q.renew(again.lease) is True  # type: ignore[arg-type]


def test_late_excess_is_charged_once(make_q: Make) -> None:
    q = make_q(account=Limits(tpm=100), window_s=0.3)
    a = q.acquire("a", None, 10)
    assert a.lease is not None
    time.sleep(0.35)  # the admission charge has left the window
    q.release(a.lease, actual_tokens=90)
    q.release(a.lease, actual_tokens=90)  # idempotent: the excess is charged once
    assert q.usage(account_id="a")["tokens"] == 80  # type: ignore[attr-defined]
    assert q.acquire("a", None, 20).ok and not q.acquire("a", None, 1).ok


def test_shadow_mode_admits_but_reports(make_q: Make) -> None:
    q = make_q(account=Limits(rpm=1), shadow=True)
    assert q.acquire("a", None, 0).shadow is False
    second = q.acquire("a", None, 0)
    assert second.ok and second.shadow and second.reason == "account_rpm" and second.lease


def test_async_api(make_q: Make) -> None:
    q = make_q(account=Limits(rpm=2, tpm=100))

    async def run() -> list[bool]:
        results = await asyncio.gather(*(q.acquire_async("a", "o", 10) for _ in range(5)))
        lease = next(r.lease for r in results if r.lease)
        await q.release_async(lease, 1)
        assert await q.renew_async(lease) is False  # released
        if isinstance(q, RedisQuotas):
            await q.aclose()
        return [r.ok for r in results]

    assert sorted(asyncio.run(run())) == [False, False, False, True, True]


def test_bad_input() -> None:
    q = MemoryQuotas()
    with pytest.raises(DistillguardError):
        q.acquire("a", None, -1)
    with pytest.raises(DistillguardError):
        QuotaPolicy(window_s=0)
    assert isinstance(open_quotas(None), MemoryQuotas)


def test_policy_from_config() -> None:
    p = QuotaPolicy.from_mapping({"rpm": 5, "org_tpm": 7, "window_s": 30, "shadow": True})
    assert p.account == Limits(5, 400_000, 64) and p.org == Limits(6_000, 7, 512)
    assert p.window_s == 30 and p.shadow


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"rpm": "abc"}, "quota rpm must be a whole number"),
        ({"org_tpm": 1.5}, "quota org_tpm must be a whole number"),
        ({"rpm": -1}, "non-negative"),  # -1 would mean "unlimited" to the Redis script
        ({"window_s": "soon"}, "quota window_s must be a number of seconds"),
        ({"shadow": "false"}, "quota shadow must be true or false"),  # not bool("false")
    ],
)
def test_policy_from_bad_config(cfg: dict[str, object], message: str) -> None:
    with pytest.raises(DistillguardError, match=message):
        QuotaPolicy.from_mapping(cfg)


def test_unreachable_redis_fails_closed() -> None:
    from distillguard.store.quotas import QuotaUnavailable

    q = RedisQuotas("redis://127.0.0.1:1/0", QuotaPolicy(), timeout_s=0.5)
    with pytest.raises(QuotaUnavailable, match="unavailable"):
        q.acquire("a", None, 1)

    async def run() -> None:
        with pytest.raises(QuotaUnavailable):
            await q.acquire_async("a", None, 1)
        await q.aclose()

    asyncio.run(run())


def test_renewed_lease_outlives_its_key_ttl(redis_url: str) -> None:
    """A renewed lease keeps its slot even when no other request refreshes the keys."""
    prefix = f"dgtest:{uuid.uuid4().hex[:10]}"
    pol = QuotaPolicy(account=Limits(None, None, 1), org=NO_LIMITS, window_s=0.2, lease_ttl_s=1.0)
    q = RedisQuotas(redis_url, pol, prefix=prefix)
    try:
        lease = q.acquire("a", None, 0).lease
        assert lease is not None
        # 2.5 s in all: past the TTL the keys got at admission (2 s). Each renewal comes
        # 0.5 s before the lease would expire: room for a late wake-up on a loaded machine
        # (with 0.1 s of room the test failed at load 7).
        for _ in range(5):
            time.sleep(0.5)
            assert q.renew(lease)
        assert q.acquire("a", None, 0).reason == "account_concurrency"
        fly = next(iter(q._r.scan_iter(match=f"{prefix}:*:fly")))
        assert q._r.pttl(fly) > 500
    finally:
        for k in q._r.scan_iter(match=f"{prefix}:*"):
            q._r.delete(k)
        q.close()
