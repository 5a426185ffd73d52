"""A week of labelled API traffic with every attacker strategy and hard negative.

Strategies follow ../shared/docs/THREAT_MODEL.md. Prompts come from ../shared/data at run
time (read via distillguard.paths.shared_data, never copied): attack payloads from
distill/, ordinary traffic from benign/. Wrappers are written in templates.py. The split
argument selects disjoint halves: 'tune' uses the tune half of every wording list and the
tune prompt files, 'test' the held-out wordings and held-out prompt files.

Metadata is deliberately not a giveaway: benign batch jobs and app developers use the same
SDK user agents and cloud subnets as the proxies of hydra campaigns; stealth and adaptive
attackers use browser user agents, residential addresses and human session rhythms.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import templates as T

from distillguard.events import content_fingerprint
from distillguard.paths import shared_data

WEEK = 7 * 86400.0
START = datetime(2026, 11, 2, tzinfo=UTC)

# prompt files per split (test files are never read in a tune run)
DISTILL_FILES = {
    "tune": {
        "math": ["gsm8k_train.jsonl", "math_svamp.jsonl", "math_aqua.jsonl"],
        "science": ["math_mmlu_stem.jsonl"],
        "code": ["mbpp.jsonl"],
        "writing": ["alpaca_en_demo_1k.jsonl"],
    },
    "test": {
        "math": [
            "math_asdiv.jsonl",
            "math_mawps.jsonl",
            "math_amc23.jsonl",
            "math_aime24.jsonl",
            "math_sat_math.jsonl",
        ],
        "science": ["math_sat_math.jsonl"],
        "code": ["humaneval.jsonl"],
        "writing": ["self_instruct_seed_tasks.jsonl"],
    },
}
BENIGN_FILES = {
    "tune": ["hh_rlhf_harmless_base_test.jsonl", "sharegpt_sample.jsonl", "alpaca_eval_805.jsonl"],
    "test": [
        "hh_rlhf_harmless_base_test.jsonl",
        "sharegpt_sample.jsonl",
        "alpaca_eval_805.jsonl",
        "fastchat_mt_bench.jsonl",
        "fastchat_vicuna_bench.jsonl",
    ],
}

SDK_UA = [
    "OpenAI/Python 1.54.3",
    "OpenAI/Python 1.58.1",
    "openai-node/4.67.3",
    "OpenAI/Python 1.40.0",
    "python-requests/2.32.3",
    "langchain-openai/0.2.9",
    "httpx/0.27.2",
    "openai-go/0.1.0",
]
BROWSER_UA = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36",
]
COUNTRIES = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "AU", "SG", "NL", "KR", "MX", "PL"]
NAMES = ["Ana", "Ben", "Chen", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jon"]
FOODS = ["rice", "eggs", "tofu", "chicken", "beans", "pasta", "spinach"]


@dataclass
class Label:
    kind: str
    group: str | None  # attacker campaign / operator, or benign org
    attack: bool
    gray: bool = False
    hard: bool = False


@dataclass
class Pools:
    problems: dict[str, list[str]]
    benign_single: list[str]
    convs: list[list[str]]
    documents: list[str]


def _read(rel: str) -> list[dict[str, Any]]:
    p = shared_data(*rel.split("/"))
    if p is None:
        raise SystemExit(f"shared data not found: {rel} (set DISTILLGUARD_SHARED)")
    with p.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_pools(split: str) -> Pools:
    problems: dict[str, list[str]] = {}
    for dom, files in DISTILL_FILES[split].items():
        items: list[str] = []
        for fn in files:
            rows = _read("distill/" + fn)
            if fn == "gsm8k_train.jsonl":
                rows = rows[: len(rows) // 2]
            items += [r["prompt"] for r in rows if r.get("prompt")]
        problems[dom] = items
    convs: dict[str, list[tuple[int, str]]] = {}
    single: list[str] = []
    for fn in BENIGN_FILES[split]:
        for r in _read("benign/" + fn):
            cid = r.get("conv_id", r.get("qid"))
            if fn in ("hh_rlhf_harmless_base_test.jsonl", "sharegpt_sample.jsonl"):
                # conversations split by parity of a stable hash of the id
                odd = int.from_bytes(str(cid).encode()[-2:], "big") % 2
                if (split == "tune") == bool(odd):
                    continue
            elif fn == "alpaca_eval_805.jsonl":
                odd = len(r["prompt"]) % 2
                if (split == "tune") == bool(odd):
                    continue
            key = f"{fn}:{cid}"
            convs.setdefault(key, []).append((int(r.get("turn", 0) or 0), r["prompt"]))
            if int(r.get("turn", 0) or 0) == 0:
                single.append(r["prompt"])
    conv_list = [[t for _, t in sorted(v)] for v in convs.values()]
    docs = [t for c in conv_list for t in c if 80 <= len(t) <= 3000]
    return Pools(problems, single, conv_list, docs)


# ------------------------------------------------------------------------------------------
@dataclass
class Gen:
    rng: random.Random
    pools: Pools
    split: str
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    labels: dict[str, Label] = field(default_factory=dict)
    n_acc: int = 0
    decks: dict[int, list[str]] = field(default_factory=dict)
    last_response: str = ""

    # --- helpers -----------------------------------------------------------------------
    def new_account(self, label: Label) -> str:
        self.n_acc += 1
        a = f"acct-{self.rng.getrandbits(40):010x}"
        self.labels[a] = label
        return a

    def words(self, items: list[str]) -> list[str]:
        return T.pick(items, self.split)

    def deal(self, items: list[str], k: int) -> list[str]:
        """Templates for one operator: drawn from a shuffled deck, so operators differ
        until the deck runs out (then it is reshuffled and reuse across operators starts)."""
        deck = self.decks.setdefault(id(items), [])
        out: list[str] = []
        while len(out) < k:
            if not deck:
                deck.extend(self.words(items))
                self.rng.shuffle(deck)
            out.append(deck.pop())
        return out

    def residential_ip(self) -> str:
        r = self.rng
        first = r.choice([24, 71, 82, 98, 109, 176, 188])
        return f"{first}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def cloud_subnets(self) -> list[str]:
        return [
            f"{a}.{b}.{c}"
            for a, b, c in [
                (3, 91, 12),
                (3, 91, 13),
                (34, 200, 7),
                (35, 180, 4),
                (52, 14, 99),
                (13, 57, 3),
                (20, 81, 40),
                (104, 28, 5),
            ]
        ]

    def cloud_ip(self, subnets: list[str] | None = None) -> str:
        return f"{self.rng.choice(subnets or self.cloud_subnets())}.{self.rng.randint(1, 254)}"

    def problem(self, dom: str | None = None) -> str:
        doms = list(self.pools.problems)
        d = dom if dom in self.pools.problems else self.rng.choice(doms)
        return self.rng.choice(self.pools.problems[d])

    def filler(self, prompt: str) -> str:
        r = self.rng
        k = r.randint(20, 120)
        return "Sure. " + " ".join(r.choice(prompt.split() or ["ok"]) for _ in range(k))

    def emit(
        self,
        ts: float,
        account: str,
        meta: dict[str, Any],
        messages: list[dict[str, str]],
        params: dict[str, Any],
        answer: str | None = None,
    ) -> None:
        """One request. `answer` is the text served (what a later history may carry), which
        the gateway fingerprints into `response.content_hash`."""
        if answer is None:
            answer = f"answer {id(self)}-{len(self.events)}"  # unique, no random draws
        self.last_response = answer
        ev = {
            "ts": (START + timedelta(seconds=ts))
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "account": account,
            "org": meta.get("org"),
            "ip": meta["ip"],
            "country": meta.get("country"),
            "user_agent": meta["ua"],
            "model": meta.get("model", "frontier-1"),
            "params": params,
            "messages": messages,
        }
        # a fingerprinting gateway: every answer, streamed or not (the first 256 characters)
        ev["response"] = {"content_hash": content_fingerprint(answer)}
        self.events.append((ts, ev))

    def human_sessions(self, n_sessions: int, tz: int) -> list[float]:
        """Session start times: local daytime/evening hours, spread over the week."""
        out = []
        for _ in range(n_sessions):
            day = self.rng.randrange(7)
            hour = self.rng.choices(
                range(24),
                weights=[1, 1, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 8, 9, 9, 8, 5, 2],
            )[0]
            out.append(day * 86400 + ((hour - tz) % 24) * 3600 + self.rng.random() * 3600)
        return sorted(out)

    def gap(self, mean: float) -> float:
        return self.rng.lognormvariate(math.log(mean), 0.9)

    def human_params(self) -> dict[str, Any]:
        r = self.rng
        p: dict[str, Any] = {}
        if r.random() < 0.5:
            p["temperature"] = r.choice([0.7, 1.0, 0.5, 0.8])
        if r.random() < 0.3:
            p["max_tokens"] = r.choice([512, 1024, 2048, 4096])
        p["stream"] = r.random() < 0.7
        return p

    def human_meta(self, org: str | None = None) -> dict[str, Any]:
        return {
            "ip": self.residential_ip(),
            "ua": self.rng.choice(BROWSER_UA),
            "country": self.rng.choice(COUNTRIES),
            "org": org,
        }

    # --- benign ------------------------------------------------------------------------
    def chat_user(self, kind: str, sessions: tuple[int, int]) -> None:
        a = self.new_account(Label(kind, None, attack=False))
        meta = self.human_meta()
        tz = self.rng.randint(-8, 9)
        sdk = self.rng.random() < 0.15
        if sdk:
            meta["ua"] = self.rng.choice(SDK_UA)
        for start in self.human_sessions(self.rng.randint(*sessions), tz):
            t = start
            for _ in range(self.rng.choice([1, 1, 2, 3])):
                conv = self.rng.choice(self.pools.convs)
                hist: list[dict[str, str]] = []
                for turn in conv[:10]:
                    msgs = [*hist[-6:], {"role": "user", "content": turn}]
                    params = self.human_params()
                    ans = self.filler(turn)
                    self.emit(t, a, meta, msgs, params, ans)
                    hist += [
                        {"role": "user", "content": turn},
                        {"role": "assistant", "content": ans},
                    ]
                    t += self.gap(70)
                if self.rng.random() < 0.5:  # a one-off question too
                    self.emit(
                        t,
                        a,
                        meta,
                        [{"role": "user", "content": self.rng.choice(self.pools.benign_single)}],
                        self.human_params(),
                    )
                    t += self.gap(90)
                t += self.gap(300)

    def student(self) -> None:
        a = self.new_account(Label("student", None, attack=False, hard=True))
        meta = self.human_meta()
        tz = self.rng.randint(-8, 9)
        follow_rate = min(0.95, max(0.1, self.rng.betavariate(3, 3)))
        asks = self.words(T.STUDENT_ASK)
        follows = self.words(T.STUDENT_FOLLOW)
        course = self.rng.choice(["math", "math", "science", "code"])
        for start in self.human_sessions(self.rng.randint(2, 6), tz):
            t = start
            for _ in range(self.rng.randint(2, 6)):
                p = self.rng.choice(asks).format(p=self.problem(course))
                msgs = [{"role": "user", "content": p}]
                params = self.human_params()
                ans = self.filler(p)
                self.emit(t, a, meta, msgs, params, ans)
                hist = [*msgs, {"role": "assistant", "content": ans}]
                t += self.gap(120)
                while self.rng.random() < follow_rate:
                    f = self.rng.choice(follows)
                    msgs = [*hist, {"role": "user", "content": f}]
                    params = self.human_params()
                    ans = self.filler(f)
                    self.emit(t, a, meta, msgs, params, ans)
                    hist = [*msgs, {"role": "assistant", "content": ans}]
                    t += self.gap(60)
                    if len(hist) > 8:
                        break
                t += self.gap(200)

    def batch_job(self) -> None:
        org = f"org-{self.rng.getrandbits(24):06x}"
        a = self.new_account(Label("batch", org, attack=False, hard=True))
        template = self.rng.choice(self.words(T.BATCH))
        meta = {"ip": self.cloud_ip(), "ua": self.rng.choice(SDK_UA), "country": "US", "org": org}
        runs = self.rng.randint(1, 3)
        for _ in range(runs):
            t = self.rng.random() * (WEEK - 10000)
            rate = self.rng.choice([0.5, 1.0, 2.0, 4.0])
            for _ in range(self.rng.randint(150, 900)):
                doc = self.rng.choice(self.pools.documents)
                self.emit(
                    t,
                    a,
                    meta,
                    [{"role": "user", "content": template.format(p=doc)}],
                    {"temperature": 0, "max_tokens": 256},
                )
                t += (1.0 / rate) * self.rng.uniform(0.8, 1.2)

    def app_dev(self) -> None:
        org = f"org-{self.rng.getrandbits(24):06x}"
        a = self.new_account(Label("appdev", org, attack=False, hard=True))
        system = self.rng.choice(self.words(T.APP_SYSTEM))
        meta = {
            "ip": self.cloud_ip() if self.rng.random() < 0.5 else self.residential_ip(),
            "ua": self.rng.choice([*SDK_UA, "PostmanRuntime/7.42.0", "curl/8.5.0"]),
            "country": self.rng.choice(COUNTRIES),
            "org": org,
        }
        base = self.rng.sample(T.APP_PROMPTS, 4)
        tz = self.rng.randint(-8, 9)
        for start in self.human_sessions(self.rng.randint(4, 15), tz):
            t = start
            for _ in range(self.rng.randint(5, 30)):
                p = self.rng.choice(base).format(
                    n=self.rng.randint(1, 999),
                    c=self.rng.choice(COUNTRIES),
                    name=self.rng.choice(NAMES),
                    food=self.rng.choice(FOODS),
                )
                self.emit(
                    t,
                    a,
                    meta,
                    [{"role": "system", "content": system}, {"role": "user", "content": p}],
                    {
                        "temperature": self.rng.choice([0, 0.2, 0.7, 1.0]),
                        "max_tokens": self.rng.choice([128, 256, 512]),
                    },
                )
                t += self.rng.uniform(0.5, 8)

    def evaluator(self) -> None:
        a = self.new_account(Label("evaluator", None, attack=False, gray=True))
        template = self.rng.choice(T.EVAL)
        dom = self.rng.choice(list(self.pools.problems))
        items = list(self.pools.problems[dom])
        self.rng.shuffle(items)
        meta = {"ip": self.cloud_ip(), "ua": self.rng.choice(SDK_UA), "country": "US"}
        t = self.rng.random() * (WEEK - 20000)
        for p in items[: self.rng.randint(150, 800)]:
            self.emit(
                t,
                a,
                meta,
                [{"role": "user", "content": template.format(p=p)}],
                {"temperature": 0, "max_tokens": self.rng.choice([256, 512, 1024])},
            )
            t += self.rng.uniform(0.3, 3.0)

    # --- attackers ---------------------------------------------------------------------
    def attack_params(self, lp: bool, big: bool = True) -> dict[str, Any]:
        r = self.rng
        p: dict[str, Any] = {
            "temperature": r.choice([0.6, 0.7, 1.0, 0.0]),
            "max_tokens": r.choice([4096, 8192, 16384]) if big else 1024,
        }
        if lp:
            p["logprobs"] = True
            p["top_logprobs"] = r.choice([5, 10, 20])
        if r.random() < 0.15:
            p["n"] = r.choice([2, 4, 8])
        return p

    def naive(self, op: str) -> None:
        templates = self.deal(T.COT, self.rng.randint(1, 3))
        ua = self.rng.choice(SDK_UA)
        lp = self.rng.random() < 0.3
        dom = self.rng.choice(list(self.pools.problems))
        for _ in range(self.rng.randint(1, 3)):
            a = self.new_account(Label("naive", op, attack=True))
            meta = {"ip": self.cloud_ip(), "ua": ua, "country": self.rng.choice(COUNTRIES)}
            t = self.rng.random() * WEEK * 0.5
            spacing = self.rng.choice([0.4, 1.0, 2.0, 5.0])
            for _ in range(self.rng.randint(600, 2500)):
                p = self.rng.choice(templates).format(p=self.problem(dom))
                self.emit(t, a, meta, [{"role": "user", "content": p}], self.attack_params(lp))
                t += spacing * self.rng.uniform(0.9, 1.1)

    def capability(self, op: str) -> None:
        system = self.rng.choice(self.words(T.SYSTEM_REASONING))
        rubric = self.words(T.RUBRIC)
        a = self.new_account(Label("capability", op, attack=True))
        meta = {"ip": self.cloud_ip(), "ua": self.rng.choice(SDK_UA), "country": "SG"}
        t = self.rng.random() * WEEK * 0.4
        for dom in ["math", "code", "science", "writing", "rubric"]:
            for _ in range(self.rng.randint(150, 500)):
                if dom == "rubric":
                    q = self.rng.choice(self.pools.benign_single)
                    p = self.rng.choice(rubric).format(p=q, r=self.filler(q))
                else:
                    p = self.problem(dom)
                self.emit(
                    t,
                    a,
                    meta,
                    [{"role": "system", "content": system}, {"role": "user", "content": p}],
                    self.attack_params(False),
                )
                t += self.rng.uniform(0.5, 3.0)

    def hydra(self, op: str, n_accounts: int) -> None:
        templates = self.deal(T.COT, 3)
        subnets = self.rng.sample(self.cloud_subnets(), 3) + [
            f"{self.rng.randint(60, 200)}.{self.rng.randint(0, 255)}.{self.rng.randint(0, 255)}"
            for _ in range(3)
        ]
        uas = self.rng.sample(SDK_UA, 2)
        for _ in range(n_accounts):
            a = self.new_account(Label("hydra", op, attack=True))
            meta = {
                "ip": self.cloud_ip(subnets),
                "ua": self.rng.choice(uas),
                "country": self.rng.choice(COUNTRIES),
            }
            n = self.rng.randint(30, 150)
            harvest_share = self.rng.uniform(0.35, 0.5)
            times = sorted(self.rng.random() * WEEK for _ in range(n))
            for t in times:
                if self.rng.random() < harvest_share:
                    p = self.rng.choice(templates).format(p=self.problem())
                    params = self.attack_params(False)
                else:
                    p = self.rng.choice(self.pools.benign_single)
                    params = self.human_params()
                self.emit(t, a, meta, [{"role": "user", "content": p}], params)

    def stealth(self, op: str, n_accounts: int) -> None:
        light = self.words(T.LIGHT)
        dom_mix = list(self.pools.problems)
        for _ in range(n_accounts):
            a = self.new_account(Label("stealth", op, attack=True))
            meta = self.human_meta()
            wrappers = self.rng.sample(light, self.rng.randint(1, 3))  # one campaign
            tz = self.rng.randint(-8, 9)
            n = self.rng.randint(20, 60)
            sent = 0
            for start in self.human_sessions(max(2, n // 5), tz):
                t = start
                for _ in range(self.rng.randint(3, 7)):
                    if sent >= n:
                        break
                    p = self.rng.choice(wrappers).format(p=self.problem(self.rng.choice(dom_mix)))
                    self.emit(t, a, meta, [{"role": "user", "content": p}], self.human_params())
                    sent += 1
                    t += self.gap(150)

    def coercion(self, op: str) -> None:
        tmpl = self.deal(T.COERCION, self.rng.randint(2, 4))
        a = self.new_account(Label("coercion", op, attack=True))
        meta = {
            "ip": self.cloud_ip() if self.rng.random() < 0.5 else self.residential_ip(),
            "ua": self.rng.choice(SDK_UA + BROWSER_UA),
            "country": self.rng.choice(COUNTRIES),
        }
        t = self.rng.random() * WEEK * 0.6
        for _ in range(self.rng.randint(60, 300)):
            p = self.rng.choice(tmpl).format(p=self.problem())
            msgs = [{"role": "user", "content": p}]
            if self.rng.random() < 0.2:  # multi-turn coercion with a (fake) prior answer
                msgs = [
                    {"role": "user", "content": self.problem()},
                    {"role": "assistant", "content": self.filler(p)},
                    *msgs,
                ]
            self.emit(t, a, meta, msgs, self.attack_params(False))
            t += self.gap(40)

    def adaptive(self, op: str, n_accounts: int) -> None:
        opens, asks = T.pick(T.ADAPT_OPEN, self.split), T.pick(T.ADAPT_ASK, self.split)
        fake = T.FAKE_FOLLOW
        for _ in range(n_accounts):
            a = self.new_account(Label("adaptive", op, attack=True))
            meta = self.human_meta()
            tz = self.rng.randint(-8, 9)
            n = self.rng.randint(40, 120)
            sent = 0
            hist: list[dict[str, str]] = []
            for start in self.human_sessions(max(3, n // 6), tz):
                t = start
                hist = []
                for _ in range(self.rng.randint(3, 8)):
                    if sent >= n:
                        break
                    r = self.rng.random()
                    if r < 0.35:  # ordinary traffic copied from benign prompts
                        p = self.rng.choice(self.pools.benign_single)
                        msgs = [{"role": "user", "content": p}]
                    elif r < 0.45 and hist:  # fake follow-up to build a conversation
                        p = self.rng.choice(fake)
                        msgs = [*hist[-4:], {"role": "user", "content": p}]
                    else:  # paraphrased wrapper around a problem, often in a chat history
                        p = " ".join(
                            x
                            for x in (self.rng.choice(opens), self.problem(), self.rng.choice(asks))
                            if x
                        )
                        msgs = [
                            *(hist[-4:] if self.rng.random() < 0.5 else []),
                            {"role": "user", "content": p},
                        ]
                    params = self.human_params()
                    ans = self.filler(p)  # the answer served, replayed in later histories
                    self.emit(t, a, meta, msgs, params, ans)
                    hist = [*msgs, {"role": "assistant", "content": ans}]
                    sent += 1
                    t += self.gap(120)


SCALES = {  # population per unit of scale
    "chat": 2400,
    "power": 120,
    "student": 500,
    "batch": 40,
    "appdev": 100,
    "evaluator": 20,
    "naive": 6,
    "capability": 8,
    "hydra_campaigns": 2,
    "hydra_size": 250,
    "stealth_size": 150,
    "coercion": 20,
    "adaptive_size": 100,
}


def generate(
    seed: int, split: str, scale: float = 1.0
) -> tuple[list[dict[str, Any]], dict[str, Label]]:
    """Events sorted by time and the label of every account."""
    g = Gen(random.Random(seed), load_pools(split), split)

    def n(key: str) -> int:
        return max(1, round(SCALES[key] * scale))

    for _ in range(n("chat")):
        g.chat_user("chat", (1, 4))
    for _ in range(n("power")):
        g.chat_user("power", (15, 40))
    for _ in range(n("student")):
        g.student()
    for _ in range(n("batch")):
        g.batch_job()
    for _ in range(n("appdev")):
        g.app_dev()
    for _ in range(n("evaluator")):
        g.evaluator()
    for i in range(SCALES["hydra_campaigns"]):  # first: each hydra has its own templates
        g.hydra(f"hydra-{i}", n("hydra_size"))
    for i in range(n("naive")):
        g.naive(f"naive-{i}")
    for i in range(n("capability")):
        g.capability(f"capability-{i}")
    g.stealth("stealth-0", n("stealth_size"))
    for _ in range(n("coercion")):  # one campaign (as in the reported case), many accounts
        g.coercion("coercion-0")
    g.adaptive("adaptive-0", n("adaptive_size"))
    g.events.sort(key=lambda te: te[0])
    for i, (_, ev) in enumerate(g.events):
        ev["request_id"] = f"req-{i}"
    return [ev for _, ev in g.events], g.labels


def write(events: list[dict[str, Any]], path: Path) -> None:
    import orjson

    with path.open("wb") as fh:
        for ev in events:
            fh.write(orjson.dumps(ev) + b"\n")


def iter_labels(labels: dict[str, Label]) -> Iterator[tuple[str, Label]]:
    yield from labels.items()
