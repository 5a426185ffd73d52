"""The streamed answer's fingerprint is the fingerprint of the text the client received."""

from __future__ import annotations

import orjson

from distillguard.events import content_fingerprint
from distillguard.gateway.sse import AnswerPrefix


def _event(delta: dict[str, object]) -> bytes:
    obj = {"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
    return b"data: " + orjson.dumps(obj) + b"\n\n"


def test_prefix_joins_deltas_and_ignores_reasoning_fields() -> None:
    p = AnswerPrefix()
    p.feed(_event({"role": "assistant", "reasoning_content": "secret plan"}))
    first, second = 'He said "hi"\\n', " and \u00e9t\u00e9 \U0001f600"
    p.feed(_event({"content": first}) + _event({"content": second}))
    p.feed(b"data: [DONE]\n\n")
    assert p.fingerprint() == content_fingerprint(first + second)


def test_prefix_stops_after_the_fingerprinted_opening() -> None:
    p = AnswerPrefix()
    text = "word " * 400
    for i in range(0, len(text), 7):
        p.feed(_event({"content": text[i : i + 7]}))
    assert p.complete
    assert p.fingerprint() == content_fingerprint(text)


def test_no_answer_text_gives_no_fingerprint() -> None:
    p = AnswerPrefix()
    p.feed(_event({"role": "assistant", "content": None}))
    p.feed(_event({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}))
    assert p.fingerprint() is None


def test_answer_text_that_quotes_a_content_key_is_read_as_text() -> None:
    p = AnswerPrefix()
    text = 'Use {"content": "x"} here'
    p.feed(_event({"role": "assistant", "content": ""}) + _event({"content": text}))
    assert p.fingerprint() == content_fingerprint(text)
