"""Wrong, empty, binary and missing files given to the ledger commands: one line naming the
option and the file, exit 2 (bad input); damaged files of the right kind exit 1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from .test_cli import f, log, one_line_error  # noqa: F401  (log is a fixture)

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture()
def junk(log: dict[str, str]) -> dict[str, str]:  # noqa: F811
    """Files of the wrong kinds next to the log's files."""
    d = Path(log["dir"])
    (d / "empty").write_text("")
    (d / "blank").write_text("\n  \n")
    (d / "bin").write_bytes(bytes(range(256)) * 4)
    (d / "garbage.pem").write_text("garbage\n")
    (d / "arr.json").write_text("[1, 2]")
    return {**log, "missing": str(d / "nope")}


def check(code: int, err: str, want: int, *needles: str) -> None:
    assert code == want and one_line_error(code, err), (code, err)
    for n in needles:
        assert n in err, (n, err)
    assert len(err) < 300, err  # no file content dumped into the message


def test_wrong_pubkey_files(junk: dict[str, str], run_cli: Run) -> None:
    cases = {
        "proof.json": "not a ledger public key",  # the reported defect
        "cp2": "not a ledger public key",
        "empty": "empty",
        "bin": "not a text file",
        "garbage.pem": "not a ledger public key",
        "nope": "cannot read",
    }
    key_file = junk["key"]
    for name, why in {**cases, key_file: "private key"}.items():
        path = f(junk, name) if name != key_file else key_file
        for cmd in (
            ["verify-proof", f(junk, "proof.json"), "--checkpoint", f(junk, "cp2")],
            ["verify-export", f(junk, "proof.json")],
            ["verify", "--db", junk["db"], "--key", junk["key"]],
        ):
            code, _, err = run_cli("ledger", *cmd, "--pubkey", path)
            check(code, err, 2, f"--pubkey {path}: ", why)
    code, _, err = run_cli("ledger", "verify-proof", f(junk, "proof.json"), "--pubkey",
                           f(junk, "proof.json"), "--checkpoint", f(junk, "cp2"))  # fmt: skip
    assert "distillguard ledger pubkey" in err


def test_wrong_checkpoint_files(junk: dict[str, str], run_cli: Run) -> None:
    for name, why in {
        "proof.json": "not a signed checkpoint",
        "pub": "not a signed checkpoint",
        "empty": "empty",
        "blank": "empty",
        "bin": "not a text file",
        "nope": "cannot read",
    }.items():
        path = f(junk, name)
        code, _, err = run_cli("ledger", "verify-proof", f(junk, "proof.json"),
                               "--pubkey", f(junk, "pub"), "--checkpoint", path)  # fmt: skip
        check(code, err, 2, f"--checkpoint {path}: ", why)
        code, _, err = run_cli("ledger", "verify", "--db", junk["db"], "--key", junk["key"],
                               "--checkpoint", path)  # fmt: skip
        check(code, err, 2, f"--checkpoint {path}: ", why)
        code, _, err = run_cli("ledger", "consistency", f(junk, "cp1"), path,
                               "--db", junk["db"], "--key", junk["key"])  # fmt: skip
        check(code, err, 2, f"NEW {path}: ", why)


