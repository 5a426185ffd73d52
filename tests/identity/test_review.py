"""A reviewer's disposition of the detector's risk: stored beside it, never erased by the
detector's writes, visible in the snapshot the rules see, honoured by the default pack,
exposed in the admin API and the CLI (SQLite and PostgreSQL through the `ids` fixture)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient
from typer.testing import CliRunner

from distillguard.cli import app as cli_app
from distillguard.errors import DistillguardError
from distillguard.gateway.admin import build_admin_app
from distillguard.identity import IdentityService, NotFoundError
from distillguard.identity.schema import STATEMENTS
from distillguard.rules import RuleEngine, default_pack_path
from distillguard.store.db import Database

TOKEN = "admin-token-0123456789abcdef"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def engine() -> RuleEngine:
    return RuleEngine.from_path(default_pack_path())


def _decide(engine: RuleEngine, ids: IdentityService, key: str) -> Any:
    """The default pack's decision for a verified US person on a general model."""
    snap = ids.authenticate(key)
    assert snap is not None
    ctx = snap.to_context()
    ctx["account"]["kyc_level"] = "verified"
    ctx["account"]["nationality"] = "US"
    ctx.update(
        screening={"status": "clear"},
        request={"country": "US", "model": "general-chat", "time": "2026-11-20T12:00:00Z"},
        model={"name": "general-chat"},
        guard={"verdict": "allow"},
        params={"n": 1},
    )
    return engine.decide("access", ctx)


def test_detector_updates_never_erase_a_review(ids: IdentityService, engine: RuleEngine) -> None:
    acct = ids.create_account("flagged", nationality="US", kyc_level="verified")
    _, key = ids.issue_key(acct.id)
    ids.set_risk(acct.id, 0.7, "distillation")
    d = _decide(engine, ids, key)
    assert d.action == "throttle" and d.rule_ids == ["detect.distillation"]

    a = ids.set_review(acct.id, "cleared", reviewer="ana", reason="university lab, ticket 12")
    r = a.review
    assert r is not None and (r.disposition, r.reviewer, r.reason) == (
        "cleared", "ana", "university lab, ticket 12")  # fmt: skip
    assert (r.score, r.verdict, r.campaign, r.margin) == (0.7, "distillation", None, 0.15)
    assert r.expires_at is not None and r.at  # default expiry: 90 days
    days = (datetime.fromisoformat(r.expires_at.replace("Z", "+00:00")).timestamp()
            - time.time()) / 86400  # fmt: skip
    assert 89.9 < days <= 90
    assert _decide(engine, ids, key).action == "allow"

    # the detector keeps scoring and writing: the review stays, and holds below the margin
    ids.set_risk(acct.id, 0.8, "distillation")
    a = ids.get_account(acct.id)
    assert a.review == r and a.risk_score == 0.8
    ctx = ids.authenticate(key).to_context()  # type: ignore[union-attr]
    assert ctx["risk"]["review"] == "cleared" and ctx["risk"]["reviewed_by"] == "ana"
    assert ctx["risk"]["reviewed_score"] == 0.7 and ctx["risk"]["verdict"] == "distillation"
    assert _decide(engine, ids, key).action == "allow"

    # a material rise (>= score at review + margin) gives the detector back its say
    ids.set_risk(acct.id, 0.86, "distillation")
    assert ids.get_account(acct.id).review == r  # still stored, now lapsed
    assert ids.authenticate(key).to_context()["risk"]["review"] == "lapsed"  # type: ignore[union-attr]
    assert _decide(engine, ids, key).rule_ids == ["detect.distillation"]


def test_a_new_campaign_or_the_expiry_ends_a_cleared_review(ids: IdentityService) -> None:
    acct = ids.create_account("x")
    ids.set_risk(acct.id, 0.9, "distillation", "camp-1")
    ids.set_review(acct.id, "cleared", reviewer="ana", reason="fp", ttl_days=1)
    a = ids.get_account(acct.id)
    r = a.review
    assert r is not None and r.campaign == "camp-1"
    assert r.lapse(0.95, "camp-1") is None
    assert r.lapse(0.95, None) is None  # leaving the campaign is no reason to block
    assert r.lapse(0.95, "camp-2") == "new_campaign"
    assert r.lapse(0.95, "camp-1", now=time.time() + 2 * 86400) == "expired"
    snap = ids.snapshot(acct.id)
    assert snap.risk_context(now=time.time() + 2 * 86400)["review"] == "lapsed"
    ids.set_risk(acct.id, 0.9, "distillation", "camp-2")
    assert ids.snapshot(acct.id).to_context()["risk"]["review"] == "lapsed"


