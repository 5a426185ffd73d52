"""Transfers decided by the default rules, two-person approval, packages, receive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from distillguard.errors import DistillguardError, VerificationError
from distillguard.store import Database
from distillguard.weights import approvals, deps, keys, signing, transfers, vault
from distillguard.weights.service import ComputeEntry, WeightsService
from tests.weights.test_signing import make_model

DENIED = {"Evil Compute Ltd"}


class ListScreener:
    """Stands in for the screening service: a fixed denied-party list."""

    def screen(self, name: str, country: str | None) -> deps.ScreeningResult:
        if name in DENIED:
            return deps.ScreeningResult("hit", "test-list", f"{name} is listed")
        return deps.ScreeningResult("clear", "test-list", "no match")


class MemoryLedger:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def append(self, record: dict[str, Any]) -> int:
        self.records.append(record)
        return len(self.records) - 1


@pytest.fixture(scope="module")
def engine() -> Any:
    return deps.load_engine()


@pytest.fixture()
def ledger() -> MemoryLedger:
    return MemoryLedger()


def _service(url: str, engine: Any, ledger: MemoryLedger) -> WeightsService:
    return WeightsService(
        Database(url), engine=engine, audit=deps.Audit(ledger), screener=ListScreener()
    )


@pytest.fixture()
def svc(tmp_path: Path, engine: Any, ledger: MemoryLedger) -> Iterator[WeightsService]:
    s = _service(f"sqlite:///{tmp_path / 'reg.db'}", engine, ledger)
    yield s
    s.db.close()


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    return make_model(tmp_path / "frontier")


# Ed25519 approver keys: (private PEM, public PEM) per person
AKEYS = {who: approvals.generate_keypair() for who in ("alice", "bob", "carol", "mallory")}


def _setup(svc: WeightsService, model: Path, flop: float = 3e26, name: str = "frontier") -> str:
    svc.register(
        name, "1", model, actor="alice", compute=[ComputeEntry("pretraining", flop, "run log")]
    )
    for who, perm in [("alice", "transfer_request"), ("bob", "transfer_approve"),
                      ("carol", "transfer_approve"), ("alice", "transfer_approve"),
                      ("ciso", "admin")]:  # fmt: skip
        svc.reg.grant(name, who, perm, granted_by="root")
    for who, (_, pub) in AKEYS.items():
        if not approvals.Approvers(svc.db).keys_of(who):
            svc.add_approver(who, pub.decode(), actor="ciso")
    return f"{name}@1"


def _approve(tr: transfers.Transfers, tid: str, who: str, **kw: Any) -> dict[str, Any]:
    """`who` approves with their own registered key (what `transfer approve --key` does)."""
    return tr.approve(tid, AKEYS[who][0], **kw)


_, PUB = keys.generate_recipient_keypair("x25519")


def _rcp(org: str, hq: str, dest: str, parent: str | None = None) -> transfers.Recipient:
    return transfers.Recipient(org, hq, dest, parent, PUB.decode())


CASES = [
    ("tier1", _rcp("Good Labs", "GB", "GB"), "licence_exception", "AIA"),
    ("tier1_parent_tier1", _rcp("Good Labs", "DE", "FR", "US"), "licence_exception", "AIA"),
    ("tier2", _rcp("Mid Labs", "IN", "IN"), "licence_required", None),
    ("tier1_hq_dest_tier2", _rcp("Good Labs", "GB", "BR"), "licence_exception", "AIA"),
    ("d5_hq", _rcp("Far Labs", "CN", "SG"), "prohibited", None),
    ("macau_hq", _rcp("Mo Labs", "MO", "MO"), "prohibited", None),
    ("parent_d5", _rcp("Sub Labs", "GB", "GB", "CN"), "prohibited", None),
    ("parent_tier2", _rcp("Sub Labs", "GB", "GB", "BR"), "licence_required", None),
    ("dest_d5", _rcp("Good Labs", "GB", "RU"), "prohibited", None),
    ("denied_party", _rcp("Evil Compute Ltd", "GB", "GB"), "prohibited", None),
]


@pytest.mark.parametrize(("case", "rcp", "action", "exception"), CASES, ids=[c[0] for c in CASES])
def test_controlled_transfer_decisions(
    svc: WeightsService, model: Path, case: str, rcp: transfers.Recipient, action: str,
    exception: str | None,
) -> None:  # fmt: skip
    spec = _setup(svc, model)
    t = transfers.Transfers(svc).request(
        spec, rcp, end_use="inference", purpose="hosting", requested_by="alice"
    )
    assert t["decision"]["action"] == action, t["decision"]["reasons"]
    assert t["decision"]["exception"] == exception
    assert t["decision"]["controlled"] and t["required_approvals"] == 2
    if action == "prohibited":
        assert t["status"] == "prohibited"
        with pytest.raises(DistillguardError, match="prohibited"):
            _approve(transfers.Transfers(svc), t["id"], "bob")


def test_uncontrolled_model_needs_no_licence_and_one_approver(
    svc: WeightsService, model: Path
) -> None:
    spec = _setup(svc, model, flop=1e24)
    tr = transfers.Transfers(svc)
    t = tr.request(spec, _rcp("Mid Labs", "IN", "IN"), end_use="research", purpose="eval",
                   requested_by="alice")  # fmt: skip
    assert (t["decision"]["action"], t["required_approvals"]) == ("no_licence_required", 1)
    assert _approve(tr, t["id"], "bob")["status"] == "approved"


def test_unknown_screening_fails_closed(
    tmp_path: Path, engine: Any, ledger: MemoryLedger, model: Path
) -> None:
    s = WeightsService(
        Database(f"sqlite:///{tmp_path / 'r.db'}"), engine=engine, audit=deps.Audit(ledger),
        screener=deps.NoScreener(),
    )  # fmt: skip
    spec = _setup(s, model)
    t = transfers.Transfers(s).request(
        spec, _rcp("Good Labs", "GB", "GB"), end_use="x", purpose="y", requested_by="alice"
    )
    assert t["decision"]["action"] == "licence_required"
    assert "screening_incomplete" in [r["reason_code"] for r in t["decision"]["reasons"]]


def test_bad_requests_refused(svc: WeightsService, model: Path) -> None:
    spec = _setup(svc, model)
    tr = transfers.Transfers(svc)
    with pytest.raises(DistillguardError, match=r"unknown country code 'UK'.*use GB"):
        tr.request(spec, _rcp("A", "UK", "GB"), end_use="x", purpose="y", requested_by="alice")
    with pytest.raises(DistillguardError, match="unknown country code 'XX'"):
        tr.request(spec, _rcp("A", "GB", "XX"), end_use="x", purpose="y", requested_by="alice")
    with pytest.raises(DistillguardError, match="public key"):
        tr.request(spec, transfers.Recipient("A", "GB", "GB", None, "nope"), end_use="x",
                   purpose="y", requested_by="alice")  # fmt: skip
    with pytest.raises(DistillguardError, match="no live 'transfer_request' grant"):
        tr.request(spec, _rcp("A", "GB", "GB"), end_use="x", purpose="y", requested_by="mallory")


def test_two_person_approval_and_package_round_trip(
    svc: WeightsService, model: Path, tmp_path: Path, ledger: MemoryLedger
) -> None:
    spec = _setup(svc, model)
    tr = transfers.Transfers(svc)
    priv, pub = keys.generate_recipient_keypair("x25519")
    rcp = transfers.Recipient("Good Labs", "GB", "GB", None, pub.decode())
    t = tr.request(spec, rcp, end_use="inference", purpose="hosting", requested_by="alice")
    sk = tmp_path / "sign.pem"
    spub = signing.generate_signing_key(sk)
    with pytest.raises(DistillguardError, match="self-approval refused"):
        _approve(tr, t["id"], "alice")
    with pytest.raises(DistillguardError, match="no live 'transfer_approve'"):
        _approve(tr, t["id"], "mallory")
    assert _approve(tr, t["id"], "bob")["status"] == "pending"
    with pytest.raises(DistillguardError, match="already approved"):
        _approve(tr, t["id"], "bob")
    with pytest.raises(DistillguardError, match="only approved ones package"):
        tr.package(t["id"], model, tmp_path / "pkg", signing_key=sk, actor="ops")
    assert _approve(tr, t["id"], "carol")["status"] == "approved"
    pkg = tr.package(t["id"], model, tmp_path / "pkg", signing_key=sk, actor="ops")
    meta = json.loads((pkg / "transfer.json").read_text())
    assert meta["licence_exception"] == "AIA"
    assert [a["approver"] for a in meta["approvals"]] == ["bob", "carol"]
    # model-signing's own verifier accepts the package signature for the original model
    from model_signing import verifying

    verifying.Config().use_elliptic_key_verifier(public_key=spub).verify(
        model, pkg / "manifest.sig"
    )
    out = tmp_path / "received"
    res = transfers.receive(pkg, priv, spub, out)
    assert res.result.files == 4 and len(res.approvals) == 2
    for f in ("config.json", "tokenizer/vocab.txt", "model-00001-of-00002.safetensors"):
        assert (out / f).read_bytes() == (model / f).read_bytes()
    kinds = [r["type"] for r in ledger.records]
    assert kinds.count("weights.transfer_approve") == 2
    assert {"weights.register", "weights.transfer_request", "weights.transfer_package"} <= set(
        kinds
    )
    # wrong recipient key, tampered blob, wrong signer key: refused, nothing published
    other_priv, _ = keys.generate_recipient_keypair("x25519")
    with pytest.raises(VerificationError):
        transfers.receive(pkg, other_priv, spub, tmp_path / "r2")
    other_sig = signing.generate_signing_key(tmp_path / "other.pem")
    with pytest.raises(VerificationError, match="not made with the private key"):
        transfers.receive(pkg, priv, other_sig, tmp_path / "r3")
    blob = pkg / meta["files"][0]["blob"]
    data = bytearray(blob.read_bytes())
    data[-20] ^= 1
    blob.write_bytes(data)
    with pytest.raises(VerificationError, match="failed authentication"):
        transfers.receive(pkg, priv, spub, tmp_path / "r4")
    assert not any(p.name.startswith((".r", "r2", "r3", "r4")) for p in tmp_path.iterdir())


def test_licence_required_needs_licence_number(svc: WeightsService, model: Path) -> None:
    spec = _setup(svc, model)
    tr = transfers.Transfers(svc)
    t = tr.request(spec, _rcp("Mid Labs", "IN", "IN"), end_use="x", purpose="y",
                   requested_by="alice")  # fmt: skip
    with pytest.raises(DistillguardError, match="require a licence"):
        _approve(tr, t["id"], "bob")
    _approve(tr, t["id"], "bob", licence_ref="D1234567")
    assert _approve(tr, t["id"], "carol")["status"] == "approved"


def test_package_refuses_unregistered_content(
    svc: WeightsService, model: Path, tmp_path: Path
) -> None:
    spec = _setup(svc, model, flop=1e24)
    tr = transfers.Transfers(svc)
    t = tr.request(spec, _rcp("A", "GB", "GB"), end_use="x", purpose="y", requested_by="alice")
    _approve(tr, t["id"], "bob")
    (model / "config.json").write_text("{}")
    sk = tmp_path / "s.pem"
    signing.generate_signing_key(sk)
    with pytest.raises(DistillguardError, match=r"not the registered frontier@1.*config\.json"):
        tr.package(t["id"], model, tmp_path / "pkg", signing_key=sk, actor="ops")
    assert not (tmp_path / "pkg").exists()


def test_decrypt_policy_and_incidents(
    svc: WeightsService, model: Path, tmp_path: Path, ledger: MemoryLedger
) -> None:
    spec = _setup(svc, model)
    kek = keys.LocalKeyFile.create(tmp_path / "kek.json")
    src = model / "model-00001-of-00002.safetensors"
    enc = tmp_path / "vault" / "shard1.dgv"
    enc.parent.mkdir()
    svc.encrypt(spec, src, enc, kek, actor="alice")
    serving = tmp_path / "serving"
    serving.mkdir()
    with pytest.raises(vault.UnauthorisedDestination, match="no live 'decrypt' grant"):
        svc.decrypt(enc, kek, actor="bob", dst=serving / "w.safetensors")
    svc.grant("frontier", "bob", "decrypt", actor="ciso")
    with pytest.raises(vault.UnauthorisedDestination, match="not a registered custody"):
        svc.decrypt(enc, kek, actor="bob", dst=serving / "w.safetensors")
    ref = svc.reg.resolve(spec)
    svc.reg.add_custody(ref, str(serving.resolve()), storage="gpu-node", encrypted=False,
                        key_holder=None, recorded_by="ciso")  # fmt: skip
    svc.decrypt(enc, kek, actor="bob", dst=serving / "w.safetensors")
    assert (serving / "w.safetensors").read_bytes() == src.read_bytes()
    incidents = svc.reg.incidents()
    assert len(incidents) == 2 and all(i["kind"] == "weight_exfiltration" for i in incidents)
    # the clocks the pack's incident type weight_exfiltration starts (RAISE not yet in force)
    assert {d["regime"] for d in incidents[0]["deadlines"]} == {"eu_cop", "sb53", "bis_702_7"}
    # a copy in an unregistered place is found by the scan; the registered ones are not flagged
    stray = tmp_path / "usb"
    stray.mkdir()
    (stray / "copy.bin").write_bytes(src.read_bytes())
    found = svc.scan([tmp_path / "usb", model])
    flagged = [f for f in found if f["incident"]]
    assert [Path(f["path"]).name for f in flagged] == ["copy.bin"]
    assert len(svc.reg.incidents()) == 3


def test_grants_expire_unless_recertified(svc: WeightsService, model: Path) -> None:
    spec = _setup(svc, model)
    ref = svc.reg.resolve(spec)
    gid = svc.reg.grant("frontier", "dave", "decrypt", granted_by="ciso", review_days=0)
    assert not svc.reg.has_grant(ref, "dave", "decrypt")
    assert [g["state"] for g in svc.reg.grants("frontier") if g["id"] == gid] == ["expired"]
    with pytest.raises(DistillguardError, match="own holder"):
        svc.reg.recertify(gid, by="dave")
    svc.reg.recertify(gid, by="ciso")
    assert svc.reg.has_grant(ref, "dave", "decrypt")
    svc.reg.revoke(gid, by="ciso")
    assert not svc.reg.has_grant(ref, "dave", "decrypt")


@pytest.mark.postgres
def test_registry_on_postgres(
    pg_schema: str, engine: Any, ledger: MemoryLedger, model: Path
) -> None:
    s = _service(pg_schema, engine, ledger)
    try:
        spec = _setup(s, model)
        c, _ = s.classify(spec)
        assert c.get("us_4e091").status == "controlled"
        t = transfers.Transfers(s).request(
            spec, _rcp("Good Labs", "GB", "GB"), end_use="x", purpose="y", requested_by="alice"
        )
        assert t["decision"]["exception"] == "AIA"
        assert len(s.reg.artifacts(s.reg.resolve(spec))) == 4
    finally:
        s.db.close()


def test_events_reach_the_real_ledger(tmp_path: Path, engine: Any, model: Path) -> None:
    """With the ledger part present, every step is an appended, provable record."""
    from distillguard.ledger import open_ledger

    led = open_ledger(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "ledger.key")
    s = WeightsService(Database(f"sqlite:///{tmp_path / 'r.db'}"), engine=engine,
                       audit=deps.Audit(led), screener=ListScreener())  # fmt: skip
    spec = _setup(s, model)
    t = transfers.Transfers(s).request(
        spec, _rcp("Evil Compute Ltd", "GB", "GB"), end_use="x", purpose="y", requested_by="alice"
    )
    assert t["decision"]["action"] == "prohibited"
    types = [led.get_record(i)["record"]["type"] for i in range(led.size)]
    assert types[0] == "weights.register" and types[-1] == "weights.transfer_request"
    last = led.get_record(led.size - 1)["record"]
    assert last["decision"] == "prohibited" and "transfer.denied_party" in last["rules"]
    assert led.prove_inclusion(led.size - 1)
    s.db.close()
    led.close()


class BrokenLedger:
    def append(self, record: dict[str, Any]) -> int:
        raise DistillguardError("ledger unavailable")


def test_ledger_failure_leaves_no_unaudited_state(
    svc: WeightsService, model: Path, tmp_path: Path, engine: Any
) -> None:
    spec = _setup(svc, model)
    svc.audit = deps.Audit(BrokenLedger())
    tr = transfers.Transfers(svc)
    with pytest.raises(DistillguardError, match="ledger unavailable"):
        tr.request(spec, _rcp("A", "GB", "GB"), end_use="x", purpose="y", requested_by="alice")
    assert tr.all() == []
    with pytest.raises(DistillguardError, match="ledger unavailable"):
        svc.register("other", "1", model, actor="alice")
    assert [v["name"] for v in svc.reg.versions()] == ["frontier"]
    kek = keys.LocalKeyFile.create(tmp_path / "k.json")
    with pytest.raises(DistillguardError, match="ledger unavailable"):
        svc.encrypt(spec, model / "config.json", tmp_path / "c.dgv", kek, actor="alice")
    assert not (tmp_path / "c.dgv").exists() and not (tmp_path / "c.dgv.key").exists()
    # incidents are never lost to a ledger failure
    iid = svc.open_incident(svc.reg.resolve(spec), {"event": "test"})
    assert [i["id"] for i in svc.reg.incidents()] == [iid]


def test_register_reads_parameters_for_the_6nd_estimate(svc: WeightsService, model: Path) -> None:
    """N comes from the safetensors headers; with D given, the total is a stated estimate."""
    ref, c = svc.register("est", "1", model, actor="alice", training_tokens=1e12)
    n = 64 * 32 + 32 * 64 + 3  # the tensors make_model writes
    assert svc.reg.version_row(ref)["parameters"] == n
    assert c.estimated and c.total_flop == pytest.approx(6 * n * 1e12)
    assert any("ESTIMATE 6·N·D" in line for line in c.get("us_4e091").explanation)
    formats = {a["path"]: a["format"] for a in svc.reg.artifacts(ref)}
    assert formats["config.json"] == "other"
    assert formats["model-00001-of-00002.safetensors"] == "safetensors"


def test_package_to_rsa_recipient(svc: WeightsService, model: Path, tmp_path: Path) -> None:
    spec = _setup(svc, model, flop=1e24)
    tr = transfers.Transfers(svc)
    priv, pub = keys.generate_recipient_keypair("rsa")
    t = tr.request(spec, transfers.Recipient("Good Labs", "JP", "JP", None, pub.decode()),
                   end_use="x", purpose="y", requested_by="alice")  # fmt: skip
    _approve(tr, t["id"], "bob")
    sk = tmp_path / "s.pem"
    spub = signing.generate_signing_key(sk)
    pkg = tr.package(t["id"], model, tmp_path / "pkg", signing_key=sk, actor="ops")
    env = vault.read_envelope(next((pkg / "payload").glob("*.key")))
    assert [k.alg for k in env.keys] == ["RSA-OAEP-256"]
    assert transfers.receive(pkg, priv, spub, tmp_path / "got").result.files == 4
