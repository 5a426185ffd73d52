"""Signatures: model-signing's own verifier (API and CLI) accepts ours; tampering is caught."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from distillguard.errors import DistillguardError, VerificationError
from distillguard.weights import formats, signing


def make_model(root: Path, seed: int = 0) -> Path:
    """A small synthetic model folder: two safetensors shards, a config, a nested file."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    formats.write_safetensors(
        root / "model-00001-of-00002.safetensors",
        {"embed": rng.standard_normal((64, 32)).astype(np.float32)},
    )
    formats.write_safetensors(
        root / "model-00002-of-00002.safetensors",
        {"lm_head": rng.standard_normal((32, 64)).astype(np.float16), "b": np.zeros(3, np.int8)},
    )
    (root / "config.json").write_text('{"hidden_size": 32}')
    (root / "tokenizer").mkdir(exist_ok=True)
    (root / "tokenizer" / "vocab.txt").write_text("a\nb\n")
    (root / ".gitattributes").write_text("*.safetensors filter=lfs\n")
    return root


@pytest.fixture()
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    priv = tmp_path / "keys" / "signing.pem"
    pub = signing.generate_signing_key(priv)
    return priv, pub


def test_manifest_matches_model_signing_hashing(tmp_path: Path) -> None:
    from model_signing import hashing as ms_hashing

    model = make_model(tmp_path / "m")
    ours = signing.hash_model(model, workers=3).to_library()
    theirs = ms_hashing.Config().hash(model)
    assert ours == theirs
    assert {rd.identifier for rd in ours.resource_descriptors()} == {
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "tokenizer/vocab.txt",
    }
    single = model / "config.json"
    assert signing.hash_model(single).to_library() == ms_hashing.Config().hash(single)


