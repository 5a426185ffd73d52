"""Small synthetic traffic for the detector tests (written here; no shared data needed)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from distillguard.events import RequestEvent

T0 = datetime(2026, 11, 2, tzinfo=UTC)

PROBLEMS = [
    "A farmer has {a} cows and buys {b} more. Each cow gives {c} litres of milk a day. "
    "How many litres does he get in a week?",
    "Solve for x: {a}x + {b} = {c}.",
    "What is the probability of rolling a sum of {a} with two dice?",
    "Write a function `f(xs)` that returns the {a} largest values of a list.\n"
    'def f(xs):\n    """Return the largest values."""\n',
    "Which of the following is a prime number?\nA) {a}\nB) {b}\nC) {c}\nD) 91",
    "A train travels {a} km in {b} hours. What is its average speed in km/h?",
]
CHAT = [
    "what should I cook tonight, I have rice and some leftover vegetables",
    "can you recommend a good book about the history of Rome",
    "my cat keeps scratching the sofa, any tips",
    "how do I politely decline a wedding invitation",
    "what is a good name for a bakery",
    "tell me a fun fact about octopuses",
]
FOLLOW = [
    "I don't get step 2, why?",
    "thanks! can you explain that part again?",
    "wait, where did the 7 come from",
    "ok but why did you divide there?",
]
COT = "Solve the following problem step by step and show all your reasoning.\n{p}\nFinal answer:"


def problem(rng: random.Random) -> str:
    return rng.choice(PROBLEMS).format(
        a=rng.randint(2, 99), b=rng.randint(2, 99), c=rng.randint(2, 99)
    )


def event(account: str, t: float, messages: list[dict[str, str]], **kw: Any) -> RequestEvent:
    return RequestEvent(
        ts=T0 + timedelta(seconds=t),
        account=account,
        messages=messages,
        ip=kw.pop("ip", "24.1.2.3"),
        user_agent=kw.pop("ua", "Mozilla/5.0"),
        params=kw.pop("params", {}),
        **kw,
    )


def harvester(
    account: str,
    n: int,
    rng: random.Random,
    template: str = COT,
    t0: float = 0.0,
    spacing: float = 1.0,
) -> list[RequestEvent]:
    return [
        event(
            account,
            t0 + i * spacing,
            [{"role": "user", "content": template.format(p=problem(rng))}],
            ua="OpenAI/Python 1.54.3",
            params={"temperature": 0.7, "max_tokens": 8192},
        )
        for i in range(n)
    ]


def chat_user(account: str, n: int, rng: random.Random, t0: float = 0.0) -> list[RequestEvent]:
    out: list[RequestEvent] = []
    hist: list[dict[str, str]] = []
    t = t0
    for i in range(n):
        if i % 3 and hist:
            msg = rng.choice(
                [
                    "thanks, and what about the second one?",
                    "ok why is that?",
                    "can you make it shorter?",
                ]
            )
        else:
            msg = rng.choice(CHAT)
            hist = []
        msgs = [*hist, {"role": "user", "content": msg}]
        out.append(event(account, t, msgs))
        hist = [*msgs, {"role": "assistant", "content": "Here is an answer about " + msg}]
        t += rng.uniform(20, 600)
    return out


def student(account: str, n: int, rng: random.Random, t0: float = 0.0) -> list[RequestEvent]:
    out: list[RequestEvent] = []
    t = t0
    while len(out) < n:
        p = problem(rng)
        msgs = [{"role": "user", "content": p}]
        out.append(event(account, t, msgs))
        t += rng.uniform(60, 400)
        for _ in range(rng.randint(1, 2)):
            msgs = [
                *msgs,
                {"role": "assistant", "content": "Step 1: ... Step 2: ..."},
                {"role": "user", "content": rng.choice(FOLLOW)},
            ]
            out.append(event(account, t, msgs))
            t += rng.uniform(30, 200)
    return out[:n]


def hydra(
    prefix: str, accounts: int, per_account: int, rng: random.Random, template: str = COT
) -> list[RequestEvent]:
    """Accounts that each look light: half their traffic is ordinary chat prompts."""
    out: list[RequestEvent] = []
    for k in range(accounts):
        a = f"{prefix}-{k}"
        for _ in range(per_account):
            t = rng.uniform(0, 7 * 86400)
            text = template.format(p=problem(rng)) if rng.random() < 0.5 else rng.choice(CHAT)
            out.append(
                event(
                    a,
                    t,
                    [{"role": "user", "content": text}],
                    ua="OpenAI/Python 1.54.3",
                    ip=f"3.91.12.{k % 200 + 1}",
                )
            )
    out.sort(key=lambda e: e.ts)
    return out


def run(events: list[RequestEvent]) -> Any:
    """Feed events in time order to a fresh OnlineDetector and return it."""
    from distillguard.detect import OnlineDetector

    det = OnlineDetector()
    for ev in sorted(events, key=lambda e: e.ts):
        det.observe(ev)
    return det
