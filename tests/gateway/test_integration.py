"""Integration with the other parts, through real HTTP: identity off the event loop and
fail-closed 503s, cross-replica invalidation by pub/sub, rule-pack hot reload and shadow
mode, screening -> identity wiring, and the reporting-deadline gauge."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from distillguard.gateway.config import GatewayConfig

from .conftest import Gw, free_port

CHAT = "/v1/chat/completions"


def chat(gw: Gw, key: str, model: str = "general-chat") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "Hello there"}]}
    return httpx.post(gw.url + CHAT, json=body, headers={"authorization": f"Bearer {key}"})


def test_identity_store_down_beyond_staleness_is_503_not_500(gw: Gw) -> None:
    _, key = gw.customer()
    assert chat(gw, key).status_code == 200
    ids = gw.ids

    def broken_sync() -> int:
        raise RuntimeError("database is gone")

    ids.sync = broken_sync  # the change-feed poll fails from now on
    ids.max_stale_s = 1.0
    ids._last_sync -= 10.0  # last good poll long ago: cached credentials are too old
    r = chat(gw, key)
    assert r.status_code == 503, r.text
    err = r.json()["error"]
    assert err["code"] == "identity_unavailable" and err["type"] == "server_error"
    assert "Traceback" not in r.text and r.headers["retry-after"] == "1"
    assert r.headers["x-distillguard-decision"] == "none"


def test_quota_store_down_is_503_quota_unavailable(make_gateway) -> None:  # type: ignore[no-untyped-def]
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    def conf(cfg: GatewayConfig) -> None:
        cfg.store.redis_url = dead

    gw = make_gateway(conf)
    _, key = gw.customer()
    r = chat(gw, key)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "quota_unavailable"
    assert r.headers["x-distillguard-decision"] == "allow"  # decided, then refused: fail closed


@pytest.mark.redis
def test_revocation_reaches_another_replica_by_pubsub(
    make_gateway, redis_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    def conf(cfg: GatewayConfig) -> None:
        cfg.store.redis_url = redis_url
        cfg.store.database_url = f"sqlite:///{tmp_path / 'shared.db'}"

    a = make_gateway(conf)
    b = make_gateway(conf)
    acct, key = a.customer()
    assert chat(b, key).status_code == 200  # cached on replica b
    # without the notice, b would only see the change at its next poll, a minute away
    b.ids.sync_interval_s = 60.0
    b.ids.max_stale_s = 120.0
    assert b.ids._notifier is not None and b.ids._notifier.wait_ready(5)
    b.ids._last_sync = time.monotonic()
    assert chat(b, key).status_code == 200
    key_id = a.ids.list_keys(acct)[0].id
    a.ids.revoke_key(key_id)
    deadline = time.monotonic() + 3.0
    while (r := chat(b, key)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


ADMIN = "admin-token-0123456789abcdef"
EXTRA_RULE = """rules:
  - id: ops.temperature_probe
    domain: access
    title: Probe requests at temperature 0.123 are refused
    citation: operator change under test
    status: in_force
    verification: V
    condition: params.temperature == 0.123
    action: block
    reason_code: probe_refused
