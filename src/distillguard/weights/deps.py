"""The one adapter between weights and the parts it consumes: rules, ledger, screening.

Why one module: those parts are built in parallel; keeping every call to them here means
an API change touches one file, and the weights code works (fail closed) when a part is
absent: no screening service -> status "unknown" (the rules then require a licence for
controlled weights); no ledger -> events are kept only in the registry, and say so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from distillguard.errors import DistillguardError

log = logging.getLogger(__name__)


# -- rules --------------------------------------------------------------------------------


def load_engine(pack_path: str | Path | None = None) -> Any:
    """The rule engine for `pack_path` (default: the rules part's default pack)."""
    from distillguard.rules import RuleEngine, default_pack_path

    return RuleEngine.from_path(pack_path or default_pack_path())


def check_country(code: str | None, what: str) -> str | None:
    """Normalise and validate an ISO 3166-1 alpha-2 code; None stays None."""
    from distillguard.rules.iso3166 import ISO_3166_ALPHA2

    if code is None or code == "":
        return None
    c = code.strip().upper()
    if c not in ISO_3166_ALPHA2:
        hint = {"UK": " (use GB)", "EL": " (use GR)"}.get(c, "")
        raise DistillguardError(f"unknown country code {code!r} for {what}{hint}")
    return c


@dataclass(frozen=True)
class ThresholdValue:
    name: str
    value: float
    citation: str
    verification: str
    effective_from: float | None
    in_force: bool


def threshold(engine: Any, name: str, t: float) -> ThresholdValue:
    """The threshold in force at `t`, else the next one to come into force."""
    e, in_force = engine.reference.threshold_entry(name, t)
    if e is None:
        raise DistillguardError(f"the rule pack has no threshold {name!r}")
    return ThresholdValue(
        name, e.value, e.meta.citation, e.meta.verification, e.meta.effective_from, in_force
    )


def flag(engine: Any, name: str, default: bool) -> tuple[bool, str]:
    """A pack flag and its verification tag ("U" = unverified)."""
    f = engine.reference.flags.get(name)
    if f is None:
        return default, "missing"
    return bool(f.value), str(f.meta.verification)


def incident_plan(engine: Any, kind: str, discovered: datetime, imminent: bool) -> list[Any]:
    """Deadlines an incident of `kind` starts, from the pack's `reference.incident_types`
    (the reports part's clock code; clocks not in force at discovery start nothing)."""
    from distillguard.reports.clocks import plan

    return list(plan(engine.reference, kind, discovered, imminent).deadlines)


def decide_transfer(engine: Any, ctx: dict[str, Any], at: float | None = None) -> Any:
    return engine.decide("transfer", ctx, at=at)


def pack_hash(engine: Any) -> str:
    return str(engine.pack_hash)


# -- ledger -------------------------------------------------------------------------------


class LedgerSink(Protocol):
    def append(self, record: dict[str, Any]) -> int: ...


class Audit:
    """Appends weights events to the compliance ledger when one is configured.

    The default ledger is opened on the first record, so read-only commands never touch
    it; a ledger that is configured but fails raises (callers write the record inside
    their transaction, so nothing changes without its record).
    """

    def __init__(
        self, ledger: LedgerSink | None, opener: Callable[[], LedgerSink] | None = None
    ) -> None:
        self.ledger = ledger
        self._opener = opener

    @classmethod
    def open_default(cls) -> Audit:
        """The default ledger (DISTILLGUARD_LEDGER_URL / data dir), opened lazily."""
        if os.environ.get("DISTILLGUARD_WEIGHTS_NO_LEDGER"):
            return cls(None)
        try:
            from distillguard.ledger import open_ledger
        except ImportError:
            return cls(None)
        return cls(None, open_ledger)

    def record(self, kind: str, **fields: Any) -> int | None:
        if self.ledger is None and self._opener is not None:
            self.ledger = self._opener()
            self._opener = None
        if self.ledger is None:
            return None
        rec = {"type": f"weights.{kind}", **fields}
        return int(self.ledger.append(rec))


# -- screening ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ScreeningResult:
    status: str  # "clear" | "hit" | "review" | "unknown"
    source: str
    detail: str


class Screener(Protocol):
    def screen(self, name: str, country: str | None) -> ScreeningResult: ...


class ServiceScreener:
    """distillguard.screening: the recipient is a stored `weight_recipient` subject, so an
    analyst's clearance of a false positive and re-screening on list updates apply to it.
    Missing or stale lists give "stale" (the rules then refuse controlled weights)."""

    def __init__(self, db: Any) -> None:
        from distillguard.screening import ScreeningService

        self.svc = ScreeningService(db)

    def screen(self, name: str, country: str | None) -> ScreeningResult:
        subject = "weights-recipient:" + " ".join(name.lower().split())
        v = self.svc.screen_subject(
            subject, [name], schema="Organization", country=country,
            subject_type="weight_recipient",
        )  # fmt: skip
        if v.hits:
            top = v.hits[0]
            detail = f"{top.caption} on {top.list_name or top.source} (score {top.score:.2f})"
        elif v.status == "stale":
            detail = "sanctions lists missing or out of date: not screened (fail closed)"
        else:
            detail = f"no list entry matches {name!r}"
        return ScreeningResult(v.status, v.ref, detail)


class NoScreener:
    def screen(self, name: str, country: str | None) -> ScreeningResult:
        return ScreeningResult(
            "unknown", "none", "screening service not available; result unknown (fail closed)"
        )


def default_screener(db: Any) -> Screener:
    try:
        return ServiceScreener(db)
    except Exception as exc:  # not built yet, or no lists ingested
        log.info("screening unavailable: %s", exc)
        return NoScreener()
