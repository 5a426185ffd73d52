"""Small helpers for validating pack data with messages that name file, line and item."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

from distillguard.rules.iso3166 import ISO_3166_ALPHA2, country_hint
from distillguard.rules.packerror import PackError
from distillguard.rules.schema import VERIFICATION
from distillguard.rules.yamlmarks import MarkedDict, MarkedList


class Where:
    """A location in a pack file used to prefix error messages."""

    def __init__(self, source: str, line: int = 0, item: str = "") -> None:
        self.source, self.line, self.item = source, line, item

    def at(self, line: int, item: str | None = None) -> Where:
        return Where(self.source, line or self.line, self.item if item is None else item)

    def error(self, msg: str) -> PackError:
        loc = f"{self.source}:{self.line}" if self.line else self.source
        return PackError(f"{loc}: {self.item + ': ' if self.item else ''}{msg}")


def line_of(d: Any, key: str) -> int:
    return d.line_of(key) if isinstance(d, MarkedDict) else 0


def item_line(lst: Any, i: int) -> int:
    return lst.line_of(i) if isinstance(lst, MarkedList) else 0


def mapping(v: Any, where: Where, what: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise where.error(f"{what} must be a mapping, got {type(v).__name__}")
    return v


def seq(v: Any, where: Where, what: str) -> list[Any]:
    if not isinstance(v, list):
        raise where.error(f"{what} must be a list, got {type(v).__name__}")
    return v


def check_keys(
    d: dict[str, Any], where: Where, allowed: set[str], required: set[str], what: str
) -> None:
    """Unknown keys and missing required keys are errors (typos must not pass silently)."""
    for k in d:
        if k not in allowed:
            raise where.at(line_of(d, k)).error(
                f"unknown field '{k}' in {what} (allowed: {', '.join(sorted(allowed))})"
            )
    for k in sorted(required):
        if k not in d:
            raise where.error(f"{what} is missing required field '{k}'")


def string(d: dict[str, Any], key: str, where: Where, *, required: bool = True) -> str | None:
    v = d.get(key)
    if v is None:
        if required:
            raise where.error(f"missing required field '{key}'")
        return None
    if not isinstance(v, str) or not v.strip():
        raise where.at(line_of(d, key)).error(f"'{key}' must be a non-empty string")
    return v


def number(v: Any, where: Where, what: str) -> float:
    """A number; numeric strings are accepted because YAML 1.1 reads `1e26` as a string."""
    if isinstance(v, bool):
        raise where.error(f"{what} must be a number, got {v!r}")
    out: float | None = None
    if isinstance(v, int | float):
        out = float(v)
    elif isinstance(v, str):
        try:
            out = float(v.replace("_", ""))
        except ValueError:
            out = None
    if out is not None and math.isfinite(out):  # nan/inf would make comparisons fail open
        return out
    raise where.error(f"{what} must be a number, got {v!r}")


def verification(d: dict[str, Any], where: Where, default: str | None = None) -> str:
    v = d.get("verification", default)
    if v is None:
        raise where.error("missing required field 'verification' (V, S or U)")
    v = str(v).strip("[]")
    if v not in VERIFICATION:
        raise where.at(line_of(d, "verification")).error(
            f"verification must be V, S or U (got {d.get('verification')!r})"
        )
    return v


def to_epoch(v: Any, where: Where, what: str) -> float | None:
    """A date or RFC 3339 time (UTC if no zone) as epoch seconds; None stays None."""
    if v is None:
        return None
    if isinstance(v, datetime):
        dt = v if v.tzinfo else v.replace(tzinfo=UTC)
    elif isinstance(v, date):
        dt = datetime(v.year, v.month, v.day, tzinfo=UTC)
    elif isinstance(v, str):
        try:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise where.error(f"{what} must be a date (YYYY-MM-DD), got {v!r}") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
    else:
        raise where.error(f"{what} must be a date (YYYY-MM-DD), got {v!r}")
    return dt.timestamp()


def country(v: Any, where: Where, what: str) -> str:
    if not isinstance(v, str) or v not in ISO_3166_ALPHA2:
        hint = country_hint(v) if isinstance(v, str) else ""
        raise where.error(f"{what}: {v!r} is not an ISO 3166-1 alpha-2 country code{hint}")
    return v


def fmt_epoch(t: float | None) -> str | None:
    """Epoch seconds as a date (or a full time when not midnight UTC)."""
    if t is None:
        return None
    dt = datetime.fromtimestamp(t, tz=UTC)
    if dt.hour == dt.minute == dt.second == 0:
        return dt.date().isoformat()
    return dt.isoformat().replace("+00:00", "Z")
