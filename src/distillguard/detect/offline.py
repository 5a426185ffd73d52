"""Offline scan: run the online detector over JSONL logs and build the report (fixed contract).

Why replay the online detector rather than a batch algorithm: the report must say what the
gateway would have said at the time (causal verdicts). Events are processed in file order,
which is arrival order for a gateway log; timestamps that go backwards are counted
(`diagnostics.out_of_order`) and do not corrupt the spacing statistics. Malformed lines are
counted in `input.skipped_lines` (or fatal with strict=True), never a crash.

`first_flagged_at` is the timestamp of the account's own request after which the detector
first said "distillation". An account that only crossed the line through evidence from its
campaign's other members gets the timestamp of the campaign's last request, the earliest
moment at which that final state is certain (an upper bound, never earlier than the truth).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distillguard.detect.account import DISTILLATION
from distillguard.detect.features import RequestFeatures, extract
from distillguard.detect.online import OnlineDetector
from distillguard.events import ReadStats, RequestEvent, format_ts, read_events

TIMELINE_POINTS = 256  # per-account timeline samples kept for the HTML plot


@dataclass(slots=True)
class Timeline:
    """Down-sampled (ts, score, verdict) points: stride doubles when full (bounded)."""

    stride: int = 1
    seen: int = 0
    points: list[tuple[float, float, str]] = field(default_factory=list)

    def add(self, ts: float, score: float, verdict: str) -> None:
        self.seen += 1
        if self.seen % self.stride:
            return
        self.points.append((ts, score, verdict))
        if len(self.points) >= TIMELINE_POINTS:
            self.points = self.points[::2]
            self.stride *= 2


@dataclass(slots=True)
class ScanResult:
    report: dict[str, Any]
    detector: OnlineDetector
    timelines: dict[str, Timeline]
    stats: ReadStats
    out_of_order: int


def _fmt(ts: float) -> str:
    return format_ts(datetime.fromtimestamp(ts, UTC))


def scan_events(
    events: Iterable[RequestEvent],
    stats: ReadStats | None = None,
    *,
    detector: OnlineDetector | None = None,
    on_event: Callable[[int], None] | None = None,
    timelines: bool = True,
) -> ScanResult:
    """Feed events to a detector in order; return the report and the detector's state."""
    parsed = ((ev.account, ev.ts.timestamp(), ev.org, extract(ev)) for ev in events)
    return scan_stream(parsed, stats, detector=detector, on_event=on_event, timelines=timelines)


def scan_stream(
    items: Iterable[tuple[str, float, str | None, RequestFeatures]],
    stats: ReadStats | None = None,
    *,
    detector: OnlineDetector | None = None,
    on_event: Callable[[int], None] | None = None,
    timelines: bool = True,
) -> ScanResult:
    """The scan loop over pre-extracted (account, ts, org, features), in arrival order."""
    det = detector or OnlineDetector()
    stats = stats if stats is not None else ReadStats()
    tl: dict[str, Timeline] = {}
    last_ts = float("-inf")
    out_of_order = 0
    count = 0
    for account, ts, org, f in items:
        if ts < last_ts:
            out_of_order += 1
        else:
            last_ts = ts
        sig = det.observe_features(account, f, ts, org)
        count += 1
        if timelines:
            t = tl.get(account)
            if t is None:
                t = tl[account] = Timeline()
            t.add(ts, sig.score, sig.verdict)
        if on_event is not None and count % 4096 == 0:
            on_event(count)
    report = build_report(det, count, stats.skipped, out_of_order, stats.errors)
    return ScanResult(report, det, tl, stats, out_of_order)


def scan_files(
    paths: list[Path],
    *,
    strict: bool = False,
    on_event: Callable[[int], None] | None = None,
    timelines: bool = True,
    jobs: int = 1,
) -> ScanResult:
    """Scan one or more JSONL logs in the order given (jobs > 1: parallel parsing)."""
    if jobs > 1:
        from distillguard.detect.parallel import scan_files_parallel

        return scan_files_parallel(
            paths, jobs, strict=strict, on_event=on_event, timelines=timelines
        )
    stats = ReadStats()

    def chain() -> Iterable[RequestEvent]:
        for p in paths:
            yield from read_events(p, stats, strict=strict)

    return scan_events(chain(), stats, on_event=on_event, timelines=timelines)


def build_report(
    det: OnlineDetector, requests: int, skipped: int, out_of_order: int, errors: list[str]
) -> dict[str, Any]:
    """The contract report: every account exactly once, campaigns with members and reasons."""
    linker = det.linker
    reported = {c.root: c for c in linker.reported()}
    members = linker.members()
    accounts: list[dict[str, Any]] = []
    for name, st in det.states.items():
        sig = det.account_state(name)
        assert sig is not None
        flagged: str | None = None
        flagged_n: int | None = None
        if st.first_flagged_ts is not None:
            flagged, flagged_n = _fmt(st.first_flagged_ts), st.first_flagged_n
        elif sig.verdict == DISTILLATION:
            camp = linker.campaign_of(name)
            when = max(camp.last_ts if camp is not None else st.last_ts, st.last_ts)
            flagged, flagged_n = _fmt(when), st.n
        accounts.append(
            {
                "account": name,
                "requests": st.n,
                "score": round(sig.score, 4),
                "verdict": sig.verdict,
                "first_flagged_at": flagged,
                "first_flagged_requests": flagged_n,
                "campaign": sig.campaign,
                "reasons": sig.reasons,
            }
        )
    campaigns: list[dict[str, Any]] = []
    for root, c in reported.items():
        names = sorted(members.get(root, []))
        states = [det.states[a] for a in names if a in det.states]
        campaigns.append(
            {
                "id": c.id,
                "accounts": names,
                "requests": sum(s.n for s in states),
                "strength": round(linker.strength(c), 3),
                "reasons": linker.reasons(c, states),
            }
        )
    campaigns.sort(key=lambda c: -len(c["accounts"]))
    accounts.sort(key=lambda a: (-a["score"], a["account"]))
    return {
        "version": 1,
        "input": {"requests": requests, "accounts": len(accounts), "skipped_lines": skipped},
        "accounts": accounts,
        "campaigns": campaigns,
        "diagnostics": {"out_of_order": out_of_order, "errors": errors},
    }
