"""Screening benchmark: quality and speed side by side with nomenklatura's logic-v2.

Run:  bash bench/screening/setup_nomenklatura.sh   (once; creates bench/.venv-nomenklatura)
      .venv/bin/python bench/screening/run.py [--candidates 40] [--no-baseline]

Both matchers see exactly the same candidates (our in-process index retrieves them; yente
would use Elasticsearch). logic-v2 runs in its own venv through nk_score.py in a
subprocess, so distillguard never imports nomenklatura. Results: bench/screening/out/.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cases import PUTIN, Pair, build_pairs, load_lists, load_queries  # noqa: E402

from distillguard.paths import shared_data  # noqa: E402
from distillguard.screening import crossscript as xs_mod  # noqa: E402
from distillguard.screening import normalize as norm_mod  # noqa: E402
from distillguard.screening import score as score_mod  # noqa: E402
from distillguard.screening.index import NameIndex  # noqa: E402
from distillguard.screening.matcher import Matcher, Query  # noqa: E402
from distillguard.screening.normalize import try_normalize  # noqa: E402
from distillguard.screening.pairs import score_pair  # noqa: E402
from distillguard.screening.score import DEFAULT_CONFIG, name_similarity, schemas_compatible  # noqa: E402

NK_PY = HERE.parent / ".venv-nomenklatura" / "bin" / "python"
LOGIC_V2_DEFAULT = 0.7  # yente's default match threshold


def calibrate() -> float:
    """ms for a fixed pure-Python workload: shows how loaded the shared machine was."""
    t = time.perf_counter()
    acc = 0
    for i in range(2_000_000):
        acc += i * i % 7
    return (time.perf_counter() - t) * 1000


def clear_caches() -> None:
    norm_mod._ascii_tokens.cache_clear()
    norm_mod._name_tokens.cache_clear()
    norm_mod.make_token.cache_clear()
    score_mod._SIM_CACHE.clear()
    for f in (xs_mod.latin_key, xs_mod.latin_vowels, xs_mod.key_distance):
        f.cache_clear()  # cross-script keys (Han/Kana/Hangul pairs), cold as well


def logic_v2(rows: list[dict[str, Any]]) -> tuple[list[float], float, float]:
    """Scores from logic-v2, its µs per pair and CPU µs per pair (timed in the subprocess)."""
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    proc = subprocess.run(
        [str(NK_PY), str(HERE / "nk_score.py"), "logic-v2"],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = proc.stdout.strip().splitlines()
    timing = json.loads(lines[-1])["timing"]
    return (
        [json.loads(x)["score"] for x in lines[:-1]],
        float(timing["us_per_pair"]),
        float(timing["cpu_us_per_pair"]),
    )


def f1_at(scores: list[float], labels: list[bool], t: float) -> tuple[float, float, float]:
    tp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= t and y)
    fp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= t and not y)
    fn = sum(1 for s, y in zip(scores, labels, strict=True) if s < t and y)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def tune(scores: list[float], labels: list[bool]) -> float:
    grid = [round(0.5 + i * 0.01, 2) for i in range(51)]
    return max(grid, key=lambda t: (f1_at(scores, labels, t)[2], -abs(t - 0.85)))


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _cached_pairs(out: Path, queries: dict[str, list[str]], entries: list[Any]) -> list[Pair]:
    """The labelled pairs, cached in out/ (git-ignored) keyed by the inputs' hash."""
    h = hashlib.sha256(json.dumps(queries, sort_keys=True).encode())
    for e in entries:
        h.update(e.content_hash().encode())
    cache = out / f"pairs-{h.hexdigest()[:16]}.jsonl"
    if cache.exists():
        return [Pair(**json.loads(x)) for x in cache.read_text("utf-8").splitlines()]
    pairs = build_pairs(queries, entries)
    out.mkdir(parents=True, exist_ok=True)
    cache.write_text(
        "".join(
            json.dumps(
                {
                    "name1": p.name1,
                    "name2": p.name2,
                    "schema": p.schema,
                    "label": p.label,
                    "origin": p.origin,
                },
                ensure_ascii=False,
            )
            + "\n"
            for p in pairs
        ),
        "utf-8",
    )
    return pairs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--candidates", type=int, default=20, help="candidates per query, both matchers"
    )
    ap.add_argument("--no-baseline", action="store_true", help="skip logic-v2")
    ap.add_argument("--out", type=Path, default=HERE / "out")
    args = ap.parse_args()
    d = shared_data("screening")
    if d is None:
        sys.exit("shared data not found: set DISTILLGUARD_SHARED")
    baseline = not args.no_baseline and NK_PY.exists()
    if not args.no_baseline and not baseline:
        print("logic-v2 venv missing: run bash bench/screening/setup_nomenklatura.sh")
    res: dict[str, Any] = {"calibration_ms_before": round(calibrate(), 1)}

    # -- lists and index ----------------------------------------------------------------
    t = time.perf_counter()
    ofac, un, skipped = load_lists(d)
    res["parse_s"] = round(time.perf_counter() - t, 2)
    clear_caches()
    t, c = time.perf_counter(), time.process_time()
    ix = NameIndex()
    for e in ofac + un:
        ix.add(e)
    ix.finalize()
    res["index_build_s"] = round(time.perf_counter() - t, 2)
    res["index_build_cpu_s"] = round(time.process_time() - c, 2)
    gc.collect()
    gc.freeze()  # as ScreeningService does: the long-lived index leaves the cyclic GC
    res["entries"], res["names_indexed"], res["rows_skipped"] = (
        len(ix.entries),
        len(ix.names),
        skipped,
    )
    matcher = Matcher(ix, DEFAULT_CONFIG)
    entry_pos = {(e.source, e.entry_id): i for i, e in enumerate(ix.entries)}
    queries = load_queries(d)
    K = args.candidates

    # -- screening: ours on the production path, candidates kept for logic-v2 ------------
    sets = {
        "un_treated": "Person",
        "putin_81": "Person",
        "congress": "Person",
        "synthetic_us": "Person",
        "synthetic_global": "Person",
        "norway_companies": "Organization",
    }
    latencies: list[float] = []
    cpu_latencies: list[float] = []  # thread CPU time: excludes waiting for a core
    top_ours: dict[str, list[tuple[int | None, float]]] = {}
    nk_rows: list[dict[str, Any]] = []
    nk_index: list[tuple[str, int, int]] = []  # (set, query no, entry)
    cand_pairs = 0
    cand_time = 0.0
    cand_cpu = 0.0
    for name, schema in sets.items():
        top_ours[name] = []
        for qi, q in enumerate(queries[name]):
            t, c = time.perf_counter(), time.thread_time()
            hits = matcher.score_candidates(Query(q, schema), limit=K)  # production path
            latencies.append((time.perf_counter() - t) * 1000)
            cpu_latencies.append((time.thread_time() - c) * 1000)
            if name in ("un_treated", "putin_81"):  # recall needs the top hit at any score
                hits = matcher.score_candidates(Query(q, schema), limit=K, min_score=0.0)
            entry = entry_pos[(hits[0].source, hits[0].entry_id)] if hits else None
            top_ours[name].append((entry, hits[0].score if hits else 0.0))
            nq = try_normalize(q, schema)
            if nq is None:
                continue
            cands = ix.candidates(nq, limit=K)
            t, c = time.perf_counter(), time.thread_time()
            for nid in cands:
                name_similarity(nq, ix.names[nid].name)
            cand_time += time.perf_counter() - t
            cand_cpu += time.thread_time() - c
            cand_pairs += len(cands)
            for nid in cands:
                c = ix.names[nid]
                ent = ix.entries[c.entry]
                if not schemas_compatible(schema, ent.schema):
                    continue
                nk_rows.append(
                    {"name1": q, "name2": c.name.original, "schema1": schema, "schema2": ent.schema}
                )
                nk_index.append((name, qi, c.entry))
    res["screen_ms_p50"] = round(pct(latencies, 0.5), 2)
    res["screen_ms_p99"] = round(pct(latencies, 0.99), 2)
    res["screen_cpu_ms_p50"] = round(pct(cpu_latencies, 0.5), 2)
    res["screen_cpu_ms_p99"] = round(pct(cpu_latencies, 0.99), 2)
    res["batch_names_per_cpu_s"] = round(len(cpu_latencies) / (sum(cpu_latencies) / 1000), 1)
    res["screen_queries"] = len(latencies)
    res["batch_names_per_s"] = round(len(latencies) / (sum(latencies) / 1000), 1)
    res["in_index_pair_us"] = round(cand_time / max(cand_pairs, 1) * 1e6, 1)
    res["in_index_pair_cpu_us"] = round(cand_cpu / max(cand_pairs, 1) * 1e6, 1)

    top_nk: dict[str, dict[int, tuple[int, float]]] = defaultdict(dict)
    if baseline:
        nk_scores, nk_cand_us, nk_cand_cpu = logic_v2(nk_rows)
        res["logic_v2_candidate_pair_us"] = round(nk_cand_us, 1)
        res["logic_v2_candidate_pair_cpu_us"] = round(nk_cand_cpu, 1)
        res["logic_v2_candidate_pairs"] = len(nk_rows)
        for (sname, qi, entry), s in zip(nk_index, nk_scores, strict=True):
            cur = top_nk[sname].get(qi)
            if cur is None or s > cur[1]:
                top_nk[sname][qi] = (entry, s)

    # targets: entries holding an alias equal (order-free) to the untreated name
    key_entries: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for n in ix.names:
        key_entries[tuple(sorted(n.name.texts))].add(n.entry)

    def targets(name: str) -> set[int]:
        nn = try_normalize(name, "Person")
        return key_entries.get(tuple(sorted(nn.texts)), set()) if nn else set()

    un_targets = [targets(u) for u in queries["un_untreated"]]
    putin_target = targets(PUTIN)

    def recall(
        tops: dict[int, tuple[int, float]] | list[tuple[int | None, float]], tgts: list[set[int]]
    ) -> tuple[float, int]:
        ok = n = 0
        for qi, tg in enumerate(tgts):
            if not tg:
                continue
            n += 1
            got = tops[qi] if isinstance(tops, list) else tops.get(qi)
            ok += bool(got and got[0] in tg)
        return (ok / n if n else 0.0), n

    quality: dict[str, Any] = {}
    r, n = recall(top_ours["un_treated"], un_targets)
    quality["un_typo_recall_at_1"] = {
        "ours": round(r, 4),
        "queries_in_index": n,
        "queries": len(un_targets),
    }
    r, _ = recall(top_ours["putin_81"], [putin_target] * len(queries["putin_81"]))
    quality["putin_81_top_hit"] = {"ours": round(r, 4)}
    if baseline:
        quality["un_typo_recall_at_1"]["logic_v2"] = round(
            recall(top_nk["un_treated"], un_targets)[0], 4
        )
        quality["putin_81_top_hit"]["logic_v2"] = round(
            recall(top_nk["putin_81"], [putin_target] * len(queries["putin_81"]))[0], 4
        )
    for sname in ("congress", "synthetic_us", "synthetic_global", "norway_companies"):
        n = len(queries[sname])
        ours = sum(1 for _, s in top_ours[sname] if s >= DEFAULT_CONFIG.threshold)
        row: dict[str, Any] = {
            "queries": n,
            "ours_false_hits": ours,
            "ours_rate": round(ours / n, 4),
        }
        if baseline:
            nk = sum(1 for _, s in top_nk[sname].values() if s >= LOGIC_V2_DEFAULT)
            row.update(logic_v2_false_hits=nk, logic_v2_rate=round(nk / n, 4))
        quality[f"false_hits_{sname}"] = row
    person_negs = sum(len(queries[s]) for s in ("congress", "synthetic_us", "synthetic_global"))
    quality["false_hit_rate_all_negatives"] = {
        "ours": round(
            sum(
                quality[f"false_hits_{s}"]["ours_false_hits"]
                for s in ("congress", "synthetic_us", "synthetic_global", "norway_companies")
            )
            / (person_negs + len(queries["norway_companies"])),
            4,
        )
    }
    if baseline:
        quality["false_hit_rate_all_negatives"]["logic_v2"] = round(
            sum(
                quality[f"false_hits_{s}"]["logic_v2_false_hits"]
                for s in ("congress", "synthetic_us", "synthetic_global", "norway_companies")
            )
            / (person_negs + len(queries["norway_companies"])),
            4,
        )
    putin_pairs = [score_pair(v, PUTIN, "Person") for v in queries["putin_81"]]
    quality["putin_81_pairwise_match"] = {
        "ours": round(sum(s >= DEFAULT_CONFIG.threshold for s in putin_pairs) / len(putin_pairs), 4)
    }

    # -- labelled pairs -----------------------------------------------------------------
    t = time.perf_counter()
    pairs = _cached_pairs(args.out, queries, ofac + un)
    res["pairs_build_s"] = round(time.perf_counter() - t, 1)
    clear_caches()
    t, c = time.perf_counter(), time.thread_time()
    ours_scores = [score_pair(p.name1, p.name2, p.schema) for p in pairs]
    res["pair_us_ours"] = round((time.perf_counter() - t) / len(pairs) * 1e6, 1)
    res["pair_cpu_us_ours"] = round((time.thread_time() - c) / len(pairs) * 1e6, 1)
    t, c = time.perf_counter(), time.thread_time()
    for p in pairs:
        score_pair(p.name1, p.name2, p.schema)
    res["pair_us_ours_warm"] = round((time.perf_counter() - t) / len(pairs) * 1e6, 1)
    res["pair_cpu_us_ours_warm"] = round((time.thread_time() - c) / len(pairs) * 1e6, 1)
    labels = [p.label for p in pairs]
    halves = [p.half for p in pairs]
    pq: dict[str, Any] = {
        "pairs": len(pairs),
        "positives": sum(labels),
        "by_origin": {
            o: sum(1 for p in pairs if p.origin == o) for o in sorted({p.origin for p in pairs})
        },
    }

    def report(scores: list[float], default_t: float) -> dict[str, Any]:
        a = [(s, y) for s, y, h in zip(scores, labels, halves, strict=True) if h == "A"]
        b = [(s, y) for s, y, h in zip(scores, labels, halves, strict=True) if h == "B"]
        tuned = tune([s for s, _ in a], [y for _, y in a])
        pb, rb, fb = f1_at([s for s, _ in b], [y for _, y in b], tuned)
        pd_, rd, fd = f1_at([s for s, _ in b], [y for _, y in b], default_t)
        return {
            "tuned_threshold_on_A": tuned,
            "B_precision": round(pb, 4),
            "B_recall": round(rb, 4),
            "B_f1": round(fb, 4),
            "default_threshold": default_t,
            "B_f1_at_default": round(fd, 4),
            "B_precision_at_default": round(pd_, 4),
            "B_recall_at_default": round(rd, 4),
        }

    pq["ours"] = report(ours_scores, DEFAULT_CONFIG.threshold)
    pq["ofac_mode"] = report(
        [score_pair(p.name1, p.name2, mode="ofac") for p in pairs], DEFAULT_CONFIG.ofac_threshold
    )
    if baseline:
        nk_pair_scores, nk_pair_us, nk_pair_cpu = logic_v2(
            [{"name1": p.name1, "name2": p.name2, "schema": p.schema} for p in pairs]
        )
        pq["logic_v2"] = report(nk_pair_scores, LOGIC_V2_DEFAULT)
        res["pair_us_logic_v2"] = round(nk_pair_us, 1)
        res["pair_cpu_us_logic_v2"] = round(nk_pair_cpu, 1)
        res["pair_speed_ratio_logic_v2_over_ours"] = round(nk_pair_us / res["pair_us_ours"], 2)
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            with (args.out / "pair_scores.jsonl").open("w", encoding="utf-8") as fh:
                for p, so, sn in zip(pairs, ours_scores, nk_pair_scores, strict=True):
                    fh.write(
                        json.dumps(
                            {
                                "name1": p.name1,
                                "name2": p.name2,
                                "label": p.label,
                                "origin": p.origin,
                                "half": p.half,
                                "ours": round(so, 4),
                                "logic_v2": round(sn, 4),
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
    res["quality"] = quality
    res["labelled_pairs"] = pq
    res["calibration_ms_after"] = round(calibrate(), 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
