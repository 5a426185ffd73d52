"""IdentityService: organisations, accounts, keys, KYC records and cached authentication.

Why one service object: every change goes through it, so every change is validated,
written with an audit row in one transaction, and invalidates the snapshot cache.

Cache coherence (the bound on how long a revoked key or suspended account keeps working):
- in this process: immediately (the change invalidates the cache before returning);
- on other replicas: within `sync_interval_s` (default 1 s) plus one database round trip.
  Each process polls `identity_changes` for versions above the last it saw, at most once
  per interval, on the first `authenticate()` after the interval; no background thread.
- if the database cannot be reached, cached snapshots are served for at most
  `max_stale_s` (default 30 s) after the last successful poll; after that
  `authenticate()` raises `IdentityUnavailable` (fail closed; the gateway answers 503).
`last_used_at` of keys is written in batches every `usage_flush_s` (default 60 s).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import orjson

from distillguard.errors import DistillguardError
from distillguard.identity.errors import IdentityUnavailable
from distillguard.identity.keys import hash_key, well_formed
from distillguard.identity.models import Account, KycRecord
from distillguard.identity.notify import ChangeNotifier
from distillguard.identity.records import IdentityRecords
from distillguard.identity.rows import epoch_iso
from distillguard.identity.snapshot import AccountSnapshot, SnapshotCache
from distillguard.store.db import Database

log = logging.getLogger(__name__)

_MAX_CHANGES_PER_SYNC = 10_000
_MAX_KEY_LEN = 128


class IdentityService(IdentityRecords):
    """Identity records plus cached, coherent authentication for the gateway."""

    def __init__(
        self,
        db: Database,
        *,
        sync_interval_s: float = 1.0,
        max_stale_s: float = 30.0,
        usage_flush_s: float = 60.0,
        key_pepper: bytes | None = None,
        cache_size: int = 100_000,
        notify_url: str | None = None,
    ) -> None:
        super().__init__(db, key_pepper=key_pepper)
        self.sync_interval_s = sync_interval_s
        self.max_stale_s = max(max_stale_s, sync_interval_s)
        self.usage_flush_s = usage_flush_s
        self._cache = SnapshotCache(cache_size)
        self._lookup = self._cache.lookup
        self._sync_lock = threading.Lock()
        self._used: dict[str, float] = {}  # key id -> monotonic time of its last use
        now = time.monotonic()
        self._last_sync = now
        self._next_try = now
        self._last_flush = now
        self._seen_version = self._current_version()
        self._sync_due = False  # set by a pub/sub notice: poll on the next call
        self._notifier: ChangeNotifier | None = None
        if notify_url:
            self._notifier = ChangeNotifier(notify_url, self._on_notice)

    def _invalidate(
        self, *, key_hashes: list[str] | None = None, subjects: list[str | None] | None = None
    ) -> None:
        self._cache.invalidate(key_hashes=key_hashes or (), subjects=subjects or ())
        if self._notifier is not None:
            self._notifier.publish()

    def _on_notice(self) -> None:
        self._sync_due = True

    def close(self) -> None:
        """Stop the change listener (if any) and write pending last-used times."""
        if self._notifier is not None:
            self._notifier.close()
            self._notifier = None
        self.flush_usage()

    # -- snapshots and authentication ---------------------------------------------------
    def snapshot(self, account_id: str, *, key_id: str | None = None) -> AccountSnapshot:
        """A fresh snapshot of an account (from the database, not the cache)."""
        expires = self.get_key(key_id).expires_at if key_id is not None else None
        return self._snapshot(self.get_account(account_id), key_id, expires)

    def _snapshot(self, acct: Account, key_id: str | None, expires: str | None) -> AccountSnapshot:
        org = self.get_org(acct.org_id) if acct.org_id else None
        subjects = [acct.id] + ([org.id] if org else [])
        rows = self.db.query(
            f"SELECT subject_id, record FROM identity_kyc WHERE subject_id IN "
            f"({', '.join('?' for _ in subjects)})",
            subjects,
        )
        records = {r["subject_id"]: r["record"] for r in rows}
        # the account's own record, else (members) the organisation's
        raw, is_org_record = records.get(acct.id), False
        if raw is None and org is not None:
            raw, is_org_record = records.get(org.id), True
        rec = KycRecord.from_dict(orjson.loads(raw)) if raw is not None else None
        missing = tuple(rec.missing(organisation=is_org_record)) if rec else ()
        return AccountSnapshot(
            account=acct,
            org=org,
            key_id=key_id,
            key_expires_at=expires,
            kyc_missing=missing,
            kyc_record=rec is not None,
        )

    def authenticate(self, key: str) -> AccountSnapshot | None:
        """The snapshot for a presented key, or None (malformed, unknown, revoked, expired).

        A suspended account still yields a snapshot (status "suspended") so that the
        decision can say why; check `snap.active` or let the rules block it.
        """
        if len(key) > _MAX_KEY_LEN:
            return None
        return self._authenticate(key, hash_key(key, self._pepper))

    def _authenticate(self, key: str, digest: str) -> AccountSnapshot | None:
        self._maybe_sync()
        entry = self._cache.get(digest)
        if entry is not None:  # only well-formed keys are ever cached
            snap = entry.snap
        elif not well_formed(key):  # typos and garbage never reach the database
            return None
        else:
            snap = self._load(digest)
        return self._accept(snap)

    async def authenticate_async(self, key: str) -> AccountSnapshot | None:
        """`authenticate` for an event loop: cache hits are answered in the loop; anything
        that needs the database (a miss, or a due cross-replica poll) runs in a thread.

        The hit path is one hash, one clock read and one dict lookup: while the last poll
        is younger than `sync_interval_s` and no change notice waits, no poll is due and
        the cache cannot be stale (`max_stale_s >= sync_interval_s`), so neither needs a
        check of its own. Everything else takes the general path below.
        """
        if len(key) > _MAX_KEY_LEN:
            return None
        digest = hash_key(key, self._pepper)
        now = time.monotonic()
        if not self._sync_due and now - self._last_sync < self.sync_interval_s:
            entry = self._lookup(digest)
            if entry is not None and (snap := entry.snap) is not None:
                if snap.expires_at is not None and time.time() >= snap.expires_at:
                    return None
                self._used[snap.key_id or ""] = now
                return snap
        # No poll due (as `_maybe_sync` decides, also while a retry waits), or another
        # thread is polling right now (where `_maybe_sync` would use the cache as well):
        # answer a cached key here instead of queueing a thread hand-off per request.
        if not self._poll_due(now) or self._sync_lock.locked():
            self._check_stale(now)
            entry = self._cache.get(digest)
            if entry is not None:
                return self._accept(entry.snap)
        return await asyncio.to_thread(self._authenticate, key, digest)

    def _accept(self, snap: AccountSnapshot | None) -> AccountSnapshot | None:
        if snap is None or snap.expired():
            return None
        self._used[snap.key_id or ""] = time.monotonic()
        return snap

    def _load(self, digest: str) -> AccountSnapshot | None:
        generation = self._cache.generation
        try:
            row = self.db.query_one(
                "SELECT id, account_id, revoked_at, expires_at FROM identity_keys"
                " WHERE key_hash = ?",
                (digest,),
            )
            snap = None
            if row is not None and row["revoked_at"] is None:
                acct = self.get_account(row["account_id"])
                snap = self._snapshot(acct, row["id"], row["expires_at"])
        except DistillguardError:
            raise
        except Exception as exc:
            raise IdentityUnavailable(f"identity store unavailable: {exc}") from None
        self._cache.put(digest, snap, generation, ttl=self.sync_interval_s)
        return snap

    def _poll_due(self, now: float) -> bool:
        """A poll is due (interval over, or a change notice) and no failed poll's retry waits."""
        due = self._sync_due or now - self._last_sync >= self.sync_interval_s
        return due and now >= self._next_try

    def _maybe_sync(self) -> None:
        now = time.monotonic()
        if not self._poll_due(now) or self._sync_lock.locked():
            self._check_stale(now)
            return
        if not self._sync_lock.acquire(blocking=False):
            return  # another thread is polling right now
        try:
            self.sync()
        except Exception as exc:
            self._next_try = now + min(1.0, self.sync_interval_s)
            log.warning("identity sync failed: %s", exc)
        finally:
            self._sync_lock.release()
        self._check_stale(now)

    def _check_stale(self, now: float) -> None:
        if now - self._last_sync > self.max_stale_s:
            raise IdentityUnavailable(
                f"identity store unreachable for {now - self._last_sync:.0f} s; refusing to "
                "serve cached credentials"
            )

    def sync(self) -> int:
        """Poll changes made by other processes and drop their cache entries; returns count."""
        started = time.monotonic()
        self._sync_due = False  # a notice arriving during the query sets it again
        rows = self.db.query(
            "SELECT version, org_id, account_id, key_hash FROM identity_changes"
            " WHERE version > ? ORDER BY version LIMIT ?",
            (self._seen_version, _MAX_CHANGES_PER_SYNC + 1),
        )
        if len(rows) > _MAX_CHANGES_PER_SYNC:
            self._cache.clear()
            self._own_versions.clear()
            self._seen_version = self._current_version()
        elif rows:
            own = self._own_versions
            theirs = [r for r in rows if int(r["version"]) not in own]
            own.difference_update(int(r["version"]) for r in rows)
            if theirs:
                # as the writer invalidated locally: the account when the change names one
                # (its org_id is only for the audit trail), else the organisation (all of its
                # members); invalidating the org for every account change would drop the
                # whole org's cache on each detector risk update
                self._cache.invalidate(
                    key_hashes=[r["key_hash"] for r in theirs if r["key_hash"]],
                    subjects=[r["account_id"] or r["org_id"] for r in theirs],
                )
            self._seen_version = int(rows[-1]["version"])
        self._last_sync = started
        if started - self._last_flush >= self.usage_flush_s:
            self.flush_usage()
        return len(rows)

    def flush_usage(self) -> None:
        """Write the keys' last-used times (batched; called from `sync`, and at shutdown)."""
        used, self._used = self._used, {}
        self._last_flush = time.monotonic()
        to_wall = time.time() - self._last_flush
        rows = [(epoch_iso(t + to_wall), k) for k, t in used.items() if k]
        if rows:
            self.db.executemany("UPDATE identity_keys SET last_used_at = ? WHERE id = ?", rows)

    def cache_size(self) -> int:
        return len(self._cache)
