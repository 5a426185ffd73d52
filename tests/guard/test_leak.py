"""Leak detector on real problems: hidden traces leaked in disguise are caught, honest answers pass.

GSM8K (MIT) problems and final answers are read from the shared data at test time; the
trace around each is built by `evaldata.build_trace` (the file has no worked solutions).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distillguard.guard.evaldata import build_trace, honest_answers, leak_variants
from distillguard.guard.leak import LeakDetector, StreamLeakGuard
from distillguard.guard.transforms import WITHHELD_NOTICE, transform_response, transform_stream

N = 120


@pytest.fixture(scope="module")
def problems(shared_data_path: Callable[..., Path]) -> list[dict[str, Any]]:
    path = shared_data_path("distill", "gsm8k_train.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
    return rows[:: len(rows) // N][:N]


def test_every_disguise_is_caught(problems: list[dict[str, Any]]) -> None:
    det = LeakDetector()
    missed: dict[str, int] = {}
    for i, p in enumerate(problems):
        trace = build_trace(p["prompt"], p["answer"], i)
        for kind, leaked in leak_variants(trace, i).items():
            if not det.check(trace, leaked).leaked:
                missed[kind] = missed.get(kind, 0) + 1
    assert missed == {}


def test_honest_answers_are_never_withheld(problems: list[dict[str, Any]]) -> None:
    det = LeakDetector()
    for i, p in enumerate(problems):
        trace = build_trace(p["prompt"], p["answer"], i)
        for kind, answer in honest_answers(p["prompt"], p["answer"]).items():
            s = det.check(trace, answer)
            assert not s.leaked, (kind, answer, s)


def test_unrelated_long_answer_is_not_a_leak(problems: list[dict[str, Any]]) -> None:
    det = LeakDetector()
    a = build_trace(problems[0]["prompt"], problems[0]["answer"], 0)
    b = build_trace(problems[1]["prompt"], problems[1]["answer"], 1)
    s = det.check(a, b)  # same template words, different problem
    assert not s.leaked


def test_short_reasoning_never_triggers() -> None:
    assert not LeakDetector().check("2 + 2 = 4", "2 + 2 = 4").leaked


@pytest.mark.parametrize("kind", ["verbatim", "base64", "rot13", "reversed", "paraphrased"])
def test_streamed_leak_is_cut(problems: list[dict[str, Any]], kind: str) -> None:
    p = problems[7]
    trace = build_trace(p["prompt"], p["answer"], 7)
    leaked = leak_variants(trace, 7)[kind]
    chunks = [{"choices": [{"index": 0, "delta": {"reasoning_content": trace}}]}]
    chunks += [
        {"choices": [{"index": 0, "delta": {"content": leaked[i : i + 5]}}]}
        for i in range(0, len(leaked), 5)
    ]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    out = transform_stream(chunks, ["strip_reasoning"])
    shown = "".join(c["choices"][0]["delta"].get("content") or "" for c in out)
    assert shown.endswith(WITHHELD_NOTICE)
    assert out[-1]["choices"][0]["finish_reason"] == "content_filter"
    assert len(shown) - len(WITHHELD_NOTICE) < len(leaked)


def test_streamed_honest_answer_passes_unchanged(problems: list[dict[str, Any]]) -> None:
    for i, p in enumerate(problems[:30]):
        trace = build_trace(p["prompt"], p["answer"], i)
        ans = honest_answers(p["prompt"], p["answer"])["short_explanation"]
        chunks = [{"choices": [{"index": 0, "delta": {"reasoning_content": trace}}]}]
        chunks += [
            {"choices": [{"index": 0, "delta": {"content": ans[j : j + 3]}}]}
            for j in range(0, len(ans), 3)
        ]
        chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        out = transform_stream(chunks, ["strip_reasoning"])
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in out) == ans
        assert out[-1]["choices"][0]["finish_reason"] == "stop"


def test_whole_response_tag_format_leak(problems: list[dict[str, Any]]) -> None:
    p = problems[3]
    trace = build_trace(p["prompt"], p["answer"], 3)
    body = {"choices": [{"index": 0, "message": {"content": f"<think>{trace}</think>{trace}"}}]}
    out, rep = transform_response(body, ["strip_reasoning"])
    assert out["choices"][0]["message"]["content"] == WITHHELD_NOTICE and rep.withheld_choices
    honest = honest_answers(p["prompt"], p["answer"])["final_only"]
    body = {"choices": [{"index": 0, "message": {"content": f"<think>{trace}</think>{honest}"}}]}
    assert (
        transform_response(body, ["strip_reasoning"])[0]["choices"][0]["message"]["content"]
        == honest
    )


def test_stream_guard_without_reasoning_passes_through() -> None:
    g = StreamLeakGuard()
    assert g.add_content("hello") == "hello" and g.finish() == ""
