"""Units: config loading and env overrides, SSE splitting, the event sink's durability."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.errors import DistillguardError
from distillguard.events import RequestEvent
from distillguard.gateway.config import load_config
from distillguard.gateway.errors import error_code
from distillguard.gateway.sink import EventSink, Outcome, iter_stored_events
from distillguard.gateway.sse import SSESplitter, event_data
from distillguard.store.db import Database

TOML = """
[server]
port = 9000
country_header = "cf-ipcountry"

[quotas]
rpm = 10

[models."frontier-alpha"]
url = "http://10.0.0.5:8000/v1/"
upstream_model = "deepseek-r1"
api_key_env = "UPSTREAM_KEY"
"""


def test_config_toml_and_env(tmp_path: Path) -> None:
    p = tmp_path / "gw.toml"
    p.write_text(TOML)
    env = {
        "DISTILLGUARD_SERVER_PORT": "9100",
        "DISTILLGUARD_STORE_REDIS_URL": "redis://r:6379/0",
        "DISTILLGUARD_RULES_GUARD": "off",
        "UPSTREAM_KEY": "sk-up",
    }
    cfg = load_config(p, env=env)
    assert cfg.server.port == 9100 and cfg.server.country_header == "cf-ipcountry"
    assert cfg.store.redis_url == "redis://r:6379/0" and cfg.rules.guard is False
    assert cfg.quotas.rpm == 10 and cfg.quotas.tpm == 400_000
    r = cfg.models["frontier-alpha"]
    assert r.url == "http://10.0.0.5:8000/v1" and r.upstream_model == "deepseek-r1"
    assert r.api_key == "sk-up" and "sk-up" not in repr(r)


@pytest.mark.parametrize(
    ("text", "env", "msg"),
    [
        ("[server]\nprot = 1\n", {}, "unknown key 'prot'"),
        ("[server]\nport = 'x'\n", {}, "not a valid int"),
        ("[nope]\n", {}, "unknown section"),
        ('[models."m"]\nurl = "ftp://x"\n', {}, "must start with http"),
        ("[server\n", {}, "not valid TOML"),
        ("", {"DISTILLGUARD_SERVER_ACCESS_LOG": "maybe"}, "not a valid bool"),
    ],
)
def test_config_errors(tmp_path: Path, text: str, env: dict[str, str], msg: str) -> None:
    p = tmp_path / "gw.toml"
    p.write_text(text)
    with pytest.raises(DistillguardError, match=msg):
        load_config(p, env=env)


def test_error_codes_are_stable() -> None:
    assert error_code("block", "tier3_entity") == "export_control_denied"
    assert error_code("block", "kyc_insufficient") == "kyc_required"
    assert error_code("hold_for_review", "nationality_unknown") == "kyc_required"
    assert error_code("hold_for_review", "denied_party_review") == "held_for_review"
    assert error_code("block", "account_suspended") == "account_suspended"
    assert error_code("block", "something_new") == "request_blocked"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30))
def test_sse_splitter_any_chunking(cuts: list[int]) -> None:
    events = [b'data: {"i": %d, "t": "a\\nb"}' % i for i in range(12)] + [b": keep-alive"]
    raw = b"".join(e + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    sp = SSESplitter()
    got: list[bytes] = []
    pos = 0
    for c in cuts:
        got += sp.feed(raw[pos : pos + c])
        pos += c
    got += sp.feed(raw[pos:])
    assert got == [*events, b"data: [DONE]"] and sp.rest() == b""
    assert event_data(got[0]) == b'{"i": 0, "t": "a\\nb"}' and event_data(got[-2]) is None


def _outcome(i: int) -> Outcome:
    ev = RequestEvent(ts=datetime.now(UTC), account=f"a{i % 3}", request_id=f"r{i}")
    return Outcome(ev, {"action": "allow", "status": 200, "decided": True}, None, True)


class FlakyDb(Database):
    """Fails the first two batch writes, as a locked or restarting database would."""

    fails = 2

    def executemany(self, sql, rows):  # type: ignore[no-untyped-def]
        if self.fails:
            self.fails -= 1
            raise RuntimeError("database is locked")
        return super().executemany(sql, rows)


def test_sink_retries_and_drains_on_close(tmp_path: Path) -> None:
    db = FlakyDb(f"sqlite:///{tmp_path / 'e.db'}")
    seen: list[str] = []
    errors: list[int] = []
    sink = EventSink(
        db,
        tmp_path / "e.jsonl",
        detect=lambda e: seen.append(e.request_id or ""),
        batch_size=8,
        flush_interval_s=0.01,
        on_error=lambda: errors.append(1),
    )
    sink.start()
    for i in range(100):
        sink.submit(_outcome(i))
    sink.close()
    rows = list(iter_stored_events(db))
    assert [r["request_id"] for r in rows] == [f"r{i}" for i in range(100)]
    assert len(errors) == 2 and len(seen) == 100  # retried, nothing lost, order kept
    lines = (tmp_path / "e.jsonl").read_bytes().splitlines()
    assert len(lines) >= 100  # a failed DB write may have written its JSONL lines already
    assert {RequestEvent.from_dict(__import__("orjson").loads(x)).request_id for x in lines} == {
        f"r{i}" for i in range(100)
    }
