"""RuleEngine: decide a context against a compiled pack, and explain the decision.

`decide(domain, ctx)` picks the decision instant (argument `at`, else `request.time`,
else now), finds the compiled segment for that instant (bisect, cached), runs it, and
folds the matches: the most restrictive action wins, every matching rule is listed as a
reason, an erroring rule decides the most restrictive action with reason `rule_error`.
`explain` evaluates rule by rule and also says which rules were skipped and why.
"""

from __future__ import annotations

import bisect
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError
from distillguard.rules.compiler import Segment, compile_segment
from distillguard.rules.instants import AtLike, to_epoch
from distillguard.rules.pack import Pack, Rule, load_pack
from distillguard.rules.reference import Reference
from distillguard.rules.schema import (
    ACTIONS,
    DEFAULT_ACTION,
    ERROR_ACTION,
    SCHEMAS,
    merge_transforms,
)
from distillguard.rules.validate import fmt_epoch

RULE_ERROR = "rule_error"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a decision was taken: one matching (or erroring) rule."""

    rule_id: str
    citation: str
    reason_code: str
    title: str
    action: str = ""
    verification: str = ""
    detail: str | None = None  # the error text for rule_error

    def to_dict(self) -> dict[str, Any]:
        d = {
            "rule_id": self.rule_id,
            "citation": self.citation,
            "reason_code": self.reason_code,
            "title": self.title,
            "action": self.action,
            "verification": self.verification,
        }
        if self.detail:
            d["detail"] = self.detail
        return d


@dataclass(slots=True)
class Decision:
    """The outcome: action, transforms to apply, reasons, and which pack decided."""

    domain: str
    action: str
    transforms: list[str]
    reasons: list[Reason]
    pack_hash: str
    at: float
    exception: str | None = None  # transfer: the licence exception to use
    errors: int = 0

    @property
    def rule_ids(self) -> list[str]:
        return [r.rule_id for r in self.reasons]

    @property
    def reason_codes(self) -> list[str]:
        return [r.reason_code for r in self.reasons]

    def to_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "action": self.action,
            "transforms": self.transforms,
            "exception": self.exception,
            "reasons": [r.to_dict() for r in self.reasons],
            "pack_hash": self.pack_hash,
            "at": fmt_epoch(self.at),
            "errors": self.errors,
        }


@dataclass(slots=True)
class RuleTrace:
    """One rule's part in an explained decision."""

    rule_id: str
    outcome: str  # "matched" | "not_matched" | "error" | "skipped"
    why: str = ""
    action: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "rule_id": self.rule_id,
            "outcome": self.outcome,
            "why": self.why,
            "action": self.action,
        }


@dataclass(slots=True)
class Explanation:
    decision: Decision
    rules: list[RuleTrace] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision.to_dict(), "rules": [r.to_dict() for r in self.rules]}


