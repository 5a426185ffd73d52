"""Re-implementations of the published detectors (ANCHORS.md section 1), account level.

Embedding: the MMD paper embeds queries with BAAI/bge-small (a sentence-transformer). A
sentence model needs torch and model weights, which this machine cannot fetch at run time
and which would cost minutes of CPU per run, so all three baselines use the same cheaper,
documented stand-in: hashed word unigram+bigram TF-IDF (512 dimensions, IDF from the
benign reference traffic), L2-normalised. This likely *understates* semantic baselines on
paraphrases and overstates them on verbatim template reuse; read the numbers that way.

* MMD (Liu et al. 2026, LabRAI/mmd-llm-mea-detection): unbiased multi-kernel RBF MMD²
  between an account's queries and benign reference queries, kernels at [0.5, 1, 2, 4] ×
  the median bandwidth; threshold = 95th percentile of a benign-vs-benign null of the same
  sample size (100 draws). Accounts with fewer than 10 queries are not tested.
* MMD-acct: the same statistic, thresholded instead at the 95th percentile of benign
  reference *accounts* of similar size (a per-account adaptation: a single user's queries
  are topically coherent, so the paper's i.i.d. null is far too tight at account level).
* SEAT (Zhang et al. 2021): per account, each query's mean distance to its K=5 nearest
  earlier queries; alarm when it falls below a threshold set at the 95th percentile of
  benign reference accounts.
* PRADA (Juuti et al. 2019): per account, each query's minimum L2 distance to the earlier
  ones; once more than 100 distances exist (3σ outliers dropped) Shapiro-Wilk W on them;
  alarm when W < δ, δ set at the 95th percentile of benign reference accounts.

All run on at most the first 200 queries of each account (last user message, 2,000 chars).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from typing import Any
from zlib import crc32

import numpy as np
from scipy import stats

D = 512
MAX_Q = 200
_TOK = re.compile(r"\w+")


def _last_user(ev: dict[str, Any]) -> str:
    if isinstance(ev.get("prompt"), str):
        return str(ev["prompt"])
    for m in reversed(ev.get("messages") or []):
        if m.get("role") == "user" and isinstance(m.get("content"), str):
            return str(m["content"])
    return ""


def _per_account(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for ev in events:
        q = out[ev["account"]]
        if len(q) < MAX_Q:
            q.append(_last_user(ev)[:2000])
    return out


def _counts(texts: list[str]) -> np.ndarray:
    m = np.zeros((len(texts), D), dtype=np.float32)
    for i, t in enumerate(texts):
        toks = _TOK.findall(t.lower())
        idx = [crc32(w.encode()) % D for w in toks] + [
            crc32((a + " " + b).encode()) % D for a, b in itertools.pairwise(toks)
        ]
        if idx:
            np.add.at(m[i], idx, 1.0)
    return m


class Embedder:
    def __init__(self, reference_texts: list[str]) -> None:
        c = _counts(reference_texts)
        df = (c > 0).sum(0)
        self.idf = np.log((1 + len(reference_texts)) / (1 + df)).astype(np.float32) + 1.0

    def __call__(self, texts: list[str]) -> np.ndarray:
        m = np.log1p(_counts(texts)) * self.idf
        n = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.maximum(n, 1e-9)


def _sqdist(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.maximum((x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T, 0.0)


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, sigmas: list[float]) -> float:
    dxx, dyy, dxy = _sqdist(x, x), _sqdist(y, y), _sqdist(x, y)
    m, n = len(x), len(y)
    total = 0.0
    for s in sigmas:
        g = 1.0 / (2 * s * s)
        kxx, kyy, kxy = np.exp(-g * dxx), np.exp(-g * dyy), np.exp(-g * dxy)
        total += (
            (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2 * kxy.mean()
        )
    return float(total)


def _earlier_dists(x: np.ndarray, cosine: bool) -> np.ndarray:
    """Pairwise distances with d[i, j] = inf for j >= i (only earlier queries count)."""
    d = 1.0 - x @ x.T if cosine else np.sqrt(_sqdist(x, x))
    d[np.triu_indices(len(x))] = np.inf
    return d


def _seat_stat(x: np.ndarray, k: int = 5) -> float | None:
    if len(x) <= k:
        return None
    d = _earlier_dists(x, cosine=True)[k:]
    knn = np.partition(d, k - 1, axis=1)[:, :k].mean(1)
    return 1.0 - float(knn.min())  # higher = closer near-duplicates


def _prada_stat(x: np.ndarray) -> float | None:
    if len(x) <= 101:
        return None
    mins = _earlier_dists(x, cosine=False)[1:].min(1)
    mu, sd = mins.mean(), mins.std()
    kept = mins[np.abs(mins - mu) <= 3 * sd] if sd > 0 else mins
    if len(kept) < 3 or np.ptp(kept) == 0:
        return 1.0  # degenerate (all identical): maximally non-normal
    w = stats.shapiro(kept).statistic
    return 1.0 - float(w)  # higher = less normal = more suspicious


def run_all(
    events: list[dict[str, Any]],
    labels: dict[str, Any],
    ref_events: list[dict[str, Any]],
    ref_labels: dict[str, Any],
    seed: int = 0,
) -> dict[str, tuple[dict[str, float], dict[str, bool]]]:
    """Scores and alarms per account for MMD, SEAT and PRADA (see module docstring)."""
    rng = np.random.default_rng(seed)
    ref_acc = _per_account(
        [
            e
            for e in ref_events
            if not ref_labels[e["account"]].attack and not ref_labels[e["account"]].gray
        ]
    )
    ref_texts = [t for q in ref_acc.values() for t in q]
    emb = Embedder(ref_texts)
    ref_x = emb(ref_texts)
    pool_idx = rng.permutation(len(ref_x))
    ref_a, ref_b = ref_x[pool_idx[: len(ref_x) // 2]], ref_x[pool_idx[len(ref_x) // 2 :]]
    sub = ref_a[rng.choice(len(ref_a), min(1000, len(ref_a)), replace=False)]
    med = float(np.sqrt(np.median(_sqdist(sub, sub)[np.triu_indices(len(sub), 1)])))
    sigmas = [med * f for f in (0.5, 1.0, 2.0, 4.0)]

    def ref_sample(n: int, pool: np.ndarray) -> np.ndarray:
        return pool[rng.choice(len(pool), n, replace=len(pool) < n)]

    buckets = [10, 20, 40, 80, 140, 200]
    null_thr = {}
    for b in buckets:
        null = [
            mmd2_unbiased(ref_sample(b, ref_b), ref_sample(b, ref_a), sigmas) for _ in range(100)
        ]
        null_thr[b] = float(np.percentile(null, 95))

    def bucket(n: int) -> int:
        return min(buckets, key=lambda b: abs(b - n))

    # calibrate SEAT and PRADA on the benign reference accounts
    seat_ref = [s for q in ref_acc.values() if (s := _seat_stat(emb(q))) is not None]
    prada_ref = [s for q in ref_acc.values() if (s := _prada_stat(emb(q))) is not None]
    seat_thr = float(np.percentile(seat_ref, 95))
    prada_thr = float(np.percentile(prada_ref, 95)) if prada_ref else 1.0

    # account-level calibration: the same statistic on benign reference *accounts*
    acct_null: dict[int, list[float]] = {}
    for q in ref_acc.values():
        if len(q) >= 10:
            xr = emb(q)
            acct_null.setdefault(bucket(len(xr)), []).append(
                mmd2_unbiased(xr, ref_sample(len(xr), ref_a), sigmas)
            )
    pooled = [v for vs in acct_null.values() for v in vs]
    acct_thr = {
        b: float(np.percentile(acct_null[b] if len(acct_null.get(b, [])) >= 20 else pooled, 95))
        for b in buckets
    }

    out: dict[str, tuple[dict[str, float], dict[str, bool]]] = {
        "MMD-acct": ({}, {}),
        "MMD": ({}, {}),
        "SEAT": ({}, {}),
        "PRADA": ({}, {}),
    }
    for acct, q in _per_account(events).items():
        x = emb(q)
        if len(x) >= 10:
            b = bucket(len(x))
            stat = mmd2_unbiased(x, ref_sample(len(x), ref_a), sigmas)
            out["MMD"][0][acct] = stat / null_thr[b] if null_thr[b] > 0 else stat
            out["MMD"][1][acct] = stat > null_thr[b]
            out["MMD-acct"][0][acct] = stat / acct_thr[b] if acct_thr[b] > 0 else stat
            out["MMD-acct"][1][acct] = stat > acct_thr[b]
        else:
            out["MMD"][0][acct], out["MMD"][1][acct] = 0.0, False
            out["MMD-acct"][0][acct], out["MMD-acct"][1][acct] = 0.0, False
        s = _seat_stat(x)
        out["SEAT"][0][acct] = s if s is not None else 0.0
        out["SEAT"][1][acct] = s is not None and s > seat_thr
        p = _prada_stat(x)
        out["PRADA"][0][acct] = p if p is not None else 0.0
        out["PRADA"][1][acct] = p is not None and p > prada_thr
    return out
