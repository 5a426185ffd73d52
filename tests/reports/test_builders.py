"""Report builders on fixture data: schema-valid output, missing fields declared (never
omitted), signatures and ledger records, renderings (HTML, PDF text read back)."""

from __future__ import annotations

import contextlib
import re
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from distillguard.errors import DistillguardError, VerificationError
from distillguard.reports import api
from distillguard.reports.bis import build_bis_notice
from distillguard.reports.render import to_html, to_pdf, write
from distillguard.reports.schemas import validate
from distillguard.reports.signing import verify_envelope
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import parse_time
from distillguard.rules import RuleEngine
from distillguard.store import Database

AT = parse_time("2026-11-20T12:00:00Z")


def pdf_text(data: bytes) -> str:
    """Text shown by the PDF's content streams (literal strings of Tj/TJ operators)."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        body = m.group(1)
        with contextlib.suppress(zlib.error):
            body = zlib.decompress(body)
        for s in re.finditer(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", body):
            raw = re.sub(rb"\\(.)", rb"\1", s.group(1))
            out.append(raw.decode("latin-1"))
    return " ".join(out)


def _fields(doc: dict[str, Any]) -> set[str]:
    return {m["field"] for m in doc["missing"]}


def test_bis_notice_content(frontier_db: Database, engine: RuleEngine) -> None:
    doc = build_bis_notice(frontier_db, engine, AT)
    validate(doc)
    s = doc["sections"]
    assert doc["subject"] == "2027-01-15T00:00:00Z" and s["notice"]["type"] == "full"
    [run] = s["training_runs"]["completed"]  # mini (3e23) is below 1e26
    assert run["model"] == "frontier-x" and run["total_ops"] == pytest.approx(2.1e26)
    assert run["estimated"] is True  # the RL entry is an estimate
    # planned within 6 months: frontier-y (Mar 2027) yes, far-future (Jun 2028) no
    assert [p["model"] for p in s["training_runs"]["planned"]] == ["frontier-y"]
    assert [c["name"] for c in s["computing_clusters"]["qualifying"]] == ["iad-1"]
    assert s["computing_clusters"]["not_qualifying"] == 1
    [h] = s["model_weights"]["holdings"]
    assert h["owner"] == "Acme AI Inc." and h["custody"][0]["key_holder"] == "kms:prod-weights"
    # declared missing, not omitted: security texts and the absent offensive-cyber red team
    assert {
        "/sections/model_weights/physical_security",
        "/sections/model_weights/cybersecurity",
        "/sections/red_team/1",
    } <= _fields(doc)
    assert s["red_team"][0]["area"] == "cbrn"
    assert "offensive_cyber" in s["red_team"][1]["reason"]


def test_bis_no_change_after_filing(
    frontier_db: Database, engine: RuleEngine, ledger: Any, key: Any
) -> None:
    first = api.quarterly_notice(frontier_db, engine, ledger, AT, key)
    st = ReportsStore(frontier_db)
    # not filed yet: the next build is a full notice again
    again = build_bis_notice(frontier_db, engine, AT)
    assert again["sections"]["notice"]["type"] == "full"
    st.mark_filed(first["report_id"], AT)
    nc = api.quarterly_notice(frontier_db, engine, ledger, AT, key)
    assert nc["report"]["sections"]["notice"]["type"] == "no_change"
    assert nc["report"]["sections"]["notice"]["previous_notice"] == first["report_id"]
    # the January notice is filed, so the next one is April's
    assert nc["report"]["subject"] == "2027-04-15T00:00:00Z"
    assert nc["report"]["missing"] == []
    # a new cluster is a material change
    st.add_cluster(
        "dub-3",
        location="Dublin",
        country="IE",
        accelerator="B200",
        accelerator_count=20000,
        interconnect_gbps=3200,
        peak_ops_per_s=4e20,
    )
    changed = build_bis_notice(frontier_db, engine, AT)
    assert changed["sections"]["notice"]["type"] == "full"
    assert changed["sections"]["notice"]["previous_notice"] == first["report_id"]


def test_schema_rejects_omitted_section(frontier_db: Database, engine: RuleEngine) -> None:
    doc = build_bis_notice(frontier_db, engine, AT)
    del doc["sections"]["model_weights"]["cybersecurity"]
    with pytest.raises(DistillguardError, match="does not match its schema"):
        validate(doc)
    doc2 = build_bis_notice(frontier_db, engine, AT)
    doc2["sections"]["reporting_entity"]["name"] = None  # null is not a declaration
    with pytest.raises(DistillguardError, match="reporting_entity/name"):
        validate(doc2)


def test_sb53_and_eu_reports(frontier_db: Database, engine: RuleEngine) -> None:
    from distillguard.reports.model_reports import (
        build_eu_annex_xi,
        build_eu_notice,
        build_sb53_transparency,
    )

    sb = build_sb53_transparency(frontier_db, engine, "frontier-x@1", AT)
    validate(sb)
    cov = sb["sections"]["coverage"]
    assert cov["frontier_model"] is True and cov["large_frontier_developer"] is True
    assert sb["sections"]["third_party_evaluators"] == ["Third Party Evals Ltd"]
    assert sb["sections"]["framework"]["version"] == "2026.1"
    assert _fields(sb) == {"/sections/model/restrictions"}

    ax = build_eu_annex_xi(frontier_db, engine, "frontier-x@1", AT)
    validate(ax)
    assert ax["sections"]["systemic_risk"]["presumed"] is True
    assert ax["sections"]["general"]["parameters"] == 400_000_000_000
    assert ax["sections"]["retention"]["keep_until"] == "2036-11-20T12:00:00Z"
    assert "/sections/training/energy_kwh" in _fields(ax)
    assert "/sections/general/tasks" not in _fields(ax)

    nt = build_eu_notice(frontier_db, engine, "frontier-x@1", AT)
    validate(nt)
    c = nt["sections"]["compute"]
    crossed = datetime.fromisoformat(c["crossed_at"].replace("Z", "+00:00"))
    notify = datetime.fromisoformat(c["notify_by"].replace("Z", "+00:00"))
    assert (notify - crossed).days == 14
    with pytest.raises(DistillguardError, match="below the EU threshold"):
        build_eu_notice(frontier_db, engine, "mini@2", AT)


def test_incident_report_content_per_regime(frontier_db: Database, engine: RuleEngine) -> None:
    from distillguard.reports.incident_report import build_incident_report
    from distillguard.reports.incidents import open_incident

    ref = engine.reference
    iid = open_incident(
        frontier_db,
        ref,
        "weight_exfiltration",
        parse_time("2026-11-18T22:00:00-05:00"),
        imminent=True,
    )
    ReportsStore(frontier_db).update_incident_detail(
        iid, {"statement": "weights copied to an unknown host", "internal_use": False}
    )
    sb = build_incident_report(frontier_db, engine, iid, "sb53", AT)
    validate(sb)
    assert {c["event"] for c in sb["sections"]["regime"]["clocks"]} == {
        "critical_safety_incident",
        "imminent_risk_of_death_or_serious_injury",
    }
    assert sb["sections"]["content"]["statement"] == "weights copied to an unknown host"
    assert sb["sections"]["content"]["internal_use"] == "no"
    assert _fields(sb) == {
        "/sections/incident/reference",
        "/sections/content/date_of_incident",
        "/sections/content/qualifies_because",
    }
    eu = build_incident_report(frontier_db, engine, iid, "eu_cop", AT)
    validate(eu)
    assert "/sections/content/root_cause" in _fields(eu)
    # RAISE is not in force in 2026: no RAISE report can be built for it
    with pytest.raises(DistillguardError, match="started no raise clock"):
        build_incident_report(frontier_db, engine, iid, "raise", AT)


def test_signed_recorded_rendered(
    frontier_db: Database, engine: RuleEngine, ledger: Any, key: Any, tmp_path: Path
) -> None:
    env = api.model_report(frontier_db, engine, ledger, "sb53", "frontier-x", AT, key)
    assert verify_envelope(env, ledger=ledger) == env["integrity"]["sha256"]
    rec = ledger.get_record(env["ledger"]["index"])["record"]
    assert rec["type"] == "report" and rec["sha256"] == env["integrity"]["sha256"]
    # a changed document no longer verifies
    bad = {**env, "report": {**env["report"], "title": "edited"}}
    with pytest.raises(VerificationError, match="does not match its sha256"):
        verify_envelope(bad)
    # a document re-signed with another key does not verify against the trusted key
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    other = api.model_report(frontier_db, engine, ledger, "sb53", "frontier-x", AT, None)
    with pytest.raises(VerificationError, match="signature"):
        verify_envelope(other, public_key_pem=pem)
    html = to_html(env)
    assert "SB 53 transparency report" in html and "MISSING: not recorded" in html
    assert env["integrity"]["sha256"] in html
    text = pdf_text(to_pdf(env, compress=False))
    assert "SB 53 transparency report: frontier-x@1" in text
    assert "1 mandatory field(s) declared missing:" in text
    assert "MISSING: not recorded" in text and "Third Party Evals Ltd" in text
    assert env["integrity"]["sha256"][:40] in text.replace(" ", "")
    paths = write(env, tmp_path / "out")
    assert [p.suffix for p in paths] == [".json", ".html", ".pdf"]
    assert paths[2].read_bytes().startswith(b"%PDF-")


def test_invalid_report_is_not_signed(frontier_db: Database, ledger: Any, key: Any) -> None:
    size = ledger.size
    with pytest.raises(DistillguardError, match="schema"):
        api.publish(frontier_db, ledger, {"kind": "eu_annex_xi", "sections": {}}, key)
    assert ledger.size == size and ReportsStore(frontier_db).reports() == []


def test_sb53_internal_use_summary(frontier_db: Database, engine: RuleEngine) -> None:
    from distillguard.reports.sb53_summary import build_sb53_internal_use_summary

    doc = build_sb53_internal_use_summary(frontier_db, engine, AT)
    validate(doc)
    s = doc["sections"]
    assert s["period"] == {
        "start": "2026-10-15T00:00:00Z",
        "end": "2027-01-15T00:00:00Z",
        "due": "2027-01-15T00:00:00Z",
    }
    [m] = s["models"]  # mini (3e23) is no frontier model
    assert m["model"] == "frontier-x"
    # the Oct 20 CBRN assessment lies in the period Oct 15 - Jan 15
    assert [a["area"] for a in m["assessments"]] == ["cbrn"]
    assert _fields(doc) == {"/sections/models/0/internal_use"}
    later = build_sb53_internal_use_summary(frontier_db, engine, parse_time("2027-02-01T00:00Z"))
    assert "/sections/models/0/assessments" in _fields(later)  # nothing Jan 15 - Apr 15


def test_filing_the_bis_notice_meets_incident_clocks(
    frontier_db: Database, engine: RuleEngine, ledger: Any, key: Any
) -> None:
    from distillguard.reports.clocks import due_items
    from distillguard.reports.incidents import open_incident

    iid = open_incident(
        frontier_db, engine.reference, "weight_exfiltration", parse_time("2026-11-19T00:00:00Z")
    )
    env = api.quarterly_notice(frontier_db, engine, ledger, AT, key)
    assert env["report"]["sections"]["weight_incidents"][0]["id"] == iid

    def bis_rows() -> list[Any]:
        return [d for d in due_items(frontier_db, engine.reference, AT) if d.regime == "bis_702_7"]

    assert {d.source for d in bis_rows()} == {"incident", "periodic"}
    assert api.mark_filed(frontier_db, engine, env["report_id"], AT) == [iid]
    [periodic] = bis_rows()  # the incident's BIS clock is met; the next quarter is owed
    assert periodic.source == "periodic" and periodic.due == parse_time("2027-04-15T00:00Z")
    with pytest.raises(DistillguardError, match="no report"):
        api.mark_filed(frontier_db, engine, "rpt_nope")


def test_pdf_of_nested_report_with_non_latin_text(
    frontier_db: Database, engine: RuleEngine, ledger: Any, key: Any
) -> None:
    ReportsStore(frontier_db).set_profile(legal_name="Acmé Őrs AI 公司")
    env = api.model_report(frontier_db, engine, ledger, "eu-annex-xi", "frontier-x@1", AT, key)
    text = pdf_text(to_pdf(env, compress=False))
    assert "Acmé Ors AI ??" in text  # Latin-1 kept, Ő folded, CJK replaced
    # the JSON keeps the original
    assert env["report"]["sections"]["provider"]["name"] == "Acmé Őrs AI 公司"
    assert "MISSING: not recorded (reports inputs model-fact set frontier-x licence ...)" in text
    assert to_pdf(env).startswith(b"%PDF-")  # compressed by default
