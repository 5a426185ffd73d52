"""RequestEvent JSONL: good lines parse, bad ones are counted with a one-line reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillguard.errors import DistillguardError
from distillguard.events import MAX_LINE_BYTES, ReadStats, load_line, read_events

GOOD = b'{"ts": "2026-11-20T12:00:00Z", "account": "a1", "messages": [{"role": "user", "content": "hi"}], "context": {"x": 1}}'  # noqa: E501


def test_load_line_keeps_extra_fields() -> None:
    ev, raw = load_line(GOOD)
    assert ev.account == "a1"
    assert ev.text() == "hi"
    assert raw["context"] == {"x": 1}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "unexpected"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"account": "a"}', "'ts'"),
        (b'{"ts": "yesterday", "account": "a"}', "RFC 3339"),
        (b'{"ts": "2026-11-20T12:00:00Z", "account": ""}', "'account'"),
        (b"\xff\xfe\x00garbage", ""),
        (
            b'{"ts": "2026-11-20T12:00:00Z", "account": "a", "p": "'
            + b"x" * MAX_LINE_BYTES
            + b'"}',
            "longer than",
        ),
    ],
)
def test_load_line_reasons_are_one_line(line: bytes, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        load_line(line)
    msg = str(info.value)
    assert msg and "\n" not in msg and len(msg) <= 200
    assert reason.lower() in msg.lower()


def test_read_events_counts_and_strict(tmp_path: Path) -> None:
    p = tmp_path / "log.jsonl"
    p.write_bytes(GOOD + b"\n\n{broken\n" + GOOD + b"\n")
    stats = ReadStats()
    assert len(list(read_events(p, stats))) == 2
    assert (stats.events, stats.skipped) == (2, 1)
    assert stats.errors[0].startswith("line 3:")
    with pytest.raises(DistillguardError, match="line 3"):
        list(read_events(p, strict=True))
    with pytest.raises(DistillguardError, match="cannot read"):
        list(read_events(tmp_path / "missing.jsonl"))
