"""The pooled upstream HTTP client (aiohttp).

Why aiohttp: measured on this machine, a minimal proxy on httpx's AsyncClient fell from
607 to 185 requests/s as concurrency rose from 1 to 64, while the same proxy on aiohttp's
client held 1,800-3,000 requests/s. One ClientSession with one pooled connector serves
every upstream. Retries happen only on connect errors (the request never left), never
after bytes were sent: a completion is not idempotent (it costs tokens).
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from distillguard.gateway.config import ModelRoute, UpstreamConfig
from distillguard.gateway.errors import ApiError


class Upstream:
    """One shared aiohttp session; `send()` returns an open response (caller releases it)."""

    def __init__(self, cfg: UpstreamConfig) -> None:
        self.cfg = cfg
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(
            limit=self.cfg.pool_size,
            limit_per_host=self.cfg.pool_size_per_host,
            ttl_dns_cache=300,
            keepalive_timeout=30,
        )
        timeout = aiohttp.ClientTimeout(
            total=self.cfg.total_timeout_s,
            connect=self.cfg.connect_timeout_s,
            sock_read=self.cfg.read_timeout_s,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("upstream client not started")
        return self._session

    async def send(self, route: ModelRoute, path: str, body: bytes) -> aiohttp.ClientResponse:
        """POST `body` to the route's base URL + path; retry only when the connect failed."""
        headers: dict[str, Any] = {"Content-Type": "application/json"}
        if route.api_key:
            headers["Authorization"] = f"Bearer {route.api_key}"
        url = route.url + path
        attempt = 0
        while True:
            try:
                return await self.session.post(url, data=body, headers=headers)
            except aiohttp.ClientConnectorError as exc:
                attempt += 1
                if attempt > self.cfg.connect_retries:
                    raise ApiError(
                        "upstream_unavailable",
                        f"the upstream for model {route.name!r} is unreachable ({exc.os_error})",
                    ) from None
                await asyncio.sleep(0.05 * attempt)
            except (TimeoutError, aiohttp.ServerTimeoutError):
                raise ApiError(
                    "upstream_timeout", f"the upstream for model {route.name!r} timed out"
                ) from None
            except aiohttp.ClientError as exc:
                raise ApiError(
                    "upstream_error",
                    f"the upstream for model {route.name!r} failed: {type(exc).__name__}",
                ) from None

    async def get_json(self, route: ModelRoute, path: str) -> Any:
        """GET a small JSON document (health checks); raises ApiError when down."""
        try:
            async with self.session.get(
                route.url + path, timeout=aiohttp.ClientTimeout(total=2)
            ) as r:
                return await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ApiError("upstream_unavailable", f"{route.name}: {type(exc).__name__}") from None