def test_a_confirmed_review_blocks_whatever_the_detector_says(
    ids: IdentityService, engine: RuleEngine
) -> None:
    acct = ids.create_account("harvester", nationality="US", kyc_level="verified")
    _, key = ids.issue_key(acct.id)
    ids.set_risk(acct.id, 0.95, "distillation", "camp-9")
    ids.set_review(acct.id, "confirmed", reviewer="bo", reason="same templates as camp-9")
    for score, verdict, camp in ((0.3, "suspicious", None), (0.0, "benign", None)):
        ids.set_risk(acct.id, score, verdict, camp)  # the detector forgets (e.g. a restart)
        d = _decide(engine, ids, key)
        assert d.action == "block" and d.rule_ids[0] == "review.confirmed_distillation"
    r = ids.get_account(acct.id).review
    assert r is not None and r.disposition == "confirmed" and r.expires_at is None
    assert r.margin is None and r.lapse(0.0, "other", now=time.time() + 1e9) is None
    # withdrawn: the detector's verdict (benign now) decides again
    a = ids.remove_review(acct.id, reviewer="bo", reason="appeal upheld")
    assert a.review is None and _decide(engine, ids, key).action == "allow"
    with pytest.raises(NotFoundError, match="no review"):
        ids.remove_review(acct.id, reviewer="bo", reason="again")


def test_reviews_are_audited(ids: IdentityService) -> None:
    from distillguard.identity.records import ACTOR

    acct = ids.create_account("x")
    token = ACTOR.set("admin-api:ana")
    try:
        ids.set_review(acct.id, "confirmed", reviewer="ana", reason="r1")
        ids.remove_review(acct.id, reviewer="ana", reason="r2")
    finally:
        ACTOR.reset(token)
    changes = ids.changes(acct.id, limit=2)
    assert [c["action"] for c in changes] == ["account.review_removed", "account.review"]
    assert all(c["actor"] == "admin-api:ana" for c in changes)
    assert changes[1]["detail"]["disposition"] == "confirmed"
    assert changes[1]["detail"]["by"] == "ana" and changes[1]["detail"]["reason"] == "r1"
    assert changes[0]["detail"] == {"by": "ana", "reason": "r2", "was": "confirmed"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"disposition": "ok"}, "disposition"),
        ({"reason": " "}, "reason"),
        ({"reviewer": ""}, "reviewer"),
        ({"ttl_days": 0}, "ttl_days"),
        ({"ttl_days": 1, "expires_at": "2099-01-01T00:00:00Z"}, "not both"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "in the past"),
        ({"expires_at": "2099-01-01T00:00:00"}, "timezone"),
        ({"margin": 0}, "margin"),
        ({"margin": True}, "margin"),
        ({"disposition": "confirmed", "margin": 0.2}, "cleared reviews only"),
    ],
)
def test_bad_reviews_are_refused(
    ids: IdentityService, kwargs: dict[str, Any], message: str
) -> None:
    acct = ids.create_account("x")
    args: dict[str, Any] = {"disposition": "cleared", "reviewer": "ana", "reason": "fp", **kwargs}
    with pytest.raises(DistillguardError, match=message):
        ids.set_review(acct.id, args.pop("disposition"), **args)
    assert ids.get_account(acct.id).review is None
    with pytest.raises(NotFoundError):
        ids.set_review("nope", "cleared", reviewer="ana", reason="fp")


def test_an_existing_database_is_migrated(db_url: str) -> None:
    """A database made before reviews existed: its accounts load, then take reviews."""
    url = db_url
    old = Database(url)
    old.migrate("identity", STATEMENTS[: STATEMENTS.index(
        "ALTER TABLE identity_accounts ADD COLUMN review_disposition TEXT")])  # fmt: skip
    old.execute(
        "INSERT INTO identity_accounts (id, name, type, risk_score, risk_verdict, created_at,"
        " updated_at) VALUES ('a1', 'old', 'individual', 0.9, 'distillation',"
        " '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')"
    )
    old.close()
    db = Database(url)
    try:
        ids = IdentityService(db)
        a = ids.get_account("a1")
        assert a.review is None and a.risk_verdict == "distillation"
        assert ids.snapshot("a1").to_context()["risk"]["review"] == "none"
        a = ids.set_review("a1", "cleared", reviewer="ana", reason="fp")
        assert a.review is not None and a.review.score == 0.9
    finally:
        db.close()


