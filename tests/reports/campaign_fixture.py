"""Synthetic campaign traffic for the evidence tests: 6 proxy accounts on one /24 send
templated step-by-step problem prompts; 3 ordinary accounts chat."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from distillguard.events import RequestEvent

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
CAMPAIGN = [f"acct-dist-{i}" for i in range(6)]
BENIGN = ["acct-alice", "acct-bob", "acct-carol"]
CHATS = [
    "Can you help me write a birthday note for my sister?",
    "What is a good recipe for vegetable soup?",
    "Summarise the plot of Hamlet in two sentences.",
    "How do I set up a Python virtual environment?",
]


def events(n_per_account: int = 40, seed: int = 7) -> list[RequestEvent]:
    rng = random.Random(seed)
    out: list[RequestEvent] = []
    for k in range(n_per_account):
        for i, a in enumerate(CAMPAIGN):
            x, y = rng.randint(10, 999), rng.randint(10, 999)
            text = (
                f"Solve the following problem.\n\nProblem {k}: compute {x} * {y} + {k}.\n\n"
                "Think step by step and show your full reasoning before the final answer. "
                "Put the final answer in \\boxed{}."
            )
            out.append(
                RequestEvent(
                    ts=T0 + timedelta(seconds=30 * k + i),
                    account=a,
                    request_id=f"r-{a}-{k}",
                    org="org-proxy",
                    ip=f"203.0.113.{10 + i}",
                    country="SG",
                    user_agent="python-httpx/0.27.0",
                    model="frontier-x",
                    params={"temperature": 0.0, "max_tokens": 4096},
                    messages=[{"role": "user", "content": text}],
                )
            )
        for j, a in enumerate(BENIGN):
            if k % 4 == 0:
                out.append(
                    RequestEvent(
                        ts=T0 + timedelta(seconds=30 * k + 10 + j),
                        account=a,
                        request_id=f"r-{a}-{k}",
                        org="org-acme",
                        ip=f"198.51.100.{j + 1}",
                        country="US",
                        user_agent="Mozilla/5.0",
                        model="frontier-x",
                        params={"temperature": 0.7},
                        messages=[{"role": "user", "content": rng.choice(CHATS)}],
                    )
                )
    out.sort(key=lambda e: e.ts)
    return out
