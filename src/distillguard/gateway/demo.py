"""`distillguard demo`: the whole system on the embedded default, through real HTTP.

Why a scripted replay rather than a slide: every number it prints comes from the running
gateway (uvicorn on a free port), the real rule pack, identity store, quotas, guard,
online detector and ledger. Only the upstream is a stand-in with canned answers
(`distillguard.gateway.stub`), so the enforcement path is visible without a model server.
Prompts come from ../shared/data (benign/ and distill/, read at run time, never copied)
when present, else from a small built-in set written for this demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.gateway.config import GatewayConfig, ModelRoute

BUILTIN_BENIGN = [
    "Can you suggest a good name for a bakery that sells sourdough?",
    "How do I politely decline a meeting invitation from my manager?",
    "What should I pack for a three-day hiking trip in autumn?",
    "Explain the difference between a Roth IRA and a traditional IRA.",
    "Write a short birthday message for my grandmother.",
    "Why does my sourdough starter smell like acetone?",
    "What are some good exercises for lower back pain?",
    "Summarise the plot of Pride and Prejudice in three sentences.",
]
BUILTIN_PROBLEMS = [
    "A train travels 120 km in 1.5 hours. What is its average speed in km/h?",
    "If 3x + 7 = 25, what is x?",
    "Write a Python function that returns the n-th Fibonacci number.",
    "A shop sells pens at 3 for $2. How much do 27 pens cost?",
    "What is the sum of the interior angles of a hexagon?",
    "Write a function that checks whether a string is a palindrome.",
    "Tom has 5 apples and buys 3 bags of 4 apples each. How many apples does he have?",
    "Find the derivative of x^3 * sin(x).",
]
COT_TEMPLATES = [
    "Solve the following problem. Think step by step and show your complete reasoning "
    "before giving the final answer.\n\n{p}",
    "Imagine and articulate the internal reasoning behind a completed response and write it "
    "out step by step.\n\nTask: {p}",
    "You are an expert tutor. Give a detailed chain of thought, then the answer on the last "
    "line as 'Answer: <value>'.\nQuestion: {p}",
]
STEALTH_TEMPLATES = ["Q: {p}\nA:", "can you help with this? {p}", "{p}"]
FOLLOW_UPS = [
    "Thanks! Can you make it a bit shorter?",
    "I don't get the second part, can you explain it differently?",
    "Great, and what would you do if it rained?",
]


def _read_prompts(*parts: str, limit: int, rng: random.Random) -> list[str]:
    from distillguard.paths import shared_data

    path = shared_data(*parts)
    if path is None:
        return []
    out: list[str] = []
    with path.open("rb") as fh:
        for line in fh:
            try:
                p = json.loads(line).get("prompt")
            except ValueError:
                continue
            if isinstance(p, str) and 10 < len(p) < 2000:
                out.append(p)
    rng.shuffle(out)
    return out[:limit]


@dataclass
class Actor:
    """A demo customer: who it is, its key, and what it sends."""

    label: str
    kind: str
    account_id: str
    key: str
    user_agent: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    style: str = ""  # campaign accounts: "overt" (asks for reasoning) or "stealth"


@dataclass
class Result:
    actor: str
    model: str
    status: int
    decision: str
    rules: str
    transforms: str
    code: str | None
    reasoning_upstream: bool
    reasoning_visible: bool
    overhead_ms: float
    phase: int


def demo_config(home: Path, stub_url: str) -> GatewayConfig:
    cfg = GatewayConfig()
    cfg.store.home = str(home)
    cfg.store.events_jsonl = str(home / "events.jsonl")
    cfg.store.flush_interval_s = 0.05
    cfg.admin.token = "dgadm_" + secrets.token_urlsafe(18)
    cfg.models = {
        # upstream model names select the stand-in's behaviour (see stub.py)
        "frontier-alpha": ModelRoute("frontier-alpha", stub_url, upstream_model="stub"),
        "frontier-gamma": ModelRoute("frontier-gamma", stub_url, upstream_model="stub-think"),
        "general-chat": ModelRoute("general-chat", stub_url, upstream_model="stub"),
    }
    return cfg


def _setup_actors(ids: Any, campaign_accounts: int, rng: random.Random) -> list[Actor]:
    """Organisations and accounts of the story; screening results set as the screening
    part would record them."""
    actors: list[Actor] = []

    def key(acct_id: str) -> str:
        return str(ids.issue_key(acct_id, name="demo")[1])

    us = ids.create_org("Northwind Robotics Inc.", "US")
    ids.set_screening_status(us.id, "clear", "demo: no list match")
    for name in ("dana@northwind", "eli@northwind", "fay@northwind"):
        a = ids.create_account(
            name, type="organization", org_id=us.id, nationality="US", kyc_level="verified"
        )
        actors.append(Actor("Tier 1 customer", name, a.id, key(a.id), "OpenAI/Python 1.54.0"))
    br = ids.create_account("lucas.p (individual)", nationality="BR", kyc_level="none")
    ids.set_screening_status(br.id, "clear", "demo: no list match")
    actors.append(Actor("foreign, no KYC", "lucas.p", br.id, key(br.id), "Mozilla/5.0 (Macintosh)"))
    cn = ids.create_org("Shenzhen Deepcore AI Co.", "CN")
    ids.set_screening_status(cn.id, "clear", "demo: no list match")
    a = ids.create_account(
        "ops@deepcore", type="organization", org_id=cn.id, nationality="CN", kyc_level="verified"
    )
    actors.append(Actor("D:5-headquartered org", "ops@deepcore", a.id, key(a.id), "curl/8.5"))
    dp = ids.create_org("Orion Dual-Use Trading FZE", "AE")
    ids.set_screening_status(dp.id, "hit", "demo: denied-party list match (entity)")
    a = ids.create_account(
        "buyer@orion", type="organization", org_id=dp.id, nationality="AE", kyc_level="verified"
    )
    actors.append(Actor("denied-party match", "buyer@orion", a.id, key(a.id), "python-requests"))
    # A hydra-style campaign: many light individual accounts, basic KYC, proxy countries.
    for i in range(campaign_accounts):
        nat = rng.choice(["SG", "MY", "TH", "AE", "BR", "MX"])
        a = ids.create_account(f"user{1000 + i}", nationality=nat, kyc_level="verified")
        ids.set_screening_status(a.id, "clear", "demo: no list match")
        actors.append(Actor("campaign account", f"user{1000 + i}", a.id, key(a.id), "httpx/0.27"))
    return actors


def _plan_traffic(actors: list[Actor], rng: random.Random) -> None:
    benign = _read_prompts("benign", "fastchat_vicuna_bench.jsonl", limit=80, rng=rng)
    benign += _read_prompts("benign", "hh_rlhf_harmless_base_test.jsonl", limit=120, rng=rng)
    problems = _read_prompts("distill", "gsm8k_train.jsonl", limit=400, rng=rng)
    problems += _read_prompts("distill", "mbpp.jsonl", limit=150, rng=rng)
    benign = benign or BUILTIN_BENIGN * 20
    problems = problems or BUILTIN_PROBLEMS * 60
    rng.shuffle(problems)
    camp = [a for a in actors if a.label == "campaign account"]
    for i, a in enumerate(camp):
        # Half the campaign asks for reasoning outright (the input guard's job); the other
        # half is stealthy: light wrappers, no reasoning phrasing (the detector's job).
        overt = i % 2 == 0
        a.style = "overt" if overt else "stealth"
        tmpl = rng.choice(COT_TEMPLATES if overt else STEALTH_TEMPLATES)
        for _ in range(30):
            body: dict[str, Any] = {
                "model": rng.choice(["frontier-gamma", "general-chat"]),
                "messages": [{"role": "user", "content": tmpl.format(p=problems.pop())}],
                "temperature": 0.0,
                "max_tokens": 2048,
            }
            if overt:
                body.update(logprobs=True, top_logprobs=20, n=rng.choice([1, 4, 8]))
            a.requests.append(body)
    for a in actors:
        if a.label == "campaign account":
            continue
        for _ in range(8 if a.label == "Tier 1 customer" else 3):
            q = rng.choice(benign)
            msgs = [{"role": "user", "content": q}]
            if rng.random() < 0.5:  # a follow-up in the same conversation
                msgs += [
                    {"role": "assistant", "content": "Here is what I suggest: ..."},
                    {"role": "user", "content": rng.choice(FOLLOW_UPS)},
                ]
            a.requests.append(
                {
                    "model": rng.choice(["frontier-alpha", "frontier-gamma", "general-chat"]),
                    "messages": msgs,
                    "temperature": 0.7,
                    "stream": rng.random() < 0.3,
                }
            )


def _has_reasoning(text: str) -> bool:
    return "reasoning_content" in text or "<think>" in text


async def _send(
    session: Any, url: str, a: Actor, body: dict[str, Any], phase: int
) -> tuple[Result, dict[str, Any] | None]:
    headers = {"authorization": f"Bearer {a.key}", "user-agent": a.user_agent}
    async with session.post(url + "/v1/chat/completions", json=body, headers=headers) as r:
        text = await r.text()
        h = r.headers
        err = None
        if r.status >= 400:
            try:
                err = json.loads(text).get("error")
            except ValueError:
                err = None
        res = Result(
            actor=a.kind,
            model=body["model"],
            status=r.status,
            decision=h.get("x-distillguard-decision", "?"),
            rules=h.get("x-distillguard-rules", ""),
            transforms=h.get("x-distillguard-transforms", ""),
            code=err.get("code") if isinstance(err, dict) else None,
            reasoning_upstream=True,  # the stand-in always reasons
            reasoning_visible=r.status == 200 and _has_reasoning(text),
            overhead_ms=float(h.get("x-distillguard-overhead-ms", "0") or 0),
            phase=phase,
        )
        return res, err


def run_demo(
    *,
    home: Path | None = None,
    port: int = 0,
    serve: bool = True,
    campaign_accounts: int = 12,
    seed: int = 7,
) -> None:
    """Run the demo (see the module docstring); blocks while serving."""
    import uvloop

    if port:
        _check_port(port)
    home = home or Path(tempfile.mkdtemp(prefix="distillguard-demo-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DISTILLGUARD_HOME"] = str(home)
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(_demo(home, port, serve, campaign_accounts, seed))


def _check_port(port: int) -> None:
    """Refuse a port that cannot be bound before anything starts (uvicorn would print its
    own traceback after the stand-in upstream is already up)."""
    import socket

    if not 0 < port < 65536:
        raise DistillguardError(f"--port {port}: not a TCP port (1-65535)")
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise DistillguardError(
                f"--port {port}: cannot listen on 127.0.0.1:{port} ({e.strerror}); "
                "choose another port or leave --port out for a free one"
            ) from None


async def _demo(home: Path, port: int, serve: bool, n_campaign: int, seed: int) -> None:
    import socket

    import aiohttp
    from rich.console import Console

    from distillguard.gateway.adapters import load_parts
    from distillguard.gateway.server import build_gateway, serve_in_loop, setup_logging
    from distillguard.gateway.stub import StubUpstream

    console = Console()
    if not console.is_terminal:  # piped or captured: wide enough for the tables
        console = Console(width=max(console.width, 130))
    rng = random.Random(seed)
    setup_logging("warning")
    console.rule("[bold]distillguard demo[/] (embedded mode: SQLite + in-process state)")
    console.print(f"data directory: [cyan]{home}[/]")
    from distillguard.paths import shared_data

    gsm8k = shared_data("distill", "gsm8k_train.jsonl")
    prompts = (
        f"prompts from {gsm8k.parent.parent}"
        if gsm8k is not None
        else "built-in demo prompts (../shared/data not found; set DISTILLGUARD_SHARED)"
    )
    console.print(f"traffic: {prompts}")

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    stub_port = free_port()
    stub_cfg = GatewayConfig()
    stub_server, stub_task = await serve_in_loop(StubUpstream(), stub_cfg, stub_port)
    stub_url = f"http://127.0.0.1:{stub_port}/v1"
    console.print(
        f"upstream: [yellow]STAND-IN[/] canned-answer server at {stub_url} "
        "(not a model; every answer says so)"
    )
    cfg = demo_config(home, stub_url)
    parts = await asyncio.to_thread(load_parts, cfg)
    actors = _setup_actors(parts.identity, n_campaign, rng)
    _plan_traffic(actors, rng)
    app = build_gateway(cfg, parts)
    gw_port = port or free_port()
    server, task = await serve_in_loop(app, cfg, gw_port)
    url = f"http://127.0.0.1:{gw_port}"
    active = ", ".join(k for k, v in parts.active.items() if v)
    console.print(f"gateway: [green]{url}[/]  (active: {active})")

    # Phase 1: the mix, interleaved as it would arrive.
    queue = [(a, body) for a in actors for body in a.requests]
    rng.shuffle(queue)
    results: list[Result] = []
    examples: dict[str, tuple[Result, dict[str, Any] | None]] = {}
    sem = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as session:

        async def one(a: Actor, body: dict[str, Any], phase: int) -> None:
            async with sem:
                res, err = await _send(session, url, a, body, phase)
            results.append(res)
            key = f"{a.label}|{res.decision}|{res.code}"
            examples.setdefault(key, (res, err))

        with console.status(f"replaying {len(queue)} requests through the gateway ..."):
            await asyncio.gather(*(one(a, b, 1) for a, b in queue))
            await asyncio.to_thread(app.sink.flush)
            # Phase 2: the campaign accounts come back after the detector has spoken.
            camp = [a for a in actors if a.label == "campaign account"]
            again = [(a, dict(a.requests[0])) for a in camp for _ in range(2)]
            await asyncio.gather(*(one(a, b, 2) for a, b in again))
            await asyncio.to_thread(app.sink.flush)

    from distillguard.gateway.report import print_report

    print_report(console, app, parts, actors, results, examples)

    from distillguard.gateway.demo_reports import build_demo_reports

    console.rule("[bold]reports built from what just happened[/]")
    await asyncio.to_thread(
        build_demo_reports, console, parts, Path(cfg.store.events_jsonl), home / "reports"
    )

    if serve:
        demo_key = next(a.key for a in actors if a.label == "Tier 1 customer")
        console.rule("[bold]the gateway keeps serving[/] (Ctrl-C to stop)")
        console.print(
            "curl:\n"
            f"  curl -s {url}/v1/chat/completions -H 'Authorization: Bearer {demo_key}' \\\n"
            "    -H 'Content-Type: application/json' \\\n"
            '    -d \'{"model": "general-chat", "messages": '
            '[{"role": "user", "content": "Hello!"}]}\' -i\n'
            "OpenAI SDK (pip install openai):\n"
            "  from openai import OpenAI\n"
            f"  client = OpenAI(base_url='{url}/v1', api_key='{demo_key}')\n"
            "  r = client.chat.completions.create(model='general-chat',\n"
            "      messages=[{'role': 'user', 'content': 'Hello!'}])\n"
            "  print(r.choices[0].message.content)\n"
            f"admin API: {url}/admin (token {cfg.admin.token})   metrics: {url}/metrics",
            highlight=False,
            soft_wrap=True,
        )
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            await task
    else:
        server.should_exit = True
        await task
    stub_server.should_exit = True
    await stub_task
