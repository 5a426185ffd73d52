"""ScreeningService end to end on SQLite and PostgreSQL: snapshots, hits, verdicts, re-screening."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from distillguard.screening import ScreeningService, StaleListsError
from distillguard.store import Database
from tests.screening import fixtures as fx


def _service(url: str, tmp_path: Path, *, max_age: float | None = None) -> ScreeningService:
    svc = ScreeningService(Database(url), max_age_days=max_age)
    sdn, alt, add = fx.write_ofac(tmp_path / "ofac")
    svc.import_list(sdn, "ofac", alt=alt, add=add, list_date="2026-11-20")
    svc.import_list(fx.write_un(tmp_path), "un")
    svc.import_list(fx.write_csl_json(tmp_path), "csl")
    return svc


@pytest.fixture()
def svc(tmp_path: Path) -> ScreeningService:
    return _service(f"sqlite:///{tmp_path / 'dg.db'}", tmp_path)


def test_alias_hit_carries_a_full_explanation(svc: ScreeningService) -> None:
    hits = svc.screen_name("Ivan Maksimilianovich Kestrel", "Person")
    top = hits[0]
    assert (top.source, top.entry_id, top.caption) == ("ofac", "9002", "KESTREL, Ivo Maximilian")
    assert top.matched_alias == "KESTREL, Ivan Maksimilianovich" and top.alias_kind == "aka"
    assert top.score >= svc.config.threshold and top.features["name"] == top.score
    assert top.programs == ["RUSSIA-EO14024"] and top.list_name == "SDN"
    assert top.snapshot_id is not None and top.snapshot_hash and top.entry_hash
    assert "ivan" in top.detail
    csl = svc.screen_name("Quillon Microelectronics", "Organization")[0]
    assert csl.federal_register_notice == "89 FR 12345" and csl.start_date == "2024-02-01"
    assert csl.source_list_url == "https://www.bis.gov/entity-list"
    # a non-Latin alias and an original-script UN name are both indexed
    assert svc.screen_name("Квиллон Микро", "Organization")[0].entry_id == "csl-el-1"
    assert svc.screen_name("طارق عثمان بلوشي", "Person")[0].entry_id == "5001"


def test_schema_and_qualifiers(svc: ScreeningService) -> None:
    # the vessel MARLOWE STAR is not a person
    assert not [h for h in svc.screen_name("Marlowe Star", "Person") if h.entry_id == "9004"]
    assert svc.screen_name("Marlowe Star", "Vessel")[0].entry_id == "9004"
    plain = svc.screen_name("Ivo Kestrel", "Person")[0]
    wrong = svc.screen_name("Ivo Kestrel", "Person", country="br", dob="1999")
    right = svc.screen_name("Ivo Kestrel", "Person", country="ru", dob="1961-03-12")[0]
    assert right.score == plain.score and "dob_year_match" in right.features
    assert not wrong or wrong[0].score < plain.score - 0.2
    # a weak (low-quality) UN alias counts less than a good one
    weak = svc.screen_name("Abu Tariq", "Person")[0]
    assert weak.alias_kind == "weak" and weak.score < 1.0


def test_ofac_mode_explains_its_two_techniques(svc: ScreeningService) -> None:
    top = svc.screen_name("Ivo Maximilian Kestrel", "Person", mode="ofac")[0]
    assert top.mode == "ofac" and top.entry_id == "9002"
    assert set(top.features) == {"ofac_whole_jw", "ofac_name_parts"}


def test_stale_and_missing_lists_fail_closed(tmp_path: Path) -> None:
    empty = ScreeningService(Database(f"sqlite:///{tmp_path / 'e.db'}"), max_age_days=14)
    with pytest.raises(StaleListsError, match="no sanctions lists loaded"):
        empty.screen_name("Ivo Kestrel")
    assert empty.status_of("acct-1") == "unknown"
    old = ScreeningService(Database(f"sqlite:///{tmp_path / 'o.db'}"), max_age_days=14)
    old.import_list(fx.write_un(tmp_path), "un", list_date="2020-01-01")
    with pytest.raises(StaleListsError, match=r"stale sanctions lists: un \(\d+ days old\)"):
        old.screen_name("Ivo Kestrel")
    v = old.screen_subject("acct-1", ["Tareq Osman Baluchi"], "Person")
    assert v.status == "stale" and old.status_of("acct-1") == "stale"
    assert [s.stale for s in old.status()] == [True]
    # a verdict made with fresh lists turns "stale" once the lists age (fail closed)
    aging = ScreeningService(Database(f"sqlite:///{tmp_path / 'a.db'}"), max_age_days=None)
    aging.import_list(fx.write_un(tmp_path), "un", list_date="2020-01-01")
    assert aging.screen_subject("acct-2", ["Plainfield Bakery"]).status == "clear"
    aging.max_age_days = 14
    aging.invalidate()  # skip the 5-second freshness cache
    assert aging.status_of("acct-2") == "stale"
    # onboarded while stale -> screened in full once a fresh list arrives
    assert old.status_of("acct-1") == "stale"
    today = datetime.now(UTC).date().isoformat()
    fresh = tmp_path / "fresh.xml"
    fresh.write_text(fx.UN_XML.replace("2026-11-20", today), encoding="utf-8")
    rep = old.import_list(fresh, "un")
    assert [(c.subject_id, c.old, c.new) for c in rep.changes] == [("acct-1", "stale", "hit")]
    assert old.status_of("acct-1") == "hit"


def test_subject_verdicts_clearance_and_rescreening(svc: ScreeningService, tmp_path: Path) -> None:
    v = svc.screen_subject("acct-1", ["Tariq Usman Baluchi"], "Person", subject_type="account")
    assert v.status == "hit" and v.hits[0].entry_id == "5001"
    assert svc.status_of("acct-1") == "hit"
    clean = svc.screen_subject(
        "org-9", ["Plainfield Bakery"], "Organization", subject_type="organization"
    )
    assert clean.status == "clear"
    with pytest.raises(Exception, match="reviewer"):
        svc.clear_hit("acct-1", "un", "5001", by=" ", reason="x")
    change = svc.clear_hit(
        "acct-1", "un", "5001", by="alice@compliance", reason="DOB 1990, not 1975"
    )
    assert change is not None and (change.old, change.new) == ("hit", "clear")
    assert svc.status_of("acct-1") == "clear"
    assert svc.verdict("acct-1").cleared[0].entry_id == "5001"  # type: ignore[union-attr]

    # re-import of an unchanged list: nothing to re-screen, the clearance holds
    rep = svc.import_list(fx.write_un(tmp_path), "un")
    assert (rep.added, rep.changed, rep.removed, rep.changes) == (0, 0, 0, [])
    assert svc.status_of("acct-1") == "clear"

    # the entry changes (new alias): the clearance no longer applies
    changed_xml = fx.UN_XML.replace(
        "<ALIAS_NAME>Abu Tariq</ALIAS_NAME>", "<ALIAS_NAME>Abu Tariq al-Balushi</ALIAS_NAME>"
    )
    (tmp_path / "un.xml").write_text(changed_xml, encoding="utf-8")
    rep = svc.import_list(tmp_path / "un.xml", "un")
    assert rep.changed == 1
    assert [(c.subject_id, c.old, c.new) for c in rep.changes] == [("acct-1", "clear", "hit")]
    assert svc.status_of("org-9") == "clear"

    # a new internal entry that only org-9 can match
    rep = svc.import_list(
        fx.write_internal(tmp_path, "id,name,schema\nb1,Plainfield Bakery,Organization\n"),
        "internal",
    )
    assert [(c.subject_id, c.new) for c in rep.changes] == [("org-9", "hit")]
    assert rep.changes[0].ref.endswith("internal/b1")
    # the entry is removed again: back to clear
    rep = svc.import_list(
        fx.write_internal(tmp_path, "id,name\nb2,Unrelated Name Holdings\n"), "internal"
    )
    assert rep.removed == 1
    assert [(c.subject_id, c.old, c.new) for c in rep.changes] == [("org-9", "hit", "clear")]


def test_cached_status_survives_a_new_service(svc: ScreeningService) -> None:
    svc.screen_subject("bo-1", ["Oskar Vantablack"], "Person", subject_type="beneficial_owner")
    again = ScreeningService(svc.store.db, max_age_days=None)
    assert again.status_of("bo-1") == "hit"
    with pytest.raises(Exception, match="unknown subject type"):
        svc.screen_subject("x", ["A B"], subject_type="customer")


@pytest.mark.postgres
def test_postgres_backend(pg_schema: str, tmp_path: Path) -> None:
    svc = _service(pg_schema, tmp_path)
    assert {s.source for s in svc.status()} == {"ofac", "un", "csl"}
    v = svc.screen_subject(
        "wr-1", ["Quillon Micro Electronics GmbH"], "Organization", subject_type="weight_recipient"
    )
    assert v.status == "hit" and v.hits[0].source == "csl"
    other = Database(pg_schema)
    assert ScreeningService(other, max_age_days=None).status_of("wr-1") == "hit"
    other.close()
    svc.store.db.close()
