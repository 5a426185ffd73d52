"""A minimal Server-Sent-Events splitter for OpenAI-style streams.

Why our own: the gateway must see whole `data:` events (to transform a chunk, to read the
final usage) without buffering the stream, and upstream reads split events at arbitrary
byte boundaries. OpenAI-compatible servers send one `data:` line per event; comment lines
and other fields are passed through untouched.
"""

from __future__ import annotations

import re

import orjson

from distillguard.events import FINGERPRINT_CHARS, content_fingerprint


class SSESplitter:
    """Feed raw bytes, get complete events back (each the raw event block without the
    blank-line terminator)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[bytes]:
        buf = self._buf + chunk if self._buf else chunk
        if b"\r\n" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        parts = buf.split(b"\n\n")
        self._buf = parts.pop()
        return [p for p in parts if p]

    def feed_complete(self, chunk: bytes) -> bytes:
        """Feed raw bytes, get every complete event so far as one byte string (line ends
        normalised to LF, ending with the blank line), or b"" when none is complete yet."""
        buf = self._buf + chunk if self._buf else chunk
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n")
        end = buf.rfind(b"\n\n")
        if end < 0:
            self._buf = buf
            return b""
        self._buf = buf[end + 2 :]
        return buf[: end + 2]

    def rest(self) -> bytes:
        """Whatever was left without a terminator when the stream ended."""
        rest, self._buf = self._buf, b""
        return rest.strip()


def event_data(block: bytes) -> bytes | None:
    """The payload of a single-line `data:` event, or None for anything else."""
    if block.startswith(b"data:") and b"\n" not in block:
        return block[6:] if block[5:6] == b" " else block[5:]
    return None


# `"content":"..."` (a JSON string with its escapes, loop unrolled). The quote before
# `content` keeps `"reasoning_content"` out, and a key is the only string followed by `:`.
_CONTENT = re.compile(rb'"content"\s*:\s*"([^"\\]*(?:\\.[^"\\]*)*)"')


class AnswerPrefix:
    """The opening of a streamed chat answer, as the client received it, for its fingerprint.

    Why a byte search and not a JSON parse per event: the relay passes token events through
    unparsed (that is what keeps streaming cheap), and the fingerprint needs only the first
    few hundred characters of the answer, so only the first events are searched at all.
    Valid for single-choice streams only (with n > 1 the choices' deltas interleave).
    """

    __slots__ = ("_n", "_parts", "complete")

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._n = 0
        self.complete = False

    def feed(self, data: bytes) -> None:
        """Take bytes sent to the client (whole SSE events)."""
        if self.complete:
            return
        found = _CONTENT.findall(data)
        if not found:
            return
        # escapes never straddle two strings, so the joined pieces are one JSON string body
        raw = found[0] if len(found) == 1 else b"".join(found)
        try:
            text: str = raw.decode() if b"\\" not in raw else orjson.loads(b'"' + raw + b'"')
        except (UnicodeDecodeError, orjson.JSONDecodeError):
            return
        self._parts.append(text)
        self._n += len(text)
        self.complete = self._n >= FINGERPRINT_CHARS * 2

    def fingerprint(self) -> str | None:
        """The answer's `response.content_hash`, or None if no answer text was seen."""
        return content_fingerprint("".join(self._parts)) if self._parts else None
