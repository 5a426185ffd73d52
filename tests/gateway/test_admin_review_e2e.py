"""A reviewer's disposition through the real gateway: an account flagged by its own traffic
(the in-process online detector writing its risk back to identity) is cleared by an
analyst over the admin API and served again while the detector keeps scoring it; a
confirmed account stays blocked whatever the detector later says."""

from __future__ import annotations

import random
import time
from typing import Any

import httpx

from distillguard.gateway.config import GatewayConfig
from tests.detect.helpers import COT, problem
from tests.gateway.conftest import Gw

TOKEN = "admin-token-0123456789abcdef"
ADMIN = {"authorization": f"Bearer {TOKEN}", "x-actor": "ana"}
CHAT = "/v1/chat/completions"


def _conf(cfg: GatewayConfig) -> None:
    cfg.admin.token = TOKEN
    cfg.store.ledger = False
    cfg.rules.guard = False  # the detector, not the input guard, must find this one


def _chat(gw: Gw, key: str, content: str) -> httpx.Response:
    body = {"model": "general-chat", "messages": [{"role": "user", "content": content}]}
    return httpx.post(gw.url + CHAT, json=body, headers={"authorization": f"Bearer {key}"})


def _harvest_until_blocked(gw: Gw, key: str, rng: random.Random) -> httpx.Response:
    """Send chain-of-thought problem-set prompts until the gateway refuses them."""
    deadline = time.monotonic() + 30
    for _ in range(200):
        r = _chat(gw, key, COT.format(p=problem(rng)))
        if r.status_code == 403:
            return r
        assert r.status_code == 200, r.text
        assert time.monotonic() < deadline
        time.sleep(0.01)  # lets the background consumer fold the event in
    raise AssertionError("the harvesting account was never blocked")


def _settled(gw: Gw, key: str, rng: random.Random, status: int) -> httpx.Response:
    """The first answer with `status` (the change reaches the snapshot cache at once on
    this replica; the loop only absorbs an in-flight detector write)."""
    deadline = time.monotonic() + 10
    while True:
        r = _chat(gw, key, COT.format(p=problem(rng)))
        if r.status_code == status or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def test_flagged_account_cleared_by_an_analyst_is_served_again(make_gateway: Any) -> None:
    gw: Gw = make_gateway(_conf)
    assert gw.parts.active["detector"] and gw.parts.admin_app is not None
    rng = random.Random(3)
    acct, key = gw.customer(org=False)
    _, honest_key = gw.customer(org=False)
    blocked = _harvest_until_blocked(gw, key, rng)
    err = blocked.json()["error"]
    assert (
        err["code"] == "usage_policy_denied" and "detect.distillation_campaign" in err["rule_ids"]
    ), err
    flagged = gw.ids.get_account(acct)
    assert flagged.risk_verdict == "distillation" and flagged.review is None

    # the analyst reviews it as benign (say, a university lab's evaluation run)
    body = {"disposition": "cleared", "reason": "lab evaluation, ticket 4711"}
    r = httpx.put(f"{gw.url}/admin/accounts/{acct}/review", headers=ADMIN, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cleared" and r.json()["review"]["reviewer"] == "ana"
    assert r.json()["review"]["verdict"] == "distillation"

    r = _settled(gw, key, rng, 200)
    assert r.status_code == 200, r.text
    assert r.headers["x-distillguard-decision"] == "allow"
    for _ in range(15):  # the same traffic keeps being served ...
        r = _chat(gw, key, COT.format(p=problem(rng)))
        assert r.status_code == 200 and r.headers["x-distillguard-decision"] == "allow"
    assert gw.app.sink.flush()
    # ... while the detector keeps scoring it, and its writes leave the review in place
    det = gw.parts.detector
    sig = det.account_state(acct)
    assert sig is not None and sig.verdict == "distillation" and sig.requests > 20
    a = gw.ids.get_account(acct)
    assert a.risk_verdict == "distillation" and a.review is not None
    assert a.review.disposition == "cleared" and a.review.reviewer == "ana"
    view = httpx.get(f"{gw.url}/admin/accounts/{acct}/review", headers=ADMIN).json()
    assert view["state"] == "cleared" and view["lapse_reason"] is None
    ctx = httpx.get(f"{gw.url}/admin/accounts/{acct}/context", headers=ADMIN).json()
    assert ctx["risk"]["review"] == "cleared" and ctx["risk"]["verdict"] == "distillation"
    actions = [c["action"] for c in gw.ids.changes(acct, limit=50)]
    assert "account.review" in actions
    review_by = [c["actor"] for c in gw.ids.changes(acct, limit=50)
                 if c["action"] == "account.review"]  # fmt: skip
    assert review_by == ["admin-api:ana"]
    assert _chat(gw, honest_key, "what is a good name for a bakery").status_code == 200

    # the review withdrawn: the detector's verdict applies again at once
    r = httpx.request("DELETE", f"{gw.url}/admin/accounts/{acct}/review", headers=ADMIN,
                      json={"reason": "the lab's run is over"})  # fmt: skip
    assert r.status_code == 200 and r.json()["state"] == "none", r.text
    r = _settled(gw, key, rng, 403)
    assert r.status_code == 403 and "detect.distillation_campaign" in r.json()["error"]["rule_ids"]


def test_confirmed_account_stays_blocked_whatever_the_detector_says(make_gateway: Any) -> None:
    gw: Gw = make_gateway(_conf)
    rng = random.Random(4)
    acct, key = gw.customer(org=False)
    _harvest_until_blocked(gw, key, rng)
    r = httpx.put(f"{gw.url}/admin/accounts/{acct}/review", headers=ADMIN,
                  json={"disposition": "confirmed", "reason": "harvesting, case 99"})  # fmt: skip
    assert r.status_code == 200 and r.json()["state"] == "confirmed", r.text
    r = _chat(gw, key, COT.format(p=problem(rng)))
    assert r.status_code == 403
    assert r.json()["error"]["rule_ids"][0] == "review.confirmed_distillation"

    # the detector's state is reset to benign (as a detector restart with no history
    # would write it): the reviewer's confirmation still blocks, and is still stored
    r = httpx.put(f"{gw.url}/admin/accounts/{acct}/risk", headers=ADMIN,
                  json={"score": 0.0, "verdict": "benign"})  # fmt: skip
    assert r.status_code == 200, r.text
    for _ in range(5):
        r = _chat(gw, key, "hello, how are you today?")
        assert r.status_code == 403, r.text
        err = r.json()["error"]
        assert err["code"] == "usage_policy_denied"
        assert "review.confirmed_distillation" in err["rule_ids"]
    a = gw.ids.get_account(acct)
    assert a.review is not None and a.review.disposition == "confirmed"
    assert gw.ids.snapshot(acct).to_context()["risk"]["review"] == "confirmed"
