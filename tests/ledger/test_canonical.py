"""The canonical encoding's fast path is byte-identical to the reference RFC 8785 code."""

from __future__ import annotations

import math

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.errors import DistillguardError
from distillguard.ledger.canonical import _fast_ok, canonical_json

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=1e-6, max_value=1e16)
    | st.text()
)
json_values = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=8), kids, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_equals_rfc8785_or_both_reject(value: object) -> None:
    try:
        want = rfc8785.dumps(value)
    except Exception:
        with pytest.raises(DistillguardError):
            canonical_json(value)
        return
    assert canonical_json(value) == want


def test_fast_path_is_taken_for_typical_records() -> None:
    rec = {"type": "decision", "account": "a", "score": 0.734, "n": 3, "tags": ["x"], "ok": True}
    assert _fast_ok(rec)
    assert not _fast_ok({"x": 1.0})  # integral float: JCS writes 1, orjson 1.0
    assert not _fast_ok({"\U0001f600": 1, "\uffff": 2})  # UTF-16 vs code point order
    assert canonical_json({"\U0001f600": 1, "\uffff": 2}) == rfc8785.dumps(
        {"\U0001f600": 1, "\uffff": 2}
    )
    assert _fast_ok({"prompt": "grüße \U0001f600", "n": [2**53 - 1]})  # non-ASCII values only
    assert not _fast_ok({"a": {"b": [2**53]}})  # unsafe integer: orjson refuses, JCS decides
    assert not _fast_ok({"a": [{"k\u00e9": 1}]})  # nested non-ASCII key


def test_cyclic_and_deep_values_fail_cleanly() -> None:
    cyclic: list[object] = []
    cyclic.append(cyclic)
    with pytest.raises(DistillguardError, match="not canonical JSON"):
        canonical_json({"v": cyclic})
    deep: object = "x"
    for _ in range(400):  # deeper than orjson's limit: the reference encoder takes it
        deep = [deep]
    assert canonical_json({"v": deep}) == rfc8785.dumps({"v": deep})


@pytest.mark.parametrize("bad", [math.nan, math.inf, 2**53, object(), {1: "a"}])
def test_non_json_is_rejected(bad: object) -> None:
    with pytest.raises(DistillguardError, match="not canonical JSON"):
        canonical_json({"v": bad})
