"""`distillguard demo --no-serve` (the README's main job) runs end to end on a fresh home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_demo_runs_and_writes_signed_reports(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "COLUMNS": "160"}
    r = subprocess.run(
        [sys.executable, "-m", "distillguard", "demo", "--no-serve", "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert "Traceback" not in out + r.stderr
    assert "full log verified" in out
    assert "BIS 702.7 quarterly notice" in out
    reports = home / "reports"
    notices = list(reports.glob("bis_702_7_quarterly_notice-*.json"))
    assert len(notices) == 1
    assert list(reports.glob("bis_702_7_quarterly_notice-*.pdf"))
    env_doc = json.loads(notices[0].read_text())
    assert env_doc["report"]["kind"] == "bis_702_7_quarterly_notice"
    # a campaign was detected and its evidence package built, with its STIX bundle
    evidence = list(reports.glob("distillation_evidence-*.json"))
    assert len(evidence) == 1
    stix = json.loads(next(reports.glob("stix-*.json")).read_text())
    assert stix["type"] == "bundle"
    assert any(o["type"] == "campaign" for o in stix["objects"])


def test_demo_on_a_busy_port_says_so(tmp_path: Path) -> None:
    import socket

    DEMO = [sys.executable, "-m", "distillguard", "demo", "--no-serve"]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run(
            [*DEMO, "--port", str(port), "--home", str(tmp_path / "home")],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert r.returncode == 2
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert not (tmp_path / "home").exists()  # refused before anything was created
