"""The floor: a minimal OpenAI proxy (parse the body, forward, return), no checks at all.

Same server stack as distillguard (uvicorn + uvloop + httptools, raw ASGI) and the same
client (one pooled aiohttp session), so the difference to distillguard is the cost of
its checks, events and transforms. Usage: python minimal_proxy.py PORT UPSTREAM_BASE_URL
"""

from __future__ import annotations

import sys
from typing import Any

import aiohttp
import orjson
import uvicorn

UPSTREAM = sys.argv[2].rstrip("/") if len(sys.argv) > 2 else "http://127.0.0.1:9100/v1"
state: dict[str, Any] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                state["s"] = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=512, limit_per_host=256)
                )
                await send({"type": "lifespan.startup.complete"})
            else:
                await state["s"].close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    data = orjson.loads(body)
    url = UPSTREAM + scope["path"][3:]
    async with state["s"].post(url, data=body, headers={"content-type": "application/json"}) as r:
        if data.get("stream"):
            await send(
                {
                    "type": "http.response.start",
                    "status": r.status,
                    "headers": [(b"content-type", b"text/event-stream")],
                }
            )
            async for chunk in r.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        else:
            raw = await r.read()
            await send(
                {
                    "type": "http.response.start",
                    "status": r.status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(raw)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": raw})


if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
