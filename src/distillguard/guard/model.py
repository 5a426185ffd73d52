"""Logistic regression over concept features and character n-grams, trained with scipy.

Why this model: it is cheap at inference (a dict lookup per n-gram, no numpy on the
request path), transparent (weights can be listed), and trains in seconds, which makes
leave-one-family-out evaluation affordable. The two feature groups get different L2
penalties: concept features (lexicon hits and their proximity) are few and meant to
carry over to unseen wordings, so they are lightly penalised; n-grams are many and
would otherwise memorise our own templates, so they are penalised hard.

The n-gram vocabulary is taken only from project-written examples, so a saved model
holds no strings derived from third-party data (which may only shape the weights).
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.guard.features import DENSE_NAMES, Extracted

MODEL_VERSION = 1


@dataclass
class LinearModel:
    """Weights of the classifier and its decision thresholds."""

    bias: float
    dense_w: list[float]
    ngram_w: dict[str, float]
    flag_threshold: float = 0.5
    block_threshold: float = 0.9
    meta: dict[str, Any] = field(default_factory=dict)

    def logit(self, x: Extracted) -> float:
        z = self.bias
        for w, v in zip(self.dense_w, x.dense, strict=True):
            if v:
                z += w * v
        # sum() with a start value adds left to right, as the loop it replaces did
        return sum(map(self.ngram_w.get, x.ngrams, itertools.repeat(0.0)), z)

    def prob(self, x: Extracted) -> float:
        z = self.logit(x)
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "version": MODEL_VERSION,
            "dense_names": list(DENSE_NAMES),
            "bias": round(self.bias, 6),
            "dense_w": [round(w, 6) for w in self.dense_w],
            "ngram_w": {g: round(w, 5) for g, w in sorted(self.ngram_w.items())},
            "flag_threshold": self.flag_threshold,
            "block_threshold": self.block_threshold,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LinearModel:
        if d.get("version") != MODEL_VERSION or list(d.get("dense_names", [])) != list(DENSE_NAMES):
            raise DistillguardError(
                "guard model file does not match this version's features; retrain it with "
                "`distillguard guard train`"
            )
        return cls(
            bias=float(d["bias"]),
            dense_w=[float(x) for x in d["dense_w"]],
            ngram_w={str(k): float(v) for k, v in d["ngram_w"].items()},
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


@dataclass(frozen=True)
class TrainConfig:
    l2_dense: float = 0.05
    l2_ngram: float = 1.0
    min_df: int = 3
    max_vocab: int = 40000
    max_iter: int = 300


def build_vocab(xs: Sequence[Extracted], cfg: TrainConfig) -> list[str]:
    df: Counter[str] = Counter()
    for x in xs:
        df.update(x.ngrams)
    items = [g for g, c in df.most_common(cfg.max_vocab) if c >= cfg.min_df]
    return sorted(items)


def train(
    xs: Sequence[Extracted],
    ys: Sequence[int],
    *,
    vocab_from: Sequence[Extracted] | None = None,
    weights: Sequence[float] | None = None,
    cfg: TrainConfig | None = None,
) -> LinearModel:
    """Fit the model (L-BFGS on the weighted logistic loss with two L2 penalties)."""
    import numpy as np
    from scipy import optimize, sparse

    cfg = cfg or TrainConfig()
    vocab = build_vocab(vocab_from if vocab_from is not None else xs, cfg)
    index = {g: i for i, g in enumerate(vocab)}
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
        for g in x.ngrams:
            k = index.get(g)
            if k is not None:
                rows.append(r)
                cols.append(nd + k)
                vals.append(1.0)
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
    ngram_w = {g: float(w[nd + i]) for i, g in enumerate(vocab) if abs(w[nd + i]) >= 1e-3}
    return LinearModel(
        bias=float(theta[-1]),
        dense_w=[float(v) for v in w[:nd]],
        ngram_w=ngram_w,
        meta={"train_examples": n, "vocab": len(vocab), "converged": bool(res.success)},
    )
