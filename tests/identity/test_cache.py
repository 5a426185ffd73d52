"""Snapshot cache coherence: in-process at once, across replicas within the sync interval."""

from __future__ import annotations

import threading
import time

import pytest

from distillguard.identity import IdentityService, IdentityUnavailable
from distillguard.identity.snapshot import combined_screening


def test_cache_serves_without_database(ids: IdentityService) -> None:
    acct = ids.create_account("a")
    _, key = ids.issue_key(acct.id)
    assert ids.authenticate(key) is not None
    calls = 0
    real = ids.db.query_one

    def counting(*a, **k):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return real(*a, **k)

    ids.db.query_one = counting  # type: ignore[method-assign]
    for _ in range(100):
        assert ids.authenticate(key) is not None
    assert calls == 0


def test_other_replica_sees_revocation_within_interval(make_ids) -> None:  # type: ignore[no-untyped-def]
    admin: IdentityService = make_ids()
    replica: IdentityService = make_ids(sync_interval_s=0.2)
    acct = admin.create_account("a")
    key_id, key = admin.issue_key(acct.id)
    assert replica.authenticate(key) is not None  # now cached on the replica
    admin.revoke_key(key_id)
    revoked_at = time.monotonic()
    # the replica may keep serving its cached snapshot, but for at most one interval
    while replica.authenticate(key) is not None:
        assert time.monotonic() - revoked_at < 0.2 + 0.5  # interval + generous slack
        time.sleep(0.01)
    assert replica.authenticate(key) is None


def test_other_replica_sees_suspension_and_org_change(make_ids) -> None:  # type: ignore[no-untyped-def]
    admin: IdentityService = make_ids()
    replica: IdentityService = make_ids(sync_interval_s=0.05)
    org = admin.create_org("O", "US")
    acct = admin.create_account("m", type="organization", org_id=org.id)
    _, key = admin.issue_key(acct.id)
    assert replica.authenticate(key).active  # type: ignore[union-attr]
    admin.suspend_org(org.id, "review")
    admin.update_org(org.id, hq_country="CN")
    time.sleep(0.1)
    snap = replica.authenticate(key)
    assert snap is not None and not snap.active and snap.org is not None
    assert snap.org.hq_country == "CN"
    assert replica.sync() == 0  # nothing left to apply


def test_key_issued_after_negative_lookup_works(make_ids) -> None:  # type: ignore[no-untyped-def]
    ids: IdentityService = make_ids()
    acct = ids.create_account("a")
    _, key = ids.issue_key(acct.id)
    assert ids.authenticate(key) is not None
    ids2: IdentityService = make_ids(sync_interval_s=0.05)
    assert ids2.authenticate(key) is not None


def test_no_stale_snapshot_after_revoke_returns(ids: IdentityService) -> None:
    """Threads hammer authenticate while the key is revoked: no call that starts after
    revoke_key() returned may succeed (the load/invalidate race is closed)."""
    acct = ids.create_account("a")
    key_id, key = ids.issue_key(acct.id)
    done = threading.Event()
    revoked = threading.Event()
    late_successes: list[int] = []

    def worker() -> None:
        while not done.is_set():
            after = revoked.is_set()
            ok = ids.authenticate(key) is not None
            if after and ok:
                late_successes.append(1)
            ids._cache.clear() if not after else None  # force DB loads racing the revoke

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    ids.revoke_key(key_id)
    revoked.set()
    time.sleep(0.1)
    done.set()
    for t in threads:
        t.join()
    assert late_successes == []


def test_fail_closed_when_store_unreachable(make_ids) -> None:  # type: ignore[no-untyped-def]
    ids: IdentityService = make_ids(sync_interval_s=0.02, max_stale_s=1.0)
    acct = ids.create_account("a")
    _, key = ids.issue_key(acct.id)
    assert ids.authenticate(key) is not None

    def down(*a, **k):  # type: ignore[no-untyped-def]
        raise OSError("connection refused")

    ids.sync()  # last successful poll: now
    ids.db.query = down  # type: ignore[method-assign]
    time.sleep(0.05)
    assert ids.authenticate(key) is not None  # poll fails, but within max_stale: served
    time.sleep(1.1)
    with pytest.raises(IdentityUnavailable, match="unreachable"):
        ids.authenticate(key)


