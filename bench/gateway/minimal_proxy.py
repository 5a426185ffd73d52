"""The floor: a minimal OpenAI proxy (parse the body, forward, return), no checks at all.

Same server stack and settings as distillguard (uvicorn + uvloop + httptools, raw ASGI,
no proxy-header middleware, no server header, the same garbage-collector settings), so
the difference to distillguard is the cost of its checks, events and transforms, plus its
upstream client. The client is one pooled aiohttp session by default (the floor the issue
defines); with `dg` as third argument it is distillguard's own pooled client
(`distillguard.gateway.upstream`), which shows what the client alone is worth.
Usage: python minimal_proxy.py PORT UPSTREAM_BASE_URL [aiohttp|dg]
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import uvicorn

UPSTREAM = sys.argv[2].rstrip("/") if len(sys.argv) > 2 else "http://127.0.0.1:9100/v1"
CLIENT = sys.argv[3] if len(sys.argv) > 3 else "aiohttp"
state: dict[str, Any] = {}


async def lifespan(receive: Any, send: Any) -> None:
    while True:
        msg = await receive()
        if msg["type"] == "lifespan.startup":
            if CLIENT == "dg":
                from distillguard.gateway.config import ModelRoute, UpstreamConfig
                from distillguard.gateway.upstream import Upstream

                state["up"] = Upstream(UpstreamConfig())
                await state["up"].start()
                state["route"] = ModelRoute("m", UPSTREAM)
            else:
                state["s"] = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=512, limit_per_host=256)
                )
            await send({"type": "lifespan.startup.complete"})
        else:
            if CLIENT == "dg":
                await state["up"].close()
            else:
                await state["s"].close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    stream = bool(orjson.loads(body).get("stream"))
    if CLIENT == "dg":
        r = await state["up"].send(state["route"], scope["path"][3:], body)
        try:
            await relay(send, r.status, stream, r.iter_chunks(), r.read)
        finally:
            r.release()
        return
    url = UPSTREAM + scope["path"][3:]
    async with state["s"].post(url, data=body, headers={"content-type": "application/json"}) as r:
        await relay(send, r.status, stream, r.content.iter_any(), r.read)


async def relay(
    send: Any,
    status: int,
    stream: bool,
    chunks: AsyncIterator[bytes],
    read: Callable[[], Awaitable[bytes]],
) -> None:
    """Pass the upstream's answer on: chunk by chunk for a stream, else the whole body."""
    if stream:
        start = {"type": "http.response.start", "status": status,
                 "headers": [(b"content-type", b"text/event-stream")]}  # fmt: skip
        await send(start)
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    raw = await read()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(raw))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


if __name__ == "__main__":
    from distillguard.gateway.server import tune_gc

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
        proxy_headers=False,
        server_header=False,
    )
    tune_gc()
    uvicorn.Server(config).run()
