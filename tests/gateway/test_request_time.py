"""The request time the rules see: RFC 3339 exactly as `format_ts` writes it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from distillguard.events import format_ts
from distillguard.gateway import request
from distillguard.gateway.request import RequestParsing


class _App(RequestParsing):
    def __init__(self) -> None:
        self._ts_cache = (0, "")


@pytest.mark.parametrize(
    "now", [1795840084.0, 1795840084.0015, 1795840084.999, 1795840085.5, 1700000000.123]
)
def test_now_matches_format_ts(monkeypatch: pytest.MonkeyPatch, now: float) -> None:
    app = _App()
    app._now_rfc3339()  # a cached second from before must not leak into the next
    monkeypatch.setattr(request, "time", lambda: now)
    ms = int(now * 1000)
    assert app._now_rfc3339() == format_ts(datetime.fromtimestamp(ms / 1000, UTC))
