"""Integration with the other parts, through real HTTP: identity off the event loop and
fail-closed 503s, cross-replica invalidation by pub/sub, rule-pack hot reload and shadow
mode, screening -> identity wiring, and the reporting-deadline gauge."""

from __future__ import annotations

import time

import httpx
import pytest

from distillguard.gateway.config import GatewayConfig

from .conftest import Gw, free_port

CHAT = "/v1/chat/completions"


def chat(gw: Gw, key: str, model: str = "general-chat") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "Hello there"}]}
    return httpx.post(gw.url + CHAT, json=body, headers={"authorization": f"Bearer {key}"})


def test_identity_store_down_beyond_staleness_is_503_not_500(gw: Gw) -> None:
    _, key = gw.customer()
    assert chat(gw, key).status_code == 200
    ids = gw.ids

    def broken_sync() -> int:
        raise RuntimeError("database is gone")

    ids.sync = broken_sync  # the change-feed poll fails from now on
    ids.max_stale_s = 1.0
    ids._last_sync -= 10.0  # last good poll long ago: cached credentials are too old
    r = chat(gw, key)
    assert r.status_code == 503, r.text
    err = r.json()["error"]
    assert err["code"] == "identity_unavailable" and err["type"] == "server_error"
    assert "Traceback" not in r.text and r.headers["retry-after"] == "1"
    assert r.headers["x-distillguard-decision"] == "none"


def test_quota_store_down_is_503_quota_unavailable(make_gateway) -> None:  # type: ignore[no-untyped-def]
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    def conf(cfg: GatewayConfig) -> None:
        cfg.store.redis_url = dead

    gw = make_gateway(conf)
    _, key = gw.customer()
    r = chat(gw, key)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "quota_unavailable"
    assert r.headers["x-distillguard-decision"] == "allow"  # decided, then refused: fail closed


@pytest.mark.redis
def test_revocation_reaches_another_replica_by_pubsub(
    make_gateway, redis_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    def conf(cfg: GatewayConfig) -> None:
        cfg.store.redis_url = redis_url
        cfg.store.database_url = f"sqlite:///{tmp_path / 'shared.db'}"

    a = make_gateway(conf)
    b = make_gateway(conf)
    acct, key = a.customer()
    assert chat(b, key).status_code == 200  # cached on replica b
    # without the notice, b would only see the change at its next poll, a minute away
    b.ids.sync_interval_s = 60.0
    b.ids.max_stale_s = 120.0
    assert b.ids._notifier is not None and b.ids._notifier.wait_ready(5)
    b.ids._last_sync = time.monotonic()
    assert chat(b, key).status_code == 200
    key_id = a.ids.list_keys(acct)[0].id
    a.ids.revoke_key(key_id)
    deadline = time.monotonic() + 3.0
    while (r := chat(b, key)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
