"""Campaign linking on small generated traffic: hydra caught together, honest users apart."""

from __future__ import annotations

import random

from distillguard.detect import OnlineDetector

from .helpers import COT, hydra, student
from .helpers import run as _run

OTHER = "Please work through this with a full derivation.\n{p}\nEnd with 'The answer is'."


def test_hydra_accounts_grouped_and_flagged_together() -> None:
    rng = random.Random(5)
    evs = hydra("hy", 40, 30, rng)
    det = _run(evs)
    sigs = [det.account_state(f"hy-{k}") for k in range(40)]
    camps = {s.campaign for s in sigs if s is not None}
    assert len(camps) == 1 and None not in camps
    flagged = sum(1 for s in sigs if s is not None and s.verdict == "distillation")
    assert flagged >= 36
    # the same accounts alone (no campaign evidence) look much lighter
    solo = _run([e for e in evs if e.account == "hy-0"]).account_state("hy-0")
    together = det.account_state("hy-0")
    assert solo is not None and together is not None and together.score > solo.score


def test_two_campaigns_stay_apart_and_ids_are_stable() -> None:
    rng = random.Random(6)
    a = hydra("a", 25, 30, rng, COT)
    b = hydra("b", 25, 30, rng, OTHER)
    det = OnlineDetector()
    events = sorted(a + b, key=lambda e: e.ts)
    half = len(events) // 2
    for ev in events[:half]:
        det.observe(ev)
    mid = {s.campaign for k in range(25) if (s := det.account_state(f"a-{k}")) and s.campaign}
    for ev in events[half:]:
        det.observe(ev)
    ca = {det.account_state(f"a-{k}").campaign for k in range(25)}  # type: ignore[union-attr]
    cb = {det.account_state(f"b-{k}").campaign for k in range(25)}  # type: ignore[union-attr]
    assert len(ca) == 1 and len(cb) == 1 and ca != cb
    assert mid <= ca  # an id seen mid-stream is still the id at the end


def test_students_sharing_phrases_are_not_linked() -> None:
    rng = random.Random(7)
    evs = []
    for k in range(30):
        for ev in student(f"s-{k}", 20, rng, t0=k * 1000.0):
            first = ev.messages[0]
            first["content"] = "can you help me with this problem? " + first["content"]
            evs.append(ev)
    det = _run(evs)
    for k in range(30):
        sig = det.account_state(f"s-{k}")
        assert sig is not None and sig.campaign is None and sig.verdict == "benign"
