"""Times for deadlines: any timezone in, UTC out.

Why strict: a discovery time without an offset is ambiguous by up to a day, which is more
than a 24-hour clock. A naive time is accepted only together with an IANA zone name.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from distillguard.errors import DistillguardError


def parse_time(text: str, tz: str | None = None) -> datetime:
    """An aware UTC datetime from RFC 3339 / ISO 8601 text (`Z` or an offset), or a naive
    time plus an IANA zone (`tz="America/Los_Angeles"`)."""
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d\d-\d\d(?:[Zz]|[+-]\d\d:\d\d)", text):  # a date with an offset
        text = text[:10] + "T00:00:00" + text[10:]
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise DistillguardError(f"not an ISO 8601 time: {text!r}") from None
    if t.tzinfo is None:
        if tz is None:
            raise DistillguardError(
                f"time {text!r} has no timezone: add an offset (Z, -08:00) or give --tz"
            )
        try:
            t = t.replace(tzinfo=ZoneInfo(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise DistillguardError(f"unknown timezone {tz!r} (use an IANA name)") from None
    elif tz is not None:
        raise DistillguardError(f"time {text!r} already has an offset; drop --tz")
    return t.astimezone(UTC)


def iso(t: datetime) -> str:
    """RFC 3339 UTC with seconds, `Z` suffix."""
    if t.tzinfo is None:
        raise DistillguardError("internal: naive datetime")
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def from_iso(s: str) -> datetime:
    """Parse a stored RFC 3339 UTC string."""
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)
