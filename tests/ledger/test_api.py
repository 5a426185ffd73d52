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


def test_concurrent_appenders_get_dense_indices(make_ledger) -> None:  # type: ignore[no-untyped-def]
    import threading

    from distillguard.ledger.verify import verify_log

    a, b = make_ledger(), make_ledger()
    got: list[int] = []
    lock = threading.Lock()

    def work(led, tag: str) -> None:  # type: ignore[no-untyped-def]
        for k in range(30):
            idx = led.append_many([{"w": tag, "k": k, "j": j} for j in range(7)])
            with lock:
                got.extend(idx)

    threads = [threading.Thread(target=work, args=(led, t)) for led, t in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(420))
    a.checkpoint()
    report = verify_log(b.storage, b.public_key, b.origin)
    assert report.ok and report.records == 420


def test_writer_retries_a_failed_batch_and_reports_a_persistent_failure(dg_home: Path) -> None:
    led = open_ledger()
    real = led.storage.append
    failures = {"left": 2}

    def flaky(build):  # type: ignore[no-untyped-def]
        if failures["left"] > 0:
            failures["left"] -= 1
            raise DistillguardError("database is locked")
        return real(build)

    led.storage.append = flaky  # type: ignore[method-assign]
    w = led.writer(batch_size=10, checkpoint_interval_s=3600)
    for i in range(25):
        w.enqueue({"n": i})
    assert w.flush(timeout=30) == 25  # retried, nothing lost, nothing doubled
    assert [led.get_record(i)["record"]["n"] for i in range(25)] == list(range(25))
    failures["left"] = 10**9
    w.enqueue({"n": "lost?"})
    with pytest.raises(DistillguardError, match="ledger write failed: database is locked"):
        w.flush(timeout=30)
    failures["left"] = 0
    assert w.flush(timeout=30) == 26  # the record was kept and written once it could be
    w.close()
    led.close()


def test_expired_payloads_are_purged_without_touching_the_tree(dg_home: Path) -> None:
    import time

    led = open_ledger()
    old = led.commit_payload("prompt", "old", retention_days=1)
    keep = led.commit_payload("prompt", "keep", retention_days=30)
    led.append_many([{"p": old}, {"p": keep}])
    root = led.root(2)
    assert led.purge_expired_payloads(now=time.time() + 2 * 86400) == 1
    assert led.open_payload(old["payload_id"]) is None
    assert led.open_payload(keep["payload_id"]) is not None
    assert led.root(2) == root
    _check_proof(led.prove_inclusion(0), led.public_key_pem())
    led.close()


def test_tampered_export_is_rejected(dg_home: Path, tmp_path: Path) -> None:
    from distillguard.errors import VerificationError
    from distillguard.ledger.export import export_ledger, verify_export

    led = open_ledger()
    led.append_many([{"n": i} for i in range(9)])
    led.checkpoint()
    export_ledger(led, tmp_path / "exp")
    assert verify_export(tmp_path / "exp", led.public_key) == (9, 9)
    lines = (tmp_path / "exp" / "records.jsonl").read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"n":4', b'"n":5')
    (tmp_path / "exp" / "records.jsonl").write_bytes(b"".join(lines))
    with pytest.raises(VerificationError, match="do not match the signed checkpoint 9"):
        verify_export(tmp_path / "exp", led.public_key)
    led.close()


@pytest.mark.parametrize("name", ["exp", "exp.jsonl"])
def test_an_export_that_fails_part_way_leaves_nothing(
    dg_home: Path, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written under a temporary name and renamed when complete: a storage error part-way
    leaves neither a half export nor the temporary one; a complete one verifies."""
    from distillguard.ledger.export import export_ledger, verify_export

    led = open_ledger()
    led.append_many([{"n": i} for i in range(9)])
    led.checkpoint()
    real = led.storage.iter_records

    def failing(start: int, size: int):  # type: ignore[no-untyped-def]
        it = real(start, 4)
        yield next(it)
        raise OSError(28, "No space left on device")

    out = tmp_path / "out"
    monkeypatch.setattr(led.storage, "iter_records", failing)
    with pytest.raises(OSError, match="No space left"):
        export_ledger(led, out / name)
    assert list(out.iterdir()) == []
    monkeypatch.setattr(led.storage, "iter_records", real)
    assert export_ledger(led, out / name) == 9
    assert verify_export(out / name, led.public_key) == (9, 9)
    assert [p.name for p in out.iterdir()] == [name]
    led.close()
