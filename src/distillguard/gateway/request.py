"""Request parsing and the access context: headers, body, key, model route, payload.

Why its own module: this is everything the gateway learns about a request before any
decision (who, from where, which model, which parameters, the prompt), validated once
with stable error codes (docs/gateway.md, Errors) and turned into the context the rules
see. Authentication awaits identity's `authenticate_async`, so cache misses and the
change-feed poll never block the event loop.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from time import monotonic, time
from typing import Any

import orjson

from distillguard.errors import DistillguardError
from distillguard.events import format_ts
from distillguard.gateway.appbase import (
    CHAT,
    COMPLETIONS,
    NOT_PARAMS,
    AppBase,
    Receive,
    Req,
    Scope,
    bearer,
)
from distillguard.gateway.config import ModelRoute
from distillguard.gateway.errors import ApiError, store_unavailable

log = logging.getLogger("distillguard.gateway")


class RequestParsing(AppBase):
    def _scan_headers(self, scope: Scope, r: Req) -> tuple[bytes | None, int | None]:
        auth = None
        clen = None
        country = None
        xff = None
        ch = self.country_header
        for k, v in scope["headers"]:
            if k == b"authorization":
                auth = v
            elif k == b"content-length":
                try:
                    clen = int(v)
                except ValueError:
                    raise ApiError("invalid_request", "bad Content-Length header") from None
            elif k == b"user-agent":
                r.ua = v.decode("latin-1")[:512]
            elif k == b"x-forwarded-for":
                xff = v
            elif ch is not None and k == ch:
                country = v
        if self.trust_xff and xff:
            r.ip = xff.split(b",")[0].strip().decode("latin-1")[:64]
        else:
            client = scope.get("client")
            r.ip = client[0] if client else None
        if country and len(country) == 2 and country.isalpha():
            r.country = country.decode().upper()
        else:
            r.country = self.default_country
        return auth, clen

    async def _read_body(self, receive: Receive, clen: int | None) -> bytes:
        if clen is not None and clen > self.max_body:
            raise ApiError("request_too_large", f"request body over the {self.max_body}-byte limit")
        chunks: list[bytes] = []
        size = 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                raise ApiError("client_closed_request", "client disconnected while sending")
            b = msg.get("body", b"")
            if b:
                size += len(b)
                if size > self.max_body:
                    raise ApiError(
                        "request_too_large", f"request body over the {self.max_body}-byte limit"
                    )
                chunks.append(b)
            if not msg.get("more_body"):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _authenticate(self, auth: bytes | None, r: Req) -> dict[str, Any]:
        key = bearer(auth)
        if key is None:
            raise ApiError("invalid_api_key", "missing API key: send 'Authorization: Bearer <key>'")
        try:
            # cache hits answer in the loop; a miss or a due change-feed poll runs in a thread
            snap = await self.parts.identity.authenticate_async(key)
        except DistillguardError as exc:  # identity store unreachable: fail closed
            raise store_unavailable("identity_unavailable", "identity store", exc) from None
        if snap is None:
            raise ApiError("invalid_api_key", "invalid, expired or revoked API key")
        r.snap = snap
        # Snapshots are immutable and cached by identity (replaced on any change), so their
        # context (and the ids the event needs) is built once per snapshot and refreshed
        # each minute (account age).
        now = monotonic()
        cached = self._ctx_cache.get(id(snap))
        if cached is None or cached[0] is not snap or now - cached[2] >= 60.0:
            base = snap.to_context()
            acct = base.get("account") or {}
            org = base.get("org")
            org_id = org.get("id") if isinstance(org, dict) else None
            if len(self._ctx_cache) > 50_000:
                self._ctx_cache.clear()
            cached = (snap, base, now, str(acct.get("id")), None if org_id is None else str(org_id))
            self._ctx_cache[id(snap)] = cached
        r.account = cached[3]
        r.org = cached[4]
        return cached[1]

    def _parse_json(self, body: bytes) -> dict[str, Any]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError("invalid_json", f"request body is not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict):
            raise ApiError("invalid_request", "request body must be a JSON object")
        return data

    def _route(self, data: dict[str, Any], endpoint: str, r: Req) -> ModelRoute:
        model = data.get("model")
        if not isinstance(model, str) or not model:
            raise ApiError("invalid_request", "'model' is required", param="model")
        r.model = model[:200]
        route = self.routes.get(model)
        if route is None or endpoint not in route.endpoints:
            raise ApiError(
                "model_not_found",
                f"the model {model[:200]!r} does not exist or is not served on {endpoint}",
                param="model",
            )
        return route

    def _context(
        self, base: dict[str, Any], r: Req, route: ModelRoute, guard: dict[str, Any]
    ) -> dict[str, Any]:
        p = r.params
        ctx = dict(base)
        ctx["request"] = {
            "country": r.country,
            "ip": r.ip,
            "endpoint": r.endpoint,
            "model": route.name,
            "time": self._now_rfc3339(),
        }
        ctx["model"] = {
            "name": route.name,
            "classification": self.parts.model_classes.get(route.name, "general"),
        }
        ctx["params"] = {
            "n": p.get("n"),
            "logprobs": bool(p.get("logprobs")),
            "top_logprobs": p.get("top_logprobs"),
            "max_tokens": p.get("max_tokens", p.get("max_completion_tokens")),
            "temperature": p.get("temperature"),
            "stream": bool(p.get("stream")),
        }
        ctx["guard"] = guard
        return ctx

    def _now_rfc3339(self) -> str:
        """The current time as RFC 3339 (as `format_ts`: UTC, milliseconds, Z); the date
        and time of day are formatted once per second, the milliseconds appended."""
        ms = int(time() * 1000)
        sec, frac = divmod(ms, 1000)
        if sec != self._ts_cache[0]:
            text = format_ts(datetime.fromtimestamp(sec, UTC))  # "...:SS.000Z"
            self._ts_cache = (sec, text[:-5])
        return f"{self._ts_cache[1]}.{frac:03d}Z"

    def _extract(self, data: dict[str, Any], r: Req) -> None:
        ep = r.endpoint
        if ep == CHAT:
            msgs = data.get("messages")
            if not isinstance(msgs, list) or not msgs or not all(isinstance(m, dict) for m in msgs):
                raise ApiError(
                    "invalid_request",
                    "'messages' must be a non-empty list of objects",
                    param="messages",
                )
            r.messages = msgs
        elif ep == COMPLETIONS:
            prompt = data.get("prompt")
            if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt):
                prompt = "\n".join(prompt)
            if not isinstance(prompt, str):
                raise ApiError("invalid_request", "'prompt' must be a string", param="prompt")
            r.prompt = prompt
        else:
            inp = data.get("input")
            if isinstance(inp, list) and all(isinstance(p, str) for p in inp):
                inp = "\n".join(inp)
            if not isinstance(inp, str):
                raise ApiError(
                    "invalid_request",
                    "'input' must be a string or a list of strings",
                    param="input",
                )
            r.prompt = inp
        r.params = {k: v for k, v in data.items() if k not in NOT_PARAMS}
