"""Decision-time benchmark for the default rule pack.

    .venv/bin/python bench/rules/run.py [--n 20000] [--seed 1] [--json OUT]

Measures, on the same generated contexts in the same run (interleaved, so machine noise
hits all contenders alike):
- RuleEngine.decide("access") with the default pack (all 26 access rules, dates, reasons);
- the same policy hand-written in plain Python (bench/rules/baseline.py), checked to agree;
- RuleEngine.decide("transfer") on generated transfer contexts;
- one comparable expression: our compiled rule, a plain lambda, and compiled CEL
  (`common-expression-language`, Rust) via cel.compile(...).execute(ctx), both with the
  Python dict context (converted on every call, as per request) and with a cel.Context
  built beforehand (conversion not timed).
Per-call times come from perf_counter_ns around each call (timer overhead is measured and
reported, not subtracted). Also reported: pack load+compile time and a full hot reload
(load, compile, run the pack's 62 tests, swap).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline

from distillguard.rules import PackManager, RuleEngine, default_pack_path, load_pack_text
from distillguard.rules.samples import access_context, transfer_context

EXPR_PY = 'account.kyc_level in ["none", "basic"] and model.classification == "frontier_restricted"'
EXPR_CEL = 'account.kyc_level in ["none", "basic"] && model.classification == "frontier_restricted"'
ONE_RULE_PACK = f"""\
pack: {{name: one, version: "1"}}
rules:
  - id: one
    domain: access
    title: one
    citation: bench
    status: in_force
    verification: V
    condition: '{EXPR_PY}'
    action: block
    reason_code: one
