"""RequestEvent: the one record every request yields (contract in docs/concepts.md).

The gateway writes these; the detector, `rules replay` and the reports read them. The
JSONL form is fixed (see shared ARCHITECTURE.md): unknown fields are ignored, a malformed
line is reported with its line number and skipped, or fatal with `strict=True`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from distillguard.errors import DistillguardError

DEFAULT_ENDPOINT = "/v1/chat/completions"
MAX_LINE_BYTES = 8 * 1024 * 1024  # a line larger than this is skipped, not parsed
FINGERPRINT_CHARS = 256  # an answer's fingerprint covers its first 256 characters


def content_fingerprint(text: str) -> str:
    """Fingerprint of an answer the gateway served (`response.content_hash`).

    Why only the opening, whitespace-collapsed: the detector compares it with the assistant
    turns a client sends back in later histories, which clients re-wrap and trim; and a
    streaming relay can fingerprint the first few hundred characters without holding the
    whole answer. 16 hex digits of BLAKE2b.
    """
    norm = " ".join(text[: FINGERPRINT_CHARS * 2].split())[:FINGERPRINT_CHARS]
    return hashlib.blake2b(norm.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


@dataclass(slots=True)
class RequestEvent:
    """One API request as seen by the gateway."""

    ts: datetime
    account: str
    request_id: str | None = None
    org: str | None = None
    ip: str | None = None
    country: str | None = None
    user_agent: str | None = None
    endpoint: str = DEFAULT_ENDPOINT
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] = field(default_factory=list)
    prompt: str | None = None
    response: dict[str, Any] | None = None

    def text(self) -> str:
        """All user-visible prompt text (messages' contents, or the completion prompt)."""
        if self.prompt is not None:
            return self.prompt
        parts: list[str] = []
        for m in self.messages:
            c = m.get("content")
            if isinstance(c, str):
                parts.append(c)
            elif isinstance(c, list):  # OpenAI content parts
                parts.extend(
                    p["text"] for p in c if isinstance(p, dict) and isinstance(p.get("text"), str)
                )
        return "\n".join(parts)

    @property
    def served_fingerprint(self) -> str | None:
        """`response.content_hash` (optional; set by a gateway that fingerprints answers)."""
        if self.response is None:
            return None
        h = self.response.get("content_hash")
        return h if isinstance(h, str) and h else None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "ts": format_ts(self.ts),
            "request_id": self.request_id,
            "account": self.account,
            "org": self.org,
            "ip": self.ip,
            "country": self.country,
            "user_agent": self.user_agent,
            "endpoint": self.endpoint,
            "model": self.model,
            "params": self.params,
        }
        if self.prompt is not None:
            d["prompt"] = self.prompt
        else:
            d["messages"] = self.messages
        if self.response is not None:
            d["response"] = self.response
        return d

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, d: Any) -> RequestEvent:
        """Validate and build; raises ValueError with a short reason on bad input."""
        if not isinstance(d, dict):
            raise ValueError("not a JSON object")
        ts = d.get("ts")
        if not isinstance(ts, str):
            raise ValueError("missing or non-string 'ts'")
        account = d.get("account")
        if not isinstance(account, str) or not account:
            raise ValueError("missing or empty 'account'")
        params = d.get("params") or {}
        if not isinstance(params, dict):
            raise ValueError("'params' is not an object")
        messages = d.get("messages") or []
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise ValueError("'messages' is not a list of objects")
        prompt = d.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise ValueError("'prompt' is not a string")
        response = d.get("response")
        if response is not None and not isinstance(response, dict):
            raise ValueError("'response' is not an object")
        return cls(
            ts=parse_ts(ts),
            account=account,
            request_id=_opt_str(d, "request_id"),
            org=_opt_str(d, "org"),
            ip=_opt_str(d, "ip"),
            country=_opt_str(d, "country"),
            user_agent=_opt_str(d, "user_agent"),
            endpoint=_opt_str(d, "endpoint") or DEFAULT_ENDPOINT,
            model=_opt_str(d, "model"),
            params=params,
            messages=messages,
            prompt=prompt,
            response=response,
        )


def _opt_str(d: dict[str, Any], key: str) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError(f"'{key}' is not a string")
    return v


def parse_ts(s: str) -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime."""
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"'ts' is not an RFC 3339 time: {s[:40]!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def format_ts(dt: datetime) -> str:
    """RFC 3339 in UTC with a Z and millisecond precision."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class ReadStats:
    """What a reader saw: good events, skipped lines and why (first few reasons kept)."""

    events: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def skip(self, lineno: int, reason: str) -> None:
        self.skipped += 1
        if len(self.errors) < 20:
            self.errors.append(f"line {lineno}: {reason}")


def load_line(raw: bytes) -> tuple[RequestEvent, dict[str, Any]]:
    """Parse one JSONL line into the event and its raw object (extra fields such as the
    gateway's `context` stay readable). Raises ValueError with a one-line reason."""
    try:
        if len(raw) > MAX_LINE_BYTES:
            raise ValueError(f"line longer than {MAX_LINE_BYTES} bytes")
        d = orjson.loads(raw)
        return RequestEvent.from_dict(d), d
    except ValueError as exc:  # orjson.JSONDecodeError is a ValueError
        raise ValueError(str(exc).splitlines()[0][:200] or type(exc).__name__) from None


def read_event_records(
    path: Path,
    stats: ReadStats | None = None,
    *,
    strict: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[RequestEvent, dict[str, Any]]]:
    """Yield (event, raw object) per good line; malformed lines are counted in `stats` and
    skipped. `progress` is called with each line's size in bytes (for progress bars).

    With `strict=True` the first malformed line raises DistillguardError naming the line.
    """
    stats = stats if stats is not None else ReadStats()
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise DistillguardError(f"cannot read {path}: {exc.strerror or exc}") from None
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if progress is not None:
                progress(len(raw))
            if not raw.strip():
                continue
            try:
                ev, d = load_line(raw)
            except ValueError as exc:
                reason = str(exc)
                if strict:
                    raise DistillguardError(f"{path}: line {lineno}: {reason}") from None
                stats.skip(lineno, reason)
                continue
            stats.events += 1
            yield ev, d


def read_events(
    path: Path, stats: ReadStats | None = None, *, strict: bool = False
) -> Iterator[RequestEvent]:
    """Yield events from a JSONL file (see `read_event_records`)."""
    for ev, _ in read_event_records(path, stats, strict=strict):
        yield ev
