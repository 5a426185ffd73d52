"""Shared pieces of the gateway's request path: ASGI types, endpoint constants, the
per-request state (`Req`) and the state every part of the app reads (`AppBase`).

Why a base: the app is split by job (request.py: parsing and context; decision.py:
rules, refusals and quotas; forwarding.py: upstream relay and streaming; app.py: ASGI
entry, endpoints, events). They are mixins of one object, so the hot path keeps plain
attribute access and method calls, with no extra indirection per request.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from distillguard.gateway.adapters import Parts
from distillguard.gateway.config import GatewayConfig, ModelRoute
from distillguard.gateway.errors import ApiError
from distillguard.gateway.metrics import Metrics
from distillguard.gateway.sink import EventSink
from distillguard.gateway.upstream import Upstream

# Request ids: 80 bits from a process-local PRNG seeded from the OS (reseeded in forked
# children). Ids need uniqueness, not secrecy; `os.urandom` per request is a syscall that
# releases the GIL, and cost ~20 µs of the request's CPU in bench/gateway/cpu.py.
_RID = random.Random()
os.register_at_fork(after_in_child=_RID.seed)
_rid_bits = _RID.getrandbits

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CHAT, COMPLETIONS, EMBEDDINGS, MODELS = (
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/models",
)
REFUSING = frozenset({"block", "hold_for_review"})
JSON_CT = (b"content-type", b"application/json")
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
# A request still waiting for its upstream after this long gets a task that watches for
# the client going away (see GatewayApp._handle).
WATCH_AFTER_S = 0.05
NOT_PARAMS = frozenset({"messages", "prompt", "input", "model"})
DONE = b"[DONE]"


class Req:
    """Everything one request accumulates for its response headers and its event."""

    __slots__ = (
        "account",
        "action",
        "answer_fp",
        "code",
        "country",
        "ctx",
        "decided",
        "disconnected",
        "endpoint",
        "finish_reason",
        "in_upstream",
        "ip",
        "lease",
        "messages",
        "model",
        "org",
        "pack_hash",
        "params",
        "prompt",
        "reason_codes",
        "rid",
        "rl_headers",
        "rule_ids",
        "snap",
        "started",
        "status",
        "t0",
        "t_call",
        "tokens_in",
        "tokens_out",
        "transforms",
        "ua",
        "upstream_s",
        "watcher",
    )

    def __init__(self, endpoint: str, t0: float) -> None:
        self.endpoint = endpoint
        self.t0 = t0
        self.rid = f"req_{_rid_bits(80):020x}"
        self.account: str | None = None
        self.org: str | None = None
        self.ctx: dict[str, Any] | None = None
        self.model: str | None = None
        self.params: dict[str, Any] = {}
        self.messages: list[dict[str, Any]] = []
        self.prompt: str | None = None
        self.action = "none"
        self.decided = False
        self.rule_ids: list[str] = []
        self.reason_codes: list[str] = []
        self.pack_hash: str | None = None
        self.transforms: list[str] = []
        self.code: str | None = None
        self.status = 200
        self.tokens_in: int | None = None
        self.tokens_out: int | None = None
        self.finish_reason: str | None = None
        self.answer_fp: str | None = None
        self.upstream_s = 0.0
        self.ip: str | None = None
        self.country: str | None = None
        self.ua: str | None = None
        self.lease: Any = None
        self.started = False
        self.in_upstream = False
        self.disconnected = False
        self.watcher: asyncio.Task[None] | asyncio.TimerHandle | None = None
        self.t_call = 0.0
        self.snap: Any = None
        self.rl_headers: list[tuple[bytes, bytes]] = []

    def upstream_time(self, now: float) -> float:
        """Upstream wait so far (also when the call failed or was cancelled)."""
        if self.upstream_s == 0.0 and self.t_call:
            return now - self.t_call
        return self.upstream_s

    def headers(self, overhead_s: float) -> list[tuple[bytes, bytes]]:
        h = [
            (b"x-distillguard-decision", self.action.encode()),
            (b"x-distillguard-overhead-ms", f"{overhead_s * 1000:.3f}".encode()),
            (b"x-request-id", self.rid.encode()),
        ]
        if self.rule_ids:
            h.append((b"x-distillguard-rules", ",".join(self.rule_ids).encode()))
        if self.transforms:
            h.append((b"x-distillguard-transforms", ",".join(self.transforms).encode()))
        if self.rl_headers:
            h.extend(self.rl_headers)
        return h


def bearer(value: bytes | None) -> str | None:
    if not value:
        return None
    v = value.decode("latin-1").strip()
    if v[:7].lower() == "bearer ":
        v = v[7:].strip()
    return v or None


def int_param(params: dict[str, Any], name: str, default: int) -> int:
    v = params.get(name)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ApiError("invalid_request", f"'{name}' must be a non-negative integer", param=name)
    return v


class AppBase:
    """The state the request path reads (set by GatewayApp.__init__) and small helpers."""

    cfg: GatewayConfig
    parts: Parts
    sink: EventSink
    metrics: Metrics
    upstream: Upstream
    routes: dict[str, ModelRoute]
    max_body: int
    country_header: bytes | None
    default_country: str | None
    trust_xff: bool
    _ctx_cache: dict[int, tuple[Any, dict[str, Any], float, str, str | None]]
    _ts_cache: tuple[int, str]
    _children: dict[tuple[str, ...], Any]

    @staticmethod
    async def _plain(
        send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _send_error(self, send: Send, err: ApiError, r: Req) -> None:
        now = perf_counter()
        overhead = now - r.t0 - r.upstream_time(now)
        headers = [JSON_CT, *r.headers(overhead), *err.headers]
        r.started = True
        await self._plain(send, err.status, err.body(r.rid), headers)

    def _upstream_hist(self, model: str) -> Any:
        child = self._children.get(("u", model))
        if child is None:
            child = self._children[("u", model)] = self.metrics.upstream_latency.labels(model)
        return child

    def _count(self, key: tuple[str, ...], metric: Any) -> None:
        """Increment a labelled counter through a cache of its children (labels() is slow)."""
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*key[1:])
        self.metrics.inc(child)
