"""The reports part's nearest reporting deadline as a Prometheus gauge.

Why at scrape time, cached: the deadline comes from database queries over open incidents
and filed reports (`distillguard.reports.clocks.nearest_deadline_seconds`); computing it
on the request path would cost every model call a query. It is computed when /metrics is
scraped, in a worker thread (the event loop never waits on the database), and reused for
`ttl_s` seconds, so frequent scrapes or several scrapers cost one query per interval.

Values: seconds until the deadline (negative when overdue); +Inf when nothing is
outstanding; NaN when it could not be computed (logged), so an alert such as
`distillguard_report_nearest_deadline_seconds < 86400` never fires on missing data and
`absent`/`isnan` checks can catch a broken reports store.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("distillguard.gateway")


class DeadlineGauge:
    """Refreshes `gauge` from the reports part at most every `ttl_s` seconds."""

    def __init__(self, gauge: Any, parts: Any, ttl_s: float = 5.0) -> None:
        self.gauge = gauge
        self.parts = parts
        self.ttl_s = ttl_s
        self._next = 0.0
        self._lock = asyncio.Lock()
        gauge.set(math.nan)

    async def refresh(self) -> None:
        if time.monotonic() < self._next:
            return
        async with self._lock:  # concurrent scrapes share one computation
            if time.monotonic() < self._next:
                return
            value = await asyncio.to_thread(self._compute)
            self.gauge.set(value)
            self._next = time.monotonic() + self.ttl_s

    def _compute(self) -> float:
        try:
            from distillguard.reports.clocks import nearest_deadline_seconds

            secs = nearest_deadline_seconds(self.parts.db, self.parts.engine, datetime.now(UTC))
        except Exception as exc:  # another part's failure must not break /metrics
            log.warning("nearest reporting deadline not computed: %s", exc)
            return math.nan
        return math.inf if secs is None else float(secs)
