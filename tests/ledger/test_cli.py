"""`distillguard ledger ...` end to end, and bad input: one-line error, nothing touched."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from distillguard.ledger import open_ledger

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture()
def log(tmp_path: Path, run_cli: Run) -> dict[str, str]:
    """A small log with two checkpoints, the files an auditor would hold, and options."""
    db, key = f"sqlite:///{tmp_path / 'l.db'}", str(tmp_path / "l.key")
    opts = ["--db", db, "--key", key]
    for i in range(5):
        assert run_cli("ledger", "append", json.dumps({"type": "decision", "n": i}), *opts)[0] == 0
    code, cp1, _ = run_cli("ledger", "checkpoint", *opts)
    assert code == 0
    assert run_cli("ledger", "append", '{"type": "late"}', *opts)[1] == "5\n"
    cp2 = run_cli("ledger", "checkpoint", *opts)[1]
    files = {"cp1": cp1, "cp2": cp2, "pub": run_cli("ledger", "pubkey", *opts)[1]}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    code, proof, _ = run_cli("ledger", "prove", "3", *opts)
    assert code == 0
    (tmp_path / "proof.json").write_text(proof)
    (tmp_path / "record.json").write_text(json.dumps(json.loads(proof)["record"]))
    return {"db": db, "key": key, "dir": str(tmp_path)}


def f(log: dict[str, str], name: str) -> str:
    return str(Path(log["dir"]) / name)


def one_line_error(code: int, err: str) -> bool:
    lines = err.strip().splitlines()
    return code != 0 and len(lines) == 1 and lines[0].startswith("error: ")


def test_happy_path(log: dict[str, str], run_cli: Run) -> None:
    opts = ["--db", log["db"], "--key", log["key"]]
    code, out, _ = run_cli("ledger", "verify", *opts)
    assert code == 0 and out.startswith("OK: 6 records") and "latest of size 6" in out
    code, out, _ = run_cli(
        "ledger", "verify-proof", f(log, "proof.json"), "--pubkey", f(log, "pub"),
        "--checkpoint", f(log, "cp2"), "--record", f(log, "record.json"),
    )  # fmt: skip
    assert code == 0 and out.startswith("OK: record 3 is in")
    code, out, _ = run_cli("ledger", "consistency", f(log, "cp1"), f(log, "cp2"), *opts)
    assert code == 0 and json.loads(out)["old_size"] == 5
    Path(f(log, "c.json")).write_text(out)
    code, out, _ = run_cli(
        "ledger", "consistency", f(log, "cp1"), f(log, "cp2"),
        "--proof", f(log, "c.json"), "--pubkey", f(log, "pub"),
    )  # fmt: skip
    assert code == 0 and "extends tree 5" in out
    vkey = run_cli("ledger", "pubkey", "--format", "note", *opts)[1]
    Path(f(log, "vkey")).write_text(vkey)
    code, out, _ = run_cli(
        "ledger", "verify-proof", f(log, "proof.json"), "--pubkey", f(log, "vkey"),
        "--checkpoint", f(log, "cp2"),
    )  # fmt: skip
    assert code == 0
    for dest in ("exp", "exp.jsonl"):
        assert run_cli("ledger", "export", f(log, dest), *opts)[0] == 0
        code, out, _ = run_cli("ledger", "verify-export", f(log, dest), "--pubkey", f(log, "pub"))
        assert code == 0 and out.startswith("OK: 6 exported records")


def test_append_from_stdin(tmp_path: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"a": 1}\n\n{"b": 2}\n'))
    code, out, _ = run_cli("ledger", "append", "--db", f"sqlite:///{tmp_path / 'x.db'}",
                           "--key", str(tmp_path / "x.key"))  # fmt: skip
    assert code == 0 and out == "0\n1\n"


def test_corrupt_database_is_reported_and_untouched(tmp_path: Path, run_cli: Run) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not a database file" * 100)
    before = hashlib.sha256(bad.read_bytes()).digest()
    for cmd in (["verify"], ["append", "{}"], ["prove", "0"], ["checkpoint"], ["export", "o"]):
        code, _, err = run_cli("ledger", *cmd, "--db", f"sqlite:///{bad}",
                               "--key", str(tmp_path / "k.key"))  # fmt: skip
        assert one_line_error(code, err), (cmd, err)
        assert hashlib.sha256(bad.read_bytes()).digest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.db"]


def test_missing_database_is_not_created(tmp_path: Path, run_cli: Run) -> None:
    code, _, err = run_cli("ledger", "verify", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert one_line_error(code, err) and not (tmp_path / "none.db").exists()


def test_wrong_key_changes_nothing(log: dict[str, str], run_cli: Run, tmp_path: Path) -> None:
    from distillguard.ledger.keys import create_private_key

    other = tmp_path / "other.key"
    create_private_key(other)
    for cmd in (["checkpoint"], ["append", "{}"]):
        code, _, err = run_cli("ledger", *cmd, "--db", log["db"], "--key", str(other))
        assert one_line_error(code, err) and "not the signing key" in err
    with open_ledger(log["db"], log["key"]) as led:
        assert led.size == 6 and len(led.storage.checkpoints()) == 2


def test_forged_and_truncated_proofs_fail(log: dict[str, str], run_cli: Run) -> None:
    proof = json.loads(Path(f(log, "proof.json")).read_text())
    cases: dict[str, str] = {"truncated": Path(f(log, "proof.json")).read_text()[:-40]}
    forged = dict(proof)
    forged["hashes"] = [proof["hashes"][0][:-4] + "AAA=", *proof["hashes"][1:]]
    cases["forged hash"] = json.dumps(forged)
    cases["short"] = json.dumps({**proof, "hashes": proof["hashes"][:-1]})
    cases["other index"] = json.dumps({**proof, "index": 2})
    for name, text in cases.items():
        Path(f(log, "bad.json")).write_text(text)
        code, _, err = run_cli(
            "ledger", "verify-proof", f(log, "bad.json"), "--pubkey", f(log, "pub"),
            "--checkpoint", f(log, "cp2"), "--record", f(log, "record.json"),
        )  # fmt: skip
        assert code == 1 and one_line_error(code, err), (name, err)
    rec = json.loads(Path(f(log, "record.json")).read_text())
    rec["record"]["n"] = 4
    Path(f(log, "rec2.json")).write_text(json.dumps(rec))
    code, _, err = run_cli(
        "ledger", "verify-proof", f(log, "proof.json"), "--pubkey", f(log, "pub"),
        "--checkpoint", f(log, "cp2"), "--record", f(log, "rec2.json"),
    )  # fmt: skip
    assert code == 1 and "does not match" in err
    code, _, err = run_cli(
        "ledger", "verify-proof", f(log, "proof.json"), "--pubkey", f(log, "pub"),
        "--checkpoint", f(log, "cp1"),
    )  # fmt: skip
    assert code == 1 and "tree size 6, the checkpoint has 5" in err


def test_checkpoint_of_another_log_is_rejected(
    log: dict[str, str], run_cli: Run, tmp_path: Path
) -> None:
    other = ["--db", f"sqlite:///{tmp_path / 'o.db'}", "--key", str(tmp_path / "o.key")]
    run_cli("ledger", "append", '{"x": 1}', *other)
    Path(f(log, "ocp")).write_text(run_cli("ledger", "checkpoint", *other)[1])
    Path(f(log, "opub")).write_text(run_cli("ledger", "pubkey", "--format", "note", *other)[1])
    for pub in ("pub", "opub"):
        code, _, err = run_cli(
            "ledger", "verify-proof", f(log, "proof.json"), "--pubkey", f(log, pub),
            "--checkpoint", f(log, "ocp"),
        )  # fmt: skip
        assert code == 1 and one_line_error(code, err), err
    code, _, err = run_cli("ledger", "verify", "--db", log["db"], "--key", log["key"],
                           "--checkpoint", f(log, "ocp"))  # fmt: skip
    assert one_line_error(code, err) and "not" in err
    code, _, err = run_cli("ledger", "consistency", f(log, "cp2"), f(log, "cp1"),
                           "--db", log["db"], "--key", log["key"])  # fmt: skip
    assert one_line_error(code, err)


def test_verify_names_the_tampered_record(log: dict[str, str], run_cli: Run) -> None:
    path = log["db"][len("sqlite:///") :]
    with sqlite3.connect(path) as c:
        body = c.execute("SELECT body FROM ledger_records WHERE idx = 2").fetchone()[0]
        c.execute("UPDATE ledger_records SET body = ? WHERE idx = 2",
                  (body.replace(b'"n":2', b'"n":7'),))  # fmt: skip
    code, _, err = run_cli("ledger", "verify", "--db", log["db"], "--key", log["key"])
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("error: ledger does not verify: first bad "
                                                   "record at index 2")  # fmt: skip


def test_prove_bad_index(log: dict[str, str], run_cli: Run) -> None:
    code, _, err = run_cli("ledger", "prove", "99", "--db", log["db"], "--key", log["key"])
    assert one_line_error(code, err) and "no record 99" in err


def test_purge_payloads(tmp_path: Path, run_cli: Run) -> None:
    db, key = f"sqlite:///{tmp_path / 'p.db'}", tmp_path / "p.key"
    with open_ledger(db, key) as led:
        c = led.commit_payload("prompt", "secret", retention_days=-1)  # already expired
        led.append({"prompt": c})
    code, out, _ = run_cli("ledger", "purge-payloads", "--db", db, "--key", str(key))
    assert code == 0 and out == "deleted 1 expired payload(s)\n"
    with open_ledger(db, key) as led:
        assert led.open_payload(c["payload_id"]) is None
        assert led.get_record(0)["record"]["prompt"]["digest"] == c["digest"]
