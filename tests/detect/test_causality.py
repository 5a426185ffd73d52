"""Causality: what the detector says at time t does not depend on events after t."""

from __future__ import annotations

import random

from distillguard.detect import OnlineDetector
from distillguard.detect.offline import scan_events

from .helpers import chat_user, harvester, hydra, student


def _traffic() -> list:  # type: ignore[type-arg]
    rng = random.Random(11)
    evs = hydra("hy", 20, 25, rng) + harvester("h", 150, rng, spacing=600.0)
    evs += chat_user("c", 60, rng) + student("s", 60, rng)
    return sorted(evs, key=lambda e: e.ts)


def test_signals_on_a_prefix_equal_signals_in_the_full_run() -> None:
    evs = _traffic()
    full = OnlineDetector()
    full_sigs = [(s.score, s.verdict, s.campaign) for s in map(full.observe, evs)]
    cut = len(evs) * 2 // 3
    prefix = OnlineDetector()
    prefix_sigs = [(s.score, s.verdict, s.campaign) for s in map(prefix.observe, evs[:cut])]
    assert prefix_sigs == full_sigs[:cut]


def test_first_flagged_at_is_within_the_account_history() -> None:
    evs = _traffic()
    rep = scan_events(evs).report
    last_ts = {}
    for ev in evs:
        last_ts[ev.account] = ev.ts
    flagged = [a for a in rep["accounts"] if a["first_flagged_at"]]
    assert flagged, "the harvester should be flagged"
    for a in rep["accounts"]:
        if a["verdict"] == "distillation":
            assert a["first_flagged_at"] is not None
    h = next(a for a in rep["accounts"] if a["account"] == "h")
    # the flag time of the solo harvester is the time of one of its own requests
    assert h["first_flagged_at"] in {ev.to_dict()["ts"] for ev in evs if ev.account == "h"}
    # and re-running only the events up to that time reproduces the flag
    cutoff = next(
        ev for ev in evs if ev.account == "h" and ev.to_dict()["ts"] == h["first_flagged_at"]
    )
    again = scan_events([e for e in evs if e.ts <= cutoff.ts]).report
    h2 = next(a for a in again["accounts"] if a["account"] == "h")
    assert h2["verdict"] == "distillation" and h2["first_flagged_at"] == h["first_flagged_at"]
