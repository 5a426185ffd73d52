"""RedisQuotas: the quota semantics of `quotas.py`, shared by every gateway replica.

Why Lua: each admission must check and charge the account and its organisation in one
indivisible step; a Lua script runs atomically inside Redis, so no interleaving of
replicas can over-admit. The scripts (`quotas_acquire.lua`, `quotas_release.lua`) use
Redis's own clock, so clock skew between replicas does not matter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any, cast

from distillguard.errors import DistillguardError
from distillguard.store.quota_types import (
    Admission,
    Lease,
    LeaseIds,
    QuotaPolicy,
    Quotas,
    QuotaUnavailable,
    Subjects,
)


def _script(name: str) -> str:
    return resources.files("distillguard.store").joinpath(name).read_text("utf-8")


_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local found = 0
for i = 1, #KEYS do
  local exp = redis.call('ZSCORE', KEYS[i], ARGV[1])
  if exp and tonumber(exp) > now then
    redis.call('ZADD', KEYS[i], 'XX', now + tonumber(ARGV[2]), ARGV[1])
    -- the key itself must outlive the renewed lease
    if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[2]) + 1000 then
      redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2]) + 1000)
    end
    found = 1
  end
end
return found
"""


@contextmanager
def _unavailable() -> Iterator[None]:
    """A Redis error becomes `QuotaUnavailable`: the caller refuses the request (fail closed)."""
    from redis.exceptions import RedisError

    try:
        yield
    except RedisError as exc:
        raise QuotaUnavailable(f"quota store (Redis) unavailable: {exc}") from None


def _run(script: Any, keys: list[str], args: list[Any]) -> Any:
    with _unavailable():
        return script(keys=keys, args=args)


async def _arun(script: Any, keys: list[str], args: list[Any]) -> Any:
    with _unavailable():
        return await script(keys=keys, args=args)


