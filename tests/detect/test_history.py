"""Served-answer fingerprints: histories checked against what the gateway really served,
cross-account replays linked, and the machine-pace reasoning term."""

from __future__ import annotations

import random

from distillguard.detect import OnlineDetector
from distillguard.detect.account import (
    HIST_NONE,
    HIST_SERVED,
    HIST_UNKNOWN,
    HIST_UNSERVED,
    AccountState,
)
from distillguard.detect.features import extract
from distillguard.events import RequestEvent, content_fingerprint

from .helpers import event, problem


def answer(i: int) -> str:
    return f"Step 1: set up the equation for item {i}. Step 2: solve it. The answer is {i}."


def served(ev: RequestEvent, text: str) -> RequestEvent:
    ev.response = {"content_hash": content_fingerprint(text)}
    return ev


def student_thread(account: str, n: int, rng: random.Random, fake: bool) -> list[RequestEvent]:
    """A problem, then a follow-up on it, repeated. With fake=True the histories quote
    answers that were never served (a staged conversation)."""
    out: list[RequestEvent] = []
    t = 0.0
    for i in range(n):
        p = problem(rng)
        out.append(served(event(account, t, [{"role": "user", "content": p}]), answer(i)))
        quoted = answer(i) if not fake else f"Fabricated worked solution number {i} " * 3
        hist = [{"role": "user", "content": p}, {"role": "assistant", "content": quoted}]
        t += 90
        nxt = problem(rng) if fake else "I don't get step 2, why?"
        out.append(
            served(event(account, t, [*hist, {"role": "user", "content": nxt}]), answer(1000 + i))
        )
        t += 300
    return out


def test_fingerprint_ignores_whitespace_and_reads_the_event() -> None:
    a = content_fingerprint("The answer\n\n is  42.")
    assert a == content_fingerprint("  The answer is 42.  ")
    assert a != content_fingerprint("The answer is 43.")
    ev = RequestEvent.from_dict(
        {"ts": "2026-11-02T00:00:00Z", "account": "a", "response": {"content_hash": a}}
    )
    assert ev.served_fingerprint == a
    assert RequestEvent.from_dict(ev.to_dict()).served_fingerprint == a
    odd = RequestEvent.from_dict(
        {"ts": "2026-11-02T00:00:00Z", "account": "a", "response": {"content_hash": 7}}
    )
    assert odd.served_fingerprint is None
    assert extract(odd).served_fp == 0  # malformed or absent: no fingerprint, no crash
    bad = RequestEvent.from_dict(
        {"ts": "2026-11-02T00:00:00Z", "account": "a", "response": {"content_hash": "zz" * 8}}
    )
    assert extract(bad).served_fp == 0


def test_genuine_histories_verify_and_keep_their_follow_ups() -> None:
    rng = random.Random(3)
    det = OnlineDetector()
    for ev in student_thread("s", 30, rng, fake=False):
        det.observe(ev)
    st = det.states["s"]
    assert st.n_checked == 30 and st.n_unserved == 0 and st.n_fab == 0
    assert st.n_follow == 30
    sig = det.account_state("s")
    assert sig is not None and sig.verdict == "benign"


def test_staged_histories_count_against_the_account() -> None:
    rng = random.Random(3)
    det = OnlineDetector()
    for ev in student_thread("f", 30, rng, fake=True):
        det.observe(ev)
    st = det.states["f"]
    assert st.n_unserved == st.n_checked == 29  # the first history comes too early
    assert st.n_fab >= 25  # problems under answers we never gave
    sig = det.account_state("f")
    assert sig is not None
    assert any("never gave the account" in r for r in sig.reasons)
    # the same account without the staged histories scores lower
    plain = AccountState("p")
    staged = AccountState("q")
    for i, ev in enumerate(student_thread("x", 30, random.Random(3), fake=True)):
        f = extract(ev)
        plain.update(f, float(i))
        staged.update(f, float(i), staged.history_status(f))
    assert staged.own_logit() > plain.own_logit() + 2.0


