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
- `GET  /admin/screening/sync`  the scheduled sync: sources, lock, last success/failure
- `POST /admin/screening/sync`  run one sync now (409 `sync_in_progress` when another
                              replica holds the lock)

Bodies are validated against `admin_openapi.yaml`, like the identity routes' (a route with
no request body there must be called without one).
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
from distillguard.gateway.admin import read_admin_body
from distillguard.gateway.rules_live import LiveRules
from distillguard.gateway.screening_sync import ScreeningSync
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
        body = await read_admin_body(request, "POST", "/rules/reload")
        if isinstance(body, Response):
            return body
        try:
            return json_response(200, await live.reload())
        except DistillguardError as exc:
            return error_response(422, "pack_rejected", str(exc))

    return [
        Route("/admin/rules", guarded(token, status), methods=["GET"]),
        Route("/admin/rules/reload", guarded(token, reload), methods=["POST"]),
    ]


def screening_routes(token: str, link: ScreeningLink, sync: ScreeningSync | None) -> list[Route]:
    async def import_list(request: Request) -> Response:
        body = await read_admin_body(request, "POST", "/screening/import")
        if isinstance(body, Response):
            return body
        path, source = body["path"], body["source"]
        opts = {"list_date": body.get("list_date"), "fmt": body.get("format")}
        try:
            rep, res = await asyncio.to_thread(link.import_list, Path(path), source, **opts)
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
                **res.to_dict(),
            },
        )

    async def sync_status(request: Request) -> Response:
        assert sync is not None
        return json_response(200, await asyncio.to_thread(sync.status))

    async def sync_now(request: Request) -> Response:
        assert sync is not None
        body = await read_admin_body(request, "POST", "/screening/sync")
        if isinstance(body, Response):
            return body
        run = await asyncio.to_thread(sync.run_once, force=True)
        if run["result"] == "locked":
            return error_response(409, "sync_in_progress", "another replica is syncing now")
        if run["result"] == "failed":
            return error_response(500, "sync_failed", f"screening sync failed: {run['error']}")
        return json_response(200, await asyncio.to_thread(sync.status))

    routes = [Route("/admin/screening/import", guarded(token, import_list), methods=["POST"])]
    if sync is not None:
        routes += [
            Route("/admin/screening/sync", guarded(token, sync_status), methods=["GET"]),
            Route("/admin/screening/sync", guarded(token, sync_now), methods=["POST"]),
        ]
    return routes