class RedisQuotas(Quotas):
    """Exact quotas shared by every replica that points at the same Redis.

    Sync methods use a `redis.Redis` client, `*_async` methods a `redis.asyncio.Redis`
    client created on first use (create and use this object within one event loop).
    """

    def __init__(
        self,
        url: str,
        policy: QuotaPolicy | None = None,
        *,
        prefix: str = "dg:q",
        max_connections: int = 64,
        timeout_s: float = 5.0,
    ) -> None:
        import redis

        self.policy = policy or QuotaPolicy()
        self.url = url
        self._max_connections = max_connections
        self._timeout_s = timeout_s
        self.prefix = prefix
        try:
            # A blocking pool: callers beyond `max_connections` wait for a connection
            # (up to `timeout_s`) instead of failing with "Too many connections".
            pool = redis.BlockingConnectionPool.from_url(
                url,
                max_connections=max_connections,
                timeout=timeout_s,
                socket_timeout=timeout_s,
                socket_connect_timeout=timeout_s,
            )
            self._r = redis.Redis(connection_pool=pool)
        except ValueError as exc:
            raise DistillguardError(f"bad Redis URL {url!r}: {exc}") from None
        self._acq_src = _script("quotas_acquire.lua")
        self._rel_src = _script("quotas_release.lua")
        self._acq = self._r.register_script(self._acq_src)
        self._rel = self._r.register_script(self._rel_src)
        self._ren = self._r.register_script(_RENEW)
        self._ar: Any = None
        self._async_scripts: tuple[Any, Any, Any] | None = None
        self._alock = asyncio.Lock()
        self._ids = LeaseIds()

    def _keys(self, account_id: str, org_id: str | None, subjects: list[Any]) -> list[str]:
        tag = f"{{{org_id if org_id is not None else 'a:' + account_id}}}"
        return [f"{self.prefix}:{tag}:{key}:{part}" for _, key, _ in subjects for part in
                ("log", "tok", "fly")]  # fmt: skip

    def _acquire_call(
        self, account_id: str, org_id: str | None, est_tokens: int, subjects: Subjects
    ) -> tuple[list[str], list[Any], Lease]:
        p = self.policy
        lease = Lease(self._ids.next(), account_id, org_id, est_tokens)
        args: list[Any] = [
            lease.id,
            est_tokens,
            int(p.window_s * 1000),
            int(p.lease_ttl_s * 1000),
            1 if p.shadow else 0,
            int(p.concurrency_retry_s * 1000),
        ]
        for name, _, lim in subjects:
            args += [name, *(-1 if x is None else x for x in (lim.rpm, lim.tpm, lim.concurrency))]
        return self._keys(account_id, org_id, subjects), args, lease

    @staticmethod
    def _admission(res: list[Any], lease: Lease, shadow: bool) -> Admission:
        ok, reason, retry_ms, _, rem_req, rem_tok = res
        why = reason.decode() if isinstance(reason, bytes) else str(reason)
        admitted = bool(ok) or shadow
        return Admission(
            ok=admitted,
            reason=why or None,
            retry_after_s=None if admitted or retry_ms < 0 else retry_ms / 1000.0,
            lease=lease if admitted else None,
            remaining_requests=None if rem_req < 0 else int(rem_req),
            remaining_tokens=None if rem_tok < 0 else int(rem_tok),
            shadow=admitted and not ok,
        )

    def _release_call(
        self, lease: Lease, actual: int | None, subjects: Subjects
    ) -> tuple[list[str], list[Any]]:
        args = [lease.id, -1 if actual is None else actual, lease.tokens,
                int(self.policy.window_s * 1000)]  # fmt: skip
        return self._keys(lease.account_id, lease.org_id, subjects), args

    def _renew_call(self, lease: Lease, subjects: Subjects) -> tuple[list[str], list[Any]]:
        keys = self._keys(lease.account_id, lease.org_id, subjects)[2::3]
        return keys, [lease.id, int(self.policy.lease_ttl_s * 1000)]

    def _acquire(
        self, account_id: str, org_id: str | None, est_tokens: int, subjects: Subjects
    ) -> Admission:
        keys, args, lease = self._acquire_call(account_id, org_id, est_tokens, subjects)
        return self._admission(_run(self._acq, keys, args), lease, self.policy.shadow)

    def _release(self, lease: Lease, actual: int | None, subjects: Subjects) -> None:
        _run(self._rel, *self._release_call(lease, actual, subjects))

    def _renew(self, lease: Lease, subjects: Subjects) -> bool:
        return bool(_run(self._ren, *self._renew_call(lease, subjects)))

    def usage(self, account_id: str | None = None, org_id: str | None = None) -> dict[str, int]:
        """Current window usage of one subject: requests, tokens, in-flight leases.

        For an account in an organisation pass both ids (the keys carry the org's tag).
        """
        subj = f"a:{account_id}" if account_id is not None else f"o:{org_id}"
        tag = org_id if org_id is not None else f"a:{account_id}"
        base = f"{self.prefix}:{{{tag}}}:{subj}"
        sec, usec = self._r.time()
        now_ms = sec * 1000 + usec // 1000
        cutoff = now_ms - int(self.policy.window_s * 1000)
        ids = cast(list[bytes], self._r.zrangebyscore(f"{base}:log", f"({cutoff}", "+inf"))
        vals = self._r.hmget(f"{base}:tok", ids) if ids else []
        return {
            "requests": sum(1 for i in ids if not i.endswith(b":o")),
            "tokens": sum(int(x or 0) for x in vals),
            "inflight": int(self._r.zcount(f"{base}:fly", f"({now_ms}", "+inf")),
        }

    async def _scripts(self) -> tuple[Any, Any, Any]:
        if self._async_scripts is None:
            async with self._alock:
                if self._async_scripts is None:
                    import redis.asyncio as aredis

                    apool = aredis.BlockingConnectionPool.from_url(
                        self.url,
                        max_connections=self._max_connections,
                        timeout=self._timeout_s,
                        socket_timeout=self._timeout_s,
                        socket_connect_timeout=self._timeout_s,
                    )
                    self._ar = aredis.Redis(connection_pool=apool)
                    self._async_scripts = (
                        self._ar.register_script(self._acq_src),
                        self._ar.register_script(self._rel_src),
                        self._ar.register_script(_RENEW),
                    )
        return self._async_scripts

    async def _acquire_async(
        self, account_id: str, org_id: str | None, est_tokens: int, subjects: Subjects
    ) -> Admission:
        keys, args, lease = self._acquire_call(account_id, org_id, est_tokens, subjects)
        acq, _, _ = await self._scripts()
        return self._admission(await _arun(acq, keys, args), lease, self.policy.shadow)

    async def _release_async(self, lease: Lease, actual: int | None, subjects: Subjects) -> None:
        keys, args = self._release_call(lease, actual, subjects)
        _, rel, _ = await self._scripts()
        await _arun(rel, keys, args)

    async def _renew_async(self, lease: Lease, subjects: Subjects) -> bool:
        keys, args = self._renew_call(lease, subjects)
        _, _, ren = await self._scripts()
        return bool(await _arun(ren, keys, args))

    def close(self) -> None:
        self._r.close()

    async def aclose(self) -> None:
        if self._ar is not None:
            await self._ar.aclose()
        self._r.close()
