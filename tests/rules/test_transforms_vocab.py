"""The rules accept exactly the transform vocabulary the guard applies."""

from __future__ import annotations

import pytest

from distillguard.guard.transforms import parse_transforms
from distillguard.rules.schema import merge_transforms, parse_transform


@pytest.mark.parametrize(
    "t",
    [
        "strip_reasoning",
        "drop_logprobs",
        "summarise_reasoning",
        "summarise_reasoning:first_sentence",
        "summarise_reasoning:count",
        "leak_check:off",
        "cap_max_tokens:256",
        "cap_n:1",
    ],
)
def test_rules_vocabulary_is_applied_by_the_guard(t: str) -> None:
    assert parse_transform(t) is not None
    parse_transforms([t])  # raises on a name the guard does not know


@pytest.mark.parametrize("t", ["summarise_reasoning:bogus", "leak_check", "cap_n:0", "nope"])
def test_rules_reject_unknown_transforms(t: str) -> None:
    assert parse_transform(t) is None


def test_merge_keeps_modes_and_smallest_cap() -> None:
    merged = merge_transforms(
        ["summarise_reasoning:first_sentence", "cap_n:2", "cap_n:1", "leak_check:off"]
    )
    assert merged == ["summarise_reasoning:first_sentence", "leak_check:off", "cap_n:1"]
