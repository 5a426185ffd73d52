"""Training data and the trainer itself (small, fast configuration)."""

from __future__ import annotations

from collections import Counter

from distillguard.guard.data import attacks, benign
from distillguard.guard.features import extract
from distillguard.guard.model import LinearModel, TrainConfig, train
from distillguard.guard.training import Item, quantile_threshold


def test_attack_families_languages_and_variety() -> None:
    exs = attacks.generate(120)
    fams = Counter(e.family for e in exs)
    assert len(fams) >= 10 and all(n == 120 for n in fams.values())
    langs = {e.lang for e in exs}
    assert {"en", "zh", "es", "ru", "fr", "de", "ja", "ar"} <= langs
    assert len({e.text for e in exs}) == len(exs)  # no duplicates
    assert all(e.origin for e in exs if e.family == "obfuscated")
    assert attacks.generate(50, seed=1) == attacks.generate(50, seed=1)  # deterministic


def test_hard_benign_has_no_label_leak() -> None:
    exs = benign.generate(200)
    assert all(e.label == 0 and e.family is None for e in exs)


def test_trainer_separates_and_thresholds() -> None:
    atk = attacks.generate(40)
    ben = benign.generate(300)
    xs = [extract(e.text) for e in atk + ben]
    ys = [1] * len(atk) + [0] * len(ben)
    m = train(xs, ys, cfg=TrainConfig(max_iter=100))
    probs_a = [m.prob(x) for x in xs[: len(atk)]]
    probs_b = [m.prob(x) for x in xs[len(atk) :]]
    assert sum(p > 0.5 for p in probs_a) / len(atk) > 0.9
    assert sum(p > 0.5 for p in probs_b) / len(ben) < 0.1
    back = LinearModel.from_json(m.to_json())
    assert abs(back.prob(xs[0]) - m.prob(xs[0])) < 1e-3
    assert isinstance(Item, type)


def test_quantile_threshold() -> None:
    scores = [i / 1000 for i in range(1000)]
    t = quantile_threshold(scores, 0.01, 0.5)
    assert sum(s >= t for s in scores) <= 10
    assert quantile_threshold([0.1, 0.2], 0.01, 0.5) == 0.5