"""


def pct(xs: list[int], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] / 1000.0


def summary(xs: list[int]) -> dict[str, float]:
    return {
        "p50_us": pct(xs, 0.50),
        "p99_us": pct(xs, 0.99),
        "mean_us": statistics.fmean(xs) / 1000.0,
    }


def interleaved(
    fns: dict[str, Callable[[Any], Any]], items: list[Any], rounds: int = 1
) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {k: [] for k in fns}
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for it in items:
            for k, f in fns.items():
                t0 = clock()
                f(it)
                out[k].append(clock() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="contexts per measurement")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="measurement rounds (pooled)")
    ap.add_argument("--json", type=Path, default=None, help="write results as JSON here")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    engine = RuleEngine.from_path(default_pack_path())
    load_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    mgr = PackManager.from_path(default_pack_path())
    mgr.reload()
    reload_ms = (time.perf_counter() - t0) * 1000 / 2

    ctxs = [access_context(rng) for _ in range(args.n)]
    tctxs = [transfer_context(rng) for _ in range(args.n)]
    # agreement of the hand-written baseline with the pack
    agree = sum(
        (d.action, sorted(d.rule_ids), sorted(d.transforms)) == (a, sorted(ids), tr)
        for c in ctxs
        for d, (a, ids, tr) in [(engine.decide("access", c), baseline.decide(c))]
    )
    actions: dict[str, int] = {}
    for c in ctxs:
        a = engine.decide("access", c).action
        actions[a] = actions.get(a, 0) + 1

    # warm-up, then interleaved measurement
    interleaved({"pack": lambda c: engine.decide("access", c), "py": baseline.decide}, ctxs[:2000])
    acc: dict[str, list[int]] = {"pack": [], "py": [], "timer": []}
    trf: dict[str, list[int]] = {"transfer": []}
    per_repeat: list[tuple[float, float]] = []
    for _ in range(args.repeat):  # pooled; per-repeat p50s show the machine's noise
        a1 = interleaved(
            {
                "pack": lambda c: engine.decide("access", c),
                "py": baseline.decide,
                "timer": lambda c: None,
            },
            ctxs,
        )
        for k, v in a1.items():
            acc[k] += v
        per_repeat.append((pct(a1["pack"], 0.5), pct(a1["py"], 0.5)))
        trf["transfer"] += interleaved({"transfer": lambda c: engine.decide("transfer", c)}, tctxs)[
            "transfer"
        ]

    # one expression three ways
    import cel

    prog = cel.compile(EXPR_CEL)
    one = RuleEngine(load_pack_text(ONE_RULE_PACK, "one.yaml"))
    seg = one._segment("access", time.time())
    rule_fn = seg.rule_fns[0]

    def lam(c: dict[str, Any]) -> bool:
        return (
            c["account"]["kyc_level"] in ("none", "basic")
            and c["model"]["classification"] == "frontier_restricted"
        )

    ectx = []
    for c in ctxs[:5000]:
        c2 = {"account": dict(c["account"]), "model": dict(c["model"])}
        c2["model"]["classification"] = baseline.MODEL_CLASS.get(c["model"]["name"], "general")
        ectx.append(c2)
    mism = sum(bool(prog.execute(c)) != rule_fn(c) or lam(c) != rule_fn(c) for c in ectx)
    # CEL with the context converted beforehand (conversion not timed): the evaluation
    # cost alone, which is what a per-expression figure for CEL usually quotes
    cel_ctxs = [cel.Context(c) for c in ectx]
    cel_pre = interleaved({"cel_pre": prog.execute}, cel_ctxs, rounds=2)
    interleaved({"cel": prog.execute, "ours": rule_fn, "lambda": lam}, ectx[:1000])
    expr = interleaved(
        {
            "cel": prog.execute,
            "ours_rule": rule_fn,
            "lambda": lam,
            "ours_decide": lambda c: one.decide("access", c),
        },
        ectx,
        rounds=2,
    )

    res: dict[str, Any] = {
        "machine": f"{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}",
        "contexts": args.n,
        "seed": args.seed,
        "pack_load_compile_ms": round(load_ms, 1),
        "hot_reload_with_tests_ms": round(reload_ms, 1),
        "baseline_agreement": f"{agree}/{len(ctxs)}",
        "access_actions": actions,
        "access_pack": summary(acc["pack"]),
        "access_plain_python": summary(acc["py"]),
        "timer_overhead": summary(acc["timer"]),
        "transfer_pack": summary(trf["transfer"]),
        "expr_cel": summary(expr["cel"]),
        "expr_cel_preconverted": summary(cel_pre["cel_pre"]),
        "expr_ours_rule": summary(expr["ours_rule"]),
        "expr_ours_decide": summary(expr["ours_decide"]),
        "expr_lambda": summary(expr["lambda"]),
        "expr_mismatches": mism,
        "repeats": args.repeat,
        "access_p50_per_repeat_us": [{"pack": a, "plain_python": b} for a, b in per_repeat],
    }
    r = res
    print(f"{r['machine']}; {args.n} contexts × {args.repeat} rounds, seed {args.seed}")
    print(
        f"pack load+compile {r['pack_load_compile_ms']} ms; hot reload incl. 62 tests "
        f"{r['hot_reload_with_tests_ms']} ms; baseline agreement {r['baseline_agreement']}"
    )
    print(f"access actions: {actions}")
    print(
        f"{args.repeat} rounds pooled; access p50 per round (pack / plain Python): "
        + ", ".join(f"{a:.2f} / {b:.2f} µs" for a, b in per_repeat)
    )
    print()
    print("| measurement | p50 µs | p99 µs | mean µs | p50 ratio |")
    print("|---|---:|---:|---:|---:|")
    base = r["access_plain_python"]["p50_us"]
    rows = [
        ("decide access, default pack (26 rules)", "access_pack", base),
        ("same policy hand-written in Python (baseline)", "access_plain_python", base),
        ("decide transfer, default pack (11 rules)", "transfer_pack", None),
        ("timer overhead (empty call)", "timer_overhead", None),
        ("one expression: compiled CEL (Rust), dict context", "expr_cel", r["expr_cel"]["p50_us"]),
        (
            "one expression: compiled CEL, context converted beforehand (untimed)",
            "expr_cel_preconverted",
            r["expr_cel"]["p50_us"],
        ),
        ("one expression: our compiled rule", "expr_ours_rule", r["expr_cel"]["p50_us"]),
        ("one expression: full decide (1-rule pack)", "expr_ours_decide", r["expr_cel"]["p50_us"]),
        ("one expression: plain lambda", "expr_lambda", r["expr_cel"]["p50_us"]),
    ]
    for label, key, ref in rows:
        s = r[key]
        ratio = f"{s['p50_us'] / ref:.2f}×" if ref else ""
        print(f"| {label} | {s['p50_us']:.2f} | {s['p99_us']:.2f} | {s['mean_us']:.2f} | {ratio} |")
    print()
    ok = r["access_pack"]["p50_us"] <= 20 and r["access_pack"]["p99_us"] <= 50
    print(
        f"target p50 <= 20 µs, p99 <= 50 µs: {'met' if ok else 'MISSED'}; "
        f"expression results identical across CEL/ours/lambda: {mism == 0}"
    )
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
