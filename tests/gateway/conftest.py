"""Fixtures: a real stub upstream in another process and real uvicorn gateways.

The gateway runs in a background thread of the test process (a real uvicorn server on a
real socket) so tests can administer identity directly; the upstream is the stand-in
`distillguard.gateway.stub` in its own process, as in production.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from distillguard.gateway.adapters import Parts, load_parts
from distillguard.gateway.app import GatewayApp
from distillguard.gateway.config import EMBEDDINGS_ONLY, GatewayConfig, ModelRoute
from distillguard.gateway.server import ServerThread, build_gateway


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def stub_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "distillguard.gateway.stub", "--port", str(port), "--slow-s", "30"]
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(base + "/stub/stats", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("stub upstream did not start") from None
            time.sleep(0.05)
    yield base
    proc.terminate()  # graceful; it may still be sleeping on a "slow" request
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def stub_stats(stub_url: str) -> dict[str, int]:
    import json

    return json.loads(urllib.request.urlopen(stub_url + "/stub/stats", timeout=2).read())  # type: ignore[no-any-return]


@dataclass
class Gw:
    url: str
    app: GatewayApp
    parts: Parts
    cfg: GatewayConfig
    server: ServerThread

    @property
    def ids(self) -> Any:
        return self.parts.identity

    def stop(self) -> None:
        self.server.stop()

    def customer(
        self,
        *,
        hq: str = "US",
        nationality: str | None = "US",
        kyc: str = "verified",
        screening: str = "clear",
        org: bool = True,
        limits: dict[str, int] | None = None,
    ) -> tuple[str, str]:
        """A new account (in a new org by default); returns (account_id, api_key)."""
        ids = self.ids
        n = len(ids.list_accounts()) if hasattr(ids, "list_accounts") else 0
        if org:
            o = ids.create_org(f"Org {n} {time.monotonic_ns()}", hq)
            ids.set_screening_status(o.id, screening, "test")
            a = ids.create_account(
                f"acct{n}",
                type="organization",
                org_id=o.id,
                nationality=nationality,
                kyc_level=kyc,
                limits=limits,
            )
        else:
            a = ids.create_account(
                f"acct{n}", nationality=nationality, kyc_level=kyc, limits=limits
            )
            ids.set_screening_status(a.id, screening, "test")
        _, key = ids.issue_key(a.id)
        return a.id, key


def gateway_config(home: Path, stub_url: str) -> GatewayConfig:
    cfg = GatewayConfig()
    cfg.store.home = str(home)
    cfg.store.events_jsonl = str(home / "events.jsonl")
    cfg.store.flush_interval_s = 0.05
    # generous for a loaded CI machine; the stub's "slow" model never answers in time
    cfg.upstream.total_timeout_s = 4.0
    cfg.upstream.read_timeout_s = 4.0
    cfg.upstream.connect_retries = 1
    v1 = stub_url + "/v1"
    cfg.models = {
        "frontier-alpha": ModelRoute("frontier-alpha", v1, upstream_model="stub"),
        "frontier-gamma": ModelRoute("frontier-gamma", v1, upstream_model="stub-think"),
        "general-chat": ModelRoute("general-chat", v1, upstream_model="stub"),
        "slow": ModelRoute("slow", v1, upstream_model="stub-slow"),
        "broken": ModelRoute("broken", v1, upstream_model="stub-error"),
        "drip": ModelRoute("drip", v1, upstream_model="stub-drip"),
        "sleepy": ModelRoute("sleepy", v1, upstream_model="stub-sleep-800"),
        "down": ModelRoute("down", f"http://127.0.0.1:{free_port()}/v1"),
        "embed": ModelRoute("embed", v1, endpoints=EMBEDDINGS_ONLY),
    }
    return cfg


@pytest.fixture()
def make_gateway(tmp_path: Path, stub_url: str) -> Iterator[Callable[..., Gw]]:
    started: list[Gw] = []

    def make(
        configure: Callable[[GatewayConfig], None] | None = None, home: Path | None = None
    ) -> Gw:
        cfg = gateway_config(home or tmp_path / f"gw{len(started)}", stub_url)
        if configure is not None:
            configure(cfg)
        parts = load_parts(cfg)
        app = build_gateway(cfg, parts)
        srv = ServerThread(app, cfg).start()
        gw = Gw(srv.url, app, parts, cfg, srv)
        started.append(gw)
        return gw

    yield make
    for gw in started:
        if gw.server.thread.is_alive():
            gw.stop()


@pytest.fixture()
def gw(make_gateway: Callable[..., Gw]) -> Gw:
    return make_gateway()