def test_wrong_proof_files(junk: dict[str, str], run_cli: Run) -> None:
    opts = ["--pubkey", f(junk, "pub"), "--checkpoint", f(junk, "cp2")]
    for name, why in {
        "cp2": "not a JSON object",
        "arr.json": "not a JSON object",
        "empty": "empty",
        "bin": "not a text file",
        "nope": "cannot read",
    }.items():
        code, _, err = run_cli("ledger", "verify-proof", f(junk, name), *opts)
        check(code, err, 2, f"proof {f(junk, name)}: ", why)
    # a consistency proof given where an inclusion proof is expected, and the reverse
    code, out, _ = run_cli("ledger", "consistency", f(junk, "cp1"), f(junk, "cp2"),
                           "--db", junk["db"], "--key", junk["key"])  # fmt: skip
    Path(f(junk, "c.json")).write_text(out)
    code, _, err = run_cli("ledger", "verify-proof", f(junk, "c.json"), *opts)
    check(code, err, 2, "not an inclusion proof", "consistency/v1")
    pub = ["--pubkey", f(junk, "pub")]
    code, _, err = run_cli("ledger", "consistency", f(junk, "cp1"), f(junk, "cp2"),
                           "--proof", f(junk, "proof.json"), *pub)  # fmt: skip
    check(code, err, 2, "--proof", "not a consistency proof")
    code, _, err = run_cli("ledger", "verify-proof", f(junk, "proof.json"), *opts,
                           "--record", f(junk, "cp2"))  # fmt: skip
    check(code, err, 2, "--record", "not a JSON object")
    # the right kind, but damaged: a failed verification (exit 1), as documented
    Path(f(junk, "trunc.json")).write_text(Path(f(junk, "proof.json")).read_text()[:80])
    code, _, err = run_cli("ledger", "verify-proof", f(junk, "trunc.json"), *opts)
    check(code, err, 1, "not valid JSON")
    cp = Path(f(junk, "cp2")).read_text()
    Path(f(junk, "cpbad")).write_text(cp.replace(cp.split("\n")[2], "A" * 44))
    code, _, err = run_cli("ledger", "verify-proof", f(junk, "proof.json"),
                           *pub, "--checkpoint", f(junk, "cpbad"))  # fmt: skip
    check(code, err, 1, "signature")


def test_wrong_export_files(junk: dict[str, str], run_cli: Run) -> None:
    for name in ("proof.json", "empty", "bin", "cp2"):
        code, _, err = run_cli("ledger", "verify-export", f(junk, name), "--pubkey", f(junk, "pub"))
        check(code, err, 2, "not a ledger export")
    Path(f(junk, "emptydir")).mkdir()
    code, _, err = run_cli(
        "ledger", "verify-export", f(junk, "emptydir"), "--pubkey", f(junk, "pub")
    )
    check(code, err, 2, "no records.jsonl")
    code, _, err = run_cli("ledger", "verify-export", f(junk, "nope"), "--pubkey", f(junk, "pub"))
    check(code, err, 2, "cannot read")
    exp = f(junk, "exp")
    assert run_cli("ledger", "export", exp, "--db", junk["db"], "--key", junk["key"])[0] == 0
    Path(exp, "checkpoints", "99.txt").write_bytes(bytes(range(256)))
    code, _, err = run_cli("ledger", "verify-export", exp, "--pubkey", f(junk, "pub"))
    check(code, err, 1, "not UTF-8")  # a damaged export fails verification, no traceback


def test_wrong_signing_key_files(junk: dict[str, str], run_cli: Run) -> None:
    for name, why in {"pub": "is a public key", "garbage.pem": "not a PEM private key"}.items():
        path = Path(f(junk, name))
        path.chmod(0o600)
        code, _, err = run_cli("ledger", "checkpoint", "--db", junk["db"], "--key", str(path))
        check(code, err, 2, f"ledger key {path} ", why)


def test_unwritable_output_fails_before_signing(junk: dict[str, str], run_cli: Run) -> None:
    from distillguard.ledger import open_ledger

    opts = ["--db", junk["db"], "--key", junk["key"]]
    run_cli("ledger", "append", '{"more": 1}', *opts)
    under_file = f(junk, "empty") + "/cp.txt"
    code, _, err = run_cli("ledger", "checkpoint", *opts, "--output", under_file)
    check(code, err, 2, f"error: {under_file}: Not a directory")
    with open_ledger(junk["db"], junk["key"]) as led:
        assert len(led.storage.checkpoints()) == 2  # no checkpoint signed for nothing
    code, _, err = run_cli("ledger", "prove", "3", *opts, "--output", junk["dir"])
    check(code, err, 2, "Is a directory (--output takes a file name)")
    code, _, err = run_cli("ledger", "consistency", f(junk, "cp1"), f(junk, "cp2"), *opts,
                           "--output", f(junk, "nodir") + "/c.json")  # fmt: skip
    check(code, err, 2, "No such file or directory")
    code, _, _ = run_cli("ledger", "prove", "3", *opts, "--output", f(junk, "p.json"))
    assert code == 0 and json.loads(Path(f(junk, "p.json")).read_text())["index"] == 3
    assert not [p for p in Path(junk["dir"]).iterdir() if p.name.startswith(".")]