"""


def write_pack(path: Path, *, extra_rule: bool = False) -> None:
    """The default pack (and its test cases) at `path`, optionally with one more rule."""
    from distillguard.rules import default_pack_path

    src = Path(default_pack_path())
    text = src.read_text()
    if extra_rule:
        assert text.count("\nrules:\n") == 1
        text = text.replace("\nrules:\n", "\n" + EXTRA_RULE, 1)
    path.write_text(text)
    tests = src.with_name(src.stem + ".tests.yaml")
    path.with_name(path.stem + ".tests.yaml").write_text(tests.read_text())


def probe(url: str, key: str) -> httpx.Response:
    body = {"model": "general-chat", "messages": [{"role": "user", "content": "hi"}]}
    h = {"authorization": f"Bearer {key}"}
    return httpx.post(url + CHAT, json={**body, "temperature": 0.123}, headers=h)


def metric(gw: Gw, series: str) -> float | None:
    """The value of one series (name with its labels) on /metrics, None when absent."""
    for line in httpx.get(gw.url + "/metrics").text.splitlines():
        if line.rsplit(" ", 1)[0] == series:
            return float(line.rsplit(" ", 1)[1])
    return None


def test_shadow_pack_counts_differences_and_reload_keeps_live_pack_on_error(
    make_gateway, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    live, cand = tmp_path / "pack.yaml", tmp_path / "candidate.yaml"
    write_pack(live)
    write_pack(cand, extra_rule=True)

    def conf(cfg: GatewayConfig) -> None:
        cfg.rules.pack = str(live)
        cfg.rules.shadow_pack = str(cand)
        cfg.admin.token = ADMIN

    gw = make_gateway(conf)
    adm = {"authorization": f"Bearer {ADMIN}"}
    _, key = gw.customer()
    r = probe(gw.url, key)
    assert r.status_code == 200 and r.headers["x-distillguard-decision"] == "allow"
    diff = 'distillguard_rules_shadow_differences_total{live="allow",shadow="block"}'
    assert metric(gw, diff) == 1.0
    st = httpx.get(gw.url + "/admin/rules", headers=adm).json()
    assert st["shadow_stats"]["differences"] == 1
    assert st["shadow_stats"]["rules"] == {"+ops.temperature_probe": 1}
    hash0 = st["live"]["hash"]
    assert httpx.post(gw.url + "/admin/rules/reload").status_code == 401

    # a broken pack never replaces the live one; the reload answers with the error
    live.write_text(live.read_text().replace("rules:\n", "rules:\n  - id: [broken\n", 1))
    r = httpx.post(gw.url + "/admin/rules/reload", headers=adm)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "pack_rejected" and "kept" in err["message"]
    assert str(live) in err["message"]
    assert probe(gw.url, key).status_code == 200  # still decided by the old pack
    st = httpx.get(gw.url + "/admin/rules", headers=adm).json()
    assert st["live"]["hash"] == hash0 and st["last_error"]
    assert metric(gw, 'distillguard_rules_reloads_total{result="rejected"}') == 1.0

    # a good pack goes live at once, without a restart
    write_pack(live, extra_rule=True)
    r = httpx.post(gw.url + "/admin/rules/reload", headers=adm)
    assert r.status_code == 200 and r.json()["live"]["hash"] != hash0
    r = probe(gw.url, key)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["rule_ids"] == ["ops.temperature_probe"]
    assert chat(gw, key).status_code == 200  # other requests unaffected


def test_pack_file_poll_hot_reloads(make_gateway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    live = tmp_path / "pack.yaml"
    write_pack(live)

    def conf(cfg: GatewayConfig) -> None:
        cfg.rules.pack = str(live)
        cfg.rules.reload_poll_s = 0.1

    gw = make_gateway(conf)
    _, key = gw.customer()
    assert probe(gw.url, key).status_code == 200
    live.write_text("pack: {name: half-written")  # a broken intermediate state is ignored
    time.sleep(0.4)
    assert probe(gw.url, key).status_code == 200
    write_pack(live, extra_rule=True)
    deadline = time.monotonic() + 5.0
    while (r := probe(gw.url, key)).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert r.status_code == 403 and r.json()["error"]["rule_ids"] == ["ops.temperature_probe"]


LIST_HEADER = "id,name,type,programs,remarks\n"


def admin_post(gw: Gw, path: str, body: dict, method: str = "POST") -> httpx.Response:  # type: ignore[type-arg]
    h = {"authorization": f"Bearer {ADMIN}"}
    return httpx.request(method, gw.url + path, json=body, headers=h)


def test_list_import_reaches_identity_and_onboarding_is_screened(
    make_gateway, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    def conf(cfg: GatewayConfig) -> None:
        cfg.admin.token = ADMIN

    gw = make_gateway(conf)
    assert gw.parts.active["screening"]
    # an existing customer, onboarded before any list was loaded
    org = gw.ids.create_org("Volkov Photonics Trading LLC", "AE")
    acct = gw.ids.create_account(
        "ops", type="organization", org_id=org.id, kyc_level="verified", nationality="US"
    )
    _, key = gw.ids.issue_key(acct.id)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    first = tmp_path / "internal-1.csv"
    first.write_text(LIST_HEADER + "x1,Marlowe Shipping Holdings,entity,TEST,unrelated\n")
    r = admin_post(
        gw,
        "/admin/screening/import",
        {"path": str(first), "source": "internal", "list_date": today},
    )
    assert r.status_code == 200, r.text
    assert r.json()["screened"][org.id] == "clear"  # first screen of the existing customer
    assert gw.ids.get_org(org.id).screening_status == "clear"
    assert chat(gw, key).status_code == 200

    # onboarding through the admin API screens the new customer before answering
    r = admin_post(gw, "/admin/orgs", {"name": "Marlowe Shipping Holdings Ltd", "hq_country": "GB"})
    assert r.status_code == 201, r.text
    new_org = r.json()["id"]
    assert gw.ids.get_org(new_org).screening_status in ("hit", "review")

    # a new list naming the existing customer: its very next request is refused
    second = tmp_path / "internal-2.csv"
    second.write_text(
        LIST_HEADER
        + "x1,Marlowe Shipping Holdings,entity,TEST,unrelated\n"
        + "x2,Volkov Photonics Trading,entity,TEST,procurement for a listed end user\n"
    )
    r = admin_post(
        gw,
        "/admin/screening/import",
        {"path": str(second), "source": "internal", "list_date": today},
    )
    assert r.status_code == 200, r.text
    assert {"subject_id": org.id, "old": "clear", "new": "hit"} in r.json()["changes"]
    r = chat(gw, key)
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert err["code"] == "export_control_denied" and err["reason_code"] == "denied_party_hit"
    assert "screening.hit" in err["rule_ids"]
    # bad imports are 400s with the reason, never 500s
    r = admin_post(
        gw, "/admin/screening/import", {"path": str(tmp_path / "nope.csv"), "source": "internal"}
    )
    assert r.status_code == 400 and "no such file" in r.json()["error"]["message"]


def test_metrics_expose_the_nearest_reporting_deadline(gw: Gw) -> None:
    from datetime import UTC, datetime, timedelta

    from distillguard.reports.incidents import open_incident

    series = "distillguard_report_nearest_deadline_seconds"
    assert metric(gw, series) == float("inf")  # nothing outstanding yet
    discovered = datetime.now(UTC) - timedelta(hours=1)
    open_incident(gw.parts.db, gw.parts.engine.reference, "distillation_campaign", discovered)
    assert metric(gw, series) == float("inf")  # cached for a few seconds: no query per scrape
    gw.app.deadline._next = 0.0  # as if the cache had expired
    got = metric(gw, series)
    from distillguard.reports.clocks import nearest_deadline_seconds

    want = nearest_deadline_seconds(gw.parts.db, gw.parts.engine, datetime.now(UTC))
    assert want is not None and got is not None
    assert abs(got - want) < 5.0 and 0 < got < 400 * 86400


def test_sighup_reloads_the_pack_of_a_serving_process(stub_url: str, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from distillguard.identity import IdentityService
    from distillguard.store.db import open_database

    pack = tmp_path / "pack.yaml"
    write_pack(pack)
    db = open_database(f"sqlite:///{tmp_path / 'distillguard.db'}")
    ids = IdentityService(db)
    acct = ids.create_account("solo", nationality="US", kyc_level="verified")
    ids.set_screening_status(acct.id, "clear", "test")
    _, key = ids.issue_key(acct.id)
    ids.close()
    db.close()
    port = free_port()
    conf = tmp_path / "gateway.toml"
    conf.write_text(
        f'[server]\nport = {port}\n[store]\nhome = "{tmp_path}"\nledger = false\n'
        f'[rules]\npack = "{pack}"\nguard = false\ndetector = false\n'
        f'[models."general-chat"]\nurl = "{stub_url}/v1"\nupstream_model = "stub"\n'
    )
    exe = Path(sys.executable).with_name("distillguard")
    proc = subprocess.Popen([str(exe), "serve", "--config", str(conf)])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "gateway did not start"
            time.sleep(0.1)
        assert probe(url, key).status_code == 200
        write_pack(pack, extra_rule=True)
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while (r := probe(url, key)).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert r.status_code == 403 and r.json()["error"]["rule_ids"] == ["ops.temperature_probe"]
        assert proc.poll() is None  # reloaded, not killed
    finally:
        proc.terminate()
        proc.wait(30)


def test_sync_screening_cli_applies_lists_imported_elsewhere(gw: Gw, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distillguard.cli import app
    from distillguard.screening import ScreeningService

    org = gw.ids.create_org("Kestrel Avionics Group", "SG")
    acct = gw.ids.create_account(
        "ops", type="organization", org_id=org.id, kyc_level="verified", nationality="US"
    )
    _, key = gw.ids.issue_key(acct.id)
    gw.ids.set_screening_status(org.id, "clear", "manual")
    assert chat(gw, key).status_code == 200
    # as `distillguard lists import` in another process: identity is not told
    listed = tmp_path / "internal.csv"
    listed.write_text(LIST_HEADER + "k1,Kestrel Avionics Group,entity,TEST,listed\n")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    ScreeningService(gw.parts.db).import_list(listed, "internal", list_date=today)
    assert chat(gw, key).status_code == 200
    out = CliRunner().invoke(app, ["sync-screening", "--home", gw.cfg.store.home])
    assert out.exit_code == 0, out.output
    assert f"{org.id}: first screen -> hit" in out.output
    r = chat(gw, key)  # the CLI's change reaches the serving gateway through the change feed
    deadline = time.monotonic() + 3.0
    while r.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
        r = chat(gw, key)
    assert r.status_code == 403 and r.json()["error"]["reason_code"] == "denied_party_hit"
    again = CliRunner().invoke(app, ["sync-screening", "--home", gw.cfg.store.home])
    assert again.exit_code == 0 and "0 status change(s), 0 first screen(s)" in again.output
    # delisted elsewhere: the stored verdict changes, and the sync carries it over
    listed.write_text(LIST_HEADER + "k9,Unrelated Holdings,entity,TEST,listed\n")
    ScreeningService(gw.parts.db).import_list(listed, "internal", list_date=today)
    out = CliRunner().invoke(app, ["sync-screening", "--home", gw.cfg.store.home])
    assert f"{org.id}: hit -> clear" in out.output, out.output
