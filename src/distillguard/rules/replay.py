"""Replay recorded requests under a candidate pack: "what would this change do?"

Each RequestEvent (the gateway's JSONL log) is decided by the baseline and the candidate
pack. An event may carry `context` (the access context the gateway recorded, including
the account snapshot); otherwise the context is built from the event's own fields, and
facts the event does not carry (KYC, nationality, screening) are missing, which the
default pack treats fail-closed; the report counts such events. Decisions are taken at
each event's time unless `at` fixes one instant (e.g. the date a change takes effect).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from distillguard.events import ReadStats, RequestEvent, format_ts, read_event_records
from distillguard.rules.engine import Decision, RuleEngine
from distillguard.rules.instants import AtLike, to_epoch
from distillguard.rules.schema import ACCESS_SCHEMA

_PARAMS = tuple(ACCESS_SCHEMA["params"])


def context_from_event(ev: RequestEvent, recorded: Any) -> tuple[dict[str, Any], bool]:
    """The access context for an event; True when the event carried a recorded `context`.

    The context is built from the event's own fields, then the recorded context (all of
    it, or only the account snapshot) is laid over it: a recorded value wins unless None.
    """
    ctx: dict[str, Any] = {
        "account": {"id": ev.account},
        "org": {"id": ev.org},
        "request": {
            "country": ev.country,
            "ip": ev.ip,
            "endpoint": ev.endpoint,
            "model": ev.model,
            "time": format_ts(ev.ts),
        },
        "model": {"name": ev.model},
        "params": {k: ev.params.get(k) for k in _PARAMS},
    }
    if not isinstance(recorded, dict):
        return ctx, False
    for sec, val in recorded.items():
        base = ctx.get(sec)
        if isinstance(val, dict) and isinstance(base, dict):
            ctx[sec] = {**base, **{k: v for k, v in val.items() if v is not None}}
            for k, v in val.items():
                ctx[sec].setdefault(k, v)
        else:
            ctx[sec] = val
    return ctx, True


@dataclass(slots=True)
class Change:
    account: str
    ts: str
    request_id: str | None
    old: str
    new: str
    old_transforms: list[str]
    new_transforms: list[str]
    rules: list[str]  # "+id" / "-id" / "~id"


@dataclass(slots=True)
class ReplayReport:
    events: int = 0
    skipped_lines: int = 0
    skip_reasons: list[str] = field(default_factory=list)
    without_context: int = 0
    changed: int = 0
    baseline_actions: Counter[str] = field(default_factory=Counter)
    candidate_actions: Counter[str] = field(default_factory=Counter)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    accounts: dict[str, int] = field(default_factory=dict)
    # "+id" now matches, "-id" no longer matches, "~id" matches in both but the rule changed
    rules: Counter[str] = field(default_factory=Counter)
    account_rules: dict[str, set[str]] = field(default_factory=dict)
    examples: list[Change] = field(default_factory=list)
    baseline_hash: str = ""
    candidate_hash: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "baseline_pack": self.baseline_hash,
            "candidate_pack": self.candidate_hash,
            "input": {
                "events": self.events,
                "skipped_lines": self.skipped_lines,
                "without_context": self.without_context,
                "skip_reasons": self.skip_reasons,
            },
            "changed": self.changed,
            "changed_fraction": self.changed / self.events if self.events else 0.0,
            "baseline_actions": dict(self.baseline_actions),
            "candidate_actions": dict(self.candidate_actions),
            "transitions": [
                {"from": a, "to": b, "count": c} for (a, b), c in self.transitions.most_common()
            ],
            "accounts": [
                {"account": a, "changed": c, "rules": sorted(self.account_rules.get(a, ()))}
                for a, c in sorted(self.accounts.items(), key=lambda x: -x[1])
            ],
            "rules": [
                {
                    "rule": r[1:],
                    "effect": _EFFECT[r[0]],
                    "decisions": c,
                }
                for r, c in self.rules.most_common()
            ],
            "examples": [asdict(x) for x in self.examples],
        }


_EFFECT = {"+": "now matches", "-": "no longer matches", "~": "changed"}


def _changes(old: Decision, new: Decision, changed_ids: set[str]) -> list[str]:
    """Rules behind a changed decision, marked +/-/~ (see ReplayReport.rules)."""
    o, n = set(old.rule_ids), set(new.rule_ids)
    return (
        [f"+{r}" for r in sorted(n - o)]
        + [f"-{r}" for r in sorted(o - n)]
        + [f"~{r}" for r in sorted(o & n & changed_ids)]
    )


def _uses(code: str, rule_exception: str | None, fact: str, tier_groups: set[str]) -> bool:
    """Whether a compiled condition depends on a reference fact (by its diff key)."""
    kind, _, rest = fact.partition(".")
    name = rest.split(".")[0]
    if kind == "country_groups":
        return f"_GROUPS[{name!r}]" in code or ("_TIER" in code and name in tier_groups)
    if kind == "tiers":
        return "_TIER" in code
    if kind == "models":
        return "v_model_classification" in code or "_ALLOW" in code
    if kind == "thresholds":
        return f"_THR[{name.split('[')[0]!r}]" in code
    if kind == "allowlists":
        return "_ALLOW" in code
    if kind == "licence_exceptions":
        return rule_exception == name
    return False


def changed_rule_ids(a: RuleEngine, b: RuleEngine) -> set[str]:
    """Ids of rules in both packs whose text, compiled condition (so: a definition it
    uses) or a reference fact it reads differs."""
    from distillguard.rules.diff import diff_packs

    old = {r.id: r for r in a.pack.rules}
    d = diff_packs(a.pack, b.pack)
    facts = [*d.facts_added, *d.facts_removed, *d.facts_changed]
    tier_groups = {
        g
        for p in (a.pack, b.pack)
        if p.reference.tiers
        for t in p.reference.tiers.defs
        for g in t.groups
    }
    out: set[str] = set()
    for r in b.pack.rules:
        o = old.get(r.id)
        if o is None:
            continue
        code = r.compiled.code if r.compiled else ""
        old_code = o.compiled.code if o.compiled else ""
        if (
            o.to_dict() != r.to_dict()
            or old_code != code
            or any(_uses(code, r.exception, f, tier_groups) for f in facts)
        ):
            out.add(r.id)
    return out


def replay(
    path: Path,
    candidate: RuleEngine,
    baseline: RuleEngine,
    *,
    at: AtLike = None,
    strict: bool = False,
    max_examples: int = 50,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Decide every event of `path` under both packs and count what changes."""
    rep = ReplayReport(baseline_hash=baseline.pack_hash, candidate_hash=candidate.pack_hash)
    stats = ReadStats()
    fixed = to_epoch(at) if at is not None else None
    accounts: defaultdict[str, int] = defaultdict(int)
    changed_ids = changed_rule_ids(baseline, candidate)
    for ev, d in read_event_records(path, stats, strict=strict, progress=progress):
        ctx, recorded = context_from_event(ev, d.get("context"))
        rep.events += 1
        rep.without_context += not recorded
        old = baseline.decide("access", ctx, at=fixed)
        new = candidate.decide("access", ctx, at=fixed)
        rep.baseline_actions[old.action] += 1
        rep.candidate_actions[new.action] += 1
        if old.action == new.action and old.transforms == new.transforms:
            continue
        rep.changed += 1
        rep.transitions[(old.action, new.action)] += 1
        accounts[ev.account] += 1
        marks = _changes(old, new, changed_ids)
        rep.rules.update(marks)
        rep.account_rules.setdefault(ev.account, set()).update(m[1:] for m in marks)
        if len(rep.examples) < max_examples:
            rep.examples.append(
                Change(
                    ev.account,
                    format_ts(ev.ts),
                    ev.request_id,
                    old.action,
                    new.action,
                    old.transforms,
                    new.transforms,
                    marks,
                )
            )
    rep.skipped_lines = stats.skipped
    rep.skip_reasons = stats.errors
    rep.accounts = dict(accounts)
    return rep
