"""Shared keys that are not harvest wrappers: a class's worksheet (its students re-send the
same problems, a campaign spreads distinct ones) and wordings that a real share of their
users converse in (a few conversing campaign members must not clear a campaign's wrapper)."""

from __future__ import annotations

import random

from distillguard.detect.campaigns import CampaignLinker, KeyStat
from distillguard.events import RequestEvent

from .helpers import COT, FOLLOW, event, hydra, problem
from .helpers import run as _run

SHEET = "Worksheet 4, exercise: {p} Show your working and box the final answer."


def _class(n_students: int, rng: random.Random, shared: bool) -> list[RequestEvent]:
    """Human-paced students pasting problems in the teacher's wording, never following up;
    `shared`: the class's one worksheet (each student asks about a subset, in order),
    else every student's own problems."""
    sheet = [problem(rng) for _ in range(30)]
    out = []
    for k in range(n_students):
        if shared:
            todo = [p for p in sheet if rng.random() < 0.7]
        else:
            todo = [problem(rng) for _ in range(20)]
        t = k * 1800.0
        for p in todo:
            out.append(event(f"c-{k}", t, [{"role": "user", "content": SHEET.format(p=p)}]))
            t += rng.uniform(60, 600)
    return out


def test_class_sharing_one_worksheet_is_not_linked() -> None:
    det = _run(_class(8, random.Random(3), shared=True))
    for k in range(8):
        sig = det.account_state(f"c-{k}")
        assert sig is not None and sig.campaign is None and sig.verdict != "distillation"


def test_same_wording_over_distinct_problems_still_links() -> None:
    # the same accounts, wording and pace, but each sends its own problems: a harvest wrapper
    det = _run(_class(8, random.Random(3), shared=False))
    camps = {s.campaign for k in range(8) if (s := det.account_state(f"c-{k}"))}
    assert len(camps) == 1 and None not in camps


def test_repeating_payloads_makes_a_key_shared_material() -> None:
    lk = CampaignLinker()
    ks = KeyStat(n_req=40, sum_h=32.0, n_payloads=40, n_later=20, n_repeat=9)
    assert lk.harvest_wrapper(ks)  # under half of the later users' requests are repeats
    ks.n_repeat = 10
    assert not lk.harvest_wrapper(ks)  # half re-send material: a class, not a harvest


def test_repeats_over_more_than_a_worksheet_are_a_harvest() -> None:
    lk = CampaignLinker()
    ks = KeyStat(n_req=400, sum_h=320.0, n_payloads=400, n_later=300, n_repeat=200)
    ks.seen = {i: "a" for i in range(lk.cfg.material_max)}
    assert not lk.harvest_wrapper(ks)  # two thirds repeats over a worksheet-sized set
    ks.seen[-1] = "b"
    assert lk.harvest_wrapper(ks)  # one more distinct problem than a class's material


def test_a_campaign_resampling_a_large_pool_is_still_linked() -> None:
    """Members that re-send problems others already sent (several answers per problem, or
    to look like a class) over a pool larger than a worksheet are still one campaign."""
    rng = random.Random(11)
    pool = [problem(rng) for _ in range(200)]
    out = []
    for k in range(12):
        t = k * 600.0
        for _ in range(60):
            out.append(
                event(f"rs-{k}", t, [{"role": "user", "content": COT.format(p=rng.choice(pool))}])
            )
            t += rng.uniform(20, 90)
    det = _run(out)
    camps = {s.campaign for k in range(12) if (s := det.account_state(f"rs-{k}"))}
    assert len(camps) == 1 and None not in camps


def _conversers(n: int, rng: random.Random) -> list[RequestEvent]:
    """Accounts that paste problems in the campaign's wording and follow up on every one."""
    out = []
    for k in range(n):
        t = 5000.0 + k * 300.0
        for _ in range(10):
            msgs = [{"role": "user", "content": COT.format(p=problem(rng))}]
            out.append(event(f"v-{k}", t, msgs))
            for _ in range(2):
                t += rng.uniform(30, 200)
                msgs = [
                    *msgs,
                    {"role": "assistant", "content": "Step 1: ... Step 2: ..."},
                    {"role": "user", "content": rng.choice(FOLLOW)},
                ]
                out.append(event(f"v-{k}", t, msgs))
            t += rng.uniform(60, 400)
    return out


def test_a_few_conversing_accounts_do_not_clear_a_campaign_wrapper() -> None:
    rng = random.Random(8)
    det = _run(hydra("hy", 30, 30, rng) + _conversers(3, rng))
    camps = {s.campaign for k in range(30) if (s := det.account_state(f"hy-{k}"))}
    assert len(camps) == 1 and None not in camps
    flagged = sum(
        1 for k in range(30) if (s := det.account_state(f"hy-{k}")) and s.verdict == "distillation"
    )
    assert flagged >= 27


def test_a_wording_most_of_whose_users_converse_is_ordinary() -> None:
    lk = CampaignLinker()
    assert lk.ordinary(KeyStat(n_accounts=10, n_conversational=2))  # 2 of 10 users
    assert not lk.ordinary(KeyStat(n_accounts=40, n_conversational=2))  # 2 of 40 users
    assert not lk.ordinary(KeyStat(n_accounts=4, n_conversational=1))  # one is never enough
