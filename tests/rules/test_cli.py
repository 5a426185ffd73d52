"""`distillguard rules ...` commands, and replay of recorded events."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from distillguard.cli import app
from distillguard.rules import PackError, RuleEngine, default_pack_path
from distillguard.rules.replay import replay
from distillguard.rules.samples import access_context

runner = CliRunner()


def test_validate_and_test_default() -> None:
    r = runner.invoke(app, ["rules", "validate", "default"])
    assert r.exit_code == 0, r.output
    assert "ok: default" in r.output and "unverified facts [U]:" in r.output
    r = runner.invoke(app, ["rules", "test", "default", "--require-coverage"])
    assert r.exit_code == 0, r.output
    assert " 0 failed" in r.output and "0 without a case" in r.output


def test_validate_bad_pack_raises_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        default_pack_path()
        .read_text()
        .replace(
            'condition: account.status == "suspended"', 'condition: account.status == "frozen"'
        )
    )
    r = runner.invoke(app, ["rules", "validate", str(bad)])
    assert isinstance(r.exception, PackError)
    assert "rule account.suspended" in str(r.exception) and "'frozen'" in str(r.exception)


@pytest.mark.parametrize(
    ("content", "message"), [(b"\xff", "not UTF-8 text"), (b"{", "line 1: invalid JSON")]
)
def test_explain_unreadable_context(tmp_path: Path, content: bytes, message: str) -> None:
    from distillguard.errors import DistillguardError

    ctx = tmp_path / "ctx.json"
    ctx.write_bytes(content)
    r = runner.invoke(app, ["rules", "explain", "--context", str(ctx)])
    assert isinstance(r.exception, DistillguardError) and message in str(r.exception)


def test_test_command_reports_failures(tmp_path: Path) -> None:
    pack = tmp_path / "p.yaml"
    shutil.copy(default_pack_path(), pack)
    tests = default_pack_path().with_name("default.tests.yaml").read_text()
    (tmp_path / "p.tests.yaml").write_text(
        tests.replace(
            "expect: block\n    expect_rules: [screening.hit]",
            "expect: allow\n    expect_rules: [screening.hit]",
        )
    )
    r = runner.invoke(app, ["rules", "test", str(pack)])
    assert r.exit_code == 1
    assert "FAIL" in r.output and "denied-party hit is blocked" in r.output


def test_diff(tmp_path: Path) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(
        default_pack_path()
        .read_text()
        .replace("condition: frontier and params.n > 4", "condition: frontier and params.n > 2")
        .replace("members: [CU, IR, KP, SY]", "members: [CU, IR, KP, SY, BY]")
    )
    r = runner.invoke(app, ["rules", "diff", "default", str(new), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert "params.sample_fanout" in d["rules"]["changed"]
    assert "country_groups.sanctioned.BY" in d["reference"]["added"]
    r = runner.invoke(app, ["rules", "diff", "default", "default"])
    assert "no changes" in r.output


def test_explain(tmp_path: Path) -> None:
    ctx = tmp_path / "ctx.json"
    ctx.write_text(
        json.dumps(
            {
                "account": {"nationality": "DE", "kyc_level": "verified"},
                "model": {"name": "frontier-alpha"},
                "screening": {"status": "clear"},
            }
        )
    )
    r = runner.invoke(app, ["rules", "explain", "--context", str(ctx), "--at", "2026-11-20"])
    assert r.exit_code == 0, r.output
    assert "MATCH bis.is_informed.foreign_person_allowlist" in r.output
    assert "SKIP  iaas_cip.foreign_customer" in r.output and "decision: block" in r.output
    r = runner.invoke(
        app, ["rules", "explain", "--context", str(ctx), "--at", "2026-05-01", "--json"]
    )
    assert json.loads(r.output)["decision"]["action"] == "allow"
    ctx.write_text(json.dumps({"acount": {}}))
    r = runner.invoke(app, ["rules", "explain", "--context", str(ctx)])
    assert "unknown context section 'acount'" in str(r.exception)


def _log(path: Path, n: int) -> None:
    rng = random.Random(3)
    with path.open("wb") as fh:
        for i in range(n):
            ctx = access_context(rng)
            ev = {
                "ts": ctx["request"]["time"],
                "account": ctx["account"]["id"],
                "org": ctx["org"]["id"],
                "country": ctx["request"]["country"],
                "model": ctx["model"]["name"],
                "params": ctx["params"],
                "messages": [{"role": "user", "content": "hi"}],
            }
            if i % 10:
                ev["context"] = ctx
            fh.write(orjson.dumps(ev) + b"\n")
        fh.write(b"{not json\n")


def test_replay_counts_changes(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    _log(log, 400)
    new = tmp_path / "new.yaml"
    new.write_text(
        default_pack_path().read_text().replace("status: proposed", "status: in_force")
    )  # switch the proposed CIP rule on
    base = RuleEngine.from_path(default_pack_path())
    rep = replay(log, RuleEngine.from_path(new), base)
    assert rep.events == 400 and rep.skipped_lines == 1 and rep.without_context == 40
    assert rep.changed > 0
    assert set(rep.rules) == {"+iaas_cip.foreign_customer"}
    assert sum(rep.accounts.values()) == rep.changed
    # the same pack changes nothing
    same = replay(log, base, base)
    assert same.changed == 0
    r = runner.invoke(app, ["rules", "replay", "--events", str(log), "--pack", str(new), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["changed"] == rep.changed and d["input"]["skipped_lines"] == 1
    assert d["rules"][0]["rule"] == "iaas_cip.foreign_customer"


def test_replay_strict(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    _log(log, 3)
    base = RuleEngine.from_path(default_pack_path())
    with pytest.raises(Exception, match="line 4"):
        replay(log, base, base, strict=True)


def test_replay_attributes_changed_rules_and_facts(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    _log(log, 1500)
    new = tmp_path / "new.yaml"
    new.write_text(
        default_pack_path()
        .read_text()
        .replace('transforms: ["cap_n:4"]', 'transforms: ["cap_n:2"]')
        .replace("members: [CU, IR, KP, SY]", "members: [CU, IR, KP, SY, BY]")
    )
    base = RuleEngine.from_path(default_pack_path())
    rep = replay(log, RuleEngine.from_path(new), base)
    marks = set(rep.rules)
    assert "~params.sample_fanout" in marks  # same rule matches, its transform changed
    assert "+sanctions.request_country" in marks or "+sanctions.person" in marks
    # rules that merely read tiers are not blamed for a change to an unrelated group
    assert not any(m.startswith("~tier3.") for m in marks)
    for ex in rep.examples:
        if ex.old == ex.new:
            assert ex.old_transforms != ex.new_transforms


def test_context_from_event_merges_recorded_snapshot() -> None:
    from distillguard.events import RequestEvent
    from distillguard.rules.replay import context_from_event

    ev = RequestEvent.from_dict(
        {
            "ts": "2026-11-20T10:00:00Z",
            "account": "a1",
            "org": "o1",
            "country": "DE",
            "model": "frontier-alpha",
            "params": {"n": 3, "logprobs": True},
        }
    )
    ctx, rec = context_from_event(ev, None)
    assert not rec and ctx["request"]["country"] == "DE" and ctx["params"]["n"] == 3
    snap = {
        "account": {"id": "a1", "kyc_level": "verified", "nationality": "DE"},
        "screening": {"status": "clear"},
        "request": {"country": None},
    }
    ctx, rec = context_from_event(ev, snap)
    assert rec
    assert ctx["account"]["kyc_level"] == "verified" and ctx["screening"]["status"] == "clear"
    assert ctx["request"]["country"] == "DE"  # a recorded None does not erase event data
    assert ctx["request"]["time"] == "2026-11-20T10:00:00.000Z"
    assert ctx["model"]["name"] == "frontier-alpha"
