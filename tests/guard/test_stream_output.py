"""Streamed output transforms on real problems, chunked like real upstreams.

GSM8K (MIT) problems and final answers are read from ../shared/data at test time; the
file has no worked solutions, so the hidden reasoning is a trace built around each real
problem and answer (`evaldata.build_trace`). Streams are cut into token-sized pieces
(one to three word pieces per chunk, as vLLM/OpenAI send them) and carry the reasoning
in each of the three places upstreams put it: a `reasoning_content` field, inline
`<think>` tags, and R1 style (closing tag only). Leaks in every disguise must be cut;
honest answers must arrive unchanged, and the streamed result must equal the whole one.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from distillguard.guard.evaldata import build_trace, honest_answers, leak_variants
from distillguard.guard.formats import ReasoningFormat
from distillguard.guard.leak import LeakDetector, ReasoningIndex, StreamLeakGuard, rot13
from distillguard.guard.transforms import (
    KEEPALIVE_CHUNKS,
    WITHHELD_NOTICE,
    StreamTransformer,
    transform_response,
    transform_stream,
)

R1 = ReasoningFormat(fields=(), tags=("think",), implicit_open=True)
CARRIERS = ("field", "tags", "r1")
_PIECE = re.compile(r" ?[A-Za-z]{1,7}| ?[0-9]{1,3}|\s+|[^\sA-Za-z0-9]")


@pytest.fixture(scope="module")
def problems(shared_data_path: Callable[..., Path]) -> list[dict[str, Any]]:
    path = shared_data_path("distill", "gsm8k_train.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]
    return rows[7 :: len(rows) // 60][:60]


def pieces(text: str) -> list[str]:
    out = _PIECE.findall(text)
    assert "".join(out) == text
    return out


def stream_of(reasoning: str, answer: str, carrier: str, seed: int) -> list[dict[str, Any]]:
    """Chunks of a reply, 1-3 token-sized pieces each, in full OpenAI chunk objects."""
    if carrier == "field":
        parts = [("reasoning_content", p) for p in pieces(reasoning)]
        parts += [("content", p) for p in pieces(answer)]
    else:
        opening = "<think>\n" if carrier == "tags" else ""
        text = f"{opening}{reasoning}\n</think>\n\n{answer}"
        parts = [("content", p) for p in pieces(text)]
    rng = random.Random(seed)
    chunks: list[dict[str, Any]] = [_chunk({"role": "assistant", "content": ""})]
    pos = 0
    while pos < len(parts):
        take = rng.choice((1, 1, 2, 3))
        delta: dict[str, str] = {}
        for key, p in parts[pos : pos + take]:
            delta[key] = delta.get(key, "") + p
        chunks.append(_chunk(delta))
        pos += take
    chunks.append(_chunk({}, "stop"))
    return chunks


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "r",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def whole_of(reasoning: str, answer: str, carrier: str) -> dict[str, Any]:
    if carrier == "field":
        msg = {"role": "assistant", "content": answer, "reasoning_content": reasoning}
    else:
        opening = "<think>\n" if carrier == "tags" else ""
        msg = {"role": "assistant", "content": f"{opening}{reasoning}\n</think>\n\n{answer}"}
    return {"choices": [{"index": 0, "message": msg, "finish_reason": "stop"}]}


def fmt_of(carrier: str) -> ReasoningFormat | None:
    return R1 if carrier == "r1" else None


def run(chunks: list[dict[str, Any]], carrier: str, **kw: Any) -> tuple[str, str, Any]:
    st = StreamTransformer(["strip_reasoning", "drop_logprobs"], fmt_of(carrier), **kw)
    out = [c for x in chunks for c in st.feed(x)] + st.finish()
    for c in out:
        assert "reasoning_content" not in c["choices"][0].get("delta", {})
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in out)
    finish = [c["choices"][0]["finish_reason"] for c in out if c["choices"][0]["finish_reason"]]
    return text, finish[-1] if finish else "", st


@pytest.mark.parametrize("carrier", CARRIERS)
def test_every_disguised_leak_is_cut_in_every_carrier(
    problems: list[dict[str, Any]], carrier: str
) -> None:
    missed = []
    for i, p in enumerate(problems[:20]):
        trace = build_trace(p["prompt"], str(p["answer"]), i)
        for kind, leaked in leak_variants(trace, i).items():
            text, finish, st = run(stream_of(trace, leaked, carrier, i), carrier)
            if kind == "in_code_block":  # the copy sits in think tags: stripped as reasoning
                assert text.strip() == "```\n\n```", (i, carrier)
                continue
            if not (text.endswith(WITHHELD_NOTICE) and finish == "content_filter"):
                missed.append((i, kind))
                continue
            assert st.report.withheld_choices == [0]
            assert len(text) - len(WITHHELD_NOTICE) < len(leaked)
            out, _ = transform_response(
                whole_of(trace, leaked, carrier), ["strip_reasoning"], fmt_of(carrier)
            )
            assert out["choices"][0]["message"]["content"] == WITHHELD_NOTICE, (i, kind)
    assert missed == []


@pytest.mark.parametrize("carrier", CARRIERS)
def test_honest_answers_stream_unchanged_and_equal_whole(
    problems: list[dict[str, Any]], carrier: str
) -> None:
    for i, p in enumerate(problems):
        trace = build_trace(p["prompt"], str(p["answer"]), i)
        # a longer honest answer too: the explanation and the problem restated in prose
        honest = honest_answers(p["prompt"], str(p["answer"]))
        honest["long"] = f"{honest['short_explanation']} To recap the question: {p['prompt']}"
        for kind, ans in honest.items():
            text, finish, st = run(stream_of(trace, ans, carrier, i), carrier)
            assert finish == "stop" and not st.report.withheld_choices, (i, kind)
            whole = transform_response(
                whole_of(trace, ans, carrier), ["strip_reasoning"], fmt_of(carrier)
            )[0]["choices"][0]["message"]["content"]
            assert text == whole.strip() or text == whole, (i, kind)
            assert text.strip() == ans, (i, kind)


def test_streamed_reasoning_index_equals_whole_index(problems: list[dict[str, Any]]) -> None:
    rng = random.Random(5)
    trace = " ".join(build_trace(p["prompt"], str(p["answer"]), i) for i, p in enumerate(problems))
    for _ in range(5):
        ix = ReasoningIndex()
        pos = 0
        while pos < len(trace):
            step = rng.randint(1, 300)
            ix.extend(trace[pos : pos + step])
            pos += step
        ix.extend("", final=True)
        whole = ReasoningIndex.build(trace)
        assert (ix.uni, ix.bi, ix.tri, ix.n_tokens) == (
            whole.uni,
            whole.bi,
            whole.tri,
            whole.n_tokens,
        )


def long_trace(problems: list[dict[str, Any]], accent: bool) -> str:
    text = " ".join(
        build_trace(p["prompt"], str(p["answer"]), i) for i, p in enumerate(problems[:8])
    )
    return text.replace("e", "é") if accent else text  # multibyte characters cut by pieces


@pytest.mark.parametrize("encoding", ["base64", "hex", "rot13_unbroken"])
@pytest.mark.parametrize("accent", [False, True])
def test_long_unbroken_encoded_leak_is_cut_with_bounded_holdback(
    problems: list[dict[str, Any]], encoding: str, accent: bool
) -> None:
    """A trace encoded as one run longer than the reader holds back (4 KB) is decoded
    piece by piece: still caught, and never more than a bounded tail is held."""
    trace = long_trace(problems, accent)
    raw = trace.encode()
    if encoding == "base64":
        leaked = base64.b64encode(raw).decode()
    elif encoding == "hex":
        leaked = raw.hex()
    else:
        leaked = rot13(trace).replace(" ", "-")  # words joined into one long run
    assert len(leaked) > 4096 + 512
    assert LeakDetector().check(trace, f"Here: {leaked}").leaked
    g = StreamLeakGuard()
    g.add_reasoning(trace)
    held = 0
    for i in range(0, len(leaked), 5):
        g.add_content(leaked[i : i + 5])
        held = max(held, len(g._pending))
        if g.withheld:
            break
    g.finish()
    assert g.withheld, encoding
    assert held <= 4096 + 256 + 128 + 5


def test_long_encoded_honest_payload_passes(problems: list[dict[str, Any]]) -> None:
    """A long base64 blob unrelated to the reasoning (an image, a key) is not a leak."""
    trace = long_trace(problems, False)
    blob = base64.b64encode(bytes(random.Random(1).randbytes(9000))).decode()
    other = base64.b64encode(long_trace(problems[20:], False).encode()).decode()
    for answer in (f"Here is the file: {blob} done.", f"Encoded other text: {other}"):
        chunks = [{"choices": [{"index": 0, "delta": {"reasoning_content": trace}}]}]
        chunks += [
            {"choices": [{"index": 0, "delta": {"content": answer[i : i + 7]}}]}
            for i in range(0, len(answer), 7)
        ]
        chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        out = transform_stream(chunks, ["strip_reasoning"])
        assert "".join(c["choices"][0]["delta"].get("content") or "" for c in out) == answer
        assert out[-1]["choices"][0]["finish_reason"] == "stop"


def test_repeated_unclosed_and_split_tags_stream_like_whole(
    problems: list[dict[str, Any]],
) -> None:
    """Several think blocks between answer parts, the last one unclosed, with every tag
    split across chunks at every position: same visible text as the whole reply."""
    p = problems[0]
    trace = build_trace(p["prompt"], str(p["answer"]), 0)
    text = (
        f"<think>{trace[:200]}</think>Part one. <THINK>{trace[200:400]}</think >Part two "
        f"3 < 4 <b>ok</b>. <think>{trace[400:]}"
    )
    whole = transform_response(
        {"choices": [{"index": 0, "message": {"content": text}}]}, ["strip_reasoning"]
    )[0]["choices"][0]["message"]["content"]
    assert whole == "Part one. Part two 3 < 4 <b>ok</b>. "
    tag_starts = [m.start() for m in re.finditer("<", text)]
    for start in tag_starts:
        for k in range(1, 10):
            cuts = sorted({0, start + k, len(text)} | set(range(0, len(text), 37)))
            chunks = [
                {"choices": [{"index": 0, "delta": {"content": text[a:b]}}]}
                for a, b in itertools.pairwise(cuts)
            ]
            out = transform_stream(chunks, ["strip_reasoning"])
            assert "".join(c["choices"][0]["delta"].get("content") or "" for c in out) == whole


def test_leak_in_a_later_block_is_cut(problems: list[dict[str, Any]]) -> None:
    """Interleaved thinking: reasoning that arrives after answer text was read is indexed
    before the next answer text is. (Coverage is of all the reasoning, so the copied
    block must be most of it: see docs/guard.md, Limits.)"""
    a = "Short first thought about the units before I start on the real work here."
    b = long_trace(problems[1:], False)
    text = f"<think>{a}</think>First an honest line. <think>{b}</think>{b}"
    chunks = [{"choices": [{"index": 0, "delta": {"content": x}}]} for x in pieces(text)] + [
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    ]
    out = transform_stream(chunks, ["strip_reasoning"])
    shown = "".join(c["choices"][0]["delta"].get("content") or "" for c in out)
    assert shown.endswith(WITHHELD_NOTICE) and out[-1]["choices"][0]["finish_reason"] == (
        "content_filter"
    )


def test_fast_and_general_chunk_shapes_agree(problems: list[dict[str, Any]]) -> None:
    """The per-chunk fast path (one choice, one-key delta) and the general path (extra
    keys, two choices) produce the same text and verdicts."""
    p = problems[3]
    trace = build_trace(p["prompt"], str(p["answer"]), 3)
    honest = honest_answers(p["prompt"], str(p["answer"]))["short_explanation"]
    for ans in (leak_variants(trace, 3)["paraphrased"], honest):
        fast = stream_of(trace, ans, "field", 3)
        slow = []
        for c in fast:
            ch = dict(c["choices"][0])
            ch["delta"] = {**ch["delta"], "tool_calls": None} if ch["delta"] else {}
            ch1 = {**ch, "index": 1}
            slow.append({**c, "choices": [ch, ch1]})
        a = transform_stream(fast, ["strip_reasoning"])
        b = transform_stream(slow, ["strip_reasoning"])
        ta = "".join(c["choices"][0]["delta"].get("content") or "" for c in a)
        for idx in (0, 1):
            tb = "".join(
                ch["delta"].get("content") or ""
                for c in b
                for ch in c["choices"]
                if ch["index"] == idx
            )
            assert ta == tb


def test_unchanged_chunk_is_passed_through_without_copy() -> None:
    st = StreamTransformer(["strip_reasoning"])
    first = _chunk({"role": "assistant", "content": ""})
    st.feed(first)
    c = _chunk({"content": "plain answer text"})
    assert st.feed(c)[0] is c


def test_summary_and_report_without_keeping_reasoning(problems: list[dict[str, Any]]) -> None:
    p = problems[4]
    trace = build_trace(p["prompt"], str(p["answer"]), 4)
    ans = honest_answers(p["prompt"], str(p["answer"]))["final_only"]
    chunks = stream_of(trace, ans, "field", 4)
    st = StreamTransformer(["summarise_reasoning:first_sentence"])
    out = [c for x in chunks for c in st.feed(x)] + st.finish()
    sums = [c["choices"][0]["delta"].get("reasoning_content") for c in out]
    sums = [s for s in sums if s]
    whole = transform_response(
        whole_of(trace, ans, "field"), ["summarise_reasoning:first_sentence"]
    )
    assert sums == [whole[0]["choices"][0]["message"]["reasoning_content"]]
    assert st.report.reasoning_tokens == whole[1].reasoning_tokens


@pytest.mark.parametrize("carrier", CARRIERS)
def test_hidden_reasoning_sends_sparse_keepalives(
    problems: list[dict[str, Any]], carrier: str
) -> None:
    """A long hidden-reasoning phase sends one empty delta per KEEPALIVE_CHUNKS chunks:
    enough that the connection does not look stalled, not a write per hidden token."""
    reasoning = " ".join(
        build_trace(p["prompt"], str(p["answer"]), i) for i, p in enumerate(problems[:3])
    )
    chunks = [_chunk({"role": "assistant", "content": ""})]
    for p in pieces(("<think>\n" if carrier == "tags" else "") + reasoning):
        chunks.append(_chunk({"reasoning_content" if carrier == "field" else "content": p}))
    n_hidden = len(chunks) - 1
    st = StreamTransformer(["strip_reasoning"], fmt_of(carrier))
    out = [c for x in chunks for c in st.feed(x)]
    empties = [c for c in out[1:] if not c["choices"][0]["delta"].get("content")]
    assert len(empties) == len(out) - 1  # nothing of the reasoning is visible
    assert n_hidden // KEEPALIVE_CHUNKS - 1 <= len(empties) <= n_hidden // KEEPALIVE_CHUNKS + 1
    assert n_hidden > 10 * KEEPALIVE_CHUNKS
