"""Reference data of a pack: country groups and tiers, model classes, thresholds, flags,
licence exceptions, allowlists and incident clocks, each fact with its citation,
verification tag and effective dates.

Facts are data, never code: a threshold or a country list changes by editing the pack.
Lookups take a date because memberships change (Cambodia left D:5 on 2026-02-03), and
`snapshot(t)` resolves everything in force at t once, so decisions use plain dicts.
This module holds the facts and their lookups; `reference_parse` reads them from a pack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from distillguard.rules.instants import AtLike, to_epoch
from distillguard.rules.validate import fmt_epoch


@dataclass(frozen=True, slots=True)
class Meta:
    """Provenance of one fact: where it comes from, how sure we are, when it applies."""

    citation: str
    verification: str  # "V" | "S" | "U"
    effective_from: float | None = None
    effective_until: float | None = None  # exclusive
    note: str | None = None
    line: int = 0

    @property
    def unverified(self) -> bool:
        return self.verification == "U"

    def in_force(self, t: float) -> bool:
        return (self.effective_from is None or t >= self.effective_from) and (
            self.effective_until is None or t < self.effective_until
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "citation": self.citation,
            "verification": self.verification,
            "unverified": self.unverified,
            "effective_from": fmt_epoch(self.effective_from),
            "effective_until": fmt_epoch(self.effective_until),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Member:
    code: str
    meta: Meta


@dataclass(frozen=True, slots=True)
class CountryGroup:
    name: str
    title: str
    meta: Meta
    members: tuple[Member, ...]

    def at(self, t: float) -> frozenset[str]:
        if not self.meta.in_force(t):
            return frozenset()
        return frozenset(m.code for m in self.members if m.meta.in_force(t))


@dataclass(frozen=True, slots=True)
class TierDef:
    tier: int
    countries: tuple[Member, ...]
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Tiers:
    meta: Meta
    default: int
    defs: tuple[TierDef, ...]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    classification: str
    meta: Meta
    notes: str | None = None


# How a value is compared with a threshold, as each law words it: "10^26 or more" is
# gte (met at exactly 10^26); "greater than" / "more than" / "above" / "in excess of"
# is gt (not met at exactly the threshold).
COMPARES = {"gte": ">=", "gt": ">"}
NOT_MET = {"gte": "<", "gt": "<="}


@dataclass(frozen=True, slots=True)
class Threshold:
    name: str
    value: float
    unit: str
    meta: Meta
    compare: str = "gte"  # "gte" | "gt" (see COMPARES)

    def met(self, x: float) -> bool:
        """Whether `x` meets this threshold under its law's comparison."""
        return float(x) > self.value if self.compare == "gt" else float(x) >= self.value

    @property
    def symbol(self) -> str:
        return COMPARES[self.compare]


@dataclass(frozen=True, slots=True)
class Flag:
    name: str
    value: bool
    meta: Meta


@dataclass(frozen=True, slots=True)
class LicenceException:
    name: str
    title: str
    meta: Meta
    params: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Allowlist:
    name: str
    title: str
    models: tuple[str, ...]
    members: tuple[Member, ...]
    meta: Meta


@dataclass(frozen=True, slots=True)
class IncidentClock:
    """One reporting deadline of a regime: a fixed delay, a repeat interval or fixed dates."""

    regime: str
    event: str
    meta: Meta
    deadline: timedelta | None = None
    every: timedelta | None = None
    dates: tuple[str, ...] = ()  # "MM-DD" calendar dates (e.g. quarterly notices)

    def due(self, occurred: datetime) -> datetime:
        """When the (first) report is due for an event at `occurred` (aware datetime)."""
        if self.deadline is not None:
            return occurred + self.deadline
        if self.every is not None:
            return occurred + self.every
        for year in (occurred.year, occurred.year + 1):
            for md in self.dates:
                mo, dy = (int(x) for x in md.split("-"))
                cand = datetime(year, mo, dy, tzinfo=UTC)
                if cand > occurred:
                    return cand
        raise ValueError(f"clock {self.regime}/{self.event} has no deadline")


