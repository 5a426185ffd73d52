"""Operator endpoints the gateway itself owns, next to the identity admin API under /admin.

Why here and not in admin.py: these act on the running gateway process (its live rule
pack, its screening wiring), not on identity records; they reuse the same admin bearer
token and the same OpenAI-style error shape. Mounted only when `[admin] token` is set.

- `GET  /admin/rules`         live and shadow pack, shadow statistics, last reload error
- `POST /admin/rules/reload`  reload the pack file; 200 with the new status, or 422
                              `pack_rejected` with the reason (the live pack is kept)
- `POST /admin/screening/import`  {"path", "source", "list_date"?, "format"?}: import a
                              list file readable by the gateway (screening part) and push
                              the verdict changes to identity (gateway/wiring.py)
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from distillguard.errors import DistillguardError
from distillguard.gateway.rules_live import LiveRules
from distillguard.gateway.wiring import ScreeningLink

Endpoint = Callable[[Request], Awaitable[Response]]


def json_response(status: int, data: Any) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


def error_response(status: int, code: str, message: str) -> Response:
    etype = "server_error" if status >= 500 else "invalid_request_error"
    if status == 401:
        etype = "authentication_error"
    err = {"message": message, "type": etype, "param": None, "code": code}
    return json_response(status, {"error": err})


def guarded(token: str, fn: Endpoint) -> Endpoint:
    """`fn` behind the admin bearer token (constant-time comparison)."""
    expected = f"Bearer {token}".encode()

    async def run(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, expected):
            return error_response(401, "invalid_admin_token", "missing or wrong admin token")
        return await fn(request)

    return run


def rules_routes(token: str, live: LiveRules) -> list[Route]:
    async def status(request: Request) -> Response:
        return json_response(200, live.status())

    async def reload(request: Request) -> Response:
        try:
            return json_response(200, await live.reload())
        except DistillguardError as exc:
            return error_response(422, "pack_rejected", str(exc))

    return [
        Route("/admin/rules", guarded(token, status), methods=["GET"]),
        Route("/admin/rules/reload", guarded(token, reload), methods=["POST"]),
    ]


_IMPORT_FIELDS = {"path", "source", "list_date", "format"}


def screening_routes(token: str, link: ScreeningLink) -> list[Route]:
    async def import_list(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return error_response(400, "invalid_json", "body is not valid JSON")
        if not isinstance(body, dict) or set(body) - _IMPORT_FIELDS:
            return error_response(
                400, "invalid_request", f"body: an object with {sorted(_IMPORT_FIELDS)}"
            )
        path, source = body.get("path"), body.get("source")
        if not isinstance(path, str) or not isinstance(source, str):
            return error_response(400, "invalid_request", "'path' and 'source' are required")
        opts = {"list_date": body.get("list_date"), "fmt": body.get("format")}
        try:
            rep, sync = await asyncio.to_thread(link.import_list, Path(path), source, **opts)
        except DistillguardError as exc:
            return error_response(400, "invalid_request", str(exc))
        snap = rep.snapshot
        return json_response(
            200,
            {
                "source": source,
                "snapshot_id": snap.id,
                "entries": snap.entry_count,
                "added": rep.added,
                "changed": rep.changed,
                "removed": rep.removed,
                "skipped": rep.skipped,
                **sync.to_dict(),
            },
        )

    return [Route("/admin/screening/import", guarded(token, import_list), methods=["POST"])]
