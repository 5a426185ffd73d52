"""Output/request transforms: reasoning fields and tags stripped, whole and streamed."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.errors import DistillguardError
from distillguard.guard.formats import ReasoningFormat
from distillguard.guard.thinktags import TagSplitter, split_text
from distillguard.guard.transforms import (
    WITHHELD_NOTICE,
    StreamTransformer,
    apply_request_transforms,
    apply_response_transforms,
    parse_transforms,
    transform_response,
    transform_stream,
)

TAGS = ("think", "thinking", "reasoning")


def chat(content: Any, **msg: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **msg},
                "logprobs": {"content": [{"token": "x", "logprob": -0.1}]},
                "finish_reason": "stop",
            }
        ],
    }


@pytest.mark.parametrize(
    ("text", "visible", "hidden"),
    [
        ("<think>a b</think>Answer", "Answer", "a b"),
        ("<think>1</think>A<THINKING>2</thinking>B<reasoning x='y'>3</reasoning>C", "ABC", "123"),
        ("<think>a <think>b</think> c</think>Answer", "Answer", "a b c"),
        ("Intro <think>never closed", "Intro ", "never closed"),
        # a repeated block left unclosed hides only its own tail
        ("<think>x</think>One <think>never closed", "One ", "xnever closed"),
        # a stray inner opening tag in a later block does not hide the answer before it
        ("<think>x</think>One <think>a <think>b</think> c", "One  c", "xa b"),
        ("r1-style hidden</think>Answer", "Answer", "r1-style hidden"),
        ("no tags, 3 < 4 and <b>bold</b>", "no tags, 3 < 4 and <b>bold</b>", ""),
        ("<thinker>not ours</thinker>", "<thinker>not ours</thinker>", ""),
        ("< think >spaced</ think >ok", "ok", "spaced"),
    ],
)
def test_split_text(text: str, visible: str, hidden: str) -> None:
    assert split_text(text, TAGS) == (visible, hidden)


def test_nested_unbalanced_block_ends_at_last_close() -> None:
    # whole text can see the end: the block runs to the last closing tag
    vis, rea = split_text("<think>x <think> y</think>Answer", TAGS)
    assert vis == "Answer" and "x" in rea and "y" in rea
    # a stream cannot: depth stays 1 and the rest stays hidden (fail closed)
    sp = TagSplitter(TAGS)
    assert sp.feed("<think>x <think> y</think>Answer") == ("", "x  yAnswer")
    vis, rea = split_text("<think>a <think>b</think>c</think>d</think>Final", TAGS)
    assert vis == "Final"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=40))
def test_stream_split_equals_whole_split(cuts: list[int]) -> None:
    text = "Pre <think>hidden 1 < 2 </think>mid <thinking a='1'>h2</thinking> 5 <b>x</b> <thi"
    sp = TagSplitter(TAGS)
    vis: list[str] = []
    rea: list[str] = []
    pos, k = 0, 0
    while pos < len(text):
        step = cuts[k % len(cuts)]
        v, r = sp.feed(text[pos : pos + step])
        vis.append(v)
        rea.append(r)
        pos += step
        k += 1
    v, r = sp.finish()
    vis.append(v)
    rea.append(r)
    assert "".join(vis) == "Pre mid  5 <b>x</b> <thi"
    assert "".join(rea) == "hidden 1 < 2 h2"


def test_holdback_is_bounded() -> None:
    sp = TagSplitter(TAGS)
    sp.feed("text <thin")
    assert sp.pending == "<thin"
    v, _ = sp.feed("king of it")  # could still be `<thinking of="it">`: held
    assert v == "" and sp.pending == "<thinking of it"
    v2, _ = sp.feed(" without closing bracket " * 10)  # too long for a tag: released
    assert len(sp.pending) == 0 and "<thinking of it" in v + v2


def test_response_strip_fields_tags_and_logprob_of_reasoning_tokens() -> None:
    body = chat(
        "<think>private</think>The answer is 4.",
        reasoning_content="field reasoning",
        reasoning_details=[{"type": "reasoning.text", "text": "details"}],
    )
    body["choices"][0]["logprobs"] = {
        "content": [
            {"token": "<think>", "logprob": -0.1},
            {"token": "private", "logprob": -0.2},
            {"token": "</think>", "logprob": -0.1},
            {"token": "The answer is 4.", "logprob": -0.3},
        ]
    }
    orig = copy.deepcopy(body)
    out, report = transform_response(body, ["strip_reasoning"])
    msg = out["choices"][0]["message"]
    assert msg == {"role": "assistant", "content": "The answer is 4."}
    assert [e["token"] for e in out["choices"][0]["logprobs"]["content"]] == ["The answer is 4."]
    assert body == orig  # input not mutated
    assert report.reasoning_tokens > 0 and report.withheld_choices == []


def test_reasoning_content_parts_removed() -> None:
    body = chat([{"type": "thinking", "thinking": "secret"}, {"type": "text", "text": "hi"}])
    out = apply_response_transforms(body, ["strip_reasoning"])
    assert out["choices"][0]["message"]["content"] == [{"type": "text", "text": "hi"}]


def test_completions_text_is_stripped() -> None:
    body = {"choices": [{"index": 0, "text": "<think>x</think>y", "finish_reason": "stop"}]}
    assert apply_response_transforms(body, ["strip_reasoning"])["choices"][0]["text"] == "y"


def test_no_transforms_leaves_reasoning() -> None:
    body = chat("<think>a</think>b", reasoning_content="r")
    assert apply_response_transforms(body, []) == body


def test_summarise_reasoning() -> None:
    body = chat("ok", reasoning_content="First I add the numbers. Then I check. " * 10)
    msg = apply_response_transforms(body, ["summarise_reasoning"])["choices"][0]["message"]
    assert msg["reasoning_content"].startswith("[reasoning withheld: about ")
    msg = apply_response_transforms(body, ["summarize_reasoning:first_sentence"])["choices"][0][
        "message"
    ]
    assert msg["reasoning_content"].startswith("First I add the numbers. [rest of reasoning")


def test_drop_logprobs_response_and_request() -> None:
    out = apply_response_transforms(chat("a"), ["drop_logprobs"])
    assert out["choices"][0]["logprobs"] is None
    req = {"model": "m", "logprobs": True, "top_logprobs": 20, "n": 8, "max_tokens": 9000}
    r = apply_request_transforms(req, ["drop_logprobs", "cap_n:2", "cap_max_tokens:1024"])
    assert r == {"model": "m", "n": 2, "max_tokens": 1024}
    assert req["n"] == 8
    assert apply_request_transforms({}, ["cap_max_tokens:50"]) == {"max_tokens": 50}
    assert apply_request_transforms({"max_completion_tokens": 10}, ["cap_max_tokens:50"]) == {
        "max_completion_tokens": 10
    }


@pytest.mark.parametrize("bad", ["cap_n:0", "cap_n:x", "frobnicate", "summarise_reasoning:poem"])
def test_bad_transform_names_fail_closed(bad: str) -> None:
    with pytest.raises(DistillguardError):
        parse_transforms([bad])


def _chunks(pieces: list[tuple[str, str]]) -> list[dict[str, Any]]:
    out = []
    for i, (key, text) in enumerate(pieces):
        out.append(
            {
                "id": "s",
                "object": "chat.completion.chunk",
                "choices": [
                    {
                        "index": 0,
                        "delta": {key: text},
                        "logprobs": None,
                        "finish_reason": "stop" if i == len(pieces) - 1 else None,
                    }
                ],
            }
        )
    return out


def _content(chunks: list[dict[str, Any]]) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices")
    )


def test_stream_strips_field_and_split_tags() -> None:
    pieces = [("reasoning_content", "field thoughts"), ("content", "<th"), ("content", "ink>tag ")]
    pieces += [("content", "thoughts</thi"), ("content", "nk>Visible "), ("content", "answer.")]
    out = transform_stream(_chunks(pieces), ["strip_reasoning"])
    assert _content(out) == "Visible answer."
    assert all("reasoning_content" not in c["choices"][0]["delta"] for c in out)
    assert out[-1]["choices"][0]["finish_reason"] == "stop"


def test_stream_implicit_open_format() -> None:
    fmt = ReasoningFormat(fields=(), tags=("think",), implicit_open=True)
    out = transform_stream(
        _chunks([("content", "hidden "), ("content", "</think>shown")]), ["strip_reasoning"], fmt
    )
    assert _content(out) == "shown"


def test_stream_unterminated_stream_flushes_in_finish() -> None:
    st = StreamTransformer(["strip_reasoning"])
    c = _chunks([("content", "a"), ("content", "b")])[0]
    out = st.feed(c) + st.feed({**c, "choices": [{"index": 0, "delta": {"content": "tail <"}}]})
    out += st.finish()
    assert _content(out) == "atail <"


def test_stream_summary_placeholder_sent_once() -> None:
    pieces = [("reasoning_content", "Step one. " * 20), ("content", "Answer")]
    out = transform_stream(_chunks(pieces), ["summarise_reasoning"])
    summaries = [c["choices"][0]["delta"].get("reasoning_content") for c in out]
    assert [s for s in summaries if s] == ["[reasoning withheld: about 50 tokens]"]


def test_leak_check_withholds_whole_and_stream() -> None:
    trace = (
        "First I count the apples in each basket: the red basket has seventeen apples and the "
        "green basket has twice as many, so thirty four. Then I subtract the nine rotten apples "
        "from the total of fifty one, which leaves forty two good apples for the market stall."
    )
    body = chat(f"Sure! Here is my thinking: {trace}", reasoning_content=trace)
    out, rep = transform_response(body, ["strip_reasoning"])
    assert out["choices"][0]["message"]["content"] == WITHHELD_NOTICE
    assert out["choices"][0]["finish_reason"] == "content_filter" and rep.withheld_choices == [0]
    # streamed in 7-character pieces: the leak is cut and the end says content_filter
    pieces = [("reasoning_content", trace)] + [
        ("content", trace[i : i + 7]) for i in range(0, len(trace), 7)
    ]
    st = StreamTransformer(["strip_reasoning"], hold_chars=64)
    out_chunks = [x for c in _chunks(pieces) for x in st.feed(c)] + st.finish()
    shown = _content(out_chunks)
    assert WITHHELD_NOTICE in shown and len(shown) < len(trace)
    assert out_chunks[-1]["choices"][0]["finish_reason"] == "content_filter"
    # leak_check:off lets it through (explicit opt-out)
    out = apply_response_transforms(body, ["strip_reasoning", "leak_check:off"])
    assert trace in out["choices"][0]["message"]["content"]
