"""The response head is written together with the first body bytes (one send per answer)."""

from __future__ import annotations

import socket
from typing import Any

import httpx

from distillguard.gateway.server import _HeldHead


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def test_head_goes_out_with_the_first_body_bytes() -> None:
    t = _Transport()
    h: Any = _HeldHead(t)
    h.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    assert t.writes == []
    h.write(b"{}")
    assert t.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
    h.write(b"more")  # later writes pass straight through
    assert t.writes[-1] == b"more" and len(t.writes) == 2
    assert h.is_closing() is False  # anything else is the real transport's


def test_continue_is_not_held_and_close_flushes_the_head() -> None:
    t = _Transport()
    h: Any = _HeldHead(t)
    h.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert t.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    h.write(b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    h.close()  # e.g. the app failed after starting its response
    assert t.writes[-1] == b"HTTP/1.1 500 Internal Server Error\r\n\r\n" and t.closed


def test_real_server_answers_whole_with_the_head_held(make_gateway) -> None:  # type: ignore[no-untyped-def]
    gw = make_gateway()
    _, key = gw.customer()
    body = b'{"model":"general-chat","messages":[{"role":"user","content":"hi"}]}'
    host, port = gw.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + key.encode() + b"\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        first = s.recv(65536)
    head, _, rest = first.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and rest.startswith(b"{")
    # an ordinary client sees an ordinary answer; a HEAD request is not held (no body)
    r = httpx.post(
        gw.url + "/v1/chat/completions",
        content=body,
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
    )
    assert r.status_code == 200 and r.json()["object"] == "chat.completion"
    assert httpx.head(gw.url + "/healthz").status_code in (200, 404)
