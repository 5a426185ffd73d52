"""Prometheus metrics of one gateway instance (own registry, so several apps can coexist).

Why these: an operator needs to see what the rules are doing (decisions by action and
reason), what the gateway costs (added overhead, separate from upstream latency) and when
quotas bite. Label values are bounded: actions, reason codes from the pack, model names
from the config.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Applying 4,096 buffered observations took ~3 ms on the one request that triggered it (a
# c=1 tail spike every ~2,000 requests); 512 caps that at ~0.4 ms for the same total.
_FLUSH_AT = 512
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.1)
_UPSTREAM_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.decisions = Counter(
            "distillguard_decisions",
            "Gateway decisions by action and reason code",
            ["action", "reason"],
            registry=r,
        )
        self.responses = Counter(
            "distillguard_responses",
            "Responses by endpoint and status",
            ["endpoint", "status"],
            registry=r,
        )
        self.overhead = Histogram(
            "distillguard_overhead_seconds",
            "Time added by the gateway (total minus upstream wait)",
            buckets=_OVERHEAD_BUCKETS,
            registry=r,
        )
        self.upstream_latency = Histogram(
            "distillguard_upstream_latency_seconds",
            "Upstream time to response headers (streaming) or full body",
            ["model"],
            buckets=_UPSTREAM_BUCKETS,
            registry=r,
        )
        self.quota_rejections = Counter(
            "distillguard_quota_rejections", "Requests refused by quotas", ["reason"], registry=r
        )
        self.in_flight = Gauge("distillguard_in_flight", "Requests in progress", registry=r)
        self.events_dropped = Counter(
            "distillguard_events_write_errors",
            "Event batches that failed to write (kept and retried)",
            registry=r,
        )
        self.event_queue = Gauge(
            "distillguard_event_queue", "RequestEvents waiting for the writer", registry=r
        )
        self.detector_flags = Counter(
            "distillguard_detector_flags",
            "Account verdict changes from the detector",
            ["verdict"],
            registry=r,
        )

        self.shadow_differences = Counter(
            "distillguard_rules_shadow_differences",
            "Requests where the shadow (candidate) pack decided differently from the live one",
            ["live", "shadow"],
            registry=r,
        )
        self.rule_reloads = Counter(
            "distillguard_rules_reloads",
            "Rule pack reloads (rejected: the live pack was kept)",
            ["result"],
            registry=r,
        )
        self.report_deadline = Gauge(
            "distillguard_report_nearest_deadline_seconds",
            "Seconds to the nearest outstanding reporting deadline (negative: overdue; "
            "+Inf: none outstanding; NaN: not computed)",
            registry=r,
        )

        # The request path's observations, applied to the series above at scrape time
        # (or every _FLUSH_AT): prometheus_client takes a lock and walks the buckets on
        # every call, several µs per request for series nobody reads between scrapes.
        self._obs: list[tuple[Any, float]] = []
        self._incs: dict[Any, int] = {}

    def observe(self, series: Any, value: float) -> None:
        """`series.observe(value)`, deferred (event-loop thread only)."""
        self._obs.append((series, value))
        if len(self._obs) >= _FLUSH_AT:
            self.flush()

    def inc(self, series: Any) -> None:
        """`series.inc()`, deferred (event-loop thread only; one count per series)."""
        self._incs[series] = self._incs.get(series, 0) + 1

    def flush(self) -> None:
        obs, self._obs = self._obs, []
        incs, self._incs = self._incs, {}
        for series, value in obs:
            series.observe(value)
        for series, n in incs.items():
            series.inc(n)

    def render(self) -> bytes:
        self.flush()
        return generate_latest(self.registry)
