"""`distillguard detect` contract: every account once, bad input counted, HTML produced."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillguard.cli import app

from .helpers import chat_user, event, harvester

runner = CliRunner()


def _write_log(path: Path) -> set[str]:
    rng = random.Random(3)
    evs = harvester("harv", 80, rng) + chat_user("chat", 30, rng)
    evs.append(
        event(
            "xss",
            5,
            [{"role": "user", "content": "<script>alert(1)</script> Solve 2x=4 step by step."}],
        )
    )
    evs.sort(key=lambda e: e.ts)
    lines = [ev.to_json() for ev in evs]
    # an out-of-order line, a huge prompt, binary garbage and malformed records
    lines.insert(20, event("late", -3600, [{"role": "user", "content": "late"}]).to_json())
    lines.append(event("huge", 9, [{"role": "user", "content": "y" * 3_000_000}]).to_json())
    lines += [
        b"\x00\xff\xfe\xfd binary",
        b"{not json",
        b'{"ts": "2026-11-02T00:00:00Z"}',
        b'{"ts": "yesterday", "account": "a"}',
        b"[1, 2, 3]",
        b"",
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return {ev.account for ev in evs} | {"late", "huge"}


def test_report_contract_and_bad_input(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    accounts = _write_log(log)
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    res = runner.invoke(app, ["detect", str(log), "--output", str(out), "--html", str(html)])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    assert rep["version"] == 1
    assert rep["input"]["skipped_lines"] == 5
    assert rep["input"]["accounts"] == len(accounts)
    names = [a["account"] for a in rep["accounts"]]
    assert sorted(names) == sorted(accounts)  # every account exactly once
    assert rep["diagnostics"]["out_of_order"] >= 1
    for a in rep["accounts"]:
        assert set(a) >= {
            "account",
            "requests",
            "score",
            "verdict",
            "first_flagged_at",
            "campaign",
            "reasons",
        }
        assert 0.0 <= a["score"] <= 1.0
        assert a["verdict"] in {"distillation", "suspicious", "benign"}
    by = {a["account"]: a for a in rep["accounts"]}
    assert by["harv"]["verdict"] == "distillation" and by["harv"]["first_flagged_at"]
    assert by["chat"]["verdict"] == "benign" and by["chat"]["first_flagged_at"] is None
    page = html.read_text()
    assert "<script>alert(1)</script>" not in page
    assert "data:image/png;base64," in page and "harv" in page


def test_strict_fails_on_first_bad_line(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    _write_log(log)
    res = runner.invoke(app, ["detect", str(log), "--output", str(tmp_path / "r.json"), "--strict"])
    assert res.exit_code != 0


def test_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    from distillguard.errors import DistillguardError

    with pytest.raises(DistillguardError, match="cannot read"):
        runner.invoke(
            app,
            ["detect", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "r.json")],
            catch_exceptions=False,
        )


def test_multiple_logs_are_scanned_in_order(tmp_path: Path) -> None:
    rng = random.Random(9)
    evs = harvester("h", 60, rng)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(b"\n".join(e.to_json() for e in evs[:30]) + b"\n")
    b.write_bytes(b"\n".join(e.to_json() for e in evs[30:]) + b"\n")
    out = tmp_path / "r.json"
    res = runner.invoke(app, ["detect", str(a), str(b), "--output", str(out), "-q"])
    assert res.exit_code == 0, res.output
    rep = json.loads(out.read_text())
    assert rep["input"]["requests"] == 60 and rep["accounts"][0]["requests"] == 60


def test_parallel_scan_equals_sequential(tmp_path: Path) -> None:
    from distillguard.detect.offline import scan_files

    log = tmp_path / "log.jsonl"
    _write_log(log)
    seq = scan_files([log])
    par = scan_files([log], jobs=2)
    assert par.report == seq.report
    assert par.stats.skipped == seq.stats.skipped == 5
