"""The pooled upstream client against a raw-socket HTTP server whose behaviour each test
sets: keep-alive reuse, chunked and gzip bodies, streaming, read timeouts, connect
failures (retried) versus failures after the request was sent (never retried), and a
cancelled call closing its connection."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from distillguard.gateway.config import ModelRoute, UpstreamConfig
from distillguard.gateway.errors import ApiError
from distillguard.gateway.upstream import Upstream

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length)


class Server:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []
        self.closed = asyncio.Event()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.set()
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[tuple[Server, str]]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> tuple[Server, str]:
        s = Server(handler)
        srv = await asyncio.start_server(s._serve, "127.0.0.1", 0)
        servers.append(srv)
        return s, f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}/v1"

    yield start
    for srv in servers:
        srv.close()


def route(url: str) -> ModelRoute:
    return ModelRoute("m", url, api_key="sk-up")


async def client(**kw: float) -> Upstream:
    up = Upstream(UpstreamConfig(**kw))  # type: ignore[arg-type]
    await up.start()
    return up


async def test_keep_alive_reuse_head_and_body(serve) -> None:  # type: ignore[no-untyped-def]
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, body = await read_request(reader)
            s.requests.append((head, body))
            out = b'{"ok":' + body + b"}"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(out) + out)

    s, url = await serve(handler)
    up = await client()
    for i in range(3):
        resp = await up.send(route(url), "/chat/completions", b"%d" % i)
        assert resp.status == 200 and await resp.read() == b'{"ok":%d}' % i
        resp.release()
    assert s.connections == 1  # one pooled connection served all three
    head = s.requests[0][0]
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert b"Authorization: Bearer sk-up\r\n" in head and b"Content-Length: 1\r\n" in head
    await up.close()


async def test_chunked_stream_and_gzip(serve) -> None:  # type: ignore[no-untyped-def]
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, _ = await read_request(reader)
            if b"/gz" in head:
                z = gzip.compress(b'{"a":1}')
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
                    % len(z)
                    + z
                )
                continue
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (b"data: 1\n\n", b"data: 2\n\n"):
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
                await asyncio.sleep(0.05)
            writer.write(b"0\r\n\r\n")

    _, url = await serve(handler)
    up = await client()
    resp = await up.send(route(url), "/stream", b"{}")
    got = [c async for c in resp.iter_chunks()]
    assert b"".join(got) == b"data: 1\n\ndata: 2\n\n" and len(got) == 2  # as they arrived
    resp.release()
    resp = await up.send(route(url), "/gz", b"{}")
    assert await resp.read() == b'{"a":1}'
    resp.release()
    await up.close()


async def test_read_timeout_and_error_after_send_not_retried(serve) -> None:  # type: ignore[no-untyped-def]
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head, _ = await read_request(reader)
        if b"/slow" in head:
            await asyncio.sleep(5)
        # /drop: close after reading the request, before any answer

    s, url = await serve(handler)
    up = await client(read_timeout_s=0.2, connect_retries=3)
    with pytest.raises(ApiError) as e:
        await up.send(route(url), "/slow", b"{}")
    assert e.value.code == "upstream_timeout"
    with pytest.raises(ApiError) as e:
        await up.send(route(url), "/drop", b"{}")
    assert e.value.code == "upstream_error"
    assert s.connections == 2  # the dropped request was not sent again
    await up.close()


async def test_connect_refused_is_retried_then_unavailable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    up = await client(connect_retries=2)
    t = asyncio.get_running_loop().time()
    with pytest.raises(ApiError) as e:
        await up.send(route(f"http://127.0.0.1:{port}/v1"), "/x", b"{}")
    assert e.value.code == "upstream_unavailable"
    assert asyncio.get_running_loop().time() - t >= 0.15  # waited 0.05 + 0.1 between tries
    await up.close()


async def test_cancel_closes_the_connection_and_pool_limit_waits(serve) -> None:  # type: ignore[no-untyped-def]
    release = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head, _ = await read_request(reader)
            if b"/hang" in head:
                await reader.read()  # until the client goes away
                return
            await release.wait()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    s, url = await serve(handler)
    up = await client(pool_size_per_host=1)
    call = asyncio.ensure_future(up.send(route(url), "/hang", b"{}"))
    await asyncio.sleep(0.1)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.wait_for(s.closed.wait(), 2)  # the upstream saw the disconnect
    # one connection per host: the second call waits for the first to be released
    first = asyncio.ensure_future(up.send(route(url), "/a", b"{}"))
    second = asyncio.ensure_future(up.send(route(url), "/b", b"{}"))
    await asyncio.sleep(0.1)
    assert not first.done() and not second.done()
    release.set()
    r1 = await asyncio.wait_for(first, 2)
    assert await r1.read() == b"ok"
    r1.release()
    r2 = await asyncio.wait_for(second, 2)
    assert await r2.read() == b"ok"
    r2.release()
    assert s.connections == 2  # the cancelled one, then one reused for /a and /b
    await up.close()


def body_handler(body: bytes) -> Handler:
    """A server that answers one request with `body` (Content-Length framed)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()

    return handler


async def test_whole_body_larger_than_the_stream_pause_threshold(serve) -> None:  # type: ignore[no-untyped-def]
    """A non-streamed answer of several MB (embeddings of a batch) is read whole: the
    flow control that pauses a stream's reading must not stall `read()`."""
    body = b"e" * (3 << 20)
    _, url = await serve(body_handler(body))
    up = await client(read_timeout_s=5.0)
    try:
        resp = await up.send(route(url), "/embeddings", b"{}")
        assert await resp.read() == body
        resp.release()
    finally:
        await up.close()


async def test_whole_body_over_the_limit_is_refused(serve, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("distillguard.gateway.upstream._MAX_BODY", 1 << 20)
    _, url = await serve(body_handler(b"e" * (3 << 20)))
    up = await client(read_timeout_s=5.0)
    try:
        resp = await up.send(route(url), "/embeddings", b"{}")
        with pytest.raises(ApiError) as err:
            await resp.read()
        assert err.value.code == "upstream_error" and "MiB" in str(err.value)
        resp.release()
    finally:
        await up.close()
