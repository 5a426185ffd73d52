"""Evidence package on a campaign the real detector found in synthetic traffic: KYC records,
network, templates, commitments, decisions with inclusion proofs verified offline with the
ledger's verifier, STIX 2.1 bundle validated by stix2."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import stix2

from distillguard.detect.offline import scan_events
from distillguard.errors import DistillguardError, VerificationError
from distillguard.events import format_ts
from distillguard.identity import IdentityRecords
from distillguard.reports import api
from distillguard.reports.evidence import verify_evidence
from distillguard.reports.incidents import open_campaign_incident
from distillguard.reports.render import to_html
from distillguard.reports.signing import verify_envelope
from distillguard.reports.stix import validate_bundle
from distillguard.rules import RuleEngine
from distillguard.store import Database

from .campaign_fixture import CAMPAIGN, events


@pytest.fixture()
def world(db: Database, ledger: Any) -> dict[str, Any]:
    evs = events()
    ids = IdentityRecords(db)
    org = ids.create_org(name="Proxy Reseller Pte Ltd", hq_country="SG", id="org-proxy")
    for a in CAMPAIGN[:5]:  # acct-dist-5 never registered
        ids.create_account(
            name=a, type="organization", org_id=org.id, nationality="SG", kyc_level="basic", id=a
        )
    ids.set_kyc_record(
        CAMPAIGN[0],
        {"name": "Lee Wei", "emails": ["lw@example.sg"], "access_ips": ["203.0.113.0/24"]},
    )
    for ev in evs:  # the gateway's ledger hook, as in gateway/server.py
        ledger.append(
            {
                "type": "decision",
                "ts": format_ts(ev.ts),
                "request_id": ev.request_id,
                "account": ev.account,
                "org": ev.org,
                "action": "allow",
                "rule_ids": [],
                "prompt": ledger.commit_payload("prompt", ev.text()),
            }
        )
    report = scan_events(evs).report
    [camp] = report["campaigns"]
    assert sorted(camp["accounts"]) == sorted(CAMPAIGN)
    return {"events": evs, "report": report, "campaign": camp["id"]}


def test_evidence_package(
    db: Database, ledger: Any, key: Any, engine: RuleEngine, world: dict[str, Any]
) -> None:
    iid = open_campaign_incident(db, engine.reference, world["report"], world["campaign"])
    env, bundle = api.evidence_package(
        db,
        ledger,
        world["report"],
        world["campaign"],
        world["events"],
        engine=engine,
        max_proofs=20,
        key=key,
    )
    doc = env["report"]
    s = doc["sections"]
    assert s["campaign"]["incident"] == iid and s["campaign"]["requests"] == 240
    accts = {a["account"]: a for a in s["accounts"]}
    assert accts["acct-dist-0"]["kyc_record"]["name"] == "Lee Wei"
    assert accts["acct-dist-0"]["identity"]["org"]["hq_country"] == "SG"
    # declared, not omitted: no KYC record for 1..4, no identity at all for 5
    missing = {m["field"] for m in doc["missing"]}
    assert "/sections/accounts/1/kyc_record" in missing
    assert accts["acct-dist-5"]["identity"]["reason"] == "account not in the identity records"
    [net] = s["network"]["subnets"]
    assert net["subnet"] == "203.0.113.0/24" and len(net["accounts"]) == 6
    assert s["network"]["user_agents"][0]["user_agent"] == "python-httpx/0.27.0"
    assert any(t["template"].startswith("P:solve the following problem") for t in s["templates"])
    assert all(e["commitment"]["alg"] == "sha256-salted" for e in s["examples"])
    assert "prompt" not in s["examples"][0]  # text only on request
    assert s["decisions"]["total"] == 240 and s["decisions"]["included"] == 20
    # spread over the accounts (round-robin), in log order
    proven = [d["account"] for d in s["decisions"]["items"]]
    assert set(proven) == set(CAMPAIGN) and max(proven.count(a) for a in CAMPAIGN) <= 4
    assert [d["index"] for d in s["decisions"]["items"]] == sorted(
        d["index"] for d in s["decisions"]["items"]
    )
    # offline: only the package and the ledger's public key
    pem = s["ledger"]["public_key_pem"].encode()
    assert verify_evidence(json.loads(json.dumps(doc)), pem) == 20
    tampered = copy.deepcopy(doc)
    tampered["sections"]["decisions"]["items"][3]["proof"]["record"]["record"]["action"] = "block"
    with pytest.raises(VerificationError):
        verify_evidence(tampered, pem)
    swapped = copy.deepcopy(doc)
    swapped["sections"]["decisions"]["items"][2]["account"] = "acct-alice"
    with pytest.raises(VerificationError, match="differs from its proven record"):
        verify_evidence(swapped, pem)
    # STIX 2.1: validates, indicators for the subnet and user agent, linked to the campaign
    assert validate_bundle(bundle) == len(bundle["objects"])
    parsed = stix2.parse(json.dumps(bundle), allow_custom=False)
    pats = {o.pattern for o in parsed.objects if o.type == "indicator"}
    assert "[ipv4-addr:value ISSUBSET '203.0.113.0/24']" in pats
    assert any("python-httpx/0.27.0" in p for p in pats)
    camps = [o for o in parsed.objects if o.type == "campaign"]
    rels = [o for o in parsed.objects if o.type == "relationship"]
    assert len(camps) == 1 and sum(r.relationship_type == "indicates" for r in rels) == len(pats)
    assert verify_envelope(env, ledger=ledger)
    assert "203.0.113.0/24" in to_html(env)


def test_prompts_on_request_and_errors(
    db: Database, ledger: Any, key: Any, world: dict[str, Any]
) -> None:
    from distillguard.reports.evidence import build_evidence

    doc, _ = build_evidence(
        db,
        ledger,
        world["report"],
        world["campaign"],
        world["events"],
        include_prompts=True,
        examples=2,
    )
    assert len(doc["sections"]["examples"]) == 2
    assert "Think step by step" in doc["sections"]["examples"][0]["prompt"]
    env, _ = api.evidence_package(
        db, ledger, world["report"], world["campaign"], world["events"], key=key
    )  # no engine: still valid
    assert env["report"]["pack_hash"].startswith("none")
    with pytest.raises(DistillguardError, match="no campaign"):
        build_evidence(db, ledger, world["report"], "cmp-nope", world["events"])
    with pytest.raises(DistillguardError, match="no events"):
        build_evidence(db, ledger, world["report"], world["campaign"], [])


def test_stix_rejects_broken_bundle(tmp_path: Path) -> None:
    with pytest.raises(DistillguardError, match="does not validate"):
        validate_bundle({"type": "bundle", "id": "bundle--x", "objects": [{"type": "indicator"}]})


def test_shared_infrastructure_is_no_indicator(
    db: Database, ledger: Any, world: dict[str, Any]
) -> None:
    from dataclasses import replace

    from distillguard.reports.evidence import build_evidence

    # an ordinary account behind the same proxy range and with the same client library
    ev0 = world["events"][0]
    extra = replace(ev0, account="acct-alice", request_id="r-alice-x")
    doc, bundle = build_evidence(
        db, ledger, world["report"], world["campaign"], [*world["events"], extra]
    )
    [net] = doc["sections"]["network"]["subnets"]
    assert net["seen_from_other_accounts"] is True
    patterns = [o["pattern"] for o in bundle["objects"] if o["type"] == "indicator"]
    assert patterns == []  # both the subnet and the user agent are shared with alice
