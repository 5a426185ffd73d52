"""The report-input routes of the admin HTTP API (Starlette TestClient, SQLite).

They must record exactly what `distillguard reports inputs ...` records (same store), list
what `reports due --json` lists, and refuse bad input with a 400 OpenAI-style error."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from distillguard.gateway.admin import build_admin_app
from distillguard.gateway.admin_reports import ReportsContext
from distillguard.identity import IdentityService
from distillguard.reports.clocks import due_items
from distillguard.reports.store import MODEL_FACTS, ReportsStore
from distillguard.reports.timeutil import parse_time
from distillguard.rules import RuleEngine
from distillguard.store import Database

TOKEN = "admin-token-0123456789abcdef"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
def client(db: Database, engine: RuleEngine) -> TestClient:
    ctx = ReportsContext(db, lambda: engine.reference)
    admin = build_admin_app(IdentityService(db), TOKEN, ctx)
    return TestClient(Starlette(routes=[Mount("/admin", app=admin)]), raise_server_exceptions=False)


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.text
    return resp.json()


def _err(resp: Any, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["code"] == code
    assert "Traceback" not in err["message"]
    return str(err["message"])


CLUSTER = {
    "name": "iad-1",
    "location": "Ashburn, VA, data centre 4",
    "country": "us",
    "accelerator": "NVIDIA H100 SXM",
    "accelerator_count": 65536,
    "interconnect_gbps": 3200,
    "peak_ops_per_s": 1.3e20,
}


def test_inputs_recorded_in_the_reports_store(client: TestClient, db: Database) -> None:
    row = _ok(client.post("/admin/reports/clusters", json=CLUSTER, headers=AUTH), 201)
    assert row["country"] == "US" and row["accelerator_count"] == 65536
    ev = {
        "model": "frontier-x",
        "version": "1",
        "area": "cbrn",
        "method": "expert red team, 40 h",
        "result": "uplift below the framework threshold",
        "performed_at": "2026-10-20T02:00:00+02:00",
    }
    row = _ok(client.post("/admin/reports/evaluations", json=ev, headers=AUTH), 201)
    assert row["performed_at"] == "2026-10-20T00:00:00Z"
    contact = {"role": "compliance", "name": "Jo", "email": "jo@acme.example"}
    prof = {"name": "Acme AI", "revenue_usd": 2.5e9, "country": "US", "contacts": [contact]}
    _ok(client.patch("/admin/reports/profile", json=prof, headers=AUTH))
    got = _ok(client.patch("/admin/reports/profile", json={"website": "https://a.example"},
                           headers=AUTH))  # fmt: skip
    assert got["name"] == "Acme AI" and got["website"] == "https://a.example"  # merged
    fw = {"version": "2026.1", "title": "Acme Frontier Safety Framework",
          "published_at": "2026-01-15T00:00:00Z"}  # fmt: skip
    row = _ok(client.post("/admin/reports/frameworks", json=fw, headers=AUTH), 201)
    assert row["review_due"] == "2027-01-15T00:00:00Z"  # default: one year on
    plan = {"model": "frontier-y", "planned_start": "2027-03-01T00:00:00Z", "expected_ops": 5e26,
            "cluster": "iad-1"}  # fmt: skip
    _ok(client.post("/admin/reports/plans", json=plan, headers=AUTH), 201)
    facts = {"facts": {"intended_uses": "general assistant", "languages": "English"}}
    got = _ok(client.patch("/admin/reports/model-facts/frontier-x", json=facts, headers=AUTH))
    assert got["facts"] == facts["facts"]
    assert set(got["absent"]) == set(MODEL_FACTS) - set(facts["facts"])

    # the CLI's store sees the same records, and the GET routes list them
    st = ReportsStore(db)
    assert [c["name"] for c in st.clusters()] == ["iad-1"]
    assert st.profile()["revenue_usd"] == 2.5e9
    assert st.model_facts("frontier-x")["languages"] == "English"
    listed = _ok(client.get("/admin/reports/evaluations?model=frontier-x", headers=AUTH))
    assert listed["data"] == st.evaluations("frontier-x")
    assert _ok(client.get("/admin/reports/plans", headers=AUTH))["data"] == st.planned_runs()
    assert _ok(client.get("/admin/reports/frameworks", headers=AUTH))["data"] == st.frameworks()
    assert _ok(client.get("/admin/reports/clusters", headers=AUTH))["data"] == st.clusters()
    assert _ok(client.get("/admin/reports/profile", headers=AUTH)) == st.profile()


def test_due_matches_the_clocks(client: TestClient, db: Database, engine: RuleEngine) -> None:
    ReportsStore(db).open_incident(
        "weight_exfiltration",
        title="weights copied",
        discovered_at=parse_time("2026-11-28T02:15:00Z"),
        imminent=True,
        source="manual",
    )
    at = "2026-11-29T12:00:00Z"
    got = _ok(client.get(f"/admin/reports/due?at={at}", headers=AUTH))
    now = parse_time(at)
    want = [d.to_dict(now) for d in due_items(db, engine.reference, now)]
    assert got["data"] == want and want
    assert got["overdue"] == 1  # the SB 53 24-hour imminent-risk report
    overdue = [d["event"] for d in got["data"] if d["status"] == "overdue"]
    assert overdue == ["imminent_risk_of_death_or_serious_injury"]
    naive = client.get("/admin/reports/due?at=2026-11-29T12:00:00", headers=AUTH)
    assert "no timezone" in _err(naive, 400, "invalid_request")  # ambiguous: refused


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("post", "/admin/reports/clusters", {**CLUSTER, "country": "XX"}, "invalid_request"),
        ("post", "/admin/reports/clusters", {**CLUSTER, "colour": "red"}, "invalid_request"),
        ("post", "/admin/reports/clusters", {**CLUSTER, "accelerator_count": 0}, "invalid_request"),
        ("post", "/admin/reports/clusters", {**CLUSTER, "name": " "}, "invalid_request"),
        ("patch", "/admin/reports/profile", {"country": "Germany"}, "invalid_request"),
        ("patch", "/admin/reports/profile", {}, "invalid_request"),
        ("post", "/admin/reports/evaluations",
         {"model": "m", "area": "magic", "method": "x", "result": "y",
          "performed_at": "2026-10-20T00:00:00Z"}, "invalid_request"),
        ("post", "/admin/reports/evaluations",
         {"model": "m", "area": "cbrn", "method": "x", "result": "y",
          "performed_at": "last tuesday"}, "invalid_request"),
        ("post", "/admin/reports/frameworks",
         {"version": "1", "title": "t", "published_at": "2026-01-15T00:00:00Z",
          "review_due": "2025-01-01T00:00:00Z"}, "invalid_request"),
        ("post", "/admin/reports/plans",
         {"model": "m", "planned_start": "2027-01-01T00:00:00Z", "expected_ops": -1},
         "invalid_request"),
        ("patch", "/admin/reports/model-facts/m", {"facts": {"favourite_colour": "red"}},
         "invalid_request"),
    ],
)  # fmt: skip
def test_bad_input_is_a_400(
    client: TestClient, method: str, path: str, body: dict[str, Any], code: str
) -> None:
    _err(client.request(method, path, json=body, headers=AUTH), 400, code)


def test_malformed_json_duplicates_and_auth(client: TestClient) -> None:
    bad = client.post("/admin/reports/clusters", content=b"{not json", headers=AUTH)
    _err(bad, 400, "invalid_json")
    _ok(client.post("/admin/reports/clusters", json=CLUSTER, headers=AUTH), 201)
    msg = _err(client.post("/admin/reports/clusters", json=CLUSTER, headers=AUTH), 400,
               "invalid_request")  # fmt: skip
    assert "already exists" in msg
    _err(client.get("/admin/reports/clusters"), 401, "invalid_admin_token")
    _err(client.post("/admin/reports/clusters", json=CLUSTER), 401, "invalid_admin_token")
    _err(client.delete("/admin/reports/clusters", headers=AUTH), 405, "method_not_allowed")
