"""Training, calibration and evaluation of the input guard.

Data: attack families and hard benign prompts written by the project
(`distillguard.guard.data`), plus, when the shared data folder is present, the
permissively licensed benign sets (hh-rlhf MIT, MT-bench and Vicuna-bench Apache-2.0)
on the negative side. They are read at run time and never copied: the saved model keeps
only weights, and its n-gram vocabulary comes from project-written text alone.

Evaluation (what `distillguard guard eval` and bench/guard/run.py report):
- leave-one-family-out: for every family, train without it (and without obfuscated
  copies of its wording) and count its prompts blocked or flagged;
- benign false alarms: the permissive benign sets by 5-fold cross-validation (trained on
  four folds, thresholds calibrated on the out-of-fold scores of the other folds,
  counted on the fifth); ShareGPT and AlpacaEval are never trained on and are scored
  with the full model; the distill/ problem sets likewise.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillguard.guard.data import attacks as attack_data
from distillguard.guard.data import benign as benign_data
from distillguard.guard.data.attacks import Example
from distillguard.guard.features import Extracted, extract
from distillguard.guard.model import LinearModel, TrainConfig, train
from distillguard.paths import shared_data

TRAINABLE_BENIGN = (
    "hh_rlhf_harmless_base_test.jsonl",
    "fastchat_mt_bench.jsonl",
    "fastchat_vicuna_bench.jsonl",
)
EVAL_ONLY_BENIGN = ("sharegpt_sample.jsonl", "alpaca_eval_805.jsonl")
FLAG_RATE = 0.004  # target share of benign prompts flagged when calibrating
BLOCK_RATE = 0.0002
MIN_FLAG, MIN_BLOCK = 0.5, 0.9
FOLDS = 5

Progress = Callable[[str], None]


@dataclass
class Item:
    """An example with its features and where it came from."""

    ex: Example
    x: Extracted
    source: str


def read_prompts(path: Path) -> list[str]:
    """Prompts of a shared-data JSONL file (skipping malformed lines)."""
    out: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            p = obj.get("prompt") if isinstance(obj, dict) else None
            if isinstance(p, str) and p.strip():
                out.append(p)
    return out


def featurize(examples: Iterable[Example], source: str) -> list[Item]:
    return [Item(e, extract(e.text), source) for e in examples]


def shared_benign(names: Sequence[str], folder: str = "benign") -> dict[str, list[Item]]:
    out: dict[str, list[Item]] = {}
    for name in names:
        p = shared_data(folder, name)
        if p is None:
            continue
        exs = [Example((("user", t),), 0, None, "?") for t in read_prompts(p)]
        out[name] = featurize(exs, name)
    return out


@dataclass
class Corpus:
    attacks: list[Item]
    benign_project: list[Item]
    benign_shared: dict[str, list[Item]] = field(default_factory=dict)


def load_corpus(per_family: int = 300, with_shared: bool = True) -> Corpus:
    atk = featurize(attack_data.generate(per_family), "project_attacks")
    ben = featurize(benign_data.generate(), "project_benign")
    shared = shared_benign(TRAINABLE_BENIGN) if with_shared else {}
    return Corpus(atk, ben, shared)


def fit(
    attacks: Sequence[Item],
    benign: Sequence[Item],
    benign_project: Sequence[Item],
    cfg: TrainConfig | None = None,
) -> LinearModel:
    xs = [i.x for i in attacks] + [i.x for i in benign_project] + [i.x for i in benign]
    ys = [1] * len(attacks) + [0] * (len(benign_project) + len(benign))
    vocab_from = [i.x for i in attacks] + [i.x for i in benign_project]
    return train(xs, ys, vocab_from=vocab_from, cfg=cfg)


def quantile_threshold(scores: Sequence[float], rate: float, floor: float) -> float:
    """Smallest threshold that alarms on at most `rate` of `scores` (and not below floor)."""
    if not scores:
        return floor
    s = sorted(scores, reverse=True)
    k = int(rate * len(s))  # number of alarms allowed
    t = s[k] + 1e-4 if k < len(s) else 0.0
    return round(max(floor, t), 4)


def folds_of(items: Sequence[Item], k: int, seed: int = 3) -> list[list[Item]]:
    idx = list(range(len(items)))
    random.Random(seed).shuffle(idx)
    return [[items[i] for i in idx[j::k]] for j in range(k)]


@dataclass
class CVResult:
    oof: dict[str, list[float]]  # per benign source, out-of-fold scores
    fold_of: dict[str, list[int]]


def benign_cv(corpus: Corpus, cfg: TrainConfig | None, progress: Progress) -> CVResult:
    """Out-of-fold benign scores for the trainable shared sets."""
    pooled = [it for items in corpus.benign_shared.values() for it in items]
    folds = folds_of(pooled, FOLDS)
    score: dict[int, tuple[float, int]] = {}
    for k in range(FOLDS):
        progress(f"benign fold {k + 1}/{FOLDS}")
        train_b = [it for j, f in enumerate(folds) if j != k for it in f]
        m = fit(corpus.attacks, train_b, corpus.benign_project, cfg)
        for it in folds[k]:
            score[id(it)] = (m.prob(it.x), k)
    oof: dict[str, list[float]] = {}
    fold_of: dict[str, list[int]] = {}
    for name, items in corpus.benign_shared.items():
        oof[name] = [score[id(it)][0] for it in items]
        fold_of[name] = [score[id(it)][1] for it in items]
    return CVResult(oof, fold_of)


def calibrate(model: LinearModel, oof_scores: Sequence[float]) -> LinearModel:
    model.flag_threshold = quantile_threshold(oof_scores, FLAG_RATE, MIN_FLAG)
    model.block_threshold = max(
        quantile_threshold(oof_scores, BLOCK_RATE, MIN_BLOCK), model.flag_threshold
    )
    return model


def train_default(
    corpus: Corpus, cfg: TrainConfig | None = None, progress: Progress = lambda s: None
) -> tuple[LinearModel, CVResult | None]:
    """The shipped model: all families, all trainable benign; thresholds from CV."""
    pooled = [it for items in corpus.benign_shared.values() for it in items]
    cv = benign_cv(corpus, cfg, progress) if pooled else None
    progress("final model")
    model = fit(corpus.attacks, pooled, corpus.benign_project, cfg)
    if cv is not None:
        calibrate(model, [s for v in cv.oof.values() for s in v])
    else:
        model.flag_threshold, model.block_threshold = 0.5, 0.9
    model.meta.update(
        {
            "families": list(attack_data.FAMILIES),
            "attack_examples": len(corpus.attacks),
            "benign_project": len(corpus.benign_project),
            "benign_shared": {k: len(v) for k, v in corpus.benign_shared.items()},
        }
    )
    return model, cv


def verdict_of(model: LinearModel, p: float) -> str:
    if p >= model.block_threshold:
        return "block"
    if p >= model.flag_threshold:
        return "flag"
    return "allow"


def lofo(
    corpus: Corpus, thresholds: LinearModel, cfg: TrainConfig | None, progress: Progress
) -> dict[str, dict[str, Any]]:
    """Leave one family out: train without it, score its prompts (stage 1 and 2)."""
    from distillguard.guard.inputguard import InputGuard

    pooled = [it for items in corpus.benign_shared.values() for it in items]
    out: dict[str, dict[str, Any]] = {}
    for fam in attack_data.FAMILIES:
        progress(f"leave out {fam}")
        train_a = [it for it in corpus.attacks if it.ex.family != fam and it.ex.origin != fam]
        test = [it for it in corpus.attacks if it.ex.family == fam]
        m = fit(train_a, pooled, corpus.benign_project, cfg)
        m.flag_threshold, m.block_threshold = thresholds.flag_threshold, thresholds.block_threshold
        g = InputGuard(m)
        counts = {"block": 0, "flag": 0, "allow": 0}
        by_lang: dict[str, list[int]] = {}
        missed: list[str] = []
        for it in test:
            v = g.check([{"role": r, "content": c} for r, c in it.ex.messages]).verdict
            counts[v] += 1
            caught = v != "allow"
            by_lang.setdefault(it.ex.lang, [0, 0])
            by_lang[it.ex.lang][0] += caught
            by_lang[it.ex.lang][1] += 1
            if not caught and len(missed) < 5:
                missed.append(it.ex.text[:160])
        n = len(test)
        out[fam] = {
            "n": n,
            **counts,
            "caught_rate": (counts["block"] + counts["flag"]) / n if n else 0.0,
            "by_lang": {k: v[0] / v[1] for k, v in sorted(by_lang.items())},
            "missed_examples": missed,
        }
    return out
