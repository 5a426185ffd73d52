"""The SSE relay on upstream bytes split at arbitrary points: the public model name on
every event, the usage chunk the gateway asked for hidden again, exact usage and finish
reason for the event log, and the fallback token count when no usage comes."""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.gateway.appbase import CHAT, Req
from distillguard.gateway.config import ModelRoute
from distillguard.gateway.forwarding import Forwarding
from distillguard.gateway.metrics import Metrics


class Relay(Forwarding):
    def __init__(self) -> None:
        self.metrics = Metrics()
        self._children = {}
        self.parts = SimpleNamespace(stream_transformer=None)  # type: ignore[assignment]


class FakeResponse:
    """What the relay reads: chunks as they arrive, `finished` after the last one."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.finished = False
        self._i = 0

    async def next_chunk(self) -> bytes | None:
        if self._i == len(self.chunks):
            return None
        self._i += 1
        self.finished = self._i == len(self.chunks)
        return self.chunks[self._i - 1]


def event(delta: str | None, finish: str | None = None, usage: Any = None) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": {"content": delta}}]
    if choices:
        choices[0]["finish_reason"] = finish
    return {"id": "x", "model": "stub", "choices": choices, "usage": usage}


def sse(events: list[dict[str, Any]], crlf: bool) -> bytes:
    nl = b"\r\n\r\n" if crlf else b"\n\n"
    return b"".join(b"data: " + orjson.dumps(e) + nl for e in events) + b"data: [DONE]" + nl


def relay(raw: bytes, cuts: list[int], strip_usage: bool) -> tuple[list[bytes], Req]:
    points = sorted({c % (len(raw) + 1) for c in cuts} | {0, len(raw)})
    chunks = [raw[a:b] for a, b in itertools.pairwise(points) if b > a]
    sent: list[bytes] = []

    async def send(msg: dict[str, Any]) -> None:
        if msg["type"] == "http.response.body":
            sent.append(msg["body"])

    r = Req(CHAT, 0.0)
    route = ModelRoute("public", "http://127.0.0.1:9/v1", upstream_model="stub")
    asyncio.run(Relay()._relay_stream(FakeResponse(chunks), send, r, route, 0.0, strip_usage))
    out = b"".join(sent).split(b"\n\n")
    return [e for e in out if e], r


TOKENS = [event(w) for w in ("Hel", "lo", " wor", "ld")]
FINAL = event("", finish="stop")
USAGE = event(None, usage={"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11})


@settings(max_examples=150, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8), crlf=st.booleans())
def test_relay_any_split(cuts: list[int], crlf: bool) -> None:
    # usage we asked for (strip_usage): read, then hidden from the client
    events, r = relay(sse([*TOKENS, FINAL, USAGE], crlf), cuts, strip_usage=True)
    assert events[-1] == b"data: [DONE]"
    bodies = [orjson.loads(e[6:]) for e in events[:-1]]
    assert len(bodies) == 5 and all(b["model"] == "public" for b in bodies)
    assert all(b["usage"] is None for b in bodies)  # the injected usage chunk is gone
    assert "".join(b["choices"][0]["delta"]["content"] for b in bodies) == "Hello world"
    assert (r.tokens_in, r.tokens_out, r.finish_reason) == (7, 4, "stop")
    # usage the client asked for: passed through; no usage at all: the events are counted
    events, r = relay(sse([*TOKENS, FINAL, USAGE], crlf), cuts, strip_usage=False)
    assert orjson.loads(events[-2][6:])["usage"]["completion_tokens"] == 4
    events, r = relay(sse([*TOKENS, FINAL], crlf), cuts, strip_usage=False)
    assert len(events) == 6 and r.tokens_out == 5 and r.finish_reason == "stop"
