"""Logistic regression over concept features and character n-grams, trained with scipy.

Why this model: it is cheap at inference (n-grams are hashed into buckets and their
weights gathered from one flat array: a few numpy operations per request), transparent
(weights can be listed), and trains in seconds, which makes leave-one-family-out
evaluation affordable. The two feature groups get different L2
penalties: concept features (lexicon hits and their proximity) are few and meant to
carry over to unseen wordings, so they are lightly penalised; n-grams are many and
would otherwise memorise our own templates, so they are penalised hard.

Only buckets met in project-written examples get a weight (the others stay 0), and a
saved model holds bucket numbers, no strings; third-party data only shapes the weights.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from distillguard.errors import DistillguardError
from distillguard.guard.features import DENSE_NAMES, NGRAM_BITS, QUIET_WITHOUT, Extracted

MODEL_VERSION = 2  # 2: hashed n-gram buckets
_EXPLAIN_ALONE = DENSE_NAMES.index("explain_without_hidden")
_TOPIC_ALONE = DENSE_NAMES.index("topic_without_self")
_HAS = tuple((i, n[4:]) for i, n in enumerate(DENSE_NAMES) if n.startswith("has_"))
_HAS_OUTSIDE_QUIET = tuple((i, c) for i, c in _HAS if c not in QUIET_WITHOUT)


@dataclass
class LinearModel:
    """Weights of the classifier and its decision thresholds."""

    bias: float
    dense_w: list[float]
    ngram_w: np.ndarray  # float32, one weight per n-gram bucket (2**NGRAM_BITS)
    flag_threshold: float = 0.5
    block_threshold: float = 0.9
    meta: dict[str, Any] = field(default_factory=dict)

    def logit(self, x: Extracted) -> float:
        z = self.bias
        for w, v in zip(self.dense_w, x.dense, strict=True):
            if v:
                z += w * v
        return z + float(self.ngram_w[x.ngrams].sum())

    def quiet_prob(self, hits: dict[str, list[int]]) -> float:
        """The probability from the concept features alone, for a request that has only
        the categories outside QUIET_WITHOUT (every other dense feature is then 0)."""
        z = self.bias
        w = self.dense_w
        for i, cat in _HAS_OUTSIDE_QUIET:  # the others are empty: the same additions
            if hits[cat]:
                z += w[i]
        if hits["explain"]:
            z += w[_EXPLAIN_ALONE]
        if hits["topic"]:
            z += w[_TOPIC_ALONE]
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    def prob(self, x: Extracted) -> float:
        z = self.logit(x)
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MODEL_VERSION,
            "dense_names": list(DENSE_NAMES),
            "bias": round(self.bias, 6),
            "dense_w": [round(w, 6) for w in self.dense_w],
            "ngram_bits": NGRAM_BITS,
            "ngram_w": {
                str(int(i)): round(float(self.ngram_w[i]), 5) for i in np.flatnonzero(self.ngram_w)
            },
            "flag_threshold": self.flag_threshold,
            "block_threshold": self.block_threshold,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LinearModel:
        if (
            d.get("version") != MODEL_VERSION
            or list(d.get("dense_names", [])) != list(DENSE_NAMES)
            or d.get("ngram_bits") != NGRAM_BITS
        ):
            raise DistillguardError(
                "guard model file does not match this version's features; retrain it with "
                "`distillguard guard train`"
            )
        return cls(
            bias=float(d["bias"]),
            dense_w=[float(x) for x in d["dense_w"]],
            ngram_w=ngram_table({int(k): float(v) for k, v in d["ngram_w"].items()}),
            flag_threshold=float(d["flag_threshold"]),
            block_threshold=float(d["block_threshold"]),
            meta=dict(d.get("meta", {})),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")))

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DistillguardError(f"cannot read guard model {path}: {exc}") from exc
        return cls.from_json(data)


def ngram_table(weights: dict[int, float] | None = None) -> np.ndarray:
    """The flat bucket -> weight array (zeros where no weight is given)."""
    w = np.zeros(1 << NGRAM_BITS, dtype=np.float32)  # half the cache lines of float64
    if weights:
        w[np.fromiter(weights, dtype=np.int64)] = np.fromiter(weights.values(), dtype=np.float32)
    return w


@dataclass(frozen=True)
class TrainConfig:
    l2_dense: float = 0.05
    l2_ngram: float = 1.0
    min_df: int = 3
    max_vocab: int = 40000
    max_iter: int = 300


def build_vocab(xs: Sequence[Extracted], cfg: TrainConfig) -> list[int]:
    """Buckets met in at least min_df examples (most frequent first, at most max_vocab)."""
    if not xs:
        return []
    ids, counts = np.unique(np.concatenate([x.ngrams for x in xs]), return_counts=True)
    order = np.argsort(-counts, kind="stable")[: cfg.max_vocab]
    return sorted(int(ids[i]) for i in order if counts[i] >= cfg.min_df)


def train(
    xs: Sequence[Extracted],
    ys: Sequence[int],
    *,
    vocab_from: Sequence[Extracted] | None = None,
    weights: Sequence[float] | None = None,
    cfg: TrainConfig | None = None,
) -> LinearModel:
    """Fit the model (L-BFGS on the weighted logistic loss with two L2 penalties)."""
    from scipy import optimize, sparse

    cfg = cfg or TrainConfig()
    vocab = build_vocab(vocab_from if vocab_from is not None else xs, cfg)
    index = np.full(1 << NGRAM_BITS, -1, dtype=np.int64)
    index[np.asarray(vocab, dtype=np.int64)] = np.arange(len(vocab))
    nd = len(DENSE_NAMES)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for r, x in enumerate(xs):
        for j, v in enumerate(x.dense):
            if v:
                rows.append(r)
                cols.append(j)
                vals.append(v)
        ks = index[x.ngrams]
        ks = ks[ks >= 0]
        rows.extend([r] * len(ks))
        cols.extend((ks + nd).tolist())
        vals.extend([1.0] * len(ks))
    n, d = len(xs), nd + len(vocab)
    X = sparse.csr_matrix((vals, (rows, cols)), shape=(n, d), dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    sw = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    # balance classes so the benign mass does not drown the attacks (and vice versa)
    pos, neg = sw[y == 1].sum(), sw[y == 0].sum()
    if pos == 0 or neg == 0:
        raise DistillguardError("training needs both attack and benign examples")
    sw = np.where(y == 1, sw * (0.5 * (pos + neg) / pos), sw * (0.5 * (pos + neg) / neg))
    sw = sw / sw.mean()
    lam = np.concatenate([np.full(nd, cfg.l2_dense), np.full(len(vocab), cfg.l2_ngram)])
    XT = X.T.tocsr()

    def loss_grad(theta: Any) -> tuple[float, Any]:
        w, b = theta[:-1], theta[-1]
        z = X @ w + b
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))
        # log-loss, numerically stable
        ll = np.logaddexp(0.0, z) - y * z
        loss = float((sw * ll).sum() / n + 0.5 * (lam * w * w).sum() / n * 10)
        r = sw * (p - y) / n
        gw = XT @ r + lam * w / n * 10
        gb = r.sum()
        return loss, np.concatenate([gw, [gb]])

    theta0 = np.zeros(d + 1)
    res = optimize.minimize(
        loss_grad, theta0, jac=True, method="L-BFGS-B", options={"maxiter": cfg.max_iter}
    )
    theta = res.x
    w = theta[:-1]
    ngram_w = ngram_table(
        {g: float(w[nd + i]) for i, g in enumerate(vocab) if abs(w[nd + i]) >= 1e-3}
    )
    return LinearModel(
        bias=float(theta[-1]),
        dense_w=[float(v) for v in w[:nd]],
        ngram_w=ngram_w,
        meta={"train_examples": n, "vocab": len(vocab), "converged": bool(res.success)},
    )
