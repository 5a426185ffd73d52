"""The public API other parts call: append, writer, payloads, checkpoints, proofs."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.ledger import merkle, note, open_ledger
from distillguard.ledger.canonical import canonical_json
from distillguard.ledger.keys import load_public_key


def _check_proof(proof: dict, pem: bytes) -> None:
    pub = load_public_key(pem)
    cp = note.open_checkpoint(proof["checkpoint"], pub, proof["origin"])
    assert cp.size == proof["tree_size"]
    leaf = merkle.leaf_hash(canonical_json(proof["record"]))
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    merkle.verify_inclusion(proof["index"], cp.size, leaf, hashes, cp.root)


def test_append_checkpoint_prove(dg_home: Path) -> None:
    led = open_ledger()
    idx = [led.append({"type": "decision", "n": i}) for i in range(13)]
    assert idx == list(range(13))
    cp_text = led.checkpoint()
    cp = note.open_checkpoint(cp_text, led.public_key, led.origin)
    assert cp.size == 13
    for i in idx:
        _check_proof(led.prove_inclusion(i), led.public_key_pem())
    key = dg_home / "ledger.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    led.close()


def test_writer_batches_and_checkpoints_on_close(dg_home: Path) -> None:
    led = open_ledger()
    w = led.writer(batch_size=64)
    for i in range(1000):
        w.enqueue({"type": "decision", "n": i})
    assert w.flush() == 1000
    w.enqueue({"type": "last"})
    w.close()
    cp = note.open_checkpoint(led.latest_checkpoint() or "", led.public_key, led.origin)
    assert cp.size == 1001
    assert led.get_record(1000)["record"] == {"type": "last"}
    led.close()


def test_payload_commitment_survives_deletion(dg_home: Path) -> None:
    led = open_ledger()
    c = led.commit_payload("prompt", "what is 2+2?")
    assert c["alg"] == "sha256-salted" and len(c["digest"]) == 64
    i = led.append({"type": "decision", "prompt": c})
    kind, salt, payload = led.open_payload(c["payload_id"]) or ("", b"", b"")
    assert (kind, payload) == ("prompt", b"what is 2+2?")
    from distillguard.ledger.records import check_commitment

    assert check_commitment(c, payload, salt)
    assert not check_commitment(c, b"what is 2+3?", salt)
    assert led.delete_payload(c["payload_id"])
    assert led.open_payload(c["payload_id"]) is None
    _check_proof(led.prove_inclusion(i), led.public_key_pem())
    led.close()


def test_wrong_key_is_refused(dg_home: Path, tmp_path: Path) -> None:
    open_ledger().close()
    from distillguard.ledger.keys import create_private_key

    create_private_key(tmp_path / "other.key")
    with pytest.raises(DistillguardError, match="not the signing key"):
        open_ledger(key_path=tmp_path / "other.key", create=True)


def test_missing_key_is_not_silently_recreated(dg_home: Path) -> None:
    open_ledger().close()
    (dg_home / "ledger.key").unlink()
    with pytest.raises(DistillguardError, match="not found"):
        open_ledger()
    assert not (dg_home / "ledger.key").exists()


@pytest.mark.postgres
def test_postgres_backend_same_behaviour(pg_schema: str, tmp_path: Path) -> None:
    led = open_ledger(url=pg_schema, key_path=tmp_path / "k.key")
    assert [led.append({"n": i}) for i in range(5)] == list(range(5))
    w = led.writer(batch_size=100)
    for i in range(700):
        w.enqueue({"n": i})
    assert w.flush() == 705
    w.close()
    for i in (0, 4, 5, 333, 704):
        _check_proof(led.prove_inclusion(i), led.public_key_pem())
    led.close()
    again = open_ledger(url=pg_schema, key_path=tmp_path / "k.key")
    assert again.size == 705 and again.append({"n": "x"}) == 705
    again.close()
