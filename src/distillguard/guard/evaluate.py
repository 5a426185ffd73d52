# ruff: noqa: E501
"""The guard benchmark behind `distillguard guard eval` and bench/guard/run.py.

Reports (as one JSON-able dict): leave-one-family-out catch rates, benign false alarms
per shared file (out-of-fold for the sets we train on, plain for the others), verdicts on
the distill/ problem sets, the held-out attack wordings (bench/guard/data, written last
and never tuned on), the leak detector on GSM8K-based traces, and costs with a baseline
measured in the same run (the machine is shared, so ratios are more stable than ms).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from distillguard.guard import training as T
from distillguard.guard.inputguard import InputGuard
from distillguard.guard.model import LinearModel
from distillguard.paths import shared_data

DISTILL_FILES = (
    "gsm8k_train.jsonl",
    "math_mmlu_stem.jsonl",
    "math_asdiv.jsonl",
    "math_mawps.jsonl",
    "math_svamp.jsonl",
    "alpaca_en_demo_1k.jsonl",
    "mbpp.jsonl",
    "math_aqua.jsonl",
    "self_instruct_seed_tasks.jsonl",
    "humaneval.jsonl",
    "math_amc23.jsonl",
    "math_aime24.jsonl",
    "math_sat_math.jsonl",
)

Progress = Callable[[str], None]


def _rates(verdicts: list[str]) -> dict[str, Any]:
    n = len(verdicts)
    b = verdicts.count("block")
    f = verdicts.count("flag")
    return {
        "n": n,
        "block": b,
        "flag": f,
        "block_rate": b / n if n else 0.0,
        "flag_rate": f / n if n else 0.0,
    }


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


def eval_benign(
    model: LinearModel, cv: T.CVResult | None, guard: InputGuard, progress: Progress
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if cv is not None:
        # out-of-fold: fold k is judged with thresholds calibrated on the other folds
        names = list(cv.oof)
        for k in range(T.FOLDS):
            other = [
                s for nm in names for s, f in zip(cv.oof[nm], cv.fold_of[nm], strict=True) if f != k
            ]
            t = LinearModel(0.0, [], np.zeros(0))
            T.calibrate(t, other)
            for nm in names:
                acc = out.setdefault(nm, {"verdicts": []})
                for s, f in zip(cv.oof[nm], cv.fold_of[nm], strict=True):
                    if f == k:
                        acc["verdicts"].append(T.verdict_of(t, s))
        for nm in names:
            out[nm] = {"mode": "5-fold out-of-fold", **_rates(out[nm].pop("verdicts"))}
    for name in T.EVAL_ONLY_BENIGN + (() if cv is not None else T.TRAINABLE_BENIGN):
        p = shared_data("benign", name)
        if p is None:
            continue
        progress(f"benign {name}")
        vs = [guard.check(t).verdict for t in T.read_prompts(p)]
        out[name] = {"mode": "never trained on", **_rates(vs)}
    return out


def eval_distill(guard: InputGuard, progress: Progress) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in DISTILL_FILES:
        p = shared_data("distill", name)
        if p is None:
            continue
        progress(f"distill {name}")
        out[name] = _rates([guard.check(t).verdict for t in T.read_prompts(p)])
    return out


def eval_heldout(guard: InputGuard, path: Path) -> dict[str, Any]:
    """Attack wordings written last, in another style, never used for training or tuning."""
    if not path.exists():
        return {}
    rows = [
        json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()
    ]
    atk = [r for r in rows if r.get("label") == "attack"]
    ben = [r for r in rows if r.get("label") == "benign"]
    va = [guard.check(r.get("messages") or r["prompt"]) for r in atk]
    vb = [guard.check(r.get("messages") or r["prompt"]) for r in ben]
    missed = [
        r["prompt"][:120] if "prompt" in r else str(r["messages"])[:120]
        for r, v in zip(atk, va, strict=True)
        if v.verdict == "allow"
    ]
    alarms = [
        r["prompt"][:120]
        for r, v in zip(ben, vb, strict=True)
        if v.verdict != "allow" and "prompt" in r
    ]
    return {
        "attacks": len(atk),
        "attacks_caught_rate": sum(v.verdict != "allow" for v in va) / len(atk) if atk else 0.0,
        "attacks_blocked_rate": sum(v.verdict == "block" for v in va) / len(atk) if atk else 0.0,
        "benign": len(ben),
        "benign_alarms": sum(v.verdict != "allow" for v in vb),
        "missed": missed,
        "benign_alarm_examples": alarms,
    }


def cost_texts(n: int = 3000) -> list[str]:
    """The prompts timed by the cost sections: every k-th real benign prompt and attack."""
    texts: list[str] = []
    for name in T.TRAINABLE_BENIGN + T.EVAL_ONLY_BENIGN:
        p = shared_data("benign", name)
        if p is not None:
            texts.extend(T.read_prompts(p))
    from distillguard.guard.data import attacks

    texts.extend(e.text for e in attacks.generate(60))
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def input_cost(guard: InputGuard, n: int = 3000) -> dict[str, Any]:
    """Per-request latency of `InputGuard.check` on real benign prompts and our attacks."""
    texts = cost_texts(n)
    lat: list[float] = []
    lat_min3: list[float] = []
    base: list[float] = []
    noise: list[float] = []
    for t in texts:
        body = json.dumps({"messages": [{"role": "user", "content": t}]})
        t0 = time.perf_counter()
        msgs = json.loads(body)["messages"]  # baseline: parsing the request body
        t1 = time.perf_counter()
        guard.check(msgs)
        t2 = time.perf_counter()
        base.append((t1 - t0) * 1000)
        lat.append((t2 - t1) * 1000)
        # intrinsic cost: best of three more runs (removes scheduler stalls of a shared box)
        best = lat[-1]
        for _ in range(3):
            a = time.perf_counter()
            guard.check(msgs)
            best = min(best, (time.perf_counter() - a) * 1000)
        lat_min3.append(best)
        # noise probe: a fixed ~0.05 ms pure-Python workload, timed the same way
        a = time.perf_counter()
        sum(range(3000))
        noise.append((time.perf_counter() - a) * 1000)
    return {
        "requests": len(lat),
        "mean_chars": statistics.mean(len(t) for t in texts),
        "p50_ms": _pct(lat, 0.5),
        "p99_ms": _pct(lat, 0.99),
        "max_ms": max(lat),
        "p50_best_of_4_ms": _pct(lat_min3, 0.5),
        "p99_best_of_4_ms": _pct(lat_min3, 0.99),
        "baseline_json_parse_p50_ms": _pct(base, 0.5),
        "baseline_json_parse_p99_ms": _pct(base, 0.99),
        "noise_probe_p50_ms": _pct(noise, 0.5),
        "noise_probe_p99_ms": _pct(noise, 0.99),
    }


def run(
    *,
    per_family: int = 300,
    heldout: dict[str, Path] | None = None,
    progress: Progress = lambda s: None,
) -> dict[str, Any]:
    """The whole input-guard benchmark (train, cross-validate, leave-one-family-out)."""
    t0 = time.perf_counter()
    progress("features")
    corpus = T.load_corpus(per_family)
    model, cv = T.train_default(corpus, progress=progress)
    guard = InputGuard(model)
    result: dict[str, Any] = {
        "thresholds": {"flag": model.flag_threshold, "block": model.block_threshold},
        "training": model.meta,
    }
    result["lofo"] = T.lofo(corpus, model, None, progress)
    caught = [r["caught_rate"] for r in result["lofo"].values()]
    total = sum(r["n"] for r in result["lofo"].values())
    result["lofo_summary"] = {
        "families": len(caught),
        "mean_caught_rate": statistics.mean(caught),
        "min_caught_rate": min(caught),
        "pooled_caught_rate": sum(r["block"] + r["flag"] for r in result["lofo"].values()) / total,
    }
    result["benign"] = eval_benign(model, cv, guard, progress)
    result["distill"] = eval_distill(guard, progress)
    result["heldout"] = {name: eval_heldout(guard, p) for name, p in (heldout or {}).items()}
    result["leak"] = leak_eval(progress=progress)
    progress("input cost")
    result["input_cost"] = input_cost(guard)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    return result


def leak_eval(n: int = 2000, progress: Progress = lambda s: None) -> dict[str, Any]:
    """Leak detector on GSM8K problems: disguised copies caught, honest answers passed."""
    from distillguard.guard.evaldata import build_trace, honest_answers, leak_variants
    from distillguard.guard.leak import LeakDetector

    p = shared_data("distill", "gsm8k_train.jsonl")
    if p is None:
        return {}
    rows = []
    with p.open(encoding="utf-8") as f:
        for line in f:
            obj = json.loads(line)
            rows.append((obj["prompt"], str(obj.get("answer", ""))))
    rows = rows[:n]
    progress(f"leak detector on {len(rows)} problems")
    det = LeakDetector()
    caught: dict[str, int] = {}
    withheld: dict[str, int] = {}
    for i, (prob, ans) in enumerate(rows):
        trace = build_trace(prob, ans, i)
        for kind, text in leak_variants(trace, i).items():
            caught[kind] = caught.get(kind, 0) + det.check(trace, text).leaked
        for kind, text in honest_answers(prob, ans).items():
            withheld[kind] = withheld.get(kind, 0) + det.check(trace, text).leaked
    # real human text as the hidden part: long ShareGPT turns leaked verbatim / disguised
    extra: dict[str, int] = {}
    sp = shared_data("benign", "sharegpt_sample.jsonl")
    m = 0
    if sp is not None:
        longs = [t for t in T.read_prompts(sp) if 600 <= len(t) <= 6000][:300]
        m = len(longs)
        half = len(longs) // 2  # far apart in the file: other conversations, not follow-ups
        others = longs[half:] + longs[:half]
        for i, (t, o) in enumerate(zip(longs, others, strict=True)):
            for kind, text in leak_variants(t, i).items():
                extra[kind] = extra.get(kind, 0) + det.check(t, text).leaked
            extra["unrelated_withheld"] = (
                extra.get("unrelated_withheld", 0) + det.check(t, o).leaked
            )
    return {
        "problems": len(rows),
        "caught_rate": {k: v / len(rows) for k, v in caught.items()},
        "honest_withheld_rate": {k: v / len(rows) for k, v in withheld.items()},
        "sharegpt_texts": m,
        "sharegpt_caught_rate": {k: v / m for k, v in extra.items()} if m else {},
    }


def markdown(res: dict[str, Any]) -> str:
    """The benchmark as markdown tables (pasted into docs/benchmarks.md)."""
    L: list[str] = []
    th = res["thresholds"]
    L.append(
        f"Thresholds (calibrated on out-of-fold benign scores): flag >= {th['flag']}, block >= {th['block']}.\n"
    )
    s = res["lofo_summary"]
    L.append(
        f"**Leave-one-family-out** ({s['families']} families; target >= 97% blocked or flagged): "
        f"pooled {s['pooled_caught_rate']:.1%}, mean {s['mean_caught_rate']:.1%}, worst family {s['min_caught_rate']:.1%}.\n"
    )
    L.append("| held-out family | prompts | block | flag | allow | caught |")
    L.append("|---|---:|---:|---:|---:|---:|")
    for fam, r in res["lofo"].items():
        L.append(
            f"| {fam} | {r['n']} | {r['block']} | {r['flag']} | {r['allow']} | {r['caught_rate']:.1%} |"
        )
    L.append("\n**Benign false alarms** (targets: block <= 0.05%, flag <= 1%)\n")
    L.append("| file | how | prompts | block | flag | block % | flag % |")
    L.append("|---|---|---:|---:|---:|---:|---:|")
    tot = {"n": 0, "block": 0, "flag": 0}
    for name, r in res["benign"].items():
        L.append(
            f"| {name} | {r['mode']} | {r['n']} | {r['block']} | {r['flag']} | {r['block_rate']:.3%} | {r['flag_rate']:.2%} |"
        )
        for k in tot:
            tot[k] += r[k]
    if tot["n"]:
        L.append(
            f"| **all benign** | | {tot['n']} | {tot['block']} | {tot['flag']} | {tot['block'] / tot['n']:.3%} | {tot['flag'] / tot['n']:.2%} |"
        )
    if res.get("distill"):
        L.append("\n**distill/ problem sets** (ordinary problems, should be allowed)\n")
        L.append("| file | prompts | block | flag |")
        L.append("|---|---:|---:|---:|")
        dt = {"n": 0, "block": 0, "flag": 0}
        for name, r in res["distill"].items():
            L.append(f"| {name} | {r['n']} | {r['block']} | {r['flag']} |")
            for k in dt:
                dt[k] += r[k]
        L.append(f"| **all** | {dt['n']} | {dt['block']} | {dt['flag']} |")
    for name, h in (res.get("heldout") or {}).items():
        if not h:
            continue
        L.append(
            f"\n**Held-out wordings `{name}`**: {h['attacks']} attacks, "
            f"{h['attacks_caught_rate']:.1%} blocked or flagged ({h['attacks_blocked_rate']:.1%} blocked); "
            f"{h['benign']} hard benign, {h['benign_alarms']} false alarms."
        )
        for m in h["missed"]:
            L.append(f"- missed: `{m}`")
        for m in h["benign_alarm_examples"]:
            L.append(f"- false alarm: `{m}`")
    lk = res.get("leak")
    if lk:
        L.append(
            f"\n**Leak detector** on {lk['problems']} GSM8K problems (trace built around the real problem and answer):\n"
        )
        L.append("| leaked as | caught |")
        L.append("|---|---:|")
        for k, v in lk["caught_rate"].items():
            L.append(f"| {k} | {v:.1%} |")
        for k, v in lk["honest_withheld_rate"].items():
            L.append(f"| honest answer ({k}) withheld | {v:.2%} |")
        if lk.get("sharegpt_caught_rate"):
            L.append(
                f"\nOn {lk['sharegpt_texts']} long real ShareGPT texts as the hidden part: "
                + ", ".join(f"{k} {v:.1%}" for k, v in lk["sharegpt_caught_rate"].items())
            )
    c = res["input_cost"]
    L.append(
        f"\n**Input guard cost** ({c['requests']} requests, mean {c['mean_chars']:.0f} chars; target p99 <= 1 ms): "
        f"p50 {c['p50_ms']:.3f} ms, p99 {c['p99_ms']:.3f} ms, max {c['max_ms']:.2f} ms as measured once; "
        f"best of 4 runs per request (removes scheduler stalls): p50 {c['p50_best_of_4_ms']:.3f} ms, p99 {c['p99_best_of_4_ms']:.3f} ms. "
        f"Baselines in the same run: json.loads of the body p50 {c['baseline_json_parse_p50_ms']:.4f} / p99 {c['baseline_json_parse_p99_ms']:.4f} ms; "
        f"a fixed pure-Python noise probe p50 {c['noise_probe_p50_ms']:.3f} / p99 {c['noise_probe_p99_ms']:.3f} ms (its p99/p50 ratio shows the machine's noise)."
    )
    L.append(
        "\nOutput transforms cost: `bench/guard/output_cost.py` (per KB, streamed and whole, "
        "with same-run baselines)."
    )
    L.append(f"\nRun time {res['seconds']} s.")
    return "\n".join(L)
