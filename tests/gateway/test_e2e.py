"""End to end through real HTTP: decisions, transforms, streaming, /v1/models, events."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from distillguard.events import ReadStats, content_fingerprint, read_events
from distillguard.gateway.sink import iter_stored_events
from distillguard.store.db import open_database

from .conftest import Gw

CHAT = "/v1/chat/completions"


def chat(gw: Gw, key: str, model: str, **kw: object) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "Hello there"}], **kw}
    return httpx.post(gw.url + CHAT, json=body, headers={"authorization": f"Bearer {key}"})


def sse_chunks(text: str) -> list[dict]:  # type: ignore[type-arg]
    out = []
    for block in text.split("\n\n"):
        if block.startswith("data: ") and block != "data: [DONE]":
            out.append(json.loads(block[6:]))
    return out


def test_allowed_chat_has_answer_and_headers(gw: Gw) -> None:
    _, key = gw.customer()
    r = chat(gw, key, "general-chat")
    assert r.status_code == 200
    assert r.headers["x-distillguard-decision"] == "allow"
    assert float(r.headers["x-distillguard-overhead-ms"]) >= 0
    assert r.headers["x-request-id"].startswith("req_")
    body = r.json()
    assert body["model"] == "general-chat"  # the upstream name is not leaked
    assert "[stand-in upstream]" in body["choices"][0]["message"]["content"]
    assert body["usage"]["completion_tokens"] > 0


def test_streaming_relays_sse_and_hides_injected_usage(gw: Gw) -> None:
    _, key = gw.customer()
    r = chat(gw, key, "general-chat", stream=True)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.rstrip().endswith("data: [DONE]")
    chunks = sse_chunks(r.text)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text.startswith("[stand-in upstream]")
    # the gateway asked for usage (quota reconciliation) but the client did not
    assert all(c.get("choices") and "usage" not in c for c in chunks)
    r2 = chat(gw, key, "general-chat", stream=True, stream_options={"include_usage": True})
    assert any(c.get("usage") for c in sse_chunks(r2.text))


def test_completions_and_embeddings(gw: Gw) -> None:
    _, key = gw.customer()
    h = {"authorization": f"Bearer {key}"}
    r = httpx.post(
        gw.url + "/v1/completions", json={"model": "general-chat", "prompt": "Once"}, headers=h
    )
    assert r.status_code == 200 and r.json()["choices"][0]["text"]
    r = httpx.post(
        gw.url + "/v1/embeddings", json={"model": "embed", "input": ["a", "b"]}, headers=h
    )
    assert r.status_code == 200 and len(r.json()["data"]) == 2
    r = httpx.post(
        gw.url + CHAT,
        json={"model": "embed", "messages": [{"role": "user", "content": "x"}]},
        headers=h,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


def test_models_lists_only_what_the_caller_may_use(gw: Gw) -> None:
    _, us_key = gw.customer()
    _, br_key = gw.customer(org=False, nationality="BR", kyc="none")

    def names(key: str) -> set[str]:
        r = httpx.get(gw.url + "/v1/models", headers={"authorization": f"Bearer {key}"})
        assert r.status_code == 200
        return {m["id"] for m in r.json()["data"]}

    us, br = names(us_key), names(br_key)
    assert {"frontier-alpha", "frontier-gamma", "general-chat"} <= us
    assert "frontier-alpha" not in br and "frontier-gamma" not in br and "general-chat" in br


def test_export_control_block_d5_headquarters(gw: Gw) -> None:
    _, key = gw.customer(hq="CN", nationality="CN")
    r = chat(gw, key, "frontier-alpha")
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "export_control_denied"
    assert "tier3.entity_frontier" in err["rule_ids"]
    assert r.headers["x-distillguard-decision"] == "block"
    assert "tier3.entity_frontier" in r.headers["x-distillguard-rules"]


def test_kyc_required_for_foreign_account_without_kyc(gw: Gw) -> None:
    _, key = gw.customer(org=False, nationality="BR", kyc="none")
    r = chat(gw, key, "frontier-gamma")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "kyc_required"
    assert "kyc.frontier" in r.json()["error"]["rule_ids"]


def test_denied_party_and_suspension(gw: Gw) -> None:
    _, key = gw.customer(screening="hit")
    r = chat(gw, key, "general-chat")
    assert r.status_code == 403 and "screening.hit" in r.json()["error"]["rule_ids"]
    assert r.json()["error"]["code"] == "export_control_denied"
    acct, key2 = gw.customer()
    assert chat(gw, key2, "general-chat").status_code == 200
    gw.ids.suspend_account(acct, "test")
    r = chat(gw, key2, "general-chat")
    assert r.status_code == 403 and r.json()["error"]["code"] == "account_suspended"


def test_degrade_strips_reasoning_and_logprobs(gw: Gw) -> None:
    acct, key = gw.customer()
    r = chat(gw, key, "frontier-gamma", logprobs=True, top_logprobs=2)
    assert r.status_code == 200 and "<think>" in r.text  # before: the reasoning flows
    gw.ids.set_risk(acct, 0.6, "suspicious", None)
    for model, marker in (("frontier-gamma", "<think>"), ("general-chat", "reasoning_content")):
        r = chat(gw, key, model, logprobs=True, top_logprobs=2)
        assert r.status_code == 200
        # new accounts are throttled on frontier models, which outranks degrade
        assert r.headers["x-distillguard-decision"] in ("degrade", "throttle")
        assert "strip_reasoning" in r.headers["x-distillguard-transforms"]
        assert "detect.suspicious" in r.headers["x-distillguard-rules"]
        assert marker not in r.text and "Let me work through" not in r.text
        assert r.json()["choices"][0].get("logprobs") is None
        s = chat(gw, key, model, stream=True)
        assert s.status_code == 200 and s.text.rstrip().endswith("data: [DONE]")
        assert marker not in s.text and "Let me work through" not in s.text
        answer = "".join(
            c["choices"][0]["delta"].get("content") or ""
            for c in sse_chunks(s.text)
            if c["choices"]
        )
        assert "[stand-in upstream]" in answer


def test_every_request_yields_one_event_with_decision_and_context(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = make_gateway()
    _, key = gw.customer()
    _, cn_key = gw.customer(hq="CN", nationality="CN")
    sent = [
        chat(gw, key, "general-chat"),
        chat(gw, key, "general-chat", stream=True),
        chat(gw, cn_key, "frontier-alpha"),
        chat(gw, "dg_live_wrong", "general-chat"),
        httpx.post(gw.url + CHAT, content=b"{oops", headers={"authorization": f"Bearer {key}"}),
    ]
    assert [r.status_code for r in sent] == [200, 200, 403, 401, 400]
    ids = {r.headers["x-request-id"] for r in sent}
    gw.stop()  # graceful: drains the queue
    stats = ReadStats()
    events = list(read_events(Path(gw.cfg.store.events_jsonl), stats))
    assert stats.skipped == 0 and {e.request_id for e in events} == ids
    db = open_database(gw.cfg.database_url())
    stored = list(iter_stored_events(db))
    db.close()
    assert {e["request_id"] for e in stored} == ids
    by_id = {e["request_id"]: e for e in stored}
    blocked = by_id[sent[2].headers["x-request-id"]]
    assert blocked["decision"]["action"] == "block"
    assert "tier3.entity_frontier" in blocked["decision"]["rule_ids"]
    assert blocked["context"]["org"]["hq_country"] == "CN"
    assert blocked["context"]["model"]["classification"] == "frontier_restricted"
    ok = by_id[sent[0].headers["x-request-id"]]
    assert ok["messages"][0]["content"] == "Hello there"
    assert ok["response"]["status"] == 200 and ok["response"]["tokens_out"] > 0
    # the answer's fingerprint, for the detector's history check, streamed or not
    answer = sent[0].json()["choices"][0]["message"]["content"]
    assert ok["response"]["content_hash"] == content_fingerprint(answer)
    streamed = "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in sse_chunks(sent[1].text)
        if c["choices"]
    )
    assert streamed
    streamed_fp = by_id[sent[1].headers["x-request-id"]]["response"]["content_hash"]
    assert streamed_fp == content_fingerprint(streamed)
    assert by_id[sent[3].headers["x-request-id"]]["account"] == "unauthenticated"


def test_recorded_contexts_replay_to_the_same_decisions(gw: Gw) -> None:
    _, us = gw.customer()
    _, cn = gw.customer(hq="CN", nationality="CN")
    _, br = gw.customer(org=False, nationality="BR", kyc="none")
    _, hit = gw.customer(screening="hit")
    for key in (us, cn, br, hit):
        for model in ("frontier-alpha", "frontier-gamma", "general-chat"):
            chat(gw, key, model, top_logprobs=8, logprobs=True, n=6)
    assert gw.app.sink.flush()
    engine = gw.parts.rules
    events = [e for e in iter_stored_events(gw.app.sink.db) if e["decision"]["decided"]]
    assert len(events) == 12 and len({e["decision"]["action"] for e in events}) >= 3
    for e in events:
        d = engine.decide("access", e["context"])
        assert d.action == e["decision"]["action"]
        assert d.rule_ids == e["decision"]["rule_ids"]


def test_graceful_shutdown_finishes_in_flight_requests(make_gateway) -> None:  # type: ignore[no-untyped-def]
    import threading

    gw = make_gateway()
    _, key = gw.customer()
    out: list[httpx.Response] = []
    t = threading.Thread(target=lambda: out.append(chat(gw, key, "sleepy")))
    t.start()
    deadline = time.monotonic() + 5
    while gw.app.in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gw.app.in_flight == 1
    gw.stop()  # SIGTERM-equivalent: stop accepting, wait for the 0.8 s upstream call
    t.join(10)
    assert out and out[0].status_code == 200
    assert "[stand-in upstream]" in out[0].json()["choices"][0]["message"]["content"]
    db = open_database(gw.cfg.database_url())
    assert [e["model"] for e in iter_stored_events(db)] == ["sleepy"]
    db.close()


def test_admin_api_is_mounted_and_revocation_takes_effect(make_gateway) -> None:  # type: ignore[no-untyped-def]
    def conf(cfg) -> None:  # type: ignore[no-untyped-def]
        cfg.admin.token = "adm-test-token-0123456789"

    gw = make_gateway(conf)
    acct, key = gw.customer()
    assert chat(gw, key, "general-chat").status_code == 200
    assert httpx.get(gw.url + "/admin/orgs").status_code == 401  # the admin token is separate
    assert (
        httpx.get(gw.url + "/admin/orgs", headers={"authorization": f"Bearer {key}"}).status_code
        == 401
    )
    adm = {"authorization": "Bearer adm-test-token-0123456789"}
    assert httpx.get(gw.url + "/admin/openapi.json", headers=adm).status_code == 200
    key_id = gw.ids.list_keys(acct)[0].id
    got = httpx.get(gw.url + f"/admin/keys/{key_id}", headers=adm)
    assert got.status_code == 200 and got.json()["account_id"] == acct
    r = httpx.post(gw.url + f"/admin/keys/{key_id}/revoke", headers=adm, json={"reason": "test"})
    assert r.status_code == 200, r.text
    assert chat(gw, key, "general-chat").status_code == 401


def test_events_export_cli_feeds_the_offline_detector(gw: Gw, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from distillguard.cli import app

    _, key = gw.customer()
    for _ in range(3):
        assert chat(gw, key, "general-chat").status_code == 200
    assert gw.app.sink.flush()
    out = tmp_path / "export.jsonl"
    res = CliRunner().invoke(app, ["events", "export", str(out), "--home", gw.cfg.store.home])
    assert res.exit_code == 0, res.output
    stats = ReadStats()
    events = list(read_events(out, stats))
    assert len(events) == 3 and stats.skipped == 0
    assert all(e.model == "general-chat" and e.response for e in events)


def test_stream_chunks_carry_the_public_model_name(gw: Gw) -> None:
    _, key = gw.customer()
    r = chat(gw, key, "general-chat", stream=True)  # upstream model is "stub"
    chunks = sse_chunks(r.text)
    assert chunks and all(c["model"] == "general-chat" for c in chunks)
    assert '"stub"' not in r.text


def test_request_country_only_from_the_configured_trusted_header(make_gateway) -> None:  # type: ignore[no-untyped-def]
    untrusted = make_gateway()
    _, key = untrusted.customer()
    body = {"model": "general-chat", "messages": [{"role": "user", "content": "hi"}]}
    h = {"authorization": f"Bearer {key}", "cf-ipcountry": "IR"}
    assert httpx.post(untrusted.url + CHAT, json=body, headers=h).status_code == 200

    def conf(cfg) -> None:  # type: ignore[no-untyped-def]
        cfg.server.country_header = "cf-ipcountry"

    trusted = make_gateway(conf)
    _, key = trusted.customer()
    h["authorization"] = f"Bearer {key}"
    r = httpx.post(trusted.url + CHAT, json=body, headers=h)
    assert r.status_code == 403 and r.json()["error"]["code"] == "export_control_denied"
    assert "sanctions.request_country" in r.json()["error"]["rule_ids"]
    h["cf-ipcountry"] = "FR"
    assert httpx.post(trusted.url + CHAT, json=body, headers=h).status_code == 200
