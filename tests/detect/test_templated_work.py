"""Templated "follow-ups" and campaign fit through shared harvest wrappers.

A campaign that posts its wrapped items under chat histories (so they read as follow-ups)
must not get conversation credit for them, while students who open every message with the
same habitual phrase keep theirs.
"""

from __future__ import annotations

import random

from distillguard.detect.account import AccountState
from distillguard.detect.features import extract

from .helpers import CHAT, FOLLOW, event, problem
from .helpers import run as _run

OPEN = "Got another one for you."
ASK = "Could you go through it carefully?"
TASKS = [
    "Give three tips for staying productive at home",
    "Describe a sunset to someone who has never seen one",
    "Suggest a name for a small coffee shop",
    "Explain the difference between weather and climate",
]


def _campaign(prefix: str, accounts: int, per_account: int, rng: random.Random) -> list:
    """Each account: wrapped items, half of them under its own real chat history, padded
    with ordinary prompts, and a few generic follow-ups."""
    out = []
    for k in range(accounts):
        a = f"{prefix}-{k}"
        hist: list[dict[str, str]] = []
        t = k * 50.0
        for i in range(per_account):
            r = rng.random()
            if r < 0.3:
                msgs = [{"role": "user", "content": rng.choice(CHAT)}]
            else:
                payload = problem(rng) if rng.random() < 0.7 else rng.choice(TASKS)
                text = f"{OPEN} {payload}. {ASK}"
                msgs = [
                    *(hist[-2:] if rng.random() < 0.5 else []),
                    {"role": "user", "content": text},
                ]
            out.append(event(a, t, msgs))
            hist = [
                *msgs,
                {"role": "assistant", "content": f"Here is a long answer number {i} " * 3},
            ]
            t += rng.uniform(60, 900)
    return out


def test_wrapped_items_under_a_history_are_not_follow_ups() -> None:
    rng = random.Random(3)
    det = _run(_campaign("c", 12, 40, rng))
    states = [det.states[f"c-{k}"] for k in range(12)]
    # the features call some of these items follow-ups; the shared wrapper takes that back
    assert sum(s.n_follow_raw for s in states) > sum(s.n_follow for s in states)
    assert sum(s.n_tpl_reply for s in states) > 0
    assert all(s.n_follow <= s.n_follow_raw for s in states)
    # and the members' fit counts the requests in the shared wrapper, whatever they score
    assert sum(s.n_work for s in states) > sum(s.n_tpl_harvest for s in states)
    assert sum(s.n_work >= 0.25 * s.n for s in states) >= 9


def test_habitual_opening_on_follow_ups_keeps_conversation_credit() -> None:
    rng = random.Random(4)
    evs = []
    for k in range(20):
        a = f"s-{k}"
        t = k * 1000.0
        for _ in range(8):
            msgs = [{"role": "user", "content": "Hello again tutor! " + problem(rng)}]
            evs.append(event(a, t, msgs))
            t += rng.uniform(60, 300)
            for _ in range(2):
                msgs = [
                    *msgs,
                    {"role": "assistant", "content": "Step 1: ... Step 2: ... so the answer."},
                    {"role": "user", "content": "Hello again tutor! " + rng.choice(FOLLOW)},
                ]
                evs.append(event(a, t, msgs))
                t += rng.uniform(30, 200)
    det = _run(evs)
    for k in range(20):
        st = det.states[f"s-{k}"]
        assert st.n_follow == st.n_follow_raw > 0  # students converse: nothing taken back
        sig = det.account_state(f"s-{k}")
        assert sig is not None and sig.campaign is None and sig.verdict != "distillation"


def test_staged_problems_do_not_make_an_account_conversing() -> None:
    st = AccountState("x")
    rng = random.Random(5)
    hist = [
        {"role": "user", "content": "tell me about the weather on mars"},
        {"role": "assistant", "content": "Mars has a thin atmosphere and dust storms. " * 2},
    ]
    for i in range(20):
        if i % 2:  # a fresh problem pasted under an unrelated history
            f = extract(event("x", i, [*hist, {"role": "user", "content": problem(rng)}]))
        else:
            f = extract(event("x", i, [*hist, {"role": "user", "content": "ok why is that?"}]))
        st.update(f, float(i))
    assert st.n_follow_raw >= 10 and st.n_topic_jump >= 6
    assert not st.converses(0.3)
    plain = AccountState("y")
    for i in range(20):
        plain.update(extract(event("y", i, [*hist, {"role": "user", "content": "ok why?"}])), i)
    assert plain.converses(0.3)


def test_shared_wrapper_share_makes_a_light_account_eligible() -> None:
    from distillguard.detect.campaigns import CampaignLinker

    linker = CampaignLinker()
    st = AccountState("light", n=40, sum_harvest=0.2 * 40)  # payloads score low as problems
    assert not linker.eligible(st)
    st.n_work = 12  # 30% of its requests in harvest wrappers other accounts share
    assert linker.eligible(st)
    st.n_follow = 15  # ... but an account that converses never joins
    assert not linker.eligible(st)
