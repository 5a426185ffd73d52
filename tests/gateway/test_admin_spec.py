"""The admin OpenAPI document against what the gateway really mounts under /admin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from openapi_spec_validator import validate
from starlette.routing import Mount, Route

from distillguard.gateway.admin import openapi_spec
from distillguard.gateway.app import GatewayApp
from tests.gateway.conftest import Gw

TOKEN = "admin-token-0123456789abcdef"


def _mounted(app: Any, prefix: str = "") -> set[tuple[str, str]]:
    """(METHOD, path) of every route reachable in a Starlette app, mounts followed."""
    while not hasattr(app, "routes"):  # ASGI wrappers (OnboardingScreen) keep the app in .app
        app = app.app
    out: set[tuple[str, str]] = set()
    for r in app.routes:
        if isinstance(r, Mount):
            out |= _mounted(r.app, prefix + r.path)
        elif isinstance(r, Route):
            out |= {(m, prefix + r.path) for m in (r.methods or ()) if m != "HEAD"}
        else:  # a new kind of route would escape this check: make it fail instead
            raise AssertionError(f"unexpected route type {type(r).__name__}")
    return out


def _in_spec(spec: dict[str, Any]) -> set[tuple[str, str]]:
    verbs = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
    return {
        (m.upper(), "/admin" + path)
        for path, item in spec["paths"].items()
        for m in item
        if m in verbs
    }


def test_spec_is_valid_openapi_3_1() -> None:
    spec = openapi_spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)  # raises with the first violation of the OAS 3.1 schema
    ops = [op["operationId"] for item in spec["paths"].values() for k, op in item.items()
           if k != "parameters"]  # fmt: skip
    assert len(ops) == len(set(ops)), "operationIds must be unique"


def test_every_mounted_admin_route_is_in_the_spec_and_back(make_gateway: Any) -> None:
    def conf(cfg: Any) -> None:
        cfg.admin.token = TOKEN
        cfg.rules.guard = False  # routes do not depend on it; keeps the test fast

    gw: Gw = make_gateway(conf)
    app: GatewayApp = gw.app
    assert gw.parts.screening is not None  # the screening routes are mounted too
    mounted = _mounted(app._admin)
    spec = _in_spec(openapi_spec())
    assert mounted - spec == set(), f"mounted but not in admin_openapi.yaml: {mounted - spec}"
    assert spec - mounted == set(), f"in admin_openapi.yaml but not mounted: {spec - mounted}"
    # the enumeration saw the gateway's own routes, not only identity's
    assert {("GET", "/admin/rules"), ("POST", "/admin/screening/import")} <= mounted
    # served, through the real gateway, without the token (it is the public contract)
    r = httpx.get(gw.url + "/admin/openapi.json")
    assert r.status_code == 200 and r.json() == openapi_spec()


def test_ops_routes_validate_bodies_against_the_spec(make_gateway: Any, tmp_path: Path) -> None:
    def conf(cfg: Any) -> None:
        cfg.admin.token = TOKEN
        cfg.rules.guard = False  # routes do not depend on it; keeps the test fast

    gw: Gw = make_gateway(conf)
    h = {"authorization": f"Bearer {TOKEN}"}
    url = gw.url + "/admin/screening/import"
    r = httpx.post(url, headers=h, json={"path": "x.csv", "source": "nope"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "source", r.text
    r = httpx.post(url, headers=h, json={"path": "x.csv", "source": "ofac", "extra": 1})
    assert r.status_code == 400 and "extra" in r.json()["error"]["message"]
    r = httpx.post(url, headers=h, content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = httpx.post(url, headers=h, content=b"x" * (1024 * 1024 + 1))
    assert r.status_code == 413
    r = httpx.post(gw.url + "/admin/rules/reload", headers=h, json={"unexpected": True})
    assert r.status_code == 400 and "takes no body" in r.json()["error"]["message"]
    assert httpx.post(gw.url + "/admin/screening/sync").status_code == 401
