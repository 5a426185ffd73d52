"""The `lists` and `screen` commands as users run them (through the real entry point)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.screening import fixtures as fx


def run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k not in ("DISTILLGUARD_DB", "DISTILLGUARD_DB_URL")}
    e.update({"DISTILLGUARD_HOME": str(home), **env})
    return subprocess.run(
        [sys.executable, "-m", "distillguard", *args],
        capture_output=True,
        text=True,
        env=e,
        timeout=120,
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    sdn, alt, add = fx.write_ofac(d / "ofac")
    r = run(
        [
            "lists",
            "import",
            str(sdn),
            "--source",
            "ofac",
            "--alt",
            str(alt),
            "--add",
            str(add),
            "--date",
            "2026-11-25",
        ],
        d,
    )
    assert r.returncode == 0, r.stderr
    assert "imported ofac snapshot #1: 5 entries" in r.stdout
    assert "skipped 1: alt: unknown ent_num" in r.stdout
    return d


def test_db_env_is_the_one_every_command_reads(tmp_path: Path) -> None:
    """`lists`/`screen` take DISTILLGUARD_DB like the other commands (they once read only
    DISTILLGUARD_DB_URL and silently wrote the default database instead)."""
    sdn, alt, add = fx.write_ofac(tmp_path / "ofac")
    url = f"sqlite:///{tmp_path / 'chosen.db'}"
    args = ["lists", "import", str(sdn), "--source", "ofac", "--alt", str(alt), "--add", str(add)]
    r = run([*args, "--date", "2026-11-25"], tmp_path, DISTILLGUARD_DB=url)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "chosen.db").exists()
    r = run(["lists", "status", "--max-age-days", "3650"], tmp_path, DISTILLGUARD_DB=url)
    assert r.returncode == 0 and "ofac" in r.stdout
    r = run(["lists", "status", "--max-age-days", "3650"], tmp_path)  # the default database
    assert "ofac" not in r.stdout


def test_status_and_name(loaded: Path) -> None:
    r = run(["lists", "status", "--max-age-days", "3650"], loaded)
    assert r.returncode == 0 and "fresh" in r.stdout
    r = run(["lists", "status", "--max-age-days", "0.0001"], loaded)
    assert r.returncode == 1 and "STALE" in r.stdout
    r = run(
        ["screen", "name", "Zorvan Trading Limited", "--schema", "Organization", "--json"],
        loaded,
        DISTILLGUARD_SCREENING_MAX_AGE_DAYS="off",
    )
    assert r.returncode == 1  # a hit
    top = json.loads(r.stdout)[0]
    assert top["entry_id"] == "9001" and top["programs"] == ["IRAN", "SDGT"]
    r = run(
        ["screen", "name", "Plainfield Bakery"], loaded, DISTILLGUARD_SCREENING_MAX_AGE_DAYS="off"
    )
    assert r.returncode == 0 and "no hits" in r.stdout


def test_fail_closed_and_bad_input_messages(loaded: Path, tmp_path: Path) -> None:
    r = run(
        ["screen", "name", "Zorvan Trading"], loaded, DISTILLGUARD_SCREENING_MAX_AGE_DAYS="0.0001"
    )
    assert r.returncode == 2 and "error: stale sanctions lists" in r.stderr
    bad = tmp_path / "bad.xml"
    bad.write_text("<CONSOLIDATED_LIST><oops>")
    r = run(["lists", "import", str(bad), "--source", "un"], loaded)
    assert r.returncode == 2 and "not well-formed XML" in r.stderr and "Traceback" not in r.stderr
    r = run(
        ["screen", "name", "", "--mode", "best"], loaded, DISTILLGUARD_SCREENING_MAX_AGE_DAYS="off"
    )
    assert r.returncode == 2 and "error: empty name" in r.stderr
    r = run(
        ["screen", "name", "x", "--mode", "fuzzy"],
        loaded,
        DISTILLGUARD_SCREENING_MAX_AGE_DAYS="off",
    )
    assert r.returncode == 2 and "--mode" in r.stderr


def test_batch_and_pairs(loaded: Path, tmp_path: Path) -> None:
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "id,name,schema,country\n1,Ivo Maximillian Kestrel,Person,ru\n"
        "2,Plainfield Bakery,Organization,us\n3,,Person,\n"
    )
    out = tmp_path / "hits.jsonl"
    r = run(
        ["screen", "batch", "--input", str(customers), "--output", str(out)],
        loaded,
        DISTILLGUARD_SCREENING_MAX_AGE_DAYS="off",
    )
    assert r.returncode == 0, r.stderr
    assert "3 rows: 1 hit, 0 review, 1 unusable" in r.stdout
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [x["status"] for x in recs] == ["hit", "clear", "error"]
    assert recs[0]["hits"][0]["entry_id"] == "9002"

    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "name1,name2,schema\nIvo Kestrel,KESTREL Ivo,Person\n"
        "Zorvan Trading Co. Ltd,Zorvan Trading LLC,Organization\nAnna Berg,Otto Lind,\n"
    )
    scored = tmp_path / "scored.csv"
    r = run(["screen", "pairs", "--input", str(pairs), "--output", str(scored)], loaded)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(scored.open()))
    assert [x["is_match"] for x in rows] == ["true", "true", "false"]
    assert list(rows[0]) == ["name1", "name2", "schema", "score", "is_match"]
    assert 0.0 <= float(rows[2]["score"]) < 0.5
    pairs.write_text("a,b\nx,y\n")
    r = run(["screen", "pairs", "--input", str(pairs), "--output", str(scored)], loaded)
    assert r.returncode == 2 and "name1,name2" in r.stderr
