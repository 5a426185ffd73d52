"""Bad input to `distillguard reports ...` through the real entry point: one line, exit 2
for bad input and 1 for a failed check, and no report signed or recorded on bad options."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., tuple[int, str, str]]
AT = ["--at", "2026-12-01T00:00:00Z"]


@pytest.fixture()
def run_cli(
    dg_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    from distillguard.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["distillguard", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def error(code: int, err: str, want: int, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert code == want and len(lines) == 1 and lines[0].startswith("error: "), (code, err)
    for n in needles:
        assert n in err, (n, err)


def recorded(dg_home: Path) -> tuple[int, int]:
    """(ledger records, reports in the database) of the isolated data directory."""
    from distillguard.ledger import open_ledger
    from distillguard.reports.store import ReportsStore
    from distillguard.store import open_database

    size = 0
    if (dg_home / "ledger.db").exists():
        with open_ledger(None, readonly=True) as led:
            size = led.size
    db = open_database(None)
    try:
        return size, len(ReportsStore(db).reports())
    finally:
        db.close()


@pytest.fixture()
def report(run_cli: Run, tmp_path: Path) -> Path:
    code, _, err = run_cli("reports", "build", "bis", "--out", str(tmp_path / "out"),
                           "--format", "json", *AT)  # fmt: skip
    assert code == 0, err
    [js] = (tmp_path / "out").glob("*.json")
    return js


def test_unparsable_public_key_is_bad_input(run_cli: Run, report: Path, dg_home: Path) -> None:
    d = report.parent
    (d / "garbage.pem").write_text("garbage\n")
    (d / "empty.pem").write_text("")
    for name in ("garbage.pem", "empty.pem"):
        code, _, err = run_cli("reports", "verify", str(report), "--public-key", str(d / name))
        error(code, err, 2, f"--public-key {d / name}: not an Ed25519 public key")
    code, _, err = run_cli("reports", "verify", str(report), "--public-key", str(d / "nope"))
    error(code, err, 2, "--public-key", "cannot read")
    private = dg_home / "reports.key"
    code, _, err = run_cli("reports", "verify", str(report), "--public-key", str(private))
    error(code, err, 2, "private key")
    # a real Ed25519 key that did not sign the report: a failed check, not bad input
    code, pub, _ = run_cli("ledger", "pubkey")
    (d / "ledger.pub").write_text(pub)
    code, _, err = run_cli("reports", "verify", str(report), "--public-key", str(d / "ledger.pub"))
    error(code, err, 1, "does not verify", "wrong key")
    env = json.loads(report.read_text())
    (d / "right.pem").write_text(env["integrity"]["public_key_pem"])
    code, out, _ = run_cli("reports", "verify", str(report), "--public-key", str(d / "right.pem"))
    assert code == 0 and "signature valid" in out


def test_ledger_key_is_checked_for_every_kind(run_cli: Run, report: Path) -> None:
    d = report.parent
    (d / "garbage.pem").write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    code, _, err = run_cli("reports", "verify", str(report), "--ledger-key", str(d / "garbage.pem"))
    error(code, err, 2, "--ledger-key", "not an Ed25519 public key")
    for fmt in ("pem", "note"):
        (d / "ledger.pub").write_text(run_cli("ledger", "pubkey", "--format", fmt)[1])
        code, out, _ = run_cli("reports", "verify", str(report), "--ledger-key",
                               str(d / "ledger.pub"))  # fmt: skip
        assert code == 0 and "--ledger-key not used" in out and "signature valid" in out


def test_unwritable_out_fails_before_signing(run_cli: Run, tmp_path: Path, dg_home: Path) -> None:
    (tmp_path / "afile").write_text("x")
    before = recorded(dg_home)
    for out, fmt, needles in (
        (tmp_path / "afile" / "sub", "json", ("--out", "nothing was signed or recorded")),
        (tmp_path / "afile", "json", ("--out", "nothing was signed or recorded")),
        (tmp_path / "ok", "json,docx", ("--format", "docx")),
        (tmp_path / "ok", ",", ("--format",)),
    ):
        code, _, err = run_cli("reports", "build", "bis", "--out", str(out), "--format", fmt, *AT)
        error(code, err, 2, *needles)
        assert recorded(dg_home) == before, (out, fmt)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_out_fails_before_signing(run_cli: Run, tmp_path: Path, dg_home: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    before = recorded(dg_home)
    try:
        code, _, err = run_cli("reports", "build", "bis", "--out", str(ro), *AT)
    finally:
        ro.chmod(0o700)
    error(code, err, 2, "--out", "nothing was signed or recorded")
    assert recorded(dg_home) == before and not list(ro.iterdir())


def test_write_failure_after_recording_is_clear_and_leaves_no_file(
    run_cli: Run, tmp_path: Path, dg_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder goes away between the check and the write (a race, a full disk)."""
    import distillguard.reports.render as render

    out = tmp_path / "out"
    monkeypatch.setattr(render, "check_writable", lambda p: None)
    real_replace = os.replace
    calls: list[str] = []

    def flaky_replace(src: str, dst: object) -> None:
        calls.append(src)
        if len(calls) == 2:  # the second of three files fails
            raise OSError(28, "No space left on device")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", flaky_replace)
    code, _, err = run_cli("reports", "build", "bis", "--out", str(out), *AT)
    error(code, err, 2, "was signed and recorded (ledger record 0)", "No space left on device")
    assert "no partial file" in err
    assert list(out.iterdir()) == []  # the first file is removed again, no .part left
    assert recorded(dg_home) == (1, 1)