def test_admin_api_review_routes(ids: IdentityService) -> None:
    client = TestClient(
        Starlette(routes=[Mount("/admin", app=build_admin_app(ids, TOKEN))]),
        raise_server_exceptions=False,
    )
    acct = ids.create_account("x")
    url = f"/admin/accounts/{acct.id}/review"
    got = client.get(url, headers=AUTH).json()
    assert got["review"] is None and got["state"] == "none" and got["lapse_reason"] is None
    ids.set_risk(acct.id, 0.6, "suspicious")
    # the reviewer comes from the body or the X-Actor header; one of them is required
    r = client.put(url, headers=AUTH, json={"disposition": "cleared", "reason": "fp"})
    assert r.status_code == 400 and "reviewer" in r.json()["error"]["message"]
    r = client.put(url, headers={**AUTH, "x-actor": "ana"},
                   json={"disposition": "cleared", "reason": "fp", "margin": 0.2})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "cleared" and body["review"]["reviewer"] == "ana"
    assert body["review"]["score"] == 0.6 and body["review"]["margin"] == 0.2
    assert body["risk"]["verdict"] == "suspicious"
    assert ids.changes(acct.id, limit=1)[0]["actor"] == "admin-api:ana"
    # the detector's channel (PUT /risk) leaves the review in place
    r = client.put(f"/admin/accounts/{acct.id}/risk", headers=AUTH,
                   json={"score": 0.85, "verdict": "distillation"})  # fmt: skip
    assert r.status_code == 200
    got = client.get(url, headers=AUTH).json()
    assert got["state"] == "lapsed" and got["lapse_reason"] == "score_rose"
    acct_view = client.get(f"/admin/accounts/{acct.id}", headers=AUTH).json()
    assert acct_view["review"]["disposition"] == "cleared"
    ctx = client.get(f"/admin/accounts/{acct.id}/context", headers=AUTH).json()
    assert ctx["risk"]["review"] == "lapsed"
    # body checks from the spec
    ok = {"disposition": "cleared", "reason": "x", "reviewer": "a"}
    for bad in ({"disposition": "maybe", "reason": "x"}, {"disposition": "cleared"},
                {**ok, "extra": 1}, {**ok, "ttl_days": -1}):  # fmt: skip
        r = client.put(url, headers=AUTH, json=bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_request", bad
    r = client.put(url, headers=AUTH, json={"disposition": "confirmed", "reason": "x",
                                            "reviewer": "bo", "margin": 0.1})  # fmt: skip
    assert r.status_code == 400 and "cleared reviews only" in r.json()["error"]["message"]
    assert client.put("/admin/accounts/nope/review", headers=AUTH, json={
        "disposition": "cleared", "reason": "x", "reviewer": "a"}).status_code == 404  # fmt: skip
    # withdrawn
    r = client.request("DELETE", url, headers=AUTH, json={"reason": "appeal", "reviewer": "bo"})
    assert r.status_code == 200 and r.json()["state"] == "none", r.text
    r = client.request("DELETE", url, headers=AUTH, json={"reason": "again", "reviewer": "bo"})
    assert r.status_code == 404
    assert client.get(url).status_code == 401


def test_cli_review(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        res = runner.invoke(cli_app, [*args, "--db", db], env={"COLUMNS": "200"})
        assert res.exit_code == code, (res.output, res.exception)
        return res.output

    run("accounts", "create", "solo", "--nationality", "US", "--id", "a1")
    ids = IdentityService(Database(db))
    ids.set_risk("a1", 0.9, "distillation", "camp-3")
    out = run("accounts", "review", "a1", "confirmed", "--reason", "templates of camp-3",
              "--reviewer", "ana")  # fmt: skip
    assert "confirmed by ana" in out and "distillation 0.90" in out
    out = run("accounts", "review", "a1", "cleared", "--reason", "lab", "--reviewer", "ana",
              "--ttl-days", "7")  # fmt: skip
    assert "cleared by ana" in out and "until" in out and "score reaches 1.05" in out
    assert "cleared by ana" in run("accounts", "show", "a1")
    assert "cleared" in run("accounts", "list")
    proc = subprocess.run(
        [sys.executable, "-m", "distillguard", "accounts", "review", "a1", "sure",
         "--reason", "x", "--reviewer", "a", "--db", db],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.startswith("error: disposition"), proc.stderr
    assert "Traceback" not in proc.stderr
    out = run("accounts", "review", "a1", "withdraw", "--reason", "done", "--reviewer", "ana")
    assert "withdrawn" in out and "distillation" in out
    assert IdentityService(Database(db)).get_account("a1").review is None
