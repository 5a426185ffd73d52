"""Decision instants: every way a caller may say "when" (None = now, epoch seconds, a date,
a datetime, an RFC 3339 string) as epoch seconds, so that the engine, the reference lookups
and the CLI read times the same way. Naive times are UTC.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

from distillguard.errors import DistillguardError

AtLike = datetime | date | float | str | None


def to_epoch(at: AtLike) -> float:
    """A decision instant as epoch seconds (naive times are UTC)."""
    if at is None:
        return time.time()
    if isinstance(at, int | float):
        return float(at)
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)  # Python >= 3.11 reads "Z"
        except ValueError:
            raise DistillguardError(f"not an RFC 3339 time or date: {at!r}") from None
    if isinstance(at, datetime):
        return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
    return datetime(at.year, at.month, at.day, tzinfo=UTC).timestamp()
