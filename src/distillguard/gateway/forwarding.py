"""Forwarding to the upstream and relaying its answer: JSON bodies and SSE streams.

Why its own module: the relay is where response-side transforms (degrade) run chunk by
chunk, the upstream model name is rewritten back to the public one, usage is read for
quota reconciliation (the usage chunk the gateway asked for is hidden again), and a
client that goes away cancels the upstream call.
"""

from __future__ import annotations

import asyncio
import re
from time import perf_counter
from typing import Any

import orjson

from distillguard.events import content_fingerprint
from distillguard.gateway.appbase import (
    CHAT,
    DONE,
    EMBEDDINGS,
    JSON_CT,
    SSE_HEADERS,
    AppBase,
    Receive,
    Req,
    Send,
)
from distillguard.gateway.config import ModelRoute
from distillguard.gateway.errors import ApiError
from distillguard.gateway.sse import AnswerPrefix, SSESplitter, event_data

# An event that must be parsed: a usage object (quota reconciliation; the one we asked
# for is hidden again) or a finish reason (the event log). `"usage":null` is not one.
_SPECIAL = re.compile(rb'"(?:usage"\s*:\s*\{|finish_reason"\s*:\s*")')


def _first_special(done: bytes) -> int:
    """Where the first event that must be parsed starts to show, or -1."""
    m = _SPECIAL.search(done)
    return -1 if m is None else m.start()


