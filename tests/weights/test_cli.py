"""The `distillguard weights` commands end to end, and their refusals on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillguard.errors import DistillguardError, VerificationError
from distillguard.weights.cli import app
from tests.weights.test_signing import make_model


@pytest.fixture()
def env(tmp_path: Path, dg_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DISTILLGUARD_DB", f"sqlite:///{tmp_path / 'reg.db'}")
    monkeypatch.setenv("DISTILLGUARD_ACTOR", "alice")
    monkeypatch.setenv("DISTILLGUARD_WEIGHTS_NO_LEDGER", "1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str, actor: str | None = None) -> str:
    """Invoke like the root CLI does: DistillguardError propagates (the root prints it)."""
    pre = ["--as", actor] if actor else []
    res = CliRunner().invoke(app, [*pre, *args], standalone_mode=False, catch_exceptions=True)
    if res.exception is not None:
        raise res.exception
    assert res.exit_code in (0, None), res.output
    return res.output


def _setup(env: Path) -> Path:
    model = make_model(env / "m")
    run("keygen", "--kek", "--signing", "sign.pem", "--recipient", "rcpt.key")
    out = run("register", "frontier@1", "m", "--compute", "pretraining=2e26@run.log",
              "--revenue", "1e9")  # fmt: skip
    assert "us_4e091               controlled" in out
    for who, perm in [("alice", "transfer_request"), ("bob", "transfer_approve"),
                      ("carol", "transfer_approve"), ("alice", "decrypt"),
                      ("ciso", "admin")]:  # fmt: skip
        run("grants", "add", "frontier", who, perm, actor="ciso")
    for who in ("alice", "bob", "carol"):
        assert "created Ed25519 approver key" in run("keygen", "--approver", f"{who}.ed25519")
        out = run("approvers", "add", who, "--key", f"{who}.ed25519.pub", actor="ciso")
        assert f"registered approver {who} with key ed25519:" in out
    return model


def test_sign_verify_and_refusals(env: Path) -> None:
    model = _setup(env)
    run("sign", "m", "--key", "sign.pem", "--signature", "m.sig")
    assert "verified: 4 files" in run(
        "verify", "m", "--signature", "m.sig", "--key", "sign.pem.pub"
    )
    run("keygen", "--signing", "other.pem")
    with pytest.raises(VerificationError, match="not made with the private key"):
        run("verify", "m", "--signature", "m.sig", "--key", "other.pem.pub")
    other = make_model(env / "other", seed=9)
    with pytest.raises(VerificationError, match="does not match its signature; changed"):
        run("verify", str(other), "--signature", "m.sig", "--key", "sign.pem.pub")
    (model / "config.json").write_text("{}")
    with pytest.raises(VerificationError, match=r"changed: config\.json"):
        run("verify", "m", "--signature", "m.sig", "--key", "sign.pem.pub")


def test_encrypt_decrypt_and_refusals(env: Path) -> None:
    model = _setup(env)
    src = model / "model-00001-of-00002.safetensors"
    run("encrypt", str(src), "vault/w.dgv", "--model", "frontier@1")
    (env / "serve").mkdir()
    run("custody", "frontier@1", "serve", "--storage", "gpu-node")
    run("decrypt", "vault/w.dgv", "--output", "serve/w.safetensors")
    assert (env / "serve" / "w.safetensors").read_bytes() == src.read_bytes()
    with pytest.raises(DistillguardError, match="decryption refused: destination"):
        run("decrypt", "vault/w.dgv", "--output", "elsewhere/w.safetensors")
    with pytest.raises(DistillguardError, match="no live 'decrypt' grant"):
        run("decrypt", "vault/w.dgv", "--output", "serve/x.safetensors", actor="mallory")
    out = run("incidents")
    assert out.count("weight_exfiltration") == 2 and "report to eu_cop by" in out
    data = (env / "vault" / "w.dgv").read_bytes()
    (env / "vault" / "w.dgv").write_bytes(data[:-100])
    with pytest.raises(VerificationError, match="truncated"):
        run("decrypt", "vault/w.dgv", "--output", "serve/t.safetensors")
    (env / "vault" / "w.dgv").write_bytes(data[:500] + bytes([data[500] ^ 1]) + data[501:])
    with pytest.raises(VerificationError, match="failed authentication"):
        run("decrypt", "vault/w.dgv", "--output", "serve/t.safetensors")
    assert not (env / "serve" / "t.safetensors").exists()
    (env / "vault" / "w.dgv").write_bytes(data)
    run("rotate", "vault/w.dgv")
    run("decrypt", "vault/w.dgv", "--output", "serve/r.safetensors")
    inv = json.loads(run("inventory", "--json", "--scan", "serve"))
    assert {c["storage"] for c in inv["custody"]} == {"local-disk", "gpu-node"}
    assert all(f["expected"] for f in inv["scan"])


def test_bad_inputs_are_refused_before_any_change(env: Path) -> None:
    """A missing or foreign vault file does not rotate the KEK; a key of the wrong kind, a
    missing scan folder and a non-positive review period are one-line errors."""
    model = _setup(env)
    kek = env / "dghome" / "weights" / "kek.json"
    kek_before = kek.read_bytes()
    (env / "junk.dgv").write_bytes(b"not a vault file")
    with pytest.raises(DistillguardError, match=r"missing\.dgv not found"):
        run("rotate", "missing.dgv")
    with pytest.raises(VerificationError, match="bad magic"):
        run("rotate", "junk.dgv")
    assert kek.read_bytes() == kek_before
    run("sign", "m", "--key", "sign.pem", "--signature", "m.sig")
    with pytest.raises(DistillguardError, match="not an EC public key"):
        run("verify", "m", "--signature", "m.sig", "--key", "rcpt.key.pub")
    (env / "junk.pem").write_text("garbage")
    with pytest.raises(DistillguardError, match="not a PEM public key"):
        run("verify", "m", "--signature", "m.sig", "--key", "junk.pem")
    with pytest.raises(DistillguardError, match="no such folder"):
        run("inventory", "--scan", "nowhere")
    with pytest.raises(Exception, match="greater than or equal to 1"):
        run("grants", "add", "frontier", "bob", "read", "--review-days", "0")
    base = ["compute", "frontier@1", "--phase", "rl", "--source", "x"]
    for extra in (
        ["--flop", "1e20", "--params", "7e9", "--tokens", "1e9"],
        ["--params", "7e9"],
        [],
    ):
        with pytest.raises(DistillguardError, match="either --flop"):  # ambiguous or incomplete
            run(*base, *extra)
    assert model.is_dir()


def _import_denied_list(env: Path) -> None:
    """A tiny internal denied-party list, loaded through the real screening service."""
    from distillguard.screening import ScreeningService
    from distillguard.store import open_database

    csv = env / "denied.csv"
    csv.write_text("id,name,type,alt_names\nx1,Evil Compute Ltd,Entity,Evil Compute\n")
    db = open_database(f"sqlite:///{env / 'reg.db'}")
    try:
        ScreeningService(db).import_list(csv, "internal")
    finally:
        db.close()


def test_transfer_fails_closed_without_lists(env: Path) -> None:
    _setup(env)
    out = run("transfer", "request", "frontier@1", "--org", "Good Labs", "--hq", "GB", "--dest",
              "GB", "--end-use", "inference", "--purpose", "hosting", "--recipient-key",
              "rcpt.key.pub")  # fmt: skip
    assert "screening stale" in out and "decision: licence_required" in out


def test_transfer_flow_and_refusals(env: Path) -> None:
    _setup(env)
    _import_denied_list(env)
    args = ["transfer", "request", "frontier@1", "--org", "Good Labs", "--dest", "GB",
            "--end-use", "inference", "--purpose", "hosting",
            "--recipient-key", "rcpt.key.pub"]  # fmt: skip
    with pytest.raises(DistillguardError, match="unknown country code 'UK'"):
        run(*args, "--hq", "UK")
    out = run(*args, "--hq", "GB")
    assert "decision: licence_exception (AIA)" in out
    tid = out.split()[0]
    with pytest.raises(DistillguardError, match="self-approval refused"):
        run("transfer", "approve", tid, "--key", "alice.ed25519")
    with pytest.raises(DistillguardError, match="registered to bob, not carol"):
        run("transfer", "approve", tid, "--key", "bob.ed25519", actor="carol")  # a borrowed key
    with pytest.raises(DistillguardError, match="cannot read"):
        run("transfer", "approve", tid, "--key", "missing.pem", actor="bob")
    out = run("transfer", "approve", tid, "--key", "bob.ed25519", actor="bob")
    assert "signed by bob with ed25519:" in out
    with pytest.raises(DistillguardError, match="already approved"):
        run("transfer", "approve", tid, "--key", "bob.ed25519", actor="bob")
    assert "status approved" in run(
        "transfer", "approve", tid, "--key", "carol.ed25519", "--as", "carol", actor="bob"
    )  # the command's --as wins over the group's
    run("transfer", "package", tid, "--model-dir", "m", "--out", "pkg", "--signing-key", "sign.pem")
    pins = ["--approver-key", "bob.ed25519.pub", "--approver-key", "carol.ed25519.pub"]
    out = run("receive", "pkg", "--key", "rcpt.key", "--signer-key", "sign.pem.pub", "-o", "got",
              *pins)  # fmt: skip
    assert "received and verified 4 files" in out
    assert "approvals verified with pinned keys: bob (ed25519:" in out
    with pytest.raises(VerificationError, match="1 valid approval"):  # carol's key not pinned
        run("receive", "pkg", "--key", "rcpt.key", "--signer-key", "sign.pem.pub", "-o", "g2",
            "--approver-key", "bob.ed25519.pub")  # fmt: skip
    assert not (env / "g2").exists()
    assert "bob ed25519:" in run("approvers", "list")
    with pytest.raises(DistillguardError, match="no live 'admin' grant"):
        run("approvers", "revoke", "carol", actor="bob")
    assert "revoked ed25519:" in run("approvers", "revoke", "carol", actor="ciso")
    assert "[revoked" in run("approvers", "list")
    assert (env / "got" / "config.json").read_bytes() == (env / "m" / "config.json").read_bytes()
    out = run(*args, "--hq", "MO")
    assert "decision: prohibited" in out
    with pytest.raises(DistillguardError, match="prohibited by rule"):
        run("transfer", "approve", out.split()[0], "--key", "bob.ed25519", actor="bob")
    denied = [a if a != "Good Labs" else "Evil Compute Ltd" for a in args]
    out = run(*denied, "--hq", "GB")
    assert "screening hit" in out and "transfer.denied_party" in out
    assert "decision: prohibited" in out
