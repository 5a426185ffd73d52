"""A stand-in OpenAI-compatible upstream with canned answers (NOT a model).

Why: the demo, the end-to-end tests and the benchmark need an upstream that behaves like
vLLM / OpenAI on the wire (JSON and SSE streaming, usage, logprobs, n, a reasoning field
and <think> blocks so strip_reasoning is visible) without a model server. Every answer
says it comes from the stand-in. Upstream model names select behaviours:

- a name containing ``think``: the reasoning is inlined as ``<think>...</think>`` in the
  content (DeepSeek-R1 / QwQ style); otherwise it is a separate ``reasoning_content``
  field (vLLM / DeepSeek API style);
- ``stub-slow``: waits ``--slow-s`` seconds before answering (timeouts);
- ``stub-sleep-<ms>``: waits that many milliseconds, then answers normally;
- ``stub-error``: answers HTTP 500;
- ``stub-drip``: streams one chunk every 50 ms for 10 s (client-disconnect tests).

`GET /stub/stats` reports requests, completed and cancelled streams. Run it alone with
`python -m distillguard.gateway.stub --port 9100`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import time
from typing import Any

import orjson

Scope = dict[str, Any]

REASONING = (
    "Let me work through this step by step. First I restate the question, then I check "
    "the constraints, then I compute the answer and verify it."
)
ANSWERS = (
    "[stand-in upstream] Here is a canned answer: the result follows from the steps above.",
    "[stand-in upstream] A canned reply: start from the definitions and apply them in order.",
    "[stand-in upstream] Canned answer: the key idea is to split the problem into parts.",
)


class StubUpstream:
    """Raw ASGI app; see the module docstring for its behaviours."""

    def __init__(self, *, slow_s: float = 30.0, reasoning: bool = True) -> None:
        self.slow_s = slow_s
        self.reasoning = reasoning
        self.stats = {"requests": 0, "completed": 0, "cancelled": 0}
        self._created = int(time.time())

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if scope["method"] == "GET":
            if path == "/stub/stats":
                return await self._json(send, 200, self.stats)
            if path == "/v1/models":
                data = [{"id": "stub", "object": "model", "created": self._created}]
                return await self._json(send, 200, {"object": "list", "data": data})
            return await self._json(send, 404, {"error": {"message": "not found"}})
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        self.stats["requests"] += 1
        try:
            req = orjson.loads(body)
        except orjson.JSONDecodeError:
            return await self._json(send, 400, {"error": {"message": "invalid JSON"}})
        model = str(req.get("model", "stub"))
        if model == "stub-error":
            return await self._json(send, 500, {"error": {"message": "stub failure"}})
        if model == "stub-slow":
            await asyncio.sleep(self.slow_s)
        elif model.startswith("stub-sleep-") and model[11:].isdigit():
            await asyncio.sleep(int(model[11:]) / 1000)
        if path == "/v1/embeddings":
            return await self._json(send, 200, self._embeddings(req))
        if path not in ("/v1/chat/completions", "/v1/completions"):
            return await self._json(send, 404, {"error": {"message": f"no route {path}"}})
        chat = path == "/v1/chat/completions"
        if req.get("stream"):
            return await self._stream(send, receive, req, chat)
        await self._json(send, 200, self._completion(req, chat))
        self.stats["completed"] += 1

    # -- answers ---------------------------------------------------------------------------
    @staticmethod
    def _pick(req: dict[str, Any]) -> tuple[str, int]:
        text = orjson.dumps(req.get("messages") or req.get("prompt") or "")
        h = hashlib.blake2s(text, digest_size=4).digest()
        return ANSWERS[h[0] % len(ANSWERS)], len(text) // 4 + 1

    def _words(self, req: dict[str, Any]) -> list[str]:
        answer, _ = self._pick(req)
        words = answer.split(" ")
        mt = req.get("max_tokens") or req.get("max_completion_tokens")
        if isinstance(mt, int) and mt > 0:
            words = words[:mt]
        return words

    def _completion(self, req: dict[str, Any], chat: bool) -> dict[str, Any]:
        _, tokens_in = self._pick(req)
        words = self._words(req)
        content = " ".join(words)
        think = "think" in str(req.get("model", ""))
        n_req = req.get("n")
        n = n_req if isinstance(n_req, int) and n_req > 0 else 1
        choices = []
        for i in range(min(n, 16)):
            c: dict[str, Any] = {"index": i, "finish_reason": "stop"}
            if chat:
                msg: dict[str, Any] = {"role": "assistant", "content": content}
                if self.reasoning and think:
                    msg["content"] = f"<think>{REASONING}</think>\n{content}"
                elif self.reasoning:
                    msg["reasoning_content"] = REASONING
                c["message"] = msg
            else:
                c["text"] = content
            if req.get("logprobs"):
                top = int(req.get("top_logprobs") or 0)
                c["logprobs"] = {
                    "content": [
                        {
                            "token": w,
                            "logprob": -0.1,
                            "top_logprobs": [{"token": w, "logprob": -0.1}] * top,
                        }
                        for w in words
                    ]
                }
            choices.append(c)
        out_tokens = len(words) * len(choices)
        return {
            "id": "stub-" + hashlib.blake2s(orjson.dumps(req), digest_size=6).hexdigest(),
            "object": "chat.completion" if chat else "text_completion",
            "created": self._created,
            "model": req.get("model", "stub"),
            "system_fingerprint": "distillguard-stand-in",
            "choices": choices,
            "usage": {
                "prompt_tokens": tokens_in,
                "completion_tokens": out_tokens,
                "total_tokens": tokens_in + out_tokens,
            },
        }

    def _embeddings(self, req: dict[str, Any]) -> dict[str, Any]:
        inp = req.get("input")
        items = inp if isinstance(inp, list) else [inp]
        data = []
        for i, item in enumerate(items):
            h = hashlib.blake2s(orjson.dumps(item), digest_size=8).digest()
            data.append(
                {"object": "embedding", "index": i, "embedding": [(b - 128) / 128 for b in h]}
            )
        tokens = sum(len(str(x)) // 4 + 1 for x in items)
        return {
            "object": "list",
            "data": data,
            "model": req.get("model", "stub"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    # -- streaming -------------------------------------------------------------------------
    async def _stream(self, send: Any, receive: Any, req: dict[str, Any], chat: bool) -> None:
        model = str(req.get("model", "stub"))
        _, tokens_in = self._pick(req)
        words = self._words(req)
        think = "think" in model
        drip = model == "stub-drip"
        if drip:
            words = ["drip"] * 200
        base: dict[str, Any] = {
            "id": "stub-stream",
            "object": "chat.completion.chunk" if chat else "text_completion",
            "created": self._created,
            "model": model,
        }

        def chunk(delta: dict[str, Any] | str, finish: str | None = None) -> bytes:
            choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
            if chat:
                choice["delta"] = delta
            else:
                choice["text"] = delta
            if chat and req.get("logprobs") and isinstance(delta, dict) and delta.get("content"):
                choice["logprobs"] = {"content": [{"token": delta["content"], "logprob": -0.1}]}
            return b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n"

        parts: list[bytes] = []
        if chat:
            parts.append(chunk({"role": "assistant", "content": ""}))
            if self.reasoning and think:
                parts.append(chunk({"content": "<think>"}))
                parts.extend(chunk({"content": w + " "}) for w in REASONING.split(" "))
                parts.append(chunk({"content": "</think>\n"}))
            elif self.reasoning:
                parts.extend(chunk({"reasoning_content": w + " "}) for w in REASONING.split(" "))
        for i, w in enumerate(words):
            piece = w if i == len(words) - 1 else w + " "
            parts.append(chunk({"content": piece} if chat else piece))
        parts.append(chunk({} if chat else "", "stop"))
        opts = req.get("stream_options")
        if isinstance(opts, dict) and opts.get("include_usage"):
            u = {
                "prompt_tokens": tokens_in,
                "completion_tokens": len(words),
                "total_tokens": tokens_in + len(words),
            }
            parts.append(b"data: " + orjson.dumps({**base, "choices": [], "usage": u}) + b"\n\n")
        parts.append(b"data: [DONE]\n\n")
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if not drip:  # fast path: the whole stream in a few writes
            await send({"type": "http.response.body", "body": b"".join(parts), "more_body": False})
            self.stats["completed"] += 1
            return
        disconnected = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected.set()

        watcher = asyncio.get_running_loop().create_task(watch())
        try:
            for p in parts[:-1]:
                if disconnected.is_set():
                    self.stats["cancelled"] += 1
                    return
                await send({"type": "http.response.body", "body": p, "more_body": True})
                await asyncio.sleep(0.05)
            await send({"type": "http.response.body", "body": parts[-1], "more_body": False})
            self.stats["completed"] += 1
        finally:
            watcher.cancel()

    @staticmethod
    async def _json(send: Any, status: int, obj: Any) -> None:
        body = orjson.dumps(obj)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> None:
    """Serve the stand-in upstream (uvicorn, uvloop, httptools)."""
    import uvicorn

    ap = argparse.ArgumentParser(description="distillguard stand-in upstream (canned answers)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9100)
    ap.add_argument("--slow-s", type=float, default=30.0)
    ap.add_argument("--no-reasoning", action="store_true")
    a = ap.parse_args(argv)
    app = StubUpstream(slow_s=a.slow_s, reasoning=not a.no_reasoning)
    uvicorn.run(
        app,
        host=a.host,
        port=a.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
