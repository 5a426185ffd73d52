"""Signed transfer approvals: every way an approval must fail to count, and the audit trail.

Each refusal is tested where it can happen: when the approval is submitted, and again
when the package is built from what the registry holds (rows written behind the API's
back, keys revoked or requests edited after approval), and on the recipient's side.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from distillguard.errors import DistillguardError, VerificationError
from distillguard.weights import approvals, keys, signing, transfers
from distillguard.weights.registry import iso, now
from distillguard.weights.service import WeightsService
from tests.weights import test_transfers as tt
from tests.weights.test_transfers import AKEYS, MemoryLedger, _approve, _rcp, _setup

engine, ledger, model, svc = tt.engine, tt.ledger, tt.model, tt.svc  # the same fixtures


def _request(svc: WeightsService, model: Path, **kw: Any) -> tuple[transfers.Transfers, str]:
    spec = _setup(svc, model, **kw)
    tr = transfers.Transfers(svc)
    t = tr.request(spec, _rcp("Good Labs", "GB", "GB"), end_use="inference", purpose="hosting",
                   requested_by="alice")  # fmt: skip
    return tr, str(t["id"])


def _approved(svc: WeightsService, model: Path) -> tuple[transfers.Transfers, str]:
    tr, tid = _request(svc, model)
    _approve(tr, tid, "bob")
    assert _approve(tr, tid, "carol")["status"] == "approved"
    return tr, tid


def _package(tr: transfers.Transfers, tid: str, model: Path, tmp: Path) -> Path:
    sk = tmp / "sign.pem"
    if not sk.exists():
        signing.generate_signing_key(sk)
    return tr.package(tid, model, tmp / "pkg", signing_key=sk, actor="ops")


def _signed(tr: transfers.Transfers, tid: str, who: str, **over: Any) -> approvals.SignedApproval:
    priv = AKEYS[who][0]
    kid = approvals.key_id(approvals.load_private(priv).public_key())
    stmt = tr.statement(tid, who, kid, iso(now())) | over
    return approvals.sign(priv, stmt)


# -- at submission ----------------------------------------------------------------------------


def test_self_approval_refused_even_under_another_name(svc: WeightsService, model: Path) -> None:
    tr, tid = _request(svc, model)
    with pytest.raises(DistillguardError, match="self-approval refused"):
        _approve(tr, tid, "alice")
    # alice's own key re-registered under another name is refused at registration...
    with pytest.raises(DistillguardError, match="already registered to alice"):
        svc.add_approver("alice2", AKEYS["alice"][1].decode(), actor="ciso")
    # ...and a statement claiming to be bob's but signed with alice's key names her key
    with pytest.raises(DistillguardError, match="is registered to alice"):
        tr.submit_approval(tid, _signed(tr, tid, "alice", approver="bob"))
    assert tr.get(tid)["approvals"] == []


def test_same_approver_or_key_twice_refused(svc: WeightsService, model: Path) -> None:
    tr, tid = _request(svc, model)
    _approve(tr, tid, "bob")
    with pytest.raises(DistillguardError, match="already approved"):
        _approve(tr, tid, "bob")
    with pytest.raises(DistillguardError, match="registered to bob"):
        tr.submit_approval(tid, _signed(tr, tid, "bob", approver="carol"))
    assert tr.get(tid)["status"] == "pending"


def test_unknown_or_revoked_approver_refused(svc: WeightsService, model: Path) -> None:
    tr, tid = _request(svc, model)
    stranger, _ = approvals.generate_keypair()
    with pytest.raises(DistillguardError, match="not a registered approver key"):
        tr.approve(tid, stranger)
    svc.revoke_approver("bob", actor="ciso")
    with pytest.raises(DistillguardError, match=r"not a registered|revoked"):
        _approve(tr, tid, "bob")
    with pytest.raises(DistillguardError, match="revoked"):
        tr.submit_approval(tid, _signed(tr, tid, "bob"))
    # a revoked key cannot be registered again, under any name
    with pytest.raises(DistillguardError, match="revoked; a revoked key cannot come back"):
        svc.add_approver("bobby", AKEYS["bob"][1].decode(), actor="ciso")


def test_signature_over_another_request_refused(svc: WeightsService, model: Path) -> None:
    tr, tid = _request(svc, model)
    other = tr.request("frontier@1", _rcp("Other Labs", "FR", "FR"), end_use="inference",
                       purpose="hosting", requested_by="alice")["id"]  # fmt: skip
    for_other = _signed(tr, str(other), "bob")
    with pytest.raises(VerificationError, match="not this request"):
        tr.submit_approval(tid, for_other)
    # the right statement with a signature made over something else
    good = _signed(tr, tid, "bob")
    forged = approvals.SignedApproval(
        good.approver, good.key_id, good.approved_at, good.statement, for_other.signature
    )
    with pytest.raises(VerificationError, match="does not verify"):
        tr.submit_approval(tid, forged)
    # a statement with a changed field (another destination) no longer matches
    bad = _signed(tr, tid, "bob", recipient={**tr.get(tid)["request"]["recipient"],
                                             "destination_country": "CN"})  # fmt: skip
    with pytest.raises(VerificationError, match="not this request"):
        tr.submit_approval(tid, bad)
    # back- or forward-dated approvals are refused
    stale = iso(now() - timedelta(hours=2))
    with pytest.raises(VerificationError, match="not within"):
        tr.submit_approval(tid, _signed(tr, tid, "bob", approved_at=stale))
    assert tr.get(tid)["approvals"] == []


def test_only_admins_register_approvers_and_not_themselves(
    svc: WeightsService, model: Path
) -> None:
    _setup(svc, model)
    _, pub = approvals.generate_keypair()
    with pytest.raises(DistillguardError, match="no live 'admin' grant"):
        svc.add_approver("dave", pub.decode(), actor="bob")
    with pytest.raises(DistillguardError, match="another admin must"):
        svc.add_approver("ciso", pub.decode(), actor="ciso")
    _, rsa_pub = keys.generate_recipient_keypair("x25519")
    with pytest.raises(DistillguardError, match="must be an Ed25519 public key"):
        svc.add_approver("dave", rsa_pub.decode(), actor="ciso")
    with pytest.raises(DistillguardError, match="not a PEM public key"):
        svc.add_approver("dave", "garbage", actor="ciso")


def test_key_registered_by_the_requester_does_not_count(svc: WeightsService, model: Path) -> None:
    tr, tid = _request(svc, model)
    svc.reg.grant("frontier", "alice", "admin", granted_by="root")
    svc.reg.grant("frontier", "dave", "transfer_approve", granted_by="root")
    dave_priv, dave_pub = approvals.generate_keypair()
    svc.add_approver("dave", dave_pub.decode(), actor="alice")  # alice is the requester
    with pytest.raises(DistillguardError, match="registered by the requester"):
        tr.approve(tid, dave_priv)


# -- at packaging: the registry is re-checked, not trusted ---------------------------------------


def test_revoked_after_approval_voids_it(svc: WeightsService, model: Path, tmp_path: Path) -> None:
    tr, tid = _approved(svc, model)
    svc.revoke_approver("carol", actor="ciso")
    with pytest.raises(VerificationError, match=r"1 valid signed approval.*carol.*revoked"):
        _package(tr, tid, model, tmp_path)
    assert not (tmp_path / "pkg").exists()


@pytest.mark.parametrize(
    "edit",
    [
        ("request", lambda r: r | {"recipient": r["recipient"] | {"destination_country": "SG"}}),
        ("request", lambda r: r | {"end_use": "training"}),
        (
            "request",
            lambda r: r | {"public_key_pem": keys.generate_recipient_keypair()[1].decode()},
        ),
        ("decision", lambda d: d | {"action": "no_licence_required"}),
    ],
    ids=["destination", "end_use", "recipient_key", "decision"],
)
def test_request_changed_after_approval_refused(
    svc: WeightsService, model: Path, tmp_path: Path, edit: Any
) -> None:
    tr, tid = _approved(svc, model)
    col, fn = edit
    row = svc.db.query_one(f"SELECT {col} FROM wt_transfers WHERE id = ?", (tid,))
    assert row is not None
    svc.db.execute(
        f"UPDATE wt_transfers SET {col} = ? WHERE id = ?",
        (json.dumps(fn(json.loads(row[col]))), tid),
    )
    with pytest.raises(VerificationError, match="signed a different request"):
        _package(tr, tid, model, tmp_path)


def test_model_files_changed_after_approval_refused(
    svc: WeightsService, model: Path, tmp_path: Path
) -> None:
    tr, tid = _approved(svc, model)
    vid = tr.svc.reg.resolve("frontier@1").version_id
    svc.db.execute("UPDATE wt_versions SET root_digest = ? WHERE id = ?", ("0" * 64, vid))
    with pytest.raises(VerificationError, match="signed a different request"):
        _package(tr, tid, model, tmp_path)


def test_rows_written_behind_the_api_do_not_count(
    svc: WeightsService, model: Path, tmp_path: Path
) -> None:
    """Approvals inserted straight into the table: unsigned, forged, self, unknown key."""
    tr, tid = _request(svc, model)
    _approve(tr, tid, "bob")
    svc.db.execute("UPDATE wt_transfers SET status = 'approved' WHERE id = ?", (tid,))

    def insert(who: str, kid: str | None, stmt: str | None, sig: str | None) -> None:
        svc.db.execute(
            "INSERT INTO wt_approvals (transfer_id, approver, approved_at, key_id, statement, "
            "signature) VALUES (?, ?, ?, ?, ?, ?)", (tid, who, iso(now()), kid, stmt, sig),
        )  # fmt: skip

    bob = tr.get(tid)["signed_approvals"][0]
    cases = [
        ("carol", None, None, None, "not a registered approver key"),  # old unsigned row
        ("carol", bob["key_id"], bob["statement"], bob["signature"], "registered to bob"),
        ("alice", approvals.key_id(approvals.load_public(AKEYS["alice"][1])),
         None, None, "self-approval"),
        ("zed", "ed25519:" + "0" * 64, None, None, "not a registered approver key"),
    ]  # fmt: skip
    for who, kid, stmt, sig, why in cases:
        insert(who, kid, stmt, sig)
        with pytest.raises(VerificationError, match=why):
            _package(tr, tid, model, tmp_path)
        svc.db.execute(
            "DELETE FROM wt_approvals WHERE transfer_id = ? AND approver = ?", (tid, who)
        )
    # carol's genuine statement with bob's signature bytes: does not verify
    good = _signed(tr, tid, "carol")
    insert("carol", good.key_id, good.statement.decode(), bob["signature"])
    with pytest.raises(VerificationError, match="signature does not verify"):
        _package(tr, tid, model, tmp_path)


# -- the package and the ledger -------------------------------------------------------------------


def test_package_and_ledger_carry_verifiable_approvals(
    svc: WeightsService, model: Path, tmp_path: Path, ledger: MemoryLedger
) -> None:
    tr, tid = _approved(svc, model)
    pkg = _package(tr, tid, model, tmp_path)
    meta = json.loads((pkg / "transfer.json").read_text())
    pins = [AKEYS["bob"][1], AKEYS["carol"][1]]
    assert len(approvals.verify_package_approvals(meta, {
        approvals.key_id(approvals.load_public(p)) for p in pins})) == 2  # fmt: skip
    # an auditor with only the ledger: keys from approver_add, statements from approvals
    added = {r["key_id"]: r["public_key"] for r in ledger.records
             if r["type"] == "weights.approver_add"}  # fmt: skip
    signed = [r for r in ledger.records if r["type"] == "weights.transfer_approve"]
    assert [r["actor"] for r in signed] == ["bob", "carol"]
    for r in signed:
        assert approvals.signature_valid(
            added[r["key_id"]], r["statement"].encode(), base64.b64decode(r["signature"])
        )
        assert json.loads(r["statement"])["transfer"] == tid
    pkg_rec = next(r for r in ledger.records if r["type"] == "weights.transfer_package")
    assert [a[0] for a in pkg_rec["approvals"]] == ["bob", "carol"]

    # recipient side: dropping or replacing an approval is refused before any decryption
    priv_r = None  # the test's recipient private key is not needed for these refusals
    del priv_r
    one = meta | {"approvals": meta["approvals"][:1]}
    with pytest.raises(VerificationError, match="1 valid approval"):
        approvals.verify_package_approvals(one)
    twice = meta | {"approvals": [meta["approvals"][0]] * 2}
    with pytest.raises(VerificationError, match="same approver or key twice"):
        approvals.verify_package_approvals(twice)
    mallory_priv, mallory_pub = approvals.generate_keypair()
    stmt = json.loads(meta["approvals"][1]["statement"])
    kid = approvals.key_id(approvals.load_public(mallory_pub))
    fake = approvals.sign(mallory_priv, stmt | {"approver": "carol", "approver_key": kid})
    swapped = meta | {"approvals": [meta["approvals"][0],
                                    fake.to_json(public_key_pem=mallory_pub.decode())]}  # fmt: skip
    pinned = {approvals.key_id(approvals.load_public(p)) for p in pins}
    with pytest.raises(VerificationError, match="key not among the trusted keys"):
        approvals.verify_package_approvals(swapped, pinned)
    other = meta | {"transfer": "trf_other"}
    with pytest.raises(VerificationError, match="another transfer"):
        approvals.verify_package_approvals(other)
    edited = dict(meta["approvals"][0])
    edited["statement"] = edited["statement"].replace('"GB"', '"SG"')
    with pytest.raises(VerificationError, match="signature does not verify"):
        approvals.verify_package_approvals(meta | {"approvals": [edited, meta["approvals"][1]]})
