"""Evidence package for a detected distillation campaign: what partners and authorities
need to act on it, with the proofs that the decisions were recorded when they were taken.

Built from a detector report (`distillguard detect` contract), the request events of the
campaign's accounts, the identity records (KYC) and the ledger. Contents: accounts with
their KYC records, subnets and user agents, per-account timelines, prompt templates shared
across accounts, example prompts as ledger commitments (text only on request), the
gateway's decisions with ledger inclusion proofs (verifiable offline with the ledger's
public key), and STIX 2.1 indicators. A subnet or user agent that accounts outside the
campaign also used in the given events becomes no indicator (it would flag innocent
traffic at partners); the package still lists it, marked `seen_from_other_accounts`.
Prompt text may be personal data or a customer's confidential work: by default only the
salted commitments leave the system (text with `include_prompts=True`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from distillguard.errors import DistillguardError
from distillguard.events import RequestEvent, format_ts
from distillguard.reports.document import missing, new_document, or_missing
from distillguard.reports.incidents import find_campaign
from distillguard.reports.stix import build_bundle
from distillguard.reports.store import ReportsStore
from distillguard.store import Database

KIND = "distillation_evidence"


def _identity(db: Database, account: str) -> tuple[Any, Any]:
    """(account + org record, KYC record) from identity, or missing markers."""
    from distillguard.identity import IdentityRecords

    recs = IdentityRecords(db)
    acct = recs.find_account(account)
    if acct is None:
        why = "account not in the identity records"
        return missing(why), missing(why)
    info: dict[str, Any] = {
        "name": acct.name,
        "type": acct.type,
        "nationality": acct.nationality,
        "kyc_level": acct.kyc_level,
        "status": acct.status,
        "created_at": acct.created_at,
        "screening_status": acct.screening_status,
        "org": None,
    }
    if acct.org_id:
        org = recs.find_org(acct.org_id)
        if org is not None:
            info["org"] = {
                "id": org.id,
                "name": org.name,
                "hq_country": org.hq_country,
                "parent_name": org.parent_name,
                "parent_hq_country": org.parent_hq_country,
            }
    kyc = recs.get_kyc_record(account) or (
        recs.get_kyc_record(acct.org_id) if acct.org_id else None
    )
    return info, (kyc.to_dict() if kyc else missing("no KYC customer record on file"))


def _decisions(ledger: Any, accounts: set[str]) -> list[tuple[int, dict[str, Any]]]:
    """Ledger decision records of the campaign's accounts, in log order."""
    out: list[tuple[int, dict[str, Any]]] = []
    for rows in ledger.storage.iter_records(0, 2000):
        for row in rows:
            env = orjson.loads(bytes(row[3]))
            rec = env.get("record") or {}
            if rec.get("type") == "decision" and rec.get("account") in accounts:
                out.append((int(row[0]), rec))
    return out


def spread_sample(
    decisions: list[tuple[int, dict[str, Any]]], n: int
) -> list[tuple[int, dict[str, Any]]]:
    """Up to n decisions taken round-robin over accounts (each account's earliest first),
    so that every account gets proofs; returned in log order."""
    by: dict[Any, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for d in decisions:
        by[d[1].get("account")].append(d)
    queues = [list(reversed(v)) for v in by.values()]
    out: list[tuple[int, dict[str, Any]]] = []
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop())
    return sorted(out, key=lambda d: d[0])