class RuleEngine:
    """Decisions for one immutable pack (swap packs with PackManager)."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.pack_hash = pack.hash
        self._bounds = pack.boundaries()
        self._segments: dict[tuple[str, int], Segment] = {}
        self._lock = threading.Lock()
        self._rank = {dom: {a: i for i, a in enumerate(acts)} for dom, acts in ACTIONS.items()}
        self._last_time: tuple[str, float] = ("", 0.0)
        # Reasons are immutable per rule: build them once, not per decision.
        self._reasons = [_reason(r) for r in pack.rules]
        # Compile the current segment of every domain now so the first request is fast and
        # a pack that cannot compile fails at load time.
        now = time.time()
        for dom in SCHEMAS:
            self._segment(dom, now)

    @classmethod
    def from_path(cls, path: str | Path) -> RuleEngine:
        return cls(load_pack(path))

    @property
    def reference(self) -> Reference:
        return self.pack.reference

    def _segment(self, domain: str, t: float) -> Segment:
        idx = bisect.bisect_right(self._bounds, t)
        seg = self._segments.get((domain, idx))
        if seg is None:
            with self._lock:
                seg = self._segments.get((domain, idx))
                if seg is None:
                    # any instant inside the segment gives the same result
                    seg = compile_segment(self.pack, domain, t)
                    self._segments[(domain, idx)] = seg
        return seg

    def _instant(self, ctx: dict[str, Any], at: AtLike) -> float:
        if at is not None:
            return to_epoch(at)
        req = ctx.get("request")
        ts = req.get("time") if isinstance(req, dict) else None
        if ts is None:
            return time.time()
        last = self._last_time
        if last[0] == ts:
            return last[1]
        t = to_epoch(ts)
        self._last_time = (ts, t)
        return t

    def decide(self, domain: str, ctx: dict[str, Any] | Any, at: AtLike = None) -> Decision:
        """Decide `ctx` in `domain` ("access" or "transfer"); never raises on bad contexts."""
        rank = self._rank.get(domain)
        if rank is None:
            raise DistillguardError(f"unknown domain {domain!r} (known: {', '.join(ACTIONS)})")
        try:
            t = self._instant(ctx, at)
        except Exception as exc:  # unreadable time: fail closed, decide "now"
            return self._context_error(domain, exc, time.time())
        try:
            seg = self._segment(domain, t)
            matched, errors = seg.decide(ctx)
        except Exception as exc:  # malformed context (e.g. not a mapping): fail closed
            return self._context_error(domain, exc, t)
        if not matched and not errors:
            return Decision(domain, DEFAULT_ACTION[domain], [], [], self.pack_hash, t)
        return self._fold(domain, matched, errors, t)

    def _context_error(self, domain: str, exc: BaseException, t: float) -> Decision:
        reason = Reason(
            "<context>",
            "",
            RULE_ERROR,
            "context could not be read",
            ERROR_ACTION[domain],
            detail=f"{type(exc).__name__}: {exc}"[:200],
        )
        return Decision(domain, ERROR_ACTION[domain], [], [reason], self.pack_hash, t, errors=1)

    def _fold(
        self,
        domain: str,
        matched: list[int],
        errors: list[tuple[int, BaseException]] | None,
        t: float,
    ) -> Decision:
        rules = self.pack.rules
        rank = self._rank[domain]
        reasons: list[Reason] = []
        best = -1
        for i in matched:
            reason = self._reasons[i]
            k = rank[reason.action]
            if k > best:
                best = k
            reasons.append(reason)
        for i, exc in errors or ():
            r = rules[i]
            best = max(best, rank[ERROR_ACTION[domain]])
            reasons.append(
                Reason(
                    r.id,
                    r.citation,
                    RULE_ERROR,
                    r.title,
                    ERROR_ACTION[domain],
                    r.verification,
                    f"{type(exc).__name__}: {exc}"[:200],
                )
            )
        action = ACTIONS[domain][best]
        if len(reasons) > 1:
            reasons.sort(key=lambda x: -rank[x.action])
        transforms: list[str] = []
        exception = None
        if action in ("degrade", "throttle"):
            transforms = merge_transforms([tr for i in matched for tr in rules[i].transforms])
        if action == "licence_exception":
            exception = next(
                rules[i].exception for i in matched if rules[i].action == "licence_exception"
            )
        return Decision(
            domain, action, transforms, reasons, self.pack_hash, t, exception, len(errors or ())
        )

    def explain(self, domain: str, ctx: dict[str, Any], at: AtLike = None) -> Explanation:
        """Decide and say, rule by rule, what matched, what did not and what was skipped."""
        decision = self.decide(domain, ctx, at)
        t = decision.at
        seg = self._segment(domain, t)
        traces: list[RuleTrace] = []
        for i, r in enumerate(self.pack.rules):
            if r.domain != domain:
                continue
            status = r.status_at(t)
            if status != "in_force":
                why = (
                    f"status {status} at {fmt_epoch(t)}"
                    if status
                    else f"not in effect at {fmt_epoch(t)} ({_window(r)})"
                )
                traces.append(RuleTrace(r.id, "skipped", why, r.action))
                continue
            try:
                hit = seg.rule_fns[i](ctx)
            except Exception as exc:
                traces.append(
                    RuleTrace(r.id, "error", f"{type(exc).__name__}: {exc}", ERROR_ACTION[domain])
                )
                continue
            traces.append(
                RuleTrace(
                    r.id,
                    "matched" if hit else "not_matched",
                    " ".join(r.condition.split()),
                    r.action,
                )
            )
        return Explanation(decision, traces)

    def rules_for(self, domain: str) -> list[Rule]:
        return [r for r in self.pack.rules if r.domain == domain]


def _reason(r: Rule) -> Reason:
    return Reason(r.id, r.citation, r.reason_code, r.title, r.action, r.verification)


def _window(r: Rule) -> str:
    parts = [
        f"{p.status} {fmt_epoch(p.start) or '…'}–{fmt_epoch(p.until) or '…'}" for p in r.periods
    ]
    return ", ".join(parts)
