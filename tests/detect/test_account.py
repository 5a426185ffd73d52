"""Account state: verdicts on clear cases, reviewer reasons, bounded memory."""

from __future__ import annotations

import random

from distillguard.detect import OnlineDetector
from distillguard.detect.account import RING, TOP_K

from .helpers import chat_user, event, harvester, student
from .helpers import run as _run


def test_harvester_flagged_quickly_with_reasons() -> None:
    rng = random.Random(1)
    det = OnlineDetector()
    flagged_at = None
    for i, ev in enumerate(harvester("h", 200, rng), start=1):
        sig = det.observe(ev)
        if sig.verdict == "distillation" and flagged_at is None:
            flagged_at = i
    assert flagged_at is not None and flagged_at <= 30
    final = det.account_state("h")
    assert final is not None and final.score > 0.9
    text = " ".join(final.reasons)
    assert "of 200 requests are problem-set items" in text
    assert "step-by-step reasoning" in text
    assert "no follow-ups" in text


def test_chat_and_student_stay_benign() -> None:
    rng = random.Random(2)
    det = _run(chat_user("c", 120, rng) + student("s", 120, rng))
    for a in ("c", "s"):
        sig = det.account_state(a)
        assert sig is not None and sig.verdict == "benign", (a, sig)


def test_batch_automation_not_flagged() -> None:
    rng = random.Random(3)
    docs = [
        f"Customer {i} writes: my order {rng.randint(1, 999)} arrived late and the box "
        "was damaged, please advise."
        for i in range(800)
    ]
    evs = [
        event(
            "b",
            i * 0.5,
            [
                {
                    "role": "user",
                    "content": "Summarize the following customer message in one sentence.\n\n" + d,
                }
            ],
            ua="OpenAI/Python 1.54.3",
            params={"temperature": 0, "max_tokens": 128},
        )
        for i, d in enumerate(docs)
    ]
    sig = _run(evs).account_state("b")
    assert sig is not None and sig.verdict == "benign"


def test_memory_is_bounded() -> None:
    det = OnlineDetector()
    rng = random.Random(4)
    for i in range(3000):
        det.observe(
            event(
                "m",
                i,
                [
                    {
                        "role": "user",
                        "content": f"Intro {rng.random()}. Body {i}. Unique end {rng.random()}?",
                    }
                ],
            )
        )
    st = det.states["m"]
    assert len(st.templates) <= TOP_K
    assert len(st.ring) <= RING
    assert len(st.examples) <= 3 and len(st.subnets) <= 8


def test_out_of_order_timestamps_are_counted_not_fatal() -> None:
    det = OnlineDetector()
    det.observe(event("o", 100, [{"role": "user", "content": "hi"}]))
    det.observe(event("o", 50, [{"role": "user", "content": "hi again"}]))
    assert det.states["o"].n_out_of_order == 1
    assert det.states["o"].dt_n == 0