def test_no_check_without_fingerprints_or_for_repeated_few_shot_turns() -> None:
    st = AccountState("a")
    shots = [
        {"role": "user", "content": "Classify: 'my card was charged twice'"},
        {"role": "assistant", "content": "billing: the customer reports a duplicate charge."},
    ]
    evs = [
        event("a", float(i), [*shots, {"role": "user", "content": f"Classify: 'x{i}'"}])
        for i in range(6)
    ]
    # the gateway did not fingerprint these answers: nothing can be checked
    for ev in evs:
        f = extract(ev)
        assert st.history_status(f) in (HIST_UNKNOWN, HIST_NONE)
        st.update(f, ev.ts.timestamp(), st.history_status(f))
    assert st.n_unserved == 0
    # fingerprinted traffic with a fixed few-shot turn: counted once, then recognised
    st2 = AccountState("b")
    for i, ev in enumerate(evs):
        served(ev, answer(i))
        f = extract(ev)
        h = st2.history_status(f)
        if i != 3:  # checkable from the 4th request on; the 5th and 6th repeat the 4th's
            assert h == HIST_UNKNOWN
        st2.update(f, float(i), h)
    assert st2.n_unserved <= 1


def test_status_of_a_served_answer() -> None:
    st = AccountState("a")
    for i in (1, 3, 4):
        first = served(event("a", 0.0, [{"role": "user", "content": "hello there"}]), answer(i))
        f = extract(first)
        st.update(f, 0.0, st.history_status(f))
    again = event(
        "a",
        5.0,
        [
            {"role": "user", "content": "hello there"},
            {"role": "assistant", "content": "  " + answer(1).replace(" ", "\n", 2)},
            {"role": "user", "content": "why?"},
        ],
    )
    assert st.history_status(extract(again)) == HIST_SERVED
    fake = event(
        "a",
        6.0,
        [
            {"role": "user", "content": "hello there"},
            {"role": "assistant", "content": answer(2)},
            {"role": "user", "content": "why?"},
        ],
    )
    assert st.history_status(extract(fake)) == HIST_UNSERVED


def test_replayed_answer_links_accounts() -> None:
    det = OnlineDetector()
    rng = random.Random(5)
    for i in range(6):  # A is served answers
        det.observe(
            served(event("A", float(i), [{"role": "user", "content": problem(rng)}]), answer(i))
        )
    for i in range(6):  # B's histories quote A's answers
        msgs = [
            {"role": "user", "content": "earlier question"},
            {"role": "assistant", "content": answer(i)},
            {"role": "user", "content": problem(rng)},
        ]
        det.observe(served(event("B", 100.0 + i, msgs), answer(500 + i)))
    assert det.states["B"].n_replayed == 6
    assert det.states["B"].n_follow == 0
    assert det.linker.find("A") == det.linker.find("B")
    sig = det.account_state("B")
    assert sig is not None and any("served to other accounts" in r for r in sig.reasons)


def test_machine_pace_raises_long_templated_reasoning_only() -> None:
    tpl = "Answer the request below. Reason about it in detail first.\nQ: {p}"
    tasks = [f"Write a short poem about topic number {i} and the sea." for i in range(400)]

    def account(gap: float, max_tokens: int) -> AccountState:
        st = AccountState("x")
        for i, p in enumerate(tasks):
            ev = event(
                "x",
                i * gap,
                [{"role": "user", "content": tpl.format(p=p)}],
                params={"max_tokens": max_tokens},
            )
            st.update(extract(ev), i * gap)
        return st

    fast_long = account(1.0, 8192).own_logit()
    slow_long = account(120.0, 8192).own_logit()
    fast_short = account(1.0, 256).own_logit()
    assert fast_long > slow_long + 0.8
    assert fast_long > fast_short + 0.8