def test_list_refuses_unknown_kind(run_cli: Run, report: Path) -> None:
    code, out, err = run_cli("reports", "list", "--kind", "bogus")
    error(code, err, 2, "unknown report kind 'bogus'", "bis_702_7_quarterly_notice", "sb53")
    assert out == ""
    for kind in ("bis_702_7_quarterly_notice", "bis"):
        code, out, _ = run_cli("reports", "list", "--kind", kind, "--json")
        assert code == 0 and len(json.loads(out)) == 1
    code, out, _ = run_cli("reports", "list", "--kind", "eu_annex_xi", "--json")
    assert code == 0 and json.loads(out) == []


def test_verify_malformed_envelopes(run_cli: Run, report: Path) -> None:
    env = json.loads(report.read_text())
    d = report.parent
    cases = {
        "integrity.json": ({**env, "integrity": "x"}, 1, "no integrity block"),
        "ledger.json": ({**env, "ledger": "x"}, 1, "names no ledger index"),
        "index.json": ({**env, "ledger": {"index": 99}}, 1, "has no record 99"),
        "other.json": ({"type": "distillguard.ledger.inclusion/v1"}, 2, "not a signed report"),
    }
    for name, (obj, want, needle) in cases.items():
        (d / name).write_text(json.dumps(obj))
        code, _, err = run_cli("reports", "verify", str(d / name))
        error(code, err, want, needle)


def test_schema_kind_names_and_regime(run_cli: Run) -> None:
    code, out, _ = run_cli("reports", "schema", "bis")
    assert code == 0 and json.loads(out)["title"] == "bis_702_7_quarterly_notice"
    code, _, err = run_cli("reports", "schema", "bis", "--regime", "sb53")
    error(code, err, 2, "--regime applies to incident_report only")
    code, _, err = run_cli("reports", "schema", "bogus")
    error(code, err, 2, "unknown report kind")


def test_evidence_bad_options(run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text("{}")
    base = ["reports", "evidence", str(tmp_path / "r.json"), "c", "--events", "x"]
    code, _, err = run_cli(*base, "--max-proofs", "-1")
    error(code, err, 2, "--max-proofs")
    code, _, err = run_cli(*base, "--format", "json,doc")
    error(code, err, 2, "--format")


def test_evidence_from_another_ledger_fails(run_cli: Run, tmp_path: Path) -> None:
    """A --ledger-key that is not the package's ledger fails (exit 1), even with no proofs."""
    from distillguard.detect.offline import scan_events

    from .campaign_fixture import events

    evs = events(n_per_account=24)
    log = tmp_path / "events.jsonl"
    log.write_bytes(b"\n".join(e.to_json() for e in evs) + b"\n")
    rep = scan_events(evs).report
    (tmp_path / "report.json").write_text(json.dumps(rep))
    cid = rep["campaigns"][0]["id"]
    code, _, err = run_cli("reports", "evidence", str(tmp_path / "report.json"), cid,
                           "--events", str(log), "--out", str(tmp_path / "ev"))  # fmt: skip
    assert code == 0, err
    [js] = (tmp_path / "ev").glob("distillation_evidence-*.json")
    (tmp_path / "ours.pub").write_text(run_cli("ledger", "pubkey")[1])
    code, out, _ = run_cli("reports", "verify", str(js), "--ledger-key", str(tmp_path / "ours.pub"))
    assert code == 0 and "inclusion proofs verify" in out
    other = ["--db", f"sqlite:///{tmp_path / 'o.db'}", "--key", str(tmp_path / "o.key")]
    run_cli("ledger", "append", "{}", *other)
    (tmp_path / "other.pub").write_text(run_cli("ledger", "pubkey", *other)[1])
    code, _, err = run_cli(
        "reports", "verify", str(js), "--ledger-key", str(tmp_path / "other.pub")
    )
    error(code, err, 1, "another ledger key")


def test_mark_filed_twice_is_refused(run_cli: Run, report: Path) -> None:
    rid = json.loads(report.read_text())["report_id"]
    code, _, err = run_cli("reports", "mark-filed", rid, "--at", "2026-12-02T00:00:00Z")
    assert code == 0, err
    code, _, err = run_cli("reports", "mark-filed", rid, "--at", "2026-12-20T00:00:00Z")
    error(code, err, 2, "already marked filed at 2026-12-02T00:00:00Z")
    code, out, _ = run_cli("reports", "list", "--json")
    assert json.loads(out)[0]["filed_at"] == "2026-12-02T00:00:00Z"


def test_verify_without_the_ledger_says_how(run_cli: Run, report: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("reports", "verify", str(report), "--ledger",
                           f"sqlite:///{tmp_path / 'none.db'}")  # fmt: skip
    error(code, err, 2, "no ledger database", "--no-ledger")
    assert not (tmp_path / "none.db").exists()
    code, out, _ = run_cli("reports", "verify", str(report), "--no-ledger")
    assert code == 0 and "signature valid" in out