@dataclass(frozen=True, slots=True)
class IncidentType:
    """Which regime clocks an incident of one kind starts (data, not code).

    `clocks` always start; `imminent_clocks` start in addition when the incident carries an
    imminent risk of death or serious injury. Each entry is `(regime, event)` naming a clock
    of `incident_clocks`.
    """

    kind: str
    title: str
    meta: Meta
    clocks: tuple[tuple[str, str], ...]
    imminent_clocks: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Snapshot:
    """Everything in force at one instant, as plain lookups for the compiled conditions."""

    groups: dict[str, frozenset[str]]
    tier: dict[str, int]
    thresholds: dict[str, float]
    allow: dict[str, frozenset[str]]
    allow_names: dict[str, frozenset[str]]
    model_class: dict[str, str]


@dataclass(slots=True)
class Reference:
    """All reference data of a pack (see module docstring)."""

    groups: dict[str, CountryGroup] = field(default_factory=dict)
    tiers: Tiers | None = None
    models: dict[str, ModelInfo] = field(default_factory=dict)
    default_classification: str = "general"
    thresholds: dict[str, list[Threshold]] = field(default_factory=dict)
    flags: dict[str, Flag] = field(default_factory=dict)
    licence_exceptions: dict[str, LicenceException] = field(default_factory=dict)
    allowlists: dict[str, Allowlist] = field(default_factory=dict)
    incident_clocks: dict[str, list[IncidentClock]] = field(default_factory=dict)
    incident_types: dict[str, IncidentType] = field(default_factory=dict)

    # ---- lookups (take a date; default now) ----
    def snapshot(self, t: float) -> Snapshot:
        groups = {name: g.at(t) for name, g in self.groups.items()}
        tier: dict[str, int] = {}
        if self.tiers is not None and self.tiers.meta.in_force(t):
            from distillguard.rules.iso3166 import ISO_3166_ALPHA2

            tier = dict.fromkeys(ISO_3166_ALPHA2, self.tiers.default)
            for td in self.tiers.defs:  # later definitions win: list Tier 3 last
                for m in td.countries:
                    if m.meta.in_force(t):
                        tier[m.code] = td.tier
                for g in td.groups:
                    for c in groups.get(g, ()):
                        tier[c] = td.tier
        # Tolerate lower-case codes from callers ("de"): same answer as upper case.
        tier.update({c.lower(): v for c, v in list(tier.items())})
        groups = {n: g | {c.lower() for c in g} for n, g in groups.items()}
        thr = {n: v.value for n, vs in self.thresholds.items() for v in vs if v.meta.in_force(t)}
        allow: dict[str, set[str]] = {}
        names: dict[str, set[str]] = {}
        for al in self.allowlists.values():
            if not al.meta.in_force(t):
                continue
            for model in al.models:
                allow.setdefault(model, set()).update(
                    m.code for m in al.members if m.meta.in_force(t)
                )
                names.setdefault(model, set()).add(al.name)
        mc = {n: m.classification for n, m in self.models.items() if m.meta.in_force(t)}
        return Snapshot(
            groups=groups,
            tier=tier,
            thresholds=thr,
            allow={k: frozenset(v) for k, v in allow.items()},
            allow_names={k: frozenset(v) for k, v in names.items()},
            model_class=mc,
        )

    def tier(self, code: str | None, at: date | datetime | float | None = None) -> int | None:
        """Tier (1, 2 or 3) of a country at a date; None for a missing/unknown code."""
        return self.snapshot(to_epoch(at)).tier.get(code) if code else None

    def in_group(
        self, code: str | None, group: str, at: date | datetime | float | None = None
    ) -> bool:
        g = self.groups.get(group)
        return bool(code) and g is not None and code in g.at(to_epoch(at))

    def threshold(self, name: str, at: date | datetime | float | None = None) -> float:
        """The value of a threshold in force at `at` (KeyError if none)."""
        for v in self.thresholds.get(name, []):
            if v.meta.in_force(to_epoch(at)):
                return v.value
        raise KeyError(f"no threshold {name!r} in force")

    def threshold_entry(self, name: str, at: AtLike = None) -> tuple[Threshold | None, bool]:
        """The entry of `name` in force at `at` (True), else the next to come into force,
        else the last one (False); (None, False) when the pack has no such threshold."""
        t = to_epoch(at)
        entries = self.thresholds.get(name, [])
        for v in entries:
            if v.meta.in_force(t):
                return v, True
        future = [v for v in entries if v.meta.effective_from and v.meta.effective_from > t]
        if future:
            return min(future, key=lambda v: v.meta.effective_from or 0.0), False
        return (entries[-1] if entries else None), False

    def threshold_met(self, name: str, x: float, at: AtLike = None) -> bool:
        """Whether `x` meets the threshold in force at `at`, with its comparison (KeyError
        if none is in force)."""
        for v in self.thresholds.get(name, []):
            if v.meta.in_force(to_epoch(at)):
                return v.met(x)
        raise KeyError(f"no threshold {name!r} in force")

    def threshold_compare(self, name: str) -> str:
        """The comparison of threshold `name` ("gte" or "gt"); all its entries share it."""
        entries = self.thresholds.get(name)
        if not entries:
            raise KeyError(f"no threshold {name!r}")
        return entries[0].compare

    def flag(self, name: str) -> bool:
        return self.flags[name].value

    def model_class(self, name: str | None) -> str:
        m = self.models.get(name or "")
        return m.classification if m else self.default_classification

    def allowlist(self, model: str, at: date | datetime | float | None = None) -> frozenset[str]:
        return self.snapshot(to_epoch(at)).allow.get(model, frozenset())

    def clocks(self, regime: str) -> list[IncidentClock]:
        return list(self.incident_clocks.get(regime, []))

    def clock(self, regime: str, event: str) -> IncidentClock | None:
        """The clock `event` of `regime` (None if the pack has no such clock)."""
        for c in self.incident_clocks.get(regime, []):
            if c.event == event:
                return c
        return None

    def boundaries(self) -> set[float]:
        """Every instant at which some fact starts or stops applying."""
        out: set[float] = set()

        def add(m: Meta) -> None:
            for x in (m.effective_from, m.effective_until):
                if x is not None:
                    out.add(x)

        for g in self.groups.values():
            add(g.meta)
            for m in g.members:
                add(m.meta)
        if self.tiers:
            add(self.tiers.meta)
            for td in self.tiers.defs:
                for m in td.countries:
                    add(m.meta)
        for vs in self.thresholds.values():
            for v in vs:
                add(v.meta)
        for al in self.allowlists.values():
            add(al.meta)
            for m in al.members:
                add(m.meta)
        for mi in self.models.values():
            add(mi.meta)
        return out

    def facts(self) -> list[tuple[str, Any, Meta]]:
        """Every fact as (key, value, meta): for diff, docs and the unverified list."""
        out: list[tuple[str, Any, Meta]] = []
        for g in self.groups.values():
            out.append((f"country_groups.{g.name}", g.title, g.meta))
            out.extend((f"country_groups.{g.name}.{m.code}", m.code, m.meta) for m in g.members)
        if self.tiers:
            out.append(("tiers", f"default {self.tiers.default}", self.tiers.meta))
            for td in self.tiers.defs:
                out.append((f"tiers.{td.tier}.groups", list(td.groups), self.tiers.meta))
                out.extend((f"tiers.{td.tier}.{m.code}", m.code, m.meta) for m in td.countries)
        for mi in self.models.values():
            out.append((f"models.{mi.name}", mi.classification, mi.meta))
        for vs in self.thresholds.values():
            for i, v in enumerate(vs):
                key = f"thresholds.{v.name}" + (f"[{i}]" if len(vs) > 1 else "")
                out.append((key, f"{v.symbol} {v.value:g} {v.unit}".strip(), v.meta))
        for f in self.flags.values():
            out.append((f"flags.{f.name}", f.value, f.meta))
        for le in self.licence_exceptions.values():
            out.append((f"licence_exceptions.{le.name}", {"title": le.title, **le.params}, le.meta))
        for al in self.allowlists.values():
            out.append((f"allowlists.{al.name}", {"models": list(al.models)}, al.meta))
            out.extend((f"allowlists.{al.name}.{m.code}", m.code, m.meta) for m in al.members)
        for reg, clocks in self.incident_clocks.items():
            for c in clocks:
                val = {
                    "deadline": str(c.deadline) if c.deadline else None,
                    "every": str(c.every) if c.every else None,
                    "dates": list(c.dates),
                }
                out.append((f"incident_clocks.{reg}.{c.event}", val, c.meta))
        for it in self.incident_types.values():
            tval = {
                "clocks": [f"{r}.{e}" for r, e in it.clocks],
                "imminent_clocks": [f"{r}.{e}" for r, e in it.imminent_clocks],
            }
            out.append((f"incident_types.{it.kind}", tval, it.meta))
        return out

    def unverified(self) -> list[str]:
        return sorted({k for k, _, m in self.facts() if m.unverified})