class Forwarding(AppBase):
    def _upstream_error(self, status: int, raw: bytes, route: ModelRoute) -> ApiError:
        msg = f"upstream for {route.name!r} returned HTTP {status}"
        code = "upstream_error"
        try:
            err = orjson.loads(raw).get("error")
            if isinstance(err, dict):
                msg = f"{msg}: {str(err.get('message', ''))[:500]}"
                if isinstance(err.get("code"), str) and status < 500:
                    code = err["code"]
        except (orjson.JSONDecodeError, AttributeError):
            pass
        if status >= 500:
            return ApiError("upstream_error", msg, status=502)
        if status == 429:
            return ApiError("rate_limited", msg, status=429)
        return ApiError(code, msg, status=status)

    async def _relay_body(self, raw: bytes, send: Send, r: Req, route: ModelRoute) -> None:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiError("upstream_error", "upstream returned invalid JSON", status=502) from None
        if not isinstance(obj, dict):
            raise ApiError("upstream_error", "upstream returned a non-object", status=502)
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self._usage(usage, r)
        choices = obj.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            r.finish_reason = choices[0].get("finish_reason")
        if route.upstream_model:
            obj["model"] = route.name
        if (r.transforms and self.parts.response_transforms is not None) or route.upstream_model:
            if r.transforms and self.parts.response_transforms is not None:
                obj = self.parts.response_transforms(obj, r.transforms)
            raw = orjson.dumps(obj)
        ch = obj.get("choices")  # fingerprint what the client got (detect: history check)
        c0 = ch[0] if isinstance(ch, list) and ch else None
        m = c0.get("message") if isinstance(c0, dict) else None
        if isinstance(m, dict) and isinstance(m.get("content"), str):
            r.answer_fp = content_fingerprint(m["content"])
        r.in_upstream = False
        overhead = perf_counter() - r.t0 - r.upstream_s
        headers = [JSON_CT, *r.headers(overhead), (b"content-length", str(len(raw)).encode())]
        r.started = True
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": raw})

    def _usage(self, usage: dict[str, Any], r: Req) -> None:
        pt = usage.get("prompt_tokens")
        ct = usage.get("completion_tokens")
        if isinstance(pt, int):
            r.tokens_in = pt
        if isinstance(ct, int):
            r.tokens_out = ct
        elif r.endpoint == EMBEDDINGS:
            r.tokens_out = 0

    async def _relay_stream(
        self,
        resp: Any,
        send: Send,
        r: Req,
        route: ModelRoute,
        t_call: float,
        strip_usage: bool,
    ) -> None:
        t_hdr = perf_counter()
        r.upstream_s = t_hdr - t_call
        self.metrics.observe(self._upstream_hist(route.name), r.upstream_s)
        st = None
        if r.transforms and self.parts.stream_transformer is not None:
            st = self.parts.stream_transformer(r.transforms)
        rename = route.name if route.upstream_model else None
        # Renaming the upstream model back to the public name is a byte replacement on
        # chunks we do not otherwise need to parse (no JSON round trip per token).
        renames: tuple[bytes, bytes, bytes] | None = None
        if rename is not None:
            up = orjson.dumps(route.upstream_model)
            renames = (b'"model":' + up, b'"model": ' + up, b'"model":' + orjson.dumps(rename))
        overhead = perf_counter() - r.t0 - r.upstream_s
        r.started = True
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*SSE_HEADERS, *r.headers(overhead)],
            }
        )
        split = SSESplitter()
        # fingerprint what the client got (detect: history check); chat, one choice only
        n = r.params.get("n")
        prefix = AnswerPrefix() if r.endpoint == CHAT and n in (None, 1) else None
        chunks = 0
        usage_seen = False
        last: list[bytes] = []
        next_chunk = resp.next_chunk
        while True:
            t = perf_counter()
            raw = await next_chunk()
            r.upstream_s += perf_counter() - t
            if raw is None:
                break
            done = split.feed_complete(raw)
            if not done:
                continue
            out: list[bytes] = []
            # Fast path: plain token events (no usage object, no finish reason, no degrade
            # transform) need no parsing; they are counted and renamed as one byte string.
            # Only the events from the first that carries usage or a finish reason on go
            # through the per-event path below (usually the last one or two of a stream).
            fast_end = 0
            if st is None:
                pos = _first_special(done)
                if pos < 0:
                    fast_end = len(done)
                else:
                    k = done.rfind(b"\n\n", 0, pos)
                    fast_end = 0 if k < 0 else k + 2
            if fast_end:
                fast = done[:fast_end] if fast_end < len(done) else done
                n_events = fast.startswith(b"data:") + fast.count(b"\n\ndata:")
                chunks += n_events - fast.count(b"data: [DONE]")
                if renames is not None:
                    fast = fast.replace(renames[0], renames[2]).replace(renames[1], renames[2])
                out.append(fast)
            for block in done[fast_end:].split(b"\n\n"):
                if not block:
                    continue
                payload = event_data(block)
                if payload is None:
                    out.append(block + b"\n\n")
                    continue
                if payload == DONE:
                    if st is not None:
                        out.extend(b"data: " + orjson.dumps(c) + b"\n\n" for c in st.finish())
                        st = None
                    out.append(b"data: [DONE]\n\n")
                    continue
                parse = st is not None
                has_usage = (
                    b'"usage"' in payload
                    and b'"usage":null' not in payload
                    and (b'"usage": null' not in payload)
                )
                if (
                    has_usage
                    or parse
                    or b'"finish_reason":"' in payload
                    or (b'"finish_reason": "' in payload)
                ):
                    try:
                        obj = orjson.loads(payload)
                    except orjson.JSONDecodeError:
                        out.append(block + b"\n\n")
                        continue
                    u = obj.get("usage") if isinstance(obj, dict) else None
                    if isinstance(u, dict):
                        usage_seen = True
                        self._usage(u, r)
                        if strip_usage and not obj.get("choices"):
                            continue  # we asked for it, the client did not
                        if strip_usage:
                            obj.pop("usage", None)
                    ch = obj.get("choices") if isinstance(obj, dict) else None
                    if isinstance(ch, list) and ch and isinstance(ch[0], dict):
                        fr = ch[0].get("finish_reason")
                        if fr:
                            r.finish_reason = fr
                    if rename is not None and isinstance(obj, dict):
                        obj["model"] = rename
                    if st is not None:
                        out.extend(b"data: " + orjson.dumps(c) + b"\n\n" for c in st.feed(obj))
                    else:
                        out.append(b"data: " + orjson.dumps(obj) + b"\n\n")
                else:
                    if renames is not None:
                        block = block.replace(renames[0], renames[2]).replace(
                            renames[1], renames[2]
                        )
                    out.append(block + b"\n\n")
                chunks += 1
            if prefix is not None and not prefix.complete:
                for piece in out:
                    prefix.feed(piece)
            if resp.finished:  # that was the last of it: goes out with the end of the body
                last = out
                break
            if out:
                await send({"type": "http.response.body", "body": b"".join(out), "more_body": True})
        tail: list[bytes] = last
        fed = len(last)  # the answer prefix has seen these already
        rest = split.rest()
        if rest:
            tail.append(rest + b"\n\n")
        if st is not None:
            tail.extend(b"data: " + orjson.dumps(c) + b"\n\n" for c in st.finish())
        if prefix is not None:
            if not prefix.complete:
                for piece in tail[fed:]:
                    prefix.feed(piece)
            r.answer_fp = prefix.fingerprint()
        if not usage_seen:
            r.tokens_out = chunks
        r.in_upstream = False
        await send({"type": "http.response.body", "body": b"".join(tail), "more_body": False})

    def _start_watch(self, receive: Receive, task: asyncio.Task[Any], r: Req) -> None:
        if r.in_upstream and not task.done():
            r.watcher = asyncio.get_running_loop().create_task(self._watch(receive, task, r))

    async def _watch(self, receive: Receive, task: asyncio.Task[Any], r: Req) -> None:
        msg = await receive()
        if msg["type"] == "http.disconnect" and r.in_upstream:
            r.disconnected = True
            task.cancel()