def test_last_used_is_flushed(make_ids) -> None:  # type: ignore[no-untyped-def]
    ids: IdentityService = make_ids(usage_flush_s=0.0)
    acct = ids.create_account("a")
    key_id, key = ids.issue_key(acct.id)
    assert ids.get_key(key_id).last_used_at is None
    ids.authenticate(key)
    ids.flush_usage()
    assert ids.get_key(key_id).last_used_at is not None


@pytest.mark.parametrize(
    ("acct", "org", "want"),
    [
        ("clear", None, "clear"),
        ("unknown", "hit", "hit"),
        ("unknown", "clear", "clear"),
        ("clear", "stale", "stale"),
        ("review", "hit", "hit"),
        ("hit", "clear", "hit"),
        ("clear", "review", "review"),
    ],
)
def test_combined_screening(acct: str, org: str | None, want: str) -> None:
    assert combined_screening(acct, org) == want


def test_authenticate_async_hits_in_loop_and_misses_in_a_thread(make_ids) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    ids: IdentityService = make_ids(sync_interval_s=60.0)
    acct = ids.create_account("a")
    key_id, key = ids.issue_key(acct.id)
    loop_thread: list[int] = []
    real_load = ids._load

    def load(digest: str):  # type: ignore[no-untyped-def]
        loop_thread.append(threading.get_ident())
        return real_load(digest)

    ids._load = load  # type: ignore[method-assign]

    async def run() -> None:
        me = threading.get_ident()
        snap = await ids.authenticate_async(key)  # miss: loaded in a worker thread
        assert snap is not None and loop_thread and loop_thread[0] != me
        assert await ids.authenticate_async(key) is snap  # hit: no load
        assert len(loop_thread) == 1
        assert await ids.authenticate_async("garbage") is None
        ids.revoke_key(key_id)
        assert await ids.authenticate_async(key) is None

    asyncio.run(run())


def test_authenticate_async_answers_from_cache_while_another_thread_polls(make_ids) -> None:  # type: ignore[no-untyped-def]
    """A due poll that another thread is already running does not send every concurrent
    request to a thread: a cached key is answered in the loop (as `_maybe_sync` would
    answer it from the cache too); past `max_stale_s` it is still refused."""
    import asyncio

    from distillguard.identity import IdentityUnavailable

    ids: IdentityService = make_ids(sync_interval_s=0.0)  # a poll is always due
    acct = ids.create_account("a")
    _, key = ids.issue_key(acct.id)
    assert ids.authenticate(key) is not None  # cached
    calls: list[str] = []
    real = ids._authenticate

    def spy(k: str, digest: str):  # type: ignore[no-untyped-def]
        calls.append(k)
        return real(k, digest)

    ids._authenticate = spy  # type: ignore[method-assign]

    async def run() -> None:
        assert await ids.authenticate_async(key) is not None  # no poll running: thread
        assert len(calls) == 1
        with ids._sync_lock:  # another thread is polling
            assert await ids.authenticate_async(key) is not None
            assert len(calls) == 1  # answered in the loop
            ids._last_sync -= ids.max_stale_s + 1  # and the last good poll is too old
            with pytest.raises(IdentityUnavailable):
                await ids.authenticate_async(key)

    asyncio.run(run())


