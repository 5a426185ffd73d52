"""Shared detection: two replicas on PostgreSQL + Redis, one follower, one campaign seen whole."""

from __future__ import annotations

import random
import time
from typing import Any

import httpx
import pytest

from distillguard.detect.follow import Follower
from distillguard.gateway.config import GatewayConfig
from tests.detect.helpers import COT, problem
from tests.gateway.conftest import Gw

CHAT = "/v1/chat/completions"


def _chat(gw: Gw, key: str, content: str) -> httpx.Response:
    body = {"model": "general-chat", "messages": [{"role": "user", "content": content}]}
    return httpx.post(gw.url + CHAT, json=body, headers={"authorization": f"Bearer {key}"})


@pytest.mark.postgres
@pytest.mark.redis
def test_campaign_split_over_two_replicas_is_flagged_and_enforced_on_both(
    pg_schema: str, redis_url: str, make_gateway: Any
) -> None:  # (the schema outlives the gateways: fixtures are torn down in reverse)
    from distillguard.identity import IdentityService
    from distillguard.store.db import open_database

    def conf(cfg: GatewayConfig) -> None:
        cfg.store.database_url = pg_schema
        cfg.store.redis_url = redis_url
        cfg.store.ledger = False
        cfg.rules.guard = False  # the detector, not the input guard, must find this one
        cfg.rules.detector_mode = "shared"

    a, b = make_gateway(conf), make_gateway(conf)
    for gw in (a, b):  # replicas in shared mode run no detector of their own
        assert gw.parts.detector is None and gw.parts.active["detector_shared"]
    rng = random.Random(5)
    campaign = [a.customer(org=False, nationality="SG") for _ in range(8)]
    _, honest_key = a.customer()
    replica = {acct: (a, b)[i % 2] for i, (acct, _) in enumerate(campaign)}
    for _ in range(30):
        for acct, key in campaign:  # each account only ever talks to its own replica
            assert _chat(replica[acct], key, COT.format(p=problem(rng))).status_code == 200
    for gw in (a, b):
        assert _chat(gw, honest_key, "what is a good name for a bakery").status_code == 200
        assert gw.app.sink.flush()

    db = open_database(pg_schema)
    ids = IdentityService(db, notify_url=redis_url)
    try:
        follower = Follower(db, ids)
        assert follower.catch_up() == 8 * 30 + 2
        assert follower.stats.events == 8 * 30 + 2
        risk = {acct: ids.get_account(acct) for acct, _ in campaign}
        camps = {r.risk_campaign for r in risk.values()}
        # one campaign across both replicas' accounts: neither replica saw it whole
        assert len(camps) == 1 and None not in camps, camps
        assert {r.risk_verdict for r in risk.values()} == {"distillation"}
        assert {replica[acct].url for acct in risk} == {a.url, b.url}
        # what the per-replica ("local") detectors would have seen: two separate pieces
        from distillguard.detect import OnlineDetector
        from distillguard.events import RequestEvent
        from distillguard.gateway.sink import iter_stored_events

        local = {a.url: OnlineDetector(), b.url: OnlineDetector()}
        for d in iter_stored_events(db):
            if d["account"] in replica:
                local[replica[d["account"]].url].observe(RequestEvent.from_dict(d))
        pieces = {
            det.account_state(acct).campaign  # type: ignore[union-attr]
            for acct in replica
            for det in local.values()
            if acct in det.states
        }
        assert len(pieces) == 2  # one campaign per replica, each half of the real one
    finally:
        ids.close()
        db.close()

    # every replica applies the pack's action to every member, whichever replica it used
    deadline = time.monotonic() + 10
    for acct, key in campaign:
        for gw in (a, b):
            while True:
                r = _chat(gw, key, COT.format(p=problem(rng)))
                if r.status_code == 403 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert r.status_code == 403, (acct, r.status_code, r.text)
            err = r.json()["error"]
            assert err["code"] == "usage_policy_denied", err
            assert "detect.distillation_campaign" in err["rule_ids"]
            assert r.headers["x-distillguard-decision"] == "block"
    for gw in (a, b):
        assert _chat(gw, honest_key, "tell me a fun fact about octopuses").status_code == 200
