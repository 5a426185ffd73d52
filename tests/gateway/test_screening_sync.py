"""Scheduled screening sync inside `serve`: changed list files reach identity on their own,
one replica at a time, with metrics; stale lists still fail closed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from distillguard.errors import DistillguardError
from distillguard.gateway.config import GatewayConfig, load_config
from distillguard.gateway.screening_sync import ScreeningSync, Source, parse_sources
from distillguard.gateway.wiring import ScreeningLink
from distillguard.identity import IdentityService
from distillguard.screening import ScreeningService
from distillguard.store.db import Database
from distillguard.store.locks import singleton
from tests.gateway.test_integration import ADMIN, LIST_HEADER, chat

MARLOWE = "x1,Marlowe Shipping Holdings,entity,TEST,unrelated\n"
VOLKOV = "x2,Volkov Photonics Trading,entity,TEST,procurement for a listed end user\n"


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_serve_syncs_changed_list_files_on_its_own(make_gateway: Any, tmp_path: Path) -> None:
    lst = tmp_path / "internal.csv"
    lst.write_text(LIST_HEADER + MARLOWE)

    def conf(cfg: GatewayConfig) -> None:
        cfg.admin.token = ADMIN
        cfg.rules.guard = False  # not what this test is about
        cfg.screening.sync_interval_s = 1.0
        cfg.screening.sources = f"internal={lst}"

    gw = make_gateway(conf)
    org = gw.ids.create_org("Volkov Photonics Trading LLC", "AE")
    acct = gw.ids.create_account(
        "ops", type="organization", org_id=org.id, kyc_level="verified", nationality="US"
    )
    _, key = gw.ids.issue_key(acct.id)

    def wait_for(status: str) -> None:
        deadline = time.monotonic() + 20
        while gw.ids.get_org(org.id).screening_status != status:
            assert time.monotonic() < deadline, gw.ids.get_org(org.id).screening_status
            time.sleep(0.1)

    wait_for("clear")  # first screen by the scheduled sync, nobody ran a command
    assert chat(gw, key).status_code == 200
    lst.write_text(LIST_HEADER + MARLOWE + VOLKOV)  # the list file is replaced
    wait_for("hit")
    r = chat(gw, key)
    assert r.status_code == 403 and r.json()["error"]["code"] == "export_control_denied"
    h = {"authorization": f"Bearer {ADMIN}"}
    st = httpx.get(gw.url + "/admin/screening/sync", headers=h).json()
    assert st["interval_s"] == 1.0 and st["lock"] == "file"
    assert st["sources"] == [{"source": "internal", "path": str(lst)}]
    assert st["last_success_at"] and st["last_error"] is None
    assert st["last_run"]["result"] in ("ok", "recent")
    m = httpx.get(gw.url + "/metrics").text
    assert _metric(m, 'distillguard_screening_sync_runs_total{result="ok"}') >= 2
    assert _metric(m, "distillguard_screening_sync_last_success_timestamp_seconds") > 1e9
    # a manual run through the admin API: unchanged file, nothing imported
    r = httpx.post(gw.url + "/admin/screening/sync", headers=h)
    assert r.status_code == 200 and r.json()["last_run"]["imported"] == []


@pytest.fixture(params=["sqlite", "postgres"])
def shared_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgres":
        url = request.getfixturevalue("pg_schema")
    else:
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    db = Database(url)
    yield db
    db.close()


def _sync(db: Database, sources: list[Source], **kw: Any) -> ScreeningSync:
    link = ScreeningLink(IdentityService(db), ScreeningService(db, **kw))
    return ScreeningSync(link, db, interval_s=3600, sources=sources, registry=CollectorRegistry())


def test_one_replica_syncs_per_interval_and_never_two_at_once(
    shared_db: Database, tmp_path: Path
) -> None:
    lst = tmp_path / "internal.csv"
    lst.write_text(LIST_HEADER + MARLOWE)
    src = [Source("internal", lst)]
    a, b = _sync(shared_db, src), _sync(shared_db, src)
    assert a.run_once()["result"] == "ok"
    assert b.run_once()["result"] == "recent"  # another replica synced within the interval
    with singleton(shared_db, "screening-sync") as held:  # a replica mid-sync
        assert held
        assert b.run_once(force=True)["result"] == "locked"
    assert _metric_value(b, "locked") == 1
    run = b.run_once(force=True)  # the lock is free again; the file did not change
    assert run["result"] == "ok" and run["imported"] == []
    assert b.status()["last_success_at"] is not None
    assert b.status()["lock"] == (
        "postgres_advisory" if shared_db.dialect == "postgres" else "file"
    )


def _metric_value(s: ScreeningSync, result: str) -> float:
    return float(s.m_runs.labels(result)._value.get())


def test_a_broken_source_is_a_failure_and_stale_lists_still_fail_closed(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'shared.db'}")
    lst = tmp_path / "internal.csv"
    lst.write_text(LIST_HEADER + MARLOWE)
    ids = IdentityService(db)
    org = ids.create_org("Volkov Photonics Trading LLC", "AE")
    ok = _sync(db, [Source("internal", lst)])
    assert ok.run_once()["result"] == "ok"
    assert ids.get_org(org.id).screening_status == "clear"
    # the lists age past their maximum and the next source file is missing
    stale = _sync(db, [Source("internal", tmp_path / "gone.csv")], max_age_days=1e-9)
    run = stale.run_once(force=True)
    assert run["result"] == "failed" and "gone.csv" in run["error"]
    assert _metric_value(stale, "failed") == 1
    # the reconcile still ran: the customer is now "stale", which the rules hold
    assert ids.get_org(org.id).screening_status == "stale"
    st = stale.status()
    assert st["last_failure_at"] and "gone.csv" in st["last_error"]
    # an unchanged file is never re-imported (that would make an old list look fresh)
    stale.sources = [Source("internal", lst)]
    run = stale.run_once(force=True)
    assert run["imported"] == [] and ids.get_org(org.id).screening_status == "stale"
    db.close()


def test_config(tmp_path: Path) -> None:
    assert parse_sources(" ofac=/l/sdn.csv, un=/l/un.xml ,") == [
        Source("ofac", Path("/l/sdn.csv")),
        Source("un", Path("/l/un.xml")),
    ]
    for bad in ("ofac", "nope=/x", "ofac=", "ofac=/a,ofac=/b"):
        with pytest.raises(DistillguardError, match="sources"):
            parse_sources(bad)
    p = tmp_path / "gw.toml"
    p.write_text('[screening]\nsync_interval_s = 86400\nsources = "un=/l/un.xml"\n'
                 '[rules]\ndetector_mode = "shared"\n')  # fmt: skip
    cfg = load_config(p, env={"DISTILLGUARD_SCREENING_SYNC_INTERVAL_S": "3600"})
    assert cfg.screening.sync_interval_s == 3600 and cfg.screening.sources == "un=/l/un.xml"
    assert cfg.rules.detector_mode == "shared" and not cfg.local_detector()
    with pytest.raises(DistillguardError, match="detector_mode"):
        load_config(p, env={"DISTILLGUARD_RULES_DETECTOR_MODE": "everywhere"})
    with pytest.raises(DistillguardError, match="events_table"):
        load_config(p, env={"DISTILLGUARD_STORE_EVENTS_TABLE": "false"})


def test_sync_screening_cli_waits_its_turn(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distillguard.cli import app

    db = Database(f"sqlite:///{tmp_path / 'distillguard.db'}")
    try:
        with singleton(db, "screening-sync") as held:  # a gateway's scheduled sync
            assert held
            res = CliRunner().invoke(app, ["sync-screening", "--home", str(tmp_path)])
            assert res.exit_code != 0 and "a screening sync is running now" in str(res.exception)
        res = CliRunner().invoke(app, ["sync-screening", "--home", str(tmp_path)])
        assert res.exit_code == 0, res.output
    finally:
        db.close()