def test_replica_misses_no_change_under_concurrent_writers(make_ids) -> None:  # type: ignore[no-untyped-def]
    """Writers on 4 threads change risk while a replica polls: once writes stop and one
    interval passes, every cached snapshot on the replica shows the final values (a poll
    that skipped an uncommitted version would leave a stale snapshot forever)."""
    admin: IdentityService = make_ids()
    replica: IdentityService = make_ids(sync_interval_s=0.02)
    accts = [admin.create_account(f"a{i}") for i in range(8)]
    keys = [admin.issue_key(a.id)[1] for a in accts]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            for k in keys:
                replica.authenticate(k)

    def write(offset: int) -> None:
        writer: IdentityService = make_ids()
        for step in range(1, 16):
            for a in accts[offset::4]:
                writer.set_risk(a.id, step / 20, "suspicious", f"c{step}")

    poller = threading.Thread(target=poll)
    poller.start()
    writers = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    poller.join()
    time.sleep(0.05)
    for k in keys:
        snap = replica.authenticate(k)
        assert snap is not None and snap.account.risk_campaign == "c15"


def test_redis_notice_makes_revocation_near_immediate(make_ids, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    """With notify_url, another replica drops a revoked key long before its (here 30 s)
    poll interval; without a notice it would keep the cached snapshot."""
    channel_ids = [
        make_ids(sync_interval_s=30.0, notify_url=redis_url),
        make_ids(sync_interval_s=30.0, notify_url=redis_url),
    ]
    admin, replica = channel_ids
    try:
        assert replica._notifier is not None and replica._notifier.wait_ready()
        acct = admin.create_account("a")
        key_id, key = admin.issue_key(acct.id)
        assert replica.authenticate(key) is not None
        admin.revoke_key(key_id)
        deadline = time.monotonic() + 2.0
        while replica.authenticate(key) is not None:
            assert time.monotonic() < deadline, "notice not received"
            time.sleep(0.01)
    finally:
        for s in channel_ids:
            s.close()


def test_authenticate_async_hit_path_keeps_the_guarantees(make_ids) -> None:  # type: ignore[no-untyped-def]
    """The async hit path skips per-hit poll/staleness calls; the bounds must still hold."""
    import asyncio
    from datetime import UTC, datetime, timedelta

    admin: IdentityService = make_ids()
    replica: IdentityService = make_ids(sync_interval_s=0.1, max_stale_s=0.5, usage_flush_s=60.0)
    acct = admin.create_account("a")
    key_id, key = admin.issue_key(acct.id)
    soon = (datetime.now(UTC) + timedelta(seconds=0.4)).isoformat().replace("+00:00", "Z")
    _, expiring = admin.issue_key(acct.id, expires_at=soon)

    async def run() -> None:
        assert await replica.authenticate_async(key) is not None
        assert await replica.authenticate_async(expiring) is not None  # cached, not expired
        admin.revoke_key(key_id)  # another replica's change: seen within one interval
        revoked_at = time.monotonic()
        while await replica.authenticate_async(key) is not None:
            assert time.monotonic() - revoked_at < 0.1 + 0.5
            await asyncio.sleep(0.01)
        while await replica.authenticate_async(expiring) is not None:
            assert datetime.now(UTC) < datetime.fromisoformat(soon) + timedelta(seconds=0.5)
            await asyncio.sleep(0.01)
        # last use is recorded as wall-clock time from the cache hits
        before = datetime.now(UTC)
        _, fresh = admin.issue_key(acct.id)
        assert await replica.authenticate_async(fresh) is not None
        assert await replica.authenticate_async(fresh) is not None
        replica.flush_usage()
        used = [k.last_used_at for k in replica.list_keys(acct.id) if k.last_used_at]
        assert used
        newest = max(datetime.fromisoformat(u.replace("Z", "+00:00")) for u in used)
        assert abs((newest - before).total_seconds()) < 5.0

        def down(*a, **k):  # type: ignore[no-untyped-def]
            raise OSError("connection refused")

        replica.db.query = down  # type: ignore[method-assign]
        time.sleep(0.15)
        assert await replica.authenticate_async(fresh) is not None  # within max_stale
        time.sleep(0.6)
        with pytest.raises(IdentityUnavailable, match="unreachable"):
            await replica.authenticate_async(fresh)

    asyncio.run(run())
