"""The admin HTTP API (Starlette TestClient; SQLite and PostgreSQL through the `ids` fixture)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from distillguard.errors import DistillguardError
from distillguard.gateway.admin import ROUTES, build_admin_app, openapi_spec
from distillguard.identity import IdentityService

TOKEN = "admin-token-0123456789abcdef"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def client(ids: IdentityService) -> TestClient:
    app = Starlette(routes=[Mount("/admin", app=build_admin_app(ids, TOKEN))])
    return TestClient(app, raise_server_exceptions=False)


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def _err(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["code"] == code
    assert "Traceback" not in err["message"]
    return dict(err)


def test_every_route_is_in_the_spec() -> None:
    spec = openapi_spec()
    assert spec["openapi"] == "3.1.0"
    in_spec = {
        (m.upper(), path, op["operationId"])
        for path, item in spec["paths"].items()
        for m, op in item.items()
        if m != "parameters"
    }
    routes = {(m, p, op) for m, p, op, _ in ROUTES} | {("GET", "/openapi.json", "getOpenApi")}
    # the rest of the document is the gateway's own /admin routes (gateway/ops.py); the
    # whole mounted set is checked both ways in tests/gateway/test_admin_spec.py
    assert routes <= in_spec
    assert {p for _, p, _ in in_spec - routes} <= {
        "/rules", "/rules/reload", "/screening/import", "/screening/sync"}  # fmt: skip


def test_spec_is_served_and_auth_is_required(client: TestClient, ids: IdentityService) -> None:
    spec = _ok(client.get("/admin/openapi.json"))
    assert spec["servers"] == [{"url": "/admin"}]
    _err(client.get("/admin/orgs"), 401, "invalid_admin_token")
    _err(client.get("/admin/orgs", headers={"authorization": "Bearer nope"}), 401,
         "invalid_admin_token")  # fmt: skip
    acct = ids.create_account("a")
    _, customer_key = ids.issue_key(acct.id)
    _err(client.get("/admin/orgs", headers={"authorization": f"Bearer {customer_key}"}), 401,
         "invalid_admin_token")  # fmt: skip
    # unknown routes do not reveal themselves without the token
    _err(client.get("/admin/nope"), 401, "invalid_admin_token")
    _err(client.get("/admin/nope", headers=AUTH), 404, "not_found")
    _err(client.delete("/admin/orgs", headers=AUTH), 405, "method_not_allowed")
    with pytest.raises(DistillguardError, match="at least 16"):
        build_admin_app(ids, "short")


def test_full_flow(client: TestClient, ids: IdentityService) -> None:
    org = _ok(client.post("/admin/orgs", headers=AUTH, json={
        "name": "Acme", "hq_country": "de", "parent_name": "Acme Holding",
        "parent_hq_country": "CN", "allowlists": ["trusted_partner"], "limits": {"rpm": 50},
    }), 201)  # fmt: skip
    assert org["hq_country"] == "DE" and org["limits"] == {"rpm": 50, "tpm": None,
                                                           "concurrency": None}  # fmt: skip
    acct = _ok(client.post("/admin/accounts", headers=AUTH, json={
        "name": "ml", "type": "organization", "org_id": "Acme", "nationality": "FR",
    }), 201)  # fmt: skip
    aid = acct["id"]
    issued = _ok(client.post(f"/admin/accounts/{aid}/keys", headers=AUTH,
                             json={"name": "ci"}), 201)  # fmt: skip
    assert "only time" in issued["warning"]
    snap = ids.authenticate(issued["plaintext"])
    assert snap is not None and snap.account_id == aid
    keys = _ok(client.get(f"/admin/accounts/{aid}/keys", headers=AUTH))["data"]
    assert issued["plaintext"] not in str(keys) and keys[0]["active"]

    kyc = {"name": "Acme GmbH", "emails": ["a@acme.example"], "access_ips": ["192.0.2.1"]}
    view = _ok(client.put(f"/admin/orgs/{org['id']}/kyc", headers=AUTH, json=kyc))
    assert view["missing"] == ["address", "payment", "phones", "beneficial_owners"]
    assert _ok(client.get(f"/admin/accounts/{aid}/kyc", headers=AUTH))["record"] is None

    scr = _ok(client.put(f"/admin/orgs/{org['id']}/screening", headers=AUTH,
                         json={"status": "hit", "ref": "csl:42"}))  # fmt: skip
    assert scr["status"] == "hit"
    scr = _ok(client.get(f"/admin/accounts/{aid}/screening", headers=AUTH))
    assert scr["status"] == "hit" and scr["org_status"] == "hit" and scr["ref"] == "csl:42"

    body = {"score": 0.9, "verdict": "distillation", "campaign": "c1"}
    risk = _ok(client.put(f"/admin/accounts/{aid}/risk", headers=AUTH, json=body))
    assert risk["verdict"] == "distillation" and risk["at"]
    _ok(client.put(f"/admin/accounts/{aid}/kyc-level", headers=AUTH,
                   json={"kyc_level": "verified"}))  # fmt: skip
    ctx = _ok(client.get(f"/admin/accounts/{aid}/context", headers=AUTH))
    assert ctx["account"]["kyc_level"] == "verified" and ctx["risk"]["campaign"] == "c1"
    assert ctx["org"]["parent_hq_country"] == "CN"

    _ok(client.post(f"/admin/accounts/{aid}/suspend", headers={**AUTH, "x-actor": "alice"},
                    json={"reason": "abuse"}))  # fmt: skip
    assert ids.authenticate(issued["plaintext"]).status == "suspended"  # type: ignore[union-attr]
    _ok(client.post(f"/admin/accounts/{aid}/reactivate", headers=AUTH))
    listed = _ok(client.get("/admin/accounts?status=active&org_id=Acme", headers=AUTH))["data"]
    assert [a["id"] for a in listed] == [aid]
    changes = _ok(client.get(f"/admin/accounts/{aid}/changes?limit=3", headers=AUTH))["data"]
    assert [c["actor"] for c in changes] == ["admin-api", "admin-api:alice", "admin-api"]
    assert [c["action"] for c in changes] == [
        "account.reactivate", "account.suspend", "account.kyc_level",
    ]  # fmt: skip

    revoked = _ok(client.post(f"/admin/keys/{issued['key']['id']}/revoke", headers=AUTH))
    assert revoked["revoked_at"] and not revoked["active"]
    assert ids.authenticate(issued["plaintext"]) is None
    patched = _ok(client.patch(f"/admin/orgs/{org['id']}", headers=AUTH,
                               json={"parent_hq_country": None}))  # fmt: skip
    assert patched["parent_hq_country"] is None
    assert _ok(client.get("/admin/keys", headers=AUTH))["data"][0]["id"] == issued["key"]["id"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "needle"),
    [
        ("post", "/admin/orgs", b"{not json", 400, "invalid_json", "not valid JSON"),
        ("post", "/admin/orgs", {"name": "X", "hq_country": "US", "ceo": "y"}, 400,
         "invalid_request", "'ceo' was unexpected"),
        ("post", "/admin/orgs", {"name": "X", "hq_country": "UK"}, 400, "invalid_request",
         "did you mean GB"),
        ("post", "/admin/orgs", {"name": "X"}, 400, "invalid_request", "hq_country"),
        ("post", "/admin/orgs", [1, 2], 400, "invalid_request", "not of type 'object'"),
        ("post", "/admin/orgs", {"name": "X", "hq_country": "US", "limits": {"rpm": -1}}, 400,
         "invalid_request", "limits.rpm"),
        ("post", "/admin/accounts", {"name": "a", "nationality": "Germany"}, 400,
         "invalid_request", "nationality"),
        ("post", "/admin/accounts", {"name": "a", "org_id": "nope", "type": "organization"},
         404, "not_found", "no organisation"),
        ("get", "/admin/accounts/nope", None, 404, "not_found", "no account"),
        ("get", "/admin/accounts?status=frozen", None, 400, "invalid_request", "status"),
        ("post", "/admin/keys/key_nope/revoke", None, 404, "not_found", "no API key"),
        ("put", "/admin/accounts/x/kyc-level", {"kyc_level": "gold"}, 400, "invalid_request",
         "kyc_level"),
        ("get", "/admin/orgs", {"x": 1}, 400, "invalid_request", "takes no body"),
    ],
)  # fmt: skip
def test_bad_requests(
    client: TestClient, method: str, path: str, body: Any, status: int, code: str, needle: str
) -> None:
    kwargs: dict[str, Any] = {"headers": AUTH}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    err = _err(client.request(method.upper(), path, **kwargs), status, code)
    assert needle in err["message"]


def test_conflict_size_and_content_type(client: TestClient) -> None:
    body = {"name": "Dup", "hq_country": "US"}
    _ok(client.post("/admin/orgs", headers=AUTH, json=body), 201)
    _err(client.post("/admin/orgs", headers=AUTH, json=body), 409, "conflict")
    big = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    _err(client.post("/admin/orgs", headers=AUTH, content=big), 413, "request_too_large")
    # a chunked body (no content-length) over the limit is refused too
    chunks = iter([b'{"name": "', *[b"x" * 65536] * 17, b'"}'])
    _err(client.post("/admin/orgs", headers=AUTH, content=chunks), 413, "request_too_large")
    # `curl -d` labels JSON as a form; the body is what counts
    form = {**AUTH, "content-type": "application/x-www-form-urlencoded"}
    _ok(client.post("/admin/orgs", headers=form, content=b'{"name": "F", "hq_country": "FR"}'), 201)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)  # fmt: skip
_fields = st.sampled_from(
    ["name", "hq_country", "parent_hq_country", "allowlists", "limits", "id", "type",
     "org_id", "nationality", "kyc_level", "emails", "address"]
)  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.dictionaries(_fields, _json_values, max_size=5),
       path=st.sampled_from(["/admin/orgs", "/admin/accounts"]))  # fmt: skip
def test_random_bodies_never_500(client: TestClient, body: dict[str, Any], path: str) -> None:
    resp = client.post(path, headers=AUTH, json=body)
    assert resp.status_code in (201, 400, 404, 409), resp.text
    if resp.status_code != 201:
        assert resp.json()["error"]["code"] in {"invalid_request", "not_found", "conflict"}
