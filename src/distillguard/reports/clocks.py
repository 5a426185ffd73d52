"""Incident clocks: which reports are due when, computed from the rule pack.

Why from the pack: an incident kind starts the clocks named in the pack's
`reference.incident_types` (SB 53 15 days / 24 hours, RAISE 72 / 24 hours, EU Code 2/5/10/15
days and every 4 weeks, the next BIS quarterly date); a law that changes is a pack edit.
A clock not in force at discovery (RAISE before 2027-01-01) starts nothing and says so.
Durations are exact elapsed time in UTC (P15D = 360 hours after discovery). A repeating
clock (`every`) has one outstanding occurrence at a time: the next after those filed.
Closed incidents have nothing outstanding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.reports.applicability import applies
from distillguard.reports.store import ReportsStore
from distillguard.reports.timeutil import from_iso, iso
from distillguard.rules.reference import IncidentClock, Reference
from distillguard.store import Database

# Periodic report kinds -> the (regime, event) calendar clock a filed report satisfies.
PERIODIC_KINDS = {
    "bis_702_7_quarterly_notice": ("bis_702_7", "quarterly_notice"),
    "sb53_internal_use_summary": ("sb53", "internal_use_risk_summary"),
}
REPORT_KIND_OF = {v: k for k, v in PERIODIC_KINDS.items()}


@dataclass(frozen=True, slots=True)
class Deadline:
    """One report owed: for an incident's clock, or a periodic obligation."""

    regime: str
    event: str
    due: datetime
    citation: str
    verification: str
    source: str  # "incident" | "periodic"
    incident_id: str | None = None
    kind: str | None = None
    occurrence: int = 1  # repeating clocks: 1 = first intermediate report, ...

    def status(self, now: datetime) -> str:
        return "overdue" if self.due <= now else "due"

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "incident": self.incident_id,
            "kind": self.kind,
            "regime": self.regime,
            "event": self.event,
            "occurrence": self.occurrence,
            "due": iso(self.due),
            "seconds_left": round((self.due - now).total_seconds()),
            "status": self.status(now),
            "source": self.source,
            "citation": self.citation,
            "verification": self.verification,
        }


@dataclass(frozen=True, slots=True)
class ClockPlan:
    """What an incident starts: deadlines, and clocks skipped because not in force."""

    deadlines: list[Deadline]
    not_in_force: list[dict[str, Any]]


def check_kind(ref: Reference, kind: str) -> None:
    if kind not in ref.incident_types:
        raise DistillguardError(
            f"unknown incident kind {kind!r}: the rule pack knows "
            f"{', '.join(sorted(ref.incident_types)) or 'none'} (add it under incident_types)"
        )


def _clock(ref: Reference, regime: str, event: str) -> IncidentClock:
    c = ref.clock(regime, event)
    if c is None:  # the pack validator prevents this; a swapped pack could not
        raise DistillguardError(f"the rule pack has no incident clock {regime}.{event}")
    return c


def plan(
    ref: Reference,
    kind: str,
    discovered: datetime,
    imminent: bool,
    *,
    filed: dict[tuple[str, str], int] | None = None,
    incident_id: str | None = None,
) -> ClockPlan:
    """Deadlines an incident of `kind` discovered at `discovered` starts.

    `filed` counts filings per (regime, event): a one-off clock with a filing is met; a
    repeating clock moves on to its next occurrence.
    """
    check_kind(ref, kind)
    it = ref.incident_types[kind]
    pairs = list(it.clocks) + (list(it.imminent_clocks) if imminent else [])
    filed = filed or {}
    out: list[Deadline] = []
    skipped: list[dict[str, Any]] = []
    t0 = discovered.timestamp()
    for regime, event in dict.fromkeys(pairs):
        c = _clock(ref, regime, event)
        if not c.meta.in_force(t0):
            skipped.append(
                {
                    "regime": regime,
                    "event": event,
                    "effective_from": c.meta.to_dict()["effective_from"],
                    "effective_until": c.meta.to_dict()["effective_until"],
                }
            )
            continue
        n = filed.get((regime, event), 0)
        if c.every is not None:
            due, occ = discovered + c.every * (n + 1), n + 1
        elif n:
            continue
        else:
            due, occ = c.due(discovered), 1
        out.append(
            Deadline(
                regime,
                event,
                due,
                c.meta.citation,
                c.meta.verification,
                "incident",
                incident_id,
                kind,
                occ,
            )
        )
    out.sort(key=lambda d: d.due)
    return ClockPlan(out, skipped)


def incident_plan(ref: Reference, store: ReportsStore, inc: dict[str, Any]) -> ClockPlan:
    """The plan of a stored incident, with its filings applied."""
    if inc["status"] == "closed":
        return ClockPlan([], [])
    filed: dict[tuple[str, str], int] = {}
    for f in store.filings(inc["id"]):
        k = (f["regime"], f["event"])
        filed[k] = filed.get(k, 0) + 1
    return plan(
        ref,
        inc["kind"],
        from_iso(inc["discovered_at"]),
        inc["imminent"],
        filed=filed,
        incident_id=inc["id"],
    )


def periodic(ref: Reference, store: ReportsStore, now: datetime) -> list[Deadline]:
    """Standing obligations: calendar clocks (BIS quarterly notices) and the framework review.

    A calendar clock is owed only where it applies (`applicability.applies`), and then at
    its next date after the due date the last filed report of that kind covered (its
    `subject`), or after now when none was filed; so a skipped quarter shows as overdue.
    """
    out: list[Deadline] = []
    for regime, clocks in ref.incident_clocks.items():
        for c in clocks:
            if not c.dates or not c.meta.in_force(now.timestamp()):
                continue
            if not applies(store.db, ref, regime, now):
                continue
            kind = REPORT_KIND_OF.get((regime, c.event), f"{regime}_{c.event}")
            filed = store.reports(kind, filed_only=True)
            since = from_iso(filed[-1]["subject"]) if filed else now
            out.append(
                Deadline(
                    regime, c.event, c.due(since), c.meta.citation, c.meta.verification, "periodic"
                )
            )
    fws = store.frameworks()
    if fws:
        fw = fws[-1]
        out.append(
            Deadline(
                "sb53",
                "frontier_ai_framework_review",
                from_iso(fw["review_due"]),
                "California SB 53 (framework reviewed at least once a year)",
                "V",
                "periodic",
                occurrence=1,
                kind=f"framework {fw['version']}",
            )
        )
    return out


def due_items(db: Database, ref: Reference, now: datetime) -> list[Deadline]:
    """Everything outstanding at `now`, nearest first (overdue items first of all)."""
    store = ReportsStore(db)
    items: list[Deadline] = []
    for inc in store.incidents(status="open"):
        items.extend(incident_plan(ref, store, inc).deadlines)
    items.extend(periodic(ref, store, now))
    items.sort(key=lambda d: d.due)
    return items


def nearest_deadline_seconds(db: Database, engine: Any, now: datetime) -> float | None:
    """Seconds from `now` to the nearest outstanding deadline (negative when overdue).

    For a gateway gauge on /metrics (e.g. `distillguard_report_nearest_deadline_seconds`);
    None when nothing is outstanding. `engine` is a RuleEngine or a Reference.
    """
    ref = engine if isinstance(engine, Reference) else engine.reference
    items = due_items(db, ref, now)
    return (items[0].due - now).total_seconds() if items else None
