"""Bad input and bad upstreams: the right status and an OpenAI-style error, never a
traceback, never a lost event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import aiohttp
import httpx
import pytest

from distillguard.gateway.config import GatewayConfig

from .conftest import Gw, stub_stats

CHAT = "/v1/chat/completions"
MSG = [{"role": "user", "content": "hi"}]


def err(r: httpx.Response, status: int, code: str) -> dict:  # type: ignore[type-arg]
    assert r.status_code == status, r.text
    e = r.json()["error"]
    assert e["code"] == code and e["message"] and e["type"]
    assert "Traceback" not in r.text
    assert "x-distillguard-decision" in r.headers and "x-distillguard-overhead-ms" in r.headers
    return e  # type: ignore[no-any-return]


@pytest.fixture()
def small(make_gateway) -> Gw:  # type: ignore[no-untyped-def]
    def conf(cfg: GatewayConfig) -> None:
        cfg.server.max_body_bytes = 4096

    return make_gateway(conf)  # type: ignore[no-any-return]


def test_bad_requests(small: Gw) -> None:
    gw = small
    _, key = gw.customer()
    h = {"authorization": f"Bearer {key}"}
    u = gw.url + CHAT
    err(httpx.post(u, content=b"{not json", headers=h), 400, "invalid_json")
    err(httpx.post(u, content=b"[1, 2]", headers=h), 400, "invalid_request")
    e = err(httpx.post(u, json={"model": "general-chat"}, headers=h), 400, "invalid_request")
    assert e["param"] == "messages"
    err(httpx.post(u, json={"messages": MSG}, headers=h), 400, "invalid_request")
    bad = {"model": "general-chat", "messages": MSG, "max_tokens": -3}
    err(httpx.post(u, json=bad, headers=h), 400, "invalid_request")
    e = err(
        httpx.post(u, json={"model": "nope", "messages": MSG}, headers=h), 404, "model_not_found"
    )
    assert e["param"] == "model"
    big = {"model": "general-chat", "messages": [{"role": "user", "content": "x" * 10_000}]}
    err(httpx.post(u, json=big, headers=h), 413, "request_too_large")

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted while reading
        yield b'{"model": "general-chat", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}]}'

    err(httpx.post(u, content=chunked(), headers=h), 413, "request_too_large")
    err(httpx.get(u, headers=h), 405, "method_not_allowed")
    r = httpx.get(gw.url + "/v2/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_missing_wrong_and_revoked_keys(gw: Gw) -> None:
    u = gw.url + CHAT
    body = {"model": "general-chat", "messages": MSG}
    err(httpx.post(u, json=body), 401, "invalid_api_key")
    err(httpx.post(u, json=body, headers={"authorization": "Bearer nope"}), 401, "invalid_api_key")
    acct, key = gw.customer()
    h = {"authorization": f"Bearer {key}"}
    assert httpx.post(u, json=body, headers=h).status_code == 200
    key_id = gw.ids.list_keys(acct)[0].id
    gw.ids.revoke_key(key_id, "test")
    err(httpx.post(u, json=body, headers=h), 401, "invalid_api_key")
    err(httpx.get(gw.url + "/v1/models", headers=h), 401, "invalid_api_key")


def test_upstream_down_slow_and_failing(gw: Gw) -> None:
    _, key = gw.customer()
    h = {"authorization": f"Bearer {key}"}

    def call(model: str) -> httpx.Response:
        return httpx.post(
            gw.url + CHAT, json={"model": model, "messages": MSG}, headers=h, timeout=10
        )

    e = err(call("down"), 503, "upstream_unavailable")
    assert "unreachable" in e["message"]
    t = time.monotonic()
    err(call("slow"), 504, "upstream_timeout")
    assert time.monotonic() - t < 10.0  # the 4 s budget, not the stub's 30 s
    err(call("broken"), 502, "upstream_error")
    r = call("general-chat")  # and the gateway is still fine
    assert r.status_code == 200
    # the overhead header excludes the time spent waiting for the upstream
    assert float(call("slow").headers["x-distillguard-overhead-ms"]) < 500


async def test_client_disconnect_mid_stream_cancels_upstream(gw: Gw, stub_url: str) -> None:
    _, key = gw.customer()
    before = stub_stats(stub_url)["cancelled"]
    body = {"model": "drip", "messages": MSG, "stream": True}
    async with aiohttp.ClientSession() as s:
        resp = await s.post(gw.url + CHAT, json=body, headers={"authorization": f"Bearer {key}"})
        assert resp.status == 200
        got = await resp.content.readany()
        assert got.startswith(b"data: ")
        resp.close()  # the client goes away after the first bytes
    deadline = time.monotonic() + 5
    while stub_stats(stub_url)["cancelled"] == before and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert stub_stats(stub_url)["cancelled"] == before + 1  # the upstream call was cancelled
    await asyncio.to_thread(gw.app.sink.flush)
    from distillguard.gateway.sink import iter_stored_events

    events = [e for e in iter_stored_events(gw.app.sink.db) if e["model"] == "drip"]  # type: ignore[arg-type]
    assert len(events) == 1 and events[0]["response"]["status"] == 499
    assert events[0]["response"]["error"] == "client_closed_request"


def test_no_lost_events_and_no_500s(gw: Gw) -> None:
    _, key = gw.customer()
    h = {"authorization": f"Bearer {key}"}
    u = gw.url + CHAT
    rs = [
        httpx.post(u, content=b"{", headers=h),
        httpx.post(u, json={"model": "nope", "messages": MSG}, headers=h),
        httpx.post(u, json={"model": "down", "messages": MSG}, headers=h),
        httpx.post(u, json={"model": "general-chat", "messages": MSG}),
        httpx.post(u, json={"model": "general-chat", "messages": MSG}, headers=h),
    ]
    assert [r.status_code for r in rs] == [400, 404, 503, 401, 200]
    assert gw.app.sink.flush()
    assert gw.app.sink.written == gw.app.sink.submitted >= len(rs)
    metrics = httpx.get(gw.url + "/metrics").text
    assert 'status="500"' not in metrics
    assert "distillguard_overhead_seconds_bucket" in metrics
    assert 'distillguard_decisions_total{action="allow"' in metrics
    assert httpx.get(gw.url + "/healthz").status_code == 200
    ready = httpx.get(gw.url + "/readyz").json()
    assert ready["ready"] and ready["parts"]["rules"] and ready["parts"]["identity"]