def build_evidence(
    db: Database,
    ledger: Any,
    report: dict[str, Any],
    campaign_id: str,
    events: Iterable[RequestEvent],
    *,
    at: datetime | None = None,
    pack_hash: str = "",
    max_proofs: int = 50,
    examples: int = 5,
    include_prompts: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(evidence document, STIX bundle) for one campaign of a detector report."""
    from distillguard.detect.features import subnet_of, wrapper_keys

    at = at or datetime.now(UTC)
    camp = find_campaign(report, campaign_id)
    members = set(camp["accounts"])
    by_acct = {a["account"]: a for a in report.get("accounts", []) if a.get("account") in members}
    subnets: dict[str, Counter[str]] = defaultdict(Counter)
    agents: dict[str, Counter[str]] = defaultdict(Counter)
    countries: Counter[str] = Counter()
    tmpl: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    counts: Counter[str] = Counter()
    hourly: Counter[str] = Counter()
    samples: list[RequestEvent] = []
    others_net: set[str] = set()
    others_ua: set[str] = set()
    for ev in events:
        a = ev.account
        if a not in members:  # what non-members also use must not become an indicator
            others_net.add(subnet_of(ev.ip) or "")
            others_ua.add(ev.user_agent or "")
            continue
        counts[a] += 1
        first[a] = min(first.get(a, ev.ts), ev.ts)
        last[a] = max(last.get(a, ev.ts), ev.ts)
        hourly[ev.ts.astimezone(UTC).strftime("%Y-%m-%dT%H:00Z")] += 1
        sn = subnet_of(ev.ip)
        if sn:
            subnets[sn][a] += 1
        agents[ev.user_agent or "(none)"][a] += 1
        if ev.country:
            countries[ev.country] += 1
        for k in wrapper_keys(ev.text()):
            tmpl[k][a] += 1
        if counts[a] <= 1 and len(samples) < examples:
            samples.append(ev)
    if not counts:
        raise DistillguardError(f"no events of campaign {campaign_id}'s accounts in the given logs")
    decisions = _decisions(ledger, members)
    by_req = {r.get("request_id"): (i, r) for i, r in decisions if r.get("request_id")}
    accounts = []
    for a in sorted(members):
        ident, kyc = _identity(db, a)
        det = by_acct.get(a, {})
        accounts.append(
            {
                "account": a,
                "requests": counts.get(a, 0),
                "score": det.get("score"),
                "verdict": det.get("verdict"),
                "first_flagged_at": det.get("first_flagged_at"),
                "reasons": det.get("reasons", []),
                "identity": ident,
                "kyc_record": kyc,
                "first_request": format_ts(first[a]) if a in first else None,
                "last_request": format_ts(last[a]) if a in last else None,
            }
        )

    def spread(
        c: dict[str, Counter[str]], key: str, others: set[str] | None = None
    ) -> list[dict[str, Any]]:
        rows = [{key: k, "accounts": sorted(v), "requests": sum(v.values())} for k, v in c.items()]
        if others is not None:
            for r in rows:
                r["seen_from_other_accounts"] = r[key] in others
        return sorted(rows, key=lambda r: (-len(r["accounts"]), -r["requests"], r[key]))

    shared = [t for t in spread(tmpl, "template") if len(t["accounts"]) >= 2]
    ex = []
    for ev in samples:
        found = by_req.get(ev.request_id)
        item: dict[str, Any] = {
            "account": ev.account,
            "ts": format_ts(ev.ts),
            "request_id": ev.request_id,
            "commitment": found[1]["prompt"]
            if found and found[1].get("prompt")
            else missing("no ledger decision with a prompt commitment for this request"),
        }
        if include_prompts:
            item["prompt"] = ev.text()
        ex.append(item)
    items = []
    for idx, rec in spread_sample(decisions, max_proofs):
        items.append(
            {
                "index": idx,
                "account": rec.get("account"),
                "ts": rec.get("ts"),
                "request_id": rec.get("request_id"),
                "action": rec.get("action"),
                "rule_ids": rec.get("rule_ids", []),
                "proof": ledger.prove_inclusion(idx),
            }
        )
    t0, t1 = min(first.values()), max(last.values())
    prof = ReportsStore(db).profile()
    producer = str(prof.get("legal_name") or prof.get("name") or "distillguard operator")
    nets = spread(subnets, "subnet", others_net)
    uas = spread(agents, "user_agent", others_ua)
    inc = [
        i["id"]
        for i in ReportsStore(db).incidents()
        if i["source"] == "detect" and i["reference"] == campaign_id
    ]
    flagged = [a["first_flagged_at"] for a in by_acct.values() if a.get("first_flagged_at")]
    bundle = build_bundle(
        campaign_id,
        producer=producer,
        first_seen=t0,
        last_seen=max(t1, t0),
        subnets=[n["subnet"] for n in nets if not n["seen_from_other_accounts"]],
        user_agents=[
            u["user_agent"]
            for u in uas
            if not u["seen_from_other_accounts"] and u["user_agent"] != "(none)"
        ],
        description=f"{len(members)} accounts, {sum(counts.values())} requests; "
        + "; ".join(camp.get("reasons", [])[:5]),
    )
    sections = {
        "campaign": {
            "id": campaign_id,
            "accounts": len(members),
            "requests": sum(counts.values()),
            "reasons": camp.get("reasons", []),
            "strength": camp.get("strength"),
            "first_flagged_at": or_missing(
                min(flagged) if flagged else None, "the detector report flags no member account"
            ),
            "incident": or_missing(inc[0] if inc else None, "no incident opened for it"),
        },
        "accounts": accounts,
        "network": {
            "subnets": nets,
            "user_agents": uas,
            "countries": dict(countries.most_common()),
        },
        "timeline": {
            "first_request": format_ts(t0),
            "last_request": format_ts(t1),
            "hourly_requests": [{"hour": h, "requests": n} for h, n in sorted(hourly.items())],
        },
        "templates": shared,
        "examples": ex,
        "decisions": {"total": len(decisions), "included": len(items), "items": items},
        "ledger": {
            "origin": ledger.origin,
            "verifier_key": ledger.verifier_key(),
            "public_key_pem": ledger.public_key_pem().decode(),
            "checkpoint": items[-1]["proof"]["checkpoint"]
            if items
            else missing("no decision of these accounts is in the ledger"),
        },
        "stix": {"bundle_id": bundle["id"], "objects": len(bundle["objects"])},
    }
    doc = new_document(
        KIND,
        f"Distillation evidence: campaign {campaign_id}",
        at=at,
        pack_hash=pack_hash,
        subject=campaign_id,
        sections=sections,
    )
    return doc, bundle


def verify_evidence(doc: dict[str, Any], public_key_pem: bytes) -> int:
    """Verify every decision's inclusion proof offline against a trusted ledger key.

    Also checks that each listed decision is the record its proof proves. Returns the number
    of proofs checked; raises VerificationError on the first failure.
    """
    from distillguard.errors import VerificationError
    from distillguard.ledger.keys import load_public_key
    from distillguard.ledger.verify import verify_inclusion_proof

    pub = load_public_key(public_key_pem)
    n = 0
    for item in doc["sections"]["decisions"]["items"]:
        proof = item["proof"]
        verify_inclusion_proof(proof, proof["record"], proof["checkpoint"], pub)
        rec = proof["record"]["record"]
        if proof["index"] != item["index"] or any(
            rec.get(k) != item[k] for k in ("account", "request_id", "action")
        ):
            raise VerificationError(f"decision {item['index']} differs from its proven record")
        n += 1
    return n
