"""Tune-side stress sets: populations the default benchmark does not contain, added to the
tune week (seed 1) to check a new signal against the hard negatives it could hurt.

    .venv/bin/python bench/detect/stress.py            # tune split only, never held-out

Populations (each written with the tune half of every wording list):
* naive_instr: naive sweeps of instruction-style tasks (writing domain, no logprobs), one
  per tune chain-of-thought template (the kind that stayed "suspicious" before).
* thread_student: students who paste every new problem into one running chat thread,
  with follow-ups (what an adaptive attacker's fake histories imitate).
* multi_student: students of several subjects who rarely follow up.
* switch_student: thread students in a multi-provider chat app: 30% of the answers in
  their threads come from another provider's model (histories we never served).
* cot_batch: enterprise batch jobs whose fixed template asks for step-by-step reasoning
  over their own documents, temperature 0, machine rate (a legitimate pipeline).
* fewshot_dev: app developers whose requests carry fixed few-shot assistant examples
  (assistant turns the gateway never served, repeated verbatim).
* habit_student: students who open every message, problems and follow-ups alike, with
  the same personal phrase ("Hello again!"), drawn from a short list so that many share
  it (tests that a recurring opening on follow-ups is not mistaken for a harvest wrapper).
* class_student: students of five classes, each class pasting the SAME worksheet problems
  (one list per class; each student a subset, in order) into the teacher's fixed wording
  (a harvest-like wrapper many accounts share), who rarely follow up (tests the linking
  gates against an honest shared wrapper; until session 3's last round every student
  drew its own problems, which no class does).
* stealth_follow: the stealth strategy (light shared wrappers, human timing, one
  residential IP each) with a student's follow-ups to the answers it really received, at
  the class students' rate: what a class of honest students looks like to the detector.
* adaptive_para: the benchmark's adaptive strategy with a fresh wording around every
  problem (what paraphrasing with a model gives): no wrapper recurs, so nothing is shared.
* adaptive_fab: adaptive attackers who fabricate the assistant turns of their fake
  histories instead of replaying served answers (the lazy variant).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import templates as T  # noqa: E402
import traffic  # noqa: E402

from distillguard.detect.offline import scan_events  # noqa: E402
from distillguard.events import RequestEvent, read_events  # noqa: E402

COT_BATCH = [
    "Think step by step about the customer message below, then classify it as billing, "
    "technical or other. End with 'Label: <label>'.\n\n{p}",
    "Read the following text carefully. Reason through whether it contains a complaint, "
    "then answer yes or no.\n\n{p}",
]
CLASS_SHEETS = [
    "Worksheet 4, exercise: {p} Show your working and box the final answer.",
    "Unit review problem. {p} Explain each step so the grader can follow.",
    "Practice set B. {p} Write the answer with units.",
    "Homework for Ms. Rivera's class: {p} Justify every step.",
    "Revision question. {p} Give the final answer on its own line.",
]
HABITS = [
    "Hello again!",
    "Quick question about my homework.",
    "Hey there, me again.",
    "Good evening tutor bot.",
    "Okay next thing.",
    "Sorry to bother you again.",
]
FEWSHOT = [
    ("Classify: 'My card was charged twice'", "billing"),
    ("Classify: 'The app crashes on start'", "technical"),
]


CLASS_SHEET_PROBLEMS = 40  # a week of worksheets for one class


class Stress(traffic.Gen):
    sheets: dict[str, list[str]] | None = None  # class wording -> that class's problems

    def naive_instr(self, op: str, template: str) -> None:
        a = self.new_account(traffic.Label("naive_instr", op, attack=True))
        meta = {"ip": self.cloud_ip(), "ua": self.rng.choice(traffic.SDK_UA), "country": "US"}
        t = self.rng.random() * traffic.WEEK * 0.5
        spacing = self.rng.choice([0.4, 1.0, 2.0, 5.0])
        for _ in range(self.rng.randint(600, 1500)):
            p = template.format(p=self.problem("writing"))
            self.emit(t, a, meta, [{"role": "user", "content": p}], self.attack_params(False))
            t += spacing * self.rng.uniform(0.9, 1.1)

    def thread_student(self, multi: bool, foreign: float = 0.0) -> None:
        kind = "multi_student" if multi else "switch_student" if foreign else "thread_student"
        a = self.new_account(traffic.Label(kind, None, attack=False, hard=True))
        meta = self.human_meta()
        tz = self.rng.randint(-8, 9)
        follow_rate = (
            self.rng.betavariate(2, 5) if multi else min(0.95, max(0.1, self.rng.betavariate(3, 3)))
        )
        asks, follows = self.words(T.STUDENT_ASK), self.words(T.STUDENT_FOLLOW)
        courses = list(self.pools.problems) if multi else [self.rng.choice(["math", "code"])]
        for start in self.human_sessions(self.rng.randint(2, 6), tz):
            t = start
            hist: list[dict[str, str]] = []
            for _ in range(self.rng.randint(2, 8)):
                p = self.rng.choice(asks).format(p=self.problem(self.rng.choice(courses)))
                msgs = [*(hist[-6:] if not multi else []), {"role": "user", "content": p}]
                self.reply(t, a, meta, msgs, hist, foreign)
                t += self.gap(120)
                while self.rng.random() < follow_rate and len(hist) < 40:
                    f = self.rng.choice(follows)
                    msgs = [*hist[-6:], {"role": "user", "content": f}]
                    self.reply(t, a, meta, msgs, hist, foreign)
                    t += self.gap(60)
                t += self.gap(200)

    def habit_student(self) -> None:
        a = self.new_account(traffic.Label("habit_student", None, attack=False, hard=True))
        meta = self.human_meta()
        tz = self.rng.randint(-8, 9)
        follow_rate = min(0.95, max(0.1, self.rng.betavariate(3, 3)))
        habit = self.rng.choice(HABITS)
        asks, follows = self.words(T.STUDENT_ASK), self.words(T.STUDENT_FOLLOW)
        course = self.rng.choice(["math", "math", "science", "code"])
        for start in self.human_sessions(self.rng.randint(2, 6), tz):
            t = start
            for _ in range(self.rng.randint(2, 6)):
                p = habit + " " + self.rng.choice(asks).format(p=self.problem(course))
                hist: list[dict[str, str]] = []
                self.reply(t, a, meta, [{"role": "user", "content": p}], hist)
                t += self.gap(120)
                while self.rng.random() < follow_rate and len(hist) < 9:
                    f = habit + " " + self.rng.choice(follows)
                    self.reply(t, a, meta, [*hist, {"role": "user", "content": f}], hist)
                    t += self.gap(60)
                t += self.gap(200)

    def worksheet(self, sheet: str) -> list[str]:
        """The class's problems for the week: one course, drawn once per class, so the
        students of a class paste the SAME problems (a teacher sets them all one sheet)."""
        if self.sheets is None:
            self.sheets = {}
        if sheet not in self.sheets:
            course = self.rng.choice(["math", "science"])
            self.sheets[sheet] = [self.problem(course) for _ in range(CLASS_SHEET_PROBLEMS)]
        return self.sheets[sheet]

    def class_student(self, sheet: str) -> None:
        a = self.new_account(traffic.Label("class_student", None, attack=False, hard=True))
        meta = self.human_meta()
        tz = self.rng.randint(-8, 9)
        follow_rate = self.rng.betavariate(2, 5)
        follows = self.words(T.STUDENT_FOLLOW)
        # the student works through the class worksheet in order and asks about a share of
        # its problems (the ones it is stuck on); done when the sheet runs out
        share = self.rng.uniform(0.4, 0.9)
        todo = [q for q in self.worksheet(sheet) if self.rng.random() < share]
        for start in self.human_sessions(self.rng.randint(2, 6), tz):
            t = start
            for _ in range(self.rng.randint(3, 10)):
                if not todo:
                    break
                hist: list[dict[str, str]] = []
                p = sheet.format(p=todo.pop(0))
                self.reply(t, a, meta, [{"role": "user", "content": p}], hist)
                t += self.gap(120)
                while self.rng.random() < follow_rate and len(hist) < 9:
                    f = self.rng.choice(follows)
                    self.reply(t, a, meta, [*hist, {"role": "user", "content": f}], hist)
                    t += self.gap(60)

    def stealth_follow(self, op: str, n_accounts: int) -> None:
        light = self.words(T.LIGHT)
        dom_mix = list(self.pools.problems)
        follows = self.words(T.STUDENT_FOLLOW)
        for _ in range(n_accounts):
            a = self.new_account(traffic.Label("stealth_follow", op, attack=True))
            meta = self.human_meta()
            wrappers = self.rng.sample(light, self.rng.randint(1, 3))  # one campaign
            tz = self.rng.randint(-8, 9)
            follow_rate = self.rng.betavariate(2, 5)
            n = self.rng.randint(20, 60)
            sent = 0
            for start in self.human_sessions(max(2, n // 5), tz):
                t = start
                for _ in range(self.rng.randint(3, 7)):
                    if sent >= n:
                        break
                    hist: list[dict[str, str]] = []
                    p = self.rng.choice(wrappers).format(p=self.problem(self.rng.choice(dom_mix)))
                    self.reply(t, a, meta, [{"role": "user", "content": p}], hist)
                    sent += 1
                    t += self.gap(150)
                    while self.rng.random() < follow_rate and len(hist) < 9:
                        f = self.rng.choice(follows)
                        self.reply(t, a, meta, [*hist, {"role": "user", "content": f}], hist)
                        t += self.gap(60)

    def paraphrase(self) -> tuple[str, str]:
        """An opening and a request written fresh each time (thousands of combinations)."""
        r = self.rng
        opener = " ".join(
            r.sample(["hi", "so", "ok", "hey", "well", "right", "alright", "hello", "um"], 2)
        ) + r.choice([",", ".", "!", " -", ""])
        verb = r.choice(["walk me through", "help me with", "explain", "work out", "tackle"])
        tail = r.sample(["carefully", "in detail", "please", "for me", "slowly", "fully"], 2)
        ask = f"{r.choice(['could you', 'can you', 'would you', 'pls'])} {verb} {' '.join(tail)}"
        return opener, ask + r.choice(["?", ".", "", " thx"])

    def adaptive_para(self, op: str, n_accounts: int) -> None:
        fake = T.FAKE_FOLLOW
        for _ in range(n_accounts):
            a = self.new_account(traffic.Label("adaptive_para", op, attack=True))
            meta = self.human_meta()
            tz = self.rng.randint(-8, 9)
            n = self.rng.randint(40, 120)
            sent = 0
            for start in self.human_sessions(max(3, n // 6), tz):
                t = start
                hist: list[dict[str, str]] = []
                for _ in range(self.rng.randint(3, 8)):
                    if sent >= n:
                        break
                    r = self.rng.random()
                    if r < 0.35:
                        msgs = [
                            {"role": "user", "content": self.rng.choice(self.pools.benign_single)}
                        ]
                    elif r < 0.45 and hist:
                        msgs = [*hist[-4:], {"role": "user", "content": self.rng.choice(fake)}]
                    else:
                        opener, ask = self.paraphrase()
                        p = f"{opener} {self.problem()} {ask}"
                        keep = hist[-4:] if self.rng.random() < 0.5 else []
                        msgs = [*keep, {"role": "user", "content": p}]
                    self.reply(t, a, meta, msgs, hist)
                    sent += 1
                    t += self.gap(120)

    def reply(
        self,
        t: float,
        a: str,
        meta: dict[str, Any],
        msgs: list[dict[str, str]],
        hist: list[dict[str, str]],
        foreign: float = 0.0,
    ) -> None:
        params = self.human_params()
        ans = self.filler(msgs[-1]["content"])
        self.emit(t, a, meta, msgs, params, ans)
        if self.rng.random() < foreign:  # the user re-ran the turn on another provider's model
            ans = self.filler(msgs[-1]["content"])
        hist[:] = [*msgs, {"role": "assistant", "content": ans}]

    def cot_batch(self) -> None:
        org = f"org-{self.rng.getrandbits(24):06x}"
        a = self.new_account(traffic.Label("cot_batch", org, attack=False, hard=True))
        template = self.rng.choice(COT_BATCH)
        meta = {"ip": self.cloud_ip(), "ua": self.rng.choice(traffic.SDK_UA), "org": org}
        t = self.rng.random() * (traffic.WEEK - 10000)
        for _ in range(self.rng.randint(300, 1200)):
            doc = self.rng.choice(self.pools.documents)
            msgs = [{"role": "user", "content": template.format(p=doc)}]
            self.emit(t, a, meta, msgs, {"temperature": 0, "max_tokens": 512})
            t += self.rng.uniform(0.4, 0.6)

    def fewshot_dev(self) -> None:
        org = f"org-{self.rng.getrandbits(24):06x}"
        a = self.new_account(traffic.Label("fewshot_dev", org, attack=False, hard=True))
        meta = {"ip": self.cloud_ip(), "ua": self.rng.choice(traffic.SDK_UA), "org": org}
        shots: list[dict[str, str]] = []
        for q, ans in FEWSHOT:
            shots += [{"role": "user", "content": q}, {"role": "assistant", "content": ans}]
        tz = self.rng.randint(-8, 9)
        for start in self.human_sessions(self.rng.randint(4, 12), tz):
            t = start
            for _ in range(self.rng.randint(5, 30)):
                doc = self.rng.choice(self.pools.documents)[:300]
                msgs = [*shots, {"role": "user", "content": f"Classify: '{doc}'"}]
                self.emit(t, a, meta, msgs, {"temperature": 0, "max_tokens": 16})
                t += self.rng.uniform(0.5, 8)

    def adaptive_fab(self, op: str, n_accounts: int) -> None:
        opens, asks = T.pick(T.ADAPT_OPEN, self.split), T.pick(T.ADAPT_ASK, self.split)
        for _ in range(n_accounts):
            a = self.new_account(traffic.Label("adaptive_fab", op, attack=True))
            meta = self.human_meta()
            tz = self.rng.randint(-8, 9)
            n = self.rng.randint(40, 120)
            sent = 0
            for start in self.human_sessions(max(3, n // 6), tz):
                t = start
                for _ in range(self.rng.randint(3, 8)):
                    if sent >= n:
                        break
                    r = self.rng.random()
                    if r < 0.35:
                        msgs = [
                            {"role": "user", "content": self.rng.choice(self.pools.benign_single)}
                        ]
                    else:
                        p = " ".join(
                            x
                            for x in (self.rng.choice(opens), self.problem(), self.rng.choice(asks))
                            if x
                        )
                        msgs = [{"role": "user", "content": p}]
                        if self.rng.random() < 0.6:  # fabricated prior exchange
                            q = self.problem()
                            msgs = [
                                {"role": "user", "content": q},
                                {"role": "assistant", "content": self.filler(q)},
                                *msgs,
                            ]
                    self.emit(t, a, meta, msgs, self.human_params())
                    sent += 1
                    t += self.gap(120)


def main() -> None:
    out = HERE / "out"
    if "--reuse" in sys.argv:  # score the last generated stress log again
        labels = {
            a: traffic.Label(**d)
            for a, d in json.loads((out / "labels-stress-tune.json").read_text()).items()
        }
        report(read_events(out / "stress-tune.jsonl"), labels)
        return
    g = Stress(traffic.random.Random(11), traffic.load_pools("tune"), "tune")
    base, base_labels = traffic.generate(1, "tune", 0.5)
    for i, tpl in enumerate(g.words(T.COT)):
        g.naive_instr(f"naive_instr-{i}", tpl)
    for _ in range(300):
        g.thread_student(multi=False)
    for _ in range(300):
        g.thread_student(multi=True)
    for _ in range(300):
        g.thread_student(multi=False, foreign=0.3)
    for _ in range(20):
        g.cot_batch()
    for _ in range(30):
        g.fewshot_dev()
    g.adaptive_fab("adaptive_fab-0", 50)
    for _ in range(300):  # last, so the populations above keep their random draws
        g.habit_student()
    g.adaptive_para("adaptive_para-0", 50)
    for i in range(200):
        g.class_student(CLASS_SHEETS[i % len(CLASS_SHEETS)])
    g.stealth_follow("stealth_follow-0", 50)
    labels = {**base_labels, **g.labels}
    events = sorted(
        [(RequestEvent.from_dict(e).ts.timestamp(), e) for e in base]
        + [(ts + traffic.START.timestamp(), e) for ts, e in g.events],
        key=lambda te: te[0],
    )
    out.mkdir(exist_ok=True)
    traffic.write([e for _, e in events], out / "stress-tune.jsonl")
    (out / "labels-stress-tune.json").write_text(
        json.dumps({a: lb.__dict__ for a, lb in labels.items()})
    )
    report((RequestEvent.from_dict(e) for _, e in events), labels)


def report(events: Iterable[RequestEvent], labels: dict[str, traffic.Label]) -> None:
    res = scan_events(events)
    acc = {a["account"]: a for a in res.report["accounts"]}
    kinds = Counter(lb.kind for lb in labels.values())
    for k in sorted(kinds):
        accts = [a for a, lb in labels.items() if lb.kind == k and a in acc]
        d = sum(acc[a]["verdict"] == "distillation" for a in accts)
        s = sum(acc[a]["verdict"] == "suspicious" for a in accts)
        mark = "attack" if labels[accts[0]].attack else "benign"
        camps = Counter(acc[a]["campaign"] for a in accts if acc[a]["campaign"])
        grouped = camps.most_common(1)[0][1] if camps else 0
        in_any = sum(1 for a in accts if acc[a]["campaign"])
        print(
            f"{k:15s} {mark} n={len(accts):5d} distillation {d:4d} suspicious {s:4d} "
            f"in a campaign {in_any:4d} (largest {grouped}); score min/median/max "
            + "/".join(f"{v:.2f}" for v in _spread([acc[a]["score"] for a in accts]))
        )


def _spread(v: list[float]) -> tuple[float, float, float]:
    v = sorted(v)
    return v[0], v[len(v) // 2], v[-1]


if __name__ == "__main__":
    main()