def test_library_and_cli_verify_our_signature(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    from model_signing import verifying

    priv, pub = keypair
    model = make_model(tmp_path / "m")
    sig = tmp_path / "m.sig"
    res = signing.sign_model(model, sig, private_key=priv)
    assert len(res.manifest.files) == 4
    verifying.Config().use_elliptic_key_verifier(public_key=pub).verify(model, sig)
    cli = Path(sys.executable).with_name("model_signing")
    out = subprocess.run(
        [str(cli), "verify", "key", str(model), "--signature", str(sig), "--public_key", str(pub)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "Verification succeeded" in out.stdout
    assert signing.verify_model(model, sig, public_key=pub).files == 4
    # and a signature written by model-signing itself verifies with ours
    sig2 = tmp_path / "theirs.sig"
    subprocess.run(
        [str(cli), "sign", "key", str(model), "--signature", str(sig2), "--private_key", str(priv)],
        capture_output=True,
        check=True,
    )
    assert signing.verify_model(model, sig2, public_key=pub).root_digest == (
        res.manifest.root_digest
    )


def test_signature_inside_model_folder(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    from model_signing import verifying

    priv, pub = keypair
    model = make_model(tmp_path / "m")
    sig = model / "model.sig"
    signing.sign_model(model, sig, private_key=priv)
    verifying.Config().use_elliptic_key_verifier(public_key=pub).verify(model, sig)
    signing.verify_model(model, sig, public_key=pub)


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        ("changed_byte", "changed: model-00001-of-00002.safetensors"),
        ("added_file", "not signed: extra.bin"),
        ("removed_file", "missing: tokenizer/vocab.txt"),
        ("renamed_file", "not signed: config2.json; missing: config.json"),
    ],
)
def test_tampering_detected(
    tmp_path: Path, keypair: tuple[Path, Path], case: str, expect: str
) -> None:
    from model_signing import verifying

    priv, pub = keypair
    model = make_model(tmp_path / "m")
    sig = tmp_path / "m.sig"
    signing.sign_model(model, sig, private_key=priv)
    if case == "changed_byte":
        p = model / "model-00001-of-00002.safetensors"
        data = bytearray(p.read_bytes())
        data[len(data) // 2] ^= 0x01
        p.write_bytes(data)
    elif case == "added_file":
        (model / "extra.bin").write_bytes(b"\0")
    elif case == "removed_file":
        (model / "tokenizer" / "vocab.txt").unlink()
    else:
        (model / "config.json").rename(model / "config2.json")
    with pytest.raises(VerificationError, match=expect):
        signing.verify_model(model, sig, public_key=pub)
    with pytest.raises(ValueError):  # model-signing agrees
        verifying.Config().use_elliptic_key_verifier(public_key=pub).verify(model, sig)


def test_manifest_for_other_files(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    priv, pub = keypair
    a = make_model(tmp_path / "a", seed=1)
    b = make_model(tmp_path / "b", seed=2)
    sig = tmp_path / "a.sig"
    signing.sign_model(a, sig, private_key=priv)
    with pytest.raises(VerificationError, match=r"changed: model-00001-of-00002\.safetensors, "):
        signing.verify_model(b, sig, public_key=pub)


def test_wrong_key_and_forged_signature(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    priv, pub = keypair
    model = make_model(tmp_path / "m")
    sig = tmp_path / "m.sig"
    signing.sign_model(model, sig, private_key=priv)
    other_pub = signing.generate_signing_key(tmp_path / "other.pem")
    with pytest.raises(VerificationError, match="not made with the private key"):
        signing.verify_model(model, sig, public_key=other_pub)
    # forge the signed statement: swap one file digest for the digest of other content
    bundle = json.loads(sig.read_text())
    stmt = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    stmt["predicate"]["resources"][0]["digest"] = hashlib.sha256(b"evil").hexdigest()
    bundle["dsseEnvelope"]["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    sig.write_text(json.dumps(bundle))
    with pytest.raises(VerificationError, match="is not valid"):
        signing.verify_model(model, sig, public_key=pub)
    sig.write_text("{not json")
    with pytest.raises(VerificationError):
        signing.verify_model(model, sig, public_key=pub)
    with pytest.raises(DistillguardError, match="not found"):
        signing.verify_model(model, tmp_path / "nope.sig", public_key=pub)


def test_symlink_refused_and_git_ignored(tmp_path: Path, keypair: tuple[Path, Path]) -> None:
    priv, pub = keypair
    model = make_model(tmp_path / "m")
    sig = tmp_path / "m.sig"
    signing.sign_model(model, sig, private_key=priv)
    (model / ".gitattributes").write_text("changed")  # git paths are not signed (as upstream)
    signing.verify_model(model, sig, public_key=pub)
    (model / "link").symlink_to(model / "config.json")
    with pytest.raises(DistillguardError, match="symbolic link"):
        signing.sign_model(model, tmp_path / "x.sig", private_key=priv)
    shutil.rmtree(model)
    with pytest.raises(DistillguardError, match="does not exist"):
        signing.hash_model(model)


def test_safetensors_inspection(tmp_path: Path) -> None:
    model = make_model(tmp_path / "m")
    info = formats.inspect_artifact(model / "model-00002-of-00002.safetensors")
    assert (info.format, info.parameters, info.tensors) == ("safetensors", 32 * 64 + 3, 2)
    assert formats.inspect_artifact(model / "config.json").format == "other"
    gguf = tmp_path / "x.gguf"
    gguf.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + (7).to_bytes(8, "little") + bytes(8))
    assert formats.inspect_artifact(gguf).tensors == 7
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes((10**9).to_bytes(8, "little") + b"{}")
    with pytest.raises(DistillguardError, match="not a valid safetensors"):
        formats.inspect_artifact(bad)


def test_large_file_hash_path_matches_model_signing(tmp_path: Path) -> None:
    """Files >= 64 MiB go through the memory-mapped path; digests must not change."""
    from model_signing import hashing as ms_hashing

    model = tmp_path / "big"
    model.mkdir()
    big = model / "w.bin"
    with open(big, "wb") as fh:  # sparse 65 MiB with data at both ends
        fh.write(b"head")
        fh.truncate(65 << 20)
        fh.seek((65 << 20) - 4)
        fh.write(b"tail")
    seen: list[int] = []
    ours = signing.hash_model(model, progress=seen.append)
    assert sum(seen) == 65 << 20
    assert ours.files[0].sha256 == hashlib.sha256(big.read_bytes()).hexdigest()
    assert ours.to_library() == ms_hashing.Config().hash(model)


def _big_model(root: Path) -> Path:
    root.mkdir()
    rng = np.random.default_rng(3)
    (root / "w.bin").write_bytes(rng.bytes((5 << 20) + 12345))  # 5 shards of 1 MiB + tail
    (root / "small.json").write_text("{}")
    (root / "empty.txt").write_bytes(b"")
    return root


def test_shard_mode_matches_model_signing_and_verifies(
    tmp_path: Path, keypair: tuple[Path, Path]
) -> None:
    from model_signing import hashing as ms_hashing
    from model_signing import verifying

    priv, pub = keypair
    model = _big_model(tmp_path / "m")
    ours = signing.hash_model(model, shard_size=1 << 20, workers=3)
    theirs = ms_hashing.Config().use_shard_serialization(shard_size=1 << 20).hash(model)
    assert ours.to_library() == theirs
    assert len([f for f in ours.files if f.path == "w.bin"]) == 6
    assert "empty.txt" not in {f.path for f in ours.files}  # as upstream: no shard
    sig = tmp_path / "m.sig"
    signing.sign_model(model, sig, private_key=priv, shard_size=1 << 20)
    # model-signing 1.1.1 verifies shard signatures (its own too) only with the shard
    # config given explicitly: guessing it from the signature fails (shard_size is read
    # back as a float), and its CLI has no shard option
    shard_cfg = ms_hashing.Config().use_shard_serialization(shard_size=1 << 20)
    verifying.Config().use_elliptic_key_verifier(public_key=pub).set_hashing_config(
        shard_cfg
    ).verify(model, sig)
    assert signing.verify_model(model, sig, public_key=pub).files == 7
    data = bytearray((model / "w.bin").read_bytes())
    data[3 << 20] ^= 1
    (model / "w.bin").write_bytes(data)
    with pytest.raises(VerificationError, match=r"changed: w\.bin$"):
        signing.verify_model(model, sig, public_key=pub)
    (model / "w.bin").write_bytes(data[:-1])  # a different length: shards move
    with pytest.raises(VerificationError, match=r"changed: w\.bin$"):
        signing.verify_model(model, sig, public_key=pub)
    with pytest.raises(DistillguardError, match="at least 1 MiB"):
        signing.hash_model(model, shard_size=1000)
