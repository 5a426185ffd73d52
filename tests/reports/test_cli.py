"""The `distillguard reports` commands end to end on an isolated data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.errors import DistillguardError

from .campaign_fixture import events

run = CliRunner()


def ok(*args: str) -> str:
    r = run.invoke(app, ["reports", *args])
    assert r.exit_code == 0, (r.output, r.exception)
    return r.output


def test_incident_and_due(dg_home: Path) -> None:
    out = ok(
        "incident",
        "open",
        "critical_safety_incident",
        "--discovered",
        "2027-01-10T09:00:00",
        "--tz",
        "Europe/Paris",
        "--imminent",
        "--json",
    )
    data = json.loads(out)
    iid = data["incident"]
    dues = {(d["regime"], d["event"]): d["due"] for d in data["deadlines"]}
    assert dues[("raise", "imminent_risk_of_death_or_serious_injury")] == "2027-01-11T08:00:00Z"
    assert dues[("sb53", "critical_safety_incident")] == "2027-01-25T08:00:00Z"
    due = json.loads(ok("due", "--at", "2027-01-11T12:00:00Z", "--json"))
    st = {(d["regime"], d["event"]): d["status"] for d in due["items"] if d["incident"] == iid}
    assert st[("raise", "imminent_risk_of_death_or_serious_injury")] == "overdue"
    assert st[("raise", "safety_incident")] == "due"  # 72 h: until 08:00 UTC Jan 13
    assert st[("sb53", "critical_safety_incident")] == "due"
    ok("incident", "file", iid, "raise.safety_incident", "--at", "2027-01-12T00:00:00Z")
    due = json.loads(ok("due", "--at", "2027-01-13T09:00:00Z", "--json"))
    assert ("raise", "safety_incident") not in {
        (d["regime"], d["event"]) for d in due["items"] if d["incident"] == iid
    }
    r = run.invoke(app, ["reports", "incident", "file", iid, "raise.safety_incident"])
    assert isinstance(r.exception, DistillguardError)  # already filed: nothing owed
    assert "overdue" in ok("due", "--at", "2027-01-12T12:00:00Z")
    r = run.invoke(app, ["reports", "due", "--at", "2027-01-12T12:00:00Z", "--fail-on-overdue"])
    assert r.exit_code == 1  # a failed check, told apart from an internal error (3)
    ok("due", "--at", "2027-01-10T08:00:00Z", "--fail-on-overdue")  # nothing overdue yet
    ok("incident", "close", iid, "--note", "reported and resolved")
    assert json.loads(ok("incident", "list", "--json")) == []
    r = run.invoke(app, ["reports", "incident", "open", "alien", "--discovered", "2027-01-01Z"])
    assert "unknown incident kind" in str(r.exception)
    r = run.invoke(app, ["reports", "incident", "open", "death", "--discovered", "2027-01-01"])
    assert "no timezone" in str(r.exception)


def test_inputs_build_verify(dg_home: Path, tmp_path: Path) -> None:
    ok(
        "inputs",
        "cluster",
        "add",
        "iad-1",
        "--location",
        "Ashburn",
        "--country",
        "US",
        "--accelerator",
        "H100",
        "--count",
        "65536",
        "--interconnect-gbps",
        "3200",
        "--peak-ops",
        "1.3e20",
    )
    assert json.loads(ok("inputs", "cluster", "list", "--json"))[0]["name"] == "iad-1"
    ok(
        "inputs",
        "evaluation",
        "add",
        "frontier-x",
        "--area",
        "offensive_cyber",
        "--method",
        "CTF suite",
        "--result",
        "solved 3/40",
        "--performed",
        "2026-10-01T00:00:00Z",
    )
    r = run.invoke(
        app,
        [
            "reports",
            "inputs",
            "evaluation",
            "add",
            "m",
            "--area",
            "x",
            "--method",
            "a",
            "--result",
            "b",
            "--performed",
            "2026-01-01Z",
        ],
    )
    assert "unknown capability area" in str(r.exception)
    prof = json.loads(
        ok(
            "inputs",
            "profile",
            "set",
            "--name",
            "Acme",
            "--revenue-usd",
            "7e8",
            "--contact",
            "legal:Jo Smith:jo@acme.example",
        )
    )
    assert prof["contacts"][0]["email"] == "jo@acme.example"
    ok("inputs", "framework", "add", "1.0", "--title", "FSF", "--published", "2026-02-01Z")
    assert json.loads(ok("inputs", "framework", "list", "--json"))[0]["review_due"] == (
        "2027-02-01T00:00:00Z"
    )
    ok("inputs", "plan", "add", "frontier-y", "--start", "2027-02-01Z", "--ops", "3e26")
    ok("inputs", "model-fact", "set", "frontier-x", "licence", "proprietary")
    assert "licence" not in json.loads(ok("inputs", "model-fact", "show", "frontier-x"))["absent"]
    out_dir = tmp_path / "out"
    text = ok("build", "bis", "--out", str(out_dir), "--at", "2026-12-01T00:00:00Z")
    assert "BIS 702.7 quarterly notice due 2027-01-15" in text
    [js] = list(out_dir.glob("*.json"))
    assert "signature valid" in ok("verify", str(js))
    env = json.loads(js.read_text())
    assert env["report"]["sections"]["training_runs"]["planned"][0]["model"] == "frontier-y"
    env["report"]["sections"]["computing_clusters"]["not_qualifying"] = 5
    js.write_text(json.dumps(env))
    r = run.invoke(app, ["reports", "verify", str(js)])
    assert "changed after signing" in str(r.exception)
    listed = json.loads(ok("list", "--json"))
    assert len(listed) == 1 and listed[0]["ledger_index"] == 0
    ok("mark-filed", listed[0]["id"], "--at", "2026-12-02T00:00:00Z")
    assert "(no change)" in ok(
        "build", "bis", "--out", str(out_dir), "--at", "2026-12-05T00:00:00Z", "--format", "json"
    )
    sch = json.loads(ok("schema", "incident_report", "--regime", "eu_cop"))
    assert "root_cause" in sch["properties"]["sections"]["properties"]["content"]["required"]


def test_evidence_command(dg_home: Path, tmp_path: Path) -> None:
    from distillguard.detect.offline import scan_events

    evs = events(n_per_account=24)
    log = tmp_path / "events.jsonl"
    log.write_bytes(b"\n".join(e.to_json() for e in evs) + b"\n")
    rep = scan_events(evs).report
    (tmp_path / "report.json").write_text(json.dumps(rep))
    cid = rep["campaigns"][0]["id"]
    ok("incident", "from-campaign", str(tmp_path / "report.json"), cid)
    out = ok(
        "evidence",
        str(tmp_path / "report.json"),
        cid,
        "--events",
        str(log),
        "--out",
        str(tmp_path / "ev"),
    )
    assert "STIX objects" in out
    [stix] = list((tmp_path / "ev").glob("stix-*.json"))
    from distillguard.reports.stix import validate_bundle

    assert validate_bundle(json.loads(stix.read_text())) > 5
    [js] = [p for p in (tmp_path / "ev").glob("distillation_evidence-*.json")]
    text = ok("verify", str(js))
    assert "ledger record" in text and "decision inclusion proofs verify" in text


@pytest.mark.parametrize("bad", ["--events", "nope.jsonl"])
def test_evidence_bad_input(dg_home: Path, tmp_path: Path, bad: str) -> None:
    r = run.invoke(
        app,
        [
            "reports",
            "evidence",
            str(tmp_path / "missing.json"),
            "c",
            "--events",
            str(tmp_path / "x.jsonl"),
        ],
    )
    assert isinstance(r.exception, DistillguardError)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xff\xfe", "not UTF-8 text"), (b"{bad", "is not JSON"), (b"[1]", "expected a JSON object")],
)
def test_verify_unreadable_file(
    dg_home: Path, tmp_path: Path, content: bytes, message: str
) -> None:
    f = tmp_path / "report.json"
    f.write_bytes(content)
    r = run.invoke(app, ["reports", "verify", str(f)])
    assert isinstance(r.exception, DistillguardError) and message in str(r.exception)


def test_cluster_country_is_iso_3166(dg_home: Path) -> None:
    base = ["reports", "inputs", "cluster", "add", "c1", "--location", "DC 1", "--accelerator"]
    base += ["H100", "--count", "8", "--interconnect-gbps", "400", "--peak-ops", "1e15"]
    r = run.invoke(app, [*base, "--country", "UK"])
    assert isinstance(r.exception, DistillguardError) and "did you mean GB" in str(r.exception)
    ok("inputs", "cluster", "add", *base[4:], "--country", "gb")
    assert '"country": "GB"' in ok("inputs", "cluster", "list", "--json")
