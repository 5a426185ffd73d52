"""`distillguard orgs|accounts|keys` through the real root CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.identity import IdentityService
from distillguard.store.db import Database


def _run(*args: str, db: str) -> str:
    res = CliRunner().invoke(app, [*args, "--db", db], env={"COLUMNS": "200"})
    assert res.exit_code == 0, (res.output, res.exception)
    return res.output


def test_cli_round_trip(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert "created organisation org-acme" in _run(
        "orgs", "create", "Acme Robotics", "--hq", "de", "--parent-hq", "CN",
        "--allowlist", "trusted_partner", "--id", "org-acme", "--rpm", "100", db=db,
    )  # fmt: skip
    out = _run("accounts", "create", "ml", "--org", "Acme Robotics", "--id", "a1", db=db)
    assert "organization in org-acme" in out
    _run("accounts", "create", "solo", "--nationality", "US", "--id", "a2", db=db)
    issued = _run("keys", "issue", "a1", "--name", "ci", db=db)
    assert "only time the key is shown" in issued
    key = next(line for line in issued.splitlines() if line.startswith("dg_live_"))
    ids = IdentityService(Database(db))
    snap = ids.authenticate(key)
    assert snap is not None and snap.org is not None and snap.org.hq_country == "DE"

    orgs = json.loads(_run("orgs", "list", "--json", db=db))
    assert orgs[0]["parent_hq_country"] == "CN" and orgs[0]["limits"]["rpm"] == 100
    assert "Acme Robotics" in _run("orgs", "show", "org-acme", db=db)
    listed = json.loads(_run("accounts", "list", "--org", "org-acme", "--json", db=db))
    assert [a["id"] for a in listed] == ["a1"]

    _run("accounts", "set-kyc", "a1", "verified", "--reason", "passport", db=db)
    _run("accounts", "suspend", "a1", "--reason", "abuse report", db=db)
    shown = json.loads(_run("accounts", "show", "a1", "--json", db=db))
    assert shown["context"]["account"]["status"] == "suspended"
    assert shown["context"]["account"]["kyc_level"] == "verified"
    assert shown["changes"][0]["action"] == "account.suspend"
    assert shown["changes"][0]["actor"].startswith("cli")
    assert key not in json.dumps(shown)  # the key is never shown again
    _run("accounts", "reactivate", "a1", db=db)

    record = tmp_path / "kyc.yaml"
    record.write_text(
        "name: Acme Robotics GmbH\n"
        "address: {lines: [Hauptstr. 1], city: Berlin, country: DE}\n"
        "payment: {means: invoice, source: Deutsche Bank wire}\n"
        "emails: [ops@acme.example]\nphones: ['+49 30 1234567']\n"
        "access_ips: [203.0.113.0/24]\nbeneficial_owners: [{name: Jane Roe, share_pct: 60}]\n"
    )
    assert "complete" in _run("orgs", "set-record", "org-acme", str(record), db=db)
    assert ids.snapshot("a1").to_context()["account"]["kyc_record_complete"]

    assert "updated org-acme" in _run("orgs", "update", "org-acme", "--parent-hq", "US",
                                      "--tpm", "5000", db=db)  # fmt: skip
    _run("accounts", "update", "a1", "--nationality", "DE", "--concurrency", "2", db=db)
    ctx = ids.snapshot("a1")
    assert ctx.org is not None and ctx.org.parent_hq_country == "US"
    assert ctx.org.limits.tpm == 5000 and ctx.org.limits.rpm == 100  # other limits kept
    assert ctx.account.nationality == "DE" and ctx.account.limits.concurrency == 2
    _run("orgs", "suspend", "org-acme", "--reason", "sanctions review", db=db)
    assert not ids.snapshot("a1").active
    _run("orgs", "reactivate", "org-acme", db=db)

    keys = json.loads(_run("keys", "list", "--account", "a1", "--json", db=db))
    assert keys[0]["active"] and keys[0]["display_prefix"] == key[:12]
    assert "revoked" in _run("keys", "revoke", keys[0]["id"], "--reason", "leak", db=db)
    ids.sync()
    assert ids.authenticate(key) is None
    assert "revoked" in _run("keys", "list", db=db)


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "emails": ["nope"]}')
    (tmp_path / "broken.yaml").write_text("name: [\n")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe")
    _run("orgs", "create", "Acme", "--hq", "DE", db=db)
    for args, message in [
        (["orgs", "set-record", "Acme", str(tmp_path / "broken.yaml")], "broken.yaml:2 is not"),
        (["orgs", "set-record", "Acme", str(tmp_path / "binary.yaml")], "not UTF-8 text"),
        (["orgs", "create", "X", "--hq", "UK"], "did you mean GB"),
        (["keys", "revoke", "key_missing"], "no API key 'key_missing'"),
        (["accounts", "update", "missing"], "nothing to change"),
        (["accounts", "set-record", "missing", str(bad)], "no account 'missing'"),
    ]:
        proc = subprocess.run(
            [sys.executable, "-m", "distillguard", *args, "--db", db],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        assert message in proc.stderr and "Traceback" not in proc.stderr


def test_cli_usage_errors_show_usage_not_internal_error(tmp_path: Path) -> None:
    # typer vendors its own click: its UsageError must still be a usage message, exit 2
    proc = subprocess.run(
        [sys.executable, "-m", "distillguard", "accounts", "create"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DISTILLGUARD_HOME": str(tmp_path)},
    )
    assert proc.returncode == 2, proc.stderr
    assert "Missing argument 'name'" in proc.stderr and "internal error" not in proc.stderr
