"""Hot reload and shadow mode."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.rules import PackManager
from tests.rules.conftest import MINI_PACK

TESTS = """\
tests:
  cases:
    - {name: hit blocks, domain: access, context: {screening: {status: hit}}, expect: block}
"""
PACK_A = MINI_PACK + TESTS
# B: same context decides hold_for_review instead of block (and the test says so)
PACK_B = MINI_PACK.replace("action: block", "action: hold_for_review") + TESTS.replace(
    "expect: block", "expect: hold_for_review"
)
CTX = {"screening": {"status": "hit"}}


def _write(p: Path, text: str) -> Path:
    p.write_text(text)
    return p


def test_reload_swaps_and_broken_pack_never_replaces(tmp_path: Path) -> None:
    pa = _write(tmp_path / "a.yaml", PACK_A)
    mgr = PackManager.from_path(pa)
    assert mgr.decide("access", CTX).action == "block"
    _write(pa, PACK_B)
    mgr.reload()
    assert mgr.decide("access", CTX).action == "hold_for_review"
    good_hash = mgr.engine.pack_hash
    # broken: condition does not type-check
    _write(pa, PACK_A.replace('screening.status == "hit"', 'screening.status == "hot"'))
    with pytest.raises(DistillguardError, match=r"a.yaml:\d+: rule r.hit: condition: 'hot'"):
        mgr.reload()
    assert mgr.engine.pack_hash == good_hash
    assert "live pack" in (mgr.last_error or "") and "kept" in (mgr.last_error or "")
    # broken: valid pack whose own tests fail
    _write(pa, PACK_A.replace("expect: block", "expect: allow"))
    with pytest.raises(DistillguardError, match="test case 'hit blocks' failed"):
        mgr.reload()
    assert mgr.engine.pack_hash == good_hash
    # pack without tests is refused when tests are required
    _write(pa, MINI_PACK)
    with pytest.raises(DistillguardError, match="no test cases"):
        mgr.reload()
    assert mgr.decide("access", CTX).action == "hold_for_review"


def test_reload_if_changed(tmp_path: Path) -> None:
    pa = _write(tmp_path / "a.yaml", PACK_A)
    mgr = PackManager.from_path(pa)
    assert mgr.reload_if_changed() is False
    _write(pa, PACK_B)
    assert mgr.reload_if_changed() is True
    assert mgr.reloads == 1


def test_concurrent_decisions_during_reloads_see_whole_packs(tmp_path: Path) -> None:
    pa = _write(tmp_path / "a.yaml", PACK_A)
    pb = _write(tmp_path / "b.yaml", PACK_B)
    bad = _write(tmp_path / "bad.yaml", PACK_A.replace("action: block", "action: nuke"))
    mgr = PackManager.from_path(pa)
    expected = {mgr.engine.pack_hash: "block"}
    expected[PackManager.from_path(pb).engine.pack_hash] = "hold_for_review"
    stop = threading.Event()
    seen: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        local: list[tuple[str, str]] = []
        try:
            while not stop.is_set():
                d = mgr.decide("access", CTX)
                local.append((d.pack_hash, d.action))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        seen.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(30):
        target = (pa, pb, bad)[i % 3]
        try:
            mgr.reload(target)
        except DistillguardError:
            assert target == bad
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert len(seen) > 100
    # every decision is consistent with exactly one whole pack
    assert all(expected[h] == a for h, a in seen)
    assert {h for h, _ in seen} == set(expected)  # both packs served at some point


def test_shadow_counts_and_logs_but_never_enforces(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pa = _write(tmp_path / "a.yaml", PACK_A)
    pb = _write(tmp_path / "b.yaml", PACK_B)
    seen: list[str] = []
    mgr = PackManager.from_path(pa)
    mgr.on_difference = lambda live, cand, ctx: seen.append(cand.action)
    mgr.set_shadow(pb)
    with caplog.at_level(logging.INFO, logger="distillguard.rules.shadow"):
        d1 = mgr.decide("access", {**CTX, "account": {"id": "acct_9"}})
        d2 = mgr.decide("access", {"screening": {"status": "clear"}})
    assert d1.action == "block"  # live pack enforced
    assert d2.action == "allow"
    st = mgr.shadow_stats
    assert (st.decisions, st.differences) == (2, 1)
    assert st.transitions[("block", "hold_for_review")] == 1
    assert st.accounts["acct_9"] == 1
    assert seen == ["hold_for_review"]
    assert "shadow_difference" in caplog.text
    mgr.set_shadow(None)
    mgr.decide("access", CTX)
    assert mgr.shadow_stats.decisions == 0


def test_watch_reloads_on_file_change(tmp_path: Path) -> None:
    import time

    pa = _write(tmp_path / "a.yaml", PACK_A)
    mgr = PackManager.from_path(pa)
    mgr.watch(interval_s=0.05)
    try:
        _write(pa, PACK_B)
        deadline = time.monotonic() + 5
        while mgr.reloads == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert mgr.decide("access", CTX).action == "hold_for_review"
    finally:
        mgr.stop()
