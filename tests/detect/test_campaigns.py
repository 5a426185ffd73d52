"""Campaign linking on small generated traffic: hydra caught together, honest users apart."""

from __future__ import annotations

import random

from distillguard.detect import OnlineDetector
from distillguard.events import RequestEvent

from .helpers import CHAT, COT, event, hydra, problem, student
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


def _adaptive(prefix: str, accounts: int, rng: random.Random) -> list[RequestEvent]:
    """Light accounts that pad with chat prompts, vary their wrapper per request from a few
    fragments, paste new problems under earlier exchanges and add generic follow-ups."""
    opens = ["Got another one for you.", "Here is something I am working on.", ""]
    asks = ["Could you go through it carefully?", "Please be as thorough as you can.", ""]
    out: list[RequestEvent] = []
    for k in range(accounts):
        a = f"{prefix}-{k}"
        hist: list[dict[str, str]] = []
        t = k * 50.0
        for _ in range(60):
            r = rng.random()
            if r < 0.35:
                msgs = [{"role": "user", "content": rng.choice(CHAT)}]
            elif r < 0.5 and hist:
                msgs = [*hist[-2:], {"role": "user", "content": "thanks, can you explain step 2?"}]
            else:
                p = " ".join(x for x in (rng.choice(opens), problem(rng), rng.choice(asks)) if x)
                msgs = [*(hist[-2:] if rng.random() < 0.5 else []), {"role": "user", "content": p}]
            out.append(event(a, t, msgs))
            hist = [*msgs, {"role": "assistant", "content": "Sure, here is how it goes."}]
            t += rng.uniform(60, 900)
    return out


def test_padded_campaign_with_staged_conversation_is_grouped_and_flagged() -> None:
    rng = random.Random(9)
    det = _run(_adaptive("ad", 30, rng))
    sigs = [det.account_state(f"ad-{k}") for k in range(30)]
    camps = [s.campaign for s in sigs if s is not None and s.campaign]
    assert len(camps) >= 15 and len(set(camps)) == 1
    flagged = sum(1 for s in sigs if s is not None and s.verdict == "distillation")
    assert flagged >= 10
    # each account alone looks like a light user: the campaign is the evidence
    solo = _run([e for e in _adaptive("x", 1, random.Random(9))]).account_state("x-0")
    assert solo is not None and solo.verdict == "benign"
