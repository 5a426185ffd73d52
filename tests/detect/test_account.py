"""Account state: verdicts on clear cases, reviewer reasons, bounded memory."""

from __future__ import annotations

import math
import random

from distillguard.detect import OnlineDetector
from distillguard.detect.account import PACE_W, RING, TOP_K, TPL_COT_W

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


def test_templated_reasoning_sweep_of_instructions_is_flagged() -> None:
    """Instruction-style payloads score low as problem items; a recurring reasoning wrapper
    around hundreds of fresh single-turn payloads is still a pipeline."""
    rng = random.Random(11)
    tasks = [
        "Write a short poem about {a} autumn leaves.",
        "Give three tips for staying focused while studying for {a} minutes.",
        "Describe a sunset over the sea in {a} words.",
        "Suggest a name for a coffee shop that opens at {a} am.",
    ]
    wrappers = [
        "{p}\nThink it through step by step and explain your reasoning before answering.",
        "Before answering, reason through it step by step and show your work.\n{p}",
    ]
    wrapper = wrappers[1]
    evs = [
        event(
            "i",
            i * 1.0,
            [{"role": "user", "content": wrappers[i % 2].format(p=rng.choice(tasks).format(a=i))}],
            ua="python-requests/2.32.3",
            params={"temperature": 0.7, "max_tokens": 4096},
        )
        for i in range(300)
    ]
    det = _run(evs)
    st = det.states["i"]
    assert st.raw_harvest() < 0.7  # not recognised as problem items alone
    without_term = (
        st.own_logit()
        - TPL_COT_W * st.n_tpl_cot / (st.n + 5.0)
        - PACE_W * st.n_tpl_cot_long / (st.n + 5.0) * st.pace()
    )
    assert 1 / (1 + math.exp(-without_term)) < 0.85  # the sustained-template terms decide
    sig = det.account_state("i")
    assert sig is not None and sig.verdict == "distillation"
    # the same wrapper on a student's few dozen requests with follow-ups stays benign
    stud = student("s", 40, rng)
    for k, ev in enumerate(stud):
        if len(ev.messages) == 1:
            stud[k] = event(
                "s",
                k * 300.0,
                [{"role": "user", "content": wrapper.format(p=ev.messages[0]["content"])}],
            )
    sig_s = _run(stud).account_state("s")
    assert sig_s is not None and sig_s.verdict != "distillation"


def test_fake_histories_count_only_inside_a_campaign() -> None:
    """Problems under unrelated chat histories raise a campaign member's score; alone they
    are what a student in a chat app does, so they change nothing."""
    from distillguard.detect.account import AccountState

    st = AccountState("x", n=60, sum_harvest=20.0, n_harvest=20, n_multi=5, n_follow=8)
    base = st.score()
    st.n_jump = 12
    assert st.score() == base
    st.campaign_boost = 3.0
    boosted = st.score()
    st.n_jump = 0
    assert boosted > st.score()
