"""Detection benchmark: a week of labelled traffic, distillguard vs MMD / SEAT / PRADA baselines.

    .venv/bin/python bench/detect/run.py                     # reported run: seed 2, held-out split
    .venv/bin/python bench/detect/run.py --split tune --seed 1   # what the detector was tuned on
    .venv/bin/python bench/detect/run.py --scale 0.3             # CI-sized

Everything is measured in one run on the same generated log: the offline scan (the
`distillguard detect` code path, parsing included) for the scan rate, the online
`observe()` loop on pre-parsed events for the per-request cost (next to the cost of merely
parsing a line, as a same-run baseline), then the metrics of THREAT_MODEL/issue 5.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import baselines  # noqa: E402
import traffic  # noqa: E402

from distillguard.detect import OnlineDetector  # noqa: E402
from distillguard.detect.offline import scan_files  # noqa: E402
from distillguard.events import RequestEvent, read_events  # noqa: E402

ORDINARY = {"chat", "power"}
HARD = {"student", "batch", "appdev"}


def auroc(pos: list[float], neg: list[float]) -> float:
    """Mann-Whitney AUROC with ties counted half."""
    import numpy as np

    s = np.array(pos + neg)
    order = s.argsort(kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    rp = ranks[: len(pos)].sum()
    return float((rp - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def metrics(
    scores: dict[str, float], flagged: dict[str, bool], labels: dict[str, traffic.Label]
) -> dict[str, Any]:
    pos = [scores[a] for a, lb in labels.items() if lb.attack and a in scores]
    neg = [scores[a] for a, lb in labels.items() if not lb.attack and not lb.gray and a in scores]
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for a, lb in labels.items():
        by_kind[lb.kind].append(flagged.get(a, False))

    def rate(kinds: set[str] | None = None, attack: bool | None = None) -> tuple[float, int]:
        vals = [
            flagged.get(a, False)
            for a, lb in labels.items()
            if (kinds is None or lb.kind in kinds) and (attack is None or lb.attack == attack)
        ]
        return (sum(vals) / len(vals) if vals else 0.0, len(vals))

    return {
        "auroc": auroc(pos, neg),
        "recall": rate(attack=True),
        "ordinary_fp": rate(ORDINARY),
        "hard_fp": rate(HARD),
        "per_kind": {k: (sum(v) / len(v), len(v)) for k, v in sorted(by_kind.items())},
    }


def campaign_metrics(report: dict[str, Any], labels: dict[str, traffic.Label]) -> dict[str, Any]:
    camp_of = {a["account"]: a["campaign"] for a in report["accounts"]}
    out: dict[str, Any] = {}
    for group in sorted({lb.group for lb in labels.values() if lb.attack and lb.group}):
        if not group.startswith(("hydra", "stealth", "adaptive")):
            continue
        accts = [a for a, lb in labels.items() if lb.group == group]
        ids = Counter(camp_of.get(a) for a in accts if camp_of.get(a))
        best = ids.most_common(1)[0][1] if ids else 0
        out[group] = (best / len(accts), len(accts))
    purities = []
    sizes = []
    for c in report["campaigns"]:
        truth = Counter(
            (labels[a].group if labels[a].attack else f"benign:{labels[a].group or a}")
            for a in c["accounts"]
            if a in labels
        )
        purities.append(truth.most_common(1)[0][1] / max(1, sum(truth.values())))
        sizes.append(len(c["accounts"]))
    weighted = sum(p * s for p, s in zip(purities, sizes, strict=True)) / max(1, sum(sizes))
    out["purity_weighted"] = weighted
    out["purity_min"] = min(purities) if purities else 1.0
    out["n_campaigns"] = len(purities)
    return out


def online_cost(path: Path, limit: int) -> tuple[float, float, float, float]:
    """µs per observe() on parsed events and µs to parse one line (same-run baseline),
    each as wall-clock and as CPU time of this process."""
    import orjson

    lines = path.read_bytes().splitlines()[:limit]
    t0, c0 = time.perf_counter(), time.process_time()
    evs = [RequestEvent.from_dict(orjson.loads(x)) for x in lines]
    parse = (
        (time.perf_counter() - t0) / len(lines) * 1e6,
        (time.process_time() - c0) / len(lines) * 1e6,
    )
    det = OnlineDetector()
    t0, c0 = time.perf_counter(), time.process_time()
    for ev in evs:
        det.observe(ev)
    obs = ((time.perf_counter() - t0) / len(evs) * 1e6, (time.process_time() - c0) / len(evs) * 1e6)
    return obs[0], obs[1], parse[0], parse[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--split", choices=["tune", "test"], default="test")
    ap.add_argument("--scale", type=float, default=0.5)
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--jobs", type=int, default=1, help="also time a parallel scan (N > 1)")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    args = ap.parse_args()
    args.out.mkdir(exist_ok=True)
    t_start = time.perf_counter()
    events, labels = traffic.generate(args.seed, args.split, args.scale)
    log = args.out / f"traffic-{args.split}-{args.seed}.jsonl"
    traffic.write(events, log)
    t_gen = time.perf_counter() - t_start
    kinds = Counter(lb.kind for lb in labels.values())
    print(
        f"generated {len(events):,} requests, {len(labels):,} accounts in {t_gen:.0f}s: "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    )

    t0, c0 = time.perf_counter(), time.process_time()
    n_parsed = sum(1 for _ in read_events(log))
    parse_rate = n_parsed / (time.perf_counter() - t0)
    parse_cpu_rate = n_parsed / (time.process_time() - c0)
    t0, c0 = time.perf_counter(), time.process_time()
    res = scan_files([log], timelines=False)
    scan_s = time.perf_counter() - t0
    report = res.report
    rate = len(events) / scan_s
    cpu_rate = len(events) / (time.process_time() - c0)
    rate2 = float("nan")
    if args.jobs > 1:
        t0 = time.perf_counter()
        res2 = scan_files([log], timelines=False, jobs=args.jobs)
        rate2 = len(events) / (time.perf_counter() - t0)
        assert res2.report == report, "parallel scan must equal the sequential one"
    print(
        f"offline scan: {rate:,.0f} req/s sequential, {rate2:,.0f} req/s with --jobs {args.jobs} "
        f"(baseline in the same run: reading+parsing alone {parse_rate:,.0f} lines/s; "
        f"scan/parse ratio {rate / parse_rate:.2f})"
    )
    print(
        f"  per CPU-second of this process: scan {cpu_rate:,.0f} req/s, parsing alone "
        f"{parse_cpu_rate:,.0f} lines/s (the machine is shared: wall-clock rates include "
        "time other processes held the CPU)"
    )
    obs_us, obs_cpu, parse_us, parse_cpu = online_cost(log, 30_000)
    print(
        f"online observe(): {obs_us:.1f} µs/request wall, {obs_cpu:.1f} µs CPU "
        f"(same-run baseline, parsing one line: {parse_us:.1f} µs wall, {parse_cpu:.1f} µs CPU; "
        f"ratio {obs_cpu / parse_cpu:.1f}x)"
    )

    acc = {a["account"]: a for a in report["accounts"]}
    scores = {a: v["score"] for a, v in acc.items()}
    flagged = {a: v["verdict"] == "distillation" for a, v in acc.items()}
    m = metrics(scores, flagged, labels)
    print(
        f"\ndistillguard: AUROC {m['auroc']:.4f}; recall {m['recall'][0]:.1%} of "
        f"{m['recall'][1]}; FP ordinary {m['ordinary_fp'][0]:.2%} of {m['ordinary_fp'][1]}; "
        f"FP hard {m['hard_fp'][0]:.2%} of {m['hard_fp'][1]}"
    )
    for k, (r, n) in m["per_kind"].items():
        sus = (
            sum(
                1
                for a, lb in labels.items()
                if lb.kind == k and acc.get(a, {}).get("verdict") == "suspicious"
            )
            / n
        )
        print(f"  {k:11s} n={n:5d} distillation {r:6.1%}  suspicious {sus:6.1%}")
    for kind in ("naive", "capability", "coercion"):
        ns = [
            acc[a]["first_flagged_requests"]
            for a, lb in labels.items()
            if lb.kind == kind and acc[a]["first_flagged_requests"] is not None
        ]
        if ns:
            print(f"  median requests to flag {kind}: {statistics.median(ns):.0f} (n={len(ns)})")
    import orjson

    (args.out / f"report-{args.split}-{args.seed}.json").write_bytes(orjson.dumps(report))
    (args.out / f"labels-{args.split}-{args.seed}.json").write_bytes(
        orjson.dumps({a: lb.__dict__ for a, lb in labels.items()})
    )
    cm = campaign_metrics(report, labels)
    print(
        "campaigns:",
        {k: (round(v[0], 3), v[1]) if isinstance(v, tuple) else round(v, 3) for k, v in cm.items()},
    )
    if not args.no_baselines:
        t0 = time.perf_counter()
        # benign reference: the provider's own earlier traffic, i.e. the same population
        # (same split) under another seed; its attack accounts are dropped
        ref_events, ref_labels = traffic.generate(args.seed + 100, args.split, 0.15)
        bl = baselines.run_all(events, labels, ref_events, ref_labels)
        for name, (sc, fl) in bl.items():
            bm = metrics(sc, fl, labels)
            print(
                f"{name:8s}: AUROC {bm['auroc']:.4f}; recall {bm['recall'][0]:.1%}; "
                f"FP ordinary {bm['ordinary_fp'][0]:.2%}; FP hard {bm['hard_fp'][0]:.2%}; "
                + " ".join(f"{k}={r:.0%}" for k, (r, _) in bm["per_kind"].items())
            )
        print(f"baselines took {time.perf_counter() - t0:.0f}s")
    print(f"total {time.perf_counter() - t_start:.0f}s")


if __name__ == "__main__":
    main()
