"""Rule packs: the YAML file format, its validation and the loaded `Pack` object.

A pack is one YAML file (schema in docs/rules.md): `pack` (name, version), `reference`
(facts with citations), `definitions` (named sub-conditions per domain), `rules` and
optionally `tests` (or a sibling `<stem>.tests.yaml`). Everything is checked on load:
unknown fields, bad dates, non-ISO countries, conditions that do not parse or type-check
all raise `PackError` naming file, line and rule id. History is data: a rule keeps its
earlier periods (`history`) and a suspended rule stays in the pack.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from distillguard.rules.condition import CompileEnv, ConditionError, Typed, compile_condition
from distillguard.rules.reference import Reference
from distillguard.rules.reference_parse import parse_reference
from distillguard.rules.schema import (
    ACTIONS,
    SCHEMAS,
    STATUSES,
    parse_transform,
)
from distillguard.rules.validate import (
    Where,
    check_keys,
    fmt_epoch,
    item_line,
    line_of,
    mapping,
    seq,
    string,
    to_epoch,
    verification,
)
from distillguard.rules.yamlmarks import load_yaml_file, load_yaml_text

TOP_KEYS = {"pack", "reference", "definitions", "rules", "tests"}
RULE_KEYS = {
    "id",
    "domain",
    "title",
    "citation",
    "status",
    "effective_from",
    "effective_until",
    "history",
    "verification",
    "condition",
    "action",
    "transforms",
    "exception",
    "reason_code",
    "note",
}
PERIOD_KEYS = {"status", "effective_from", "effective_until", "note"}


@dataclass(frozen=True, slots=True)
class Period:
    """A stretch of time with one status; `until` is exclusive, None means open-ended."""

    status: str
    start: float | None
    until: float | None
    note: str | None = None

    def contains(self, t: float) -> bool:
        return (self.start is None or t >= self.start) and (self.until is None or t < self.until)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "effective_from": fmt_epoch(self.start),
            "effective_until": fmt_epoch(self.until),
            "note": self.note,
        }


@dataclass(slots=True)
class Rule:
    """One rule as written in the pack, plus its compiled condition."""

    id: str
    domain: str
    title: str
    citation: str
    verification: str
    condition: str
    action: str
    reason_code: str
    periods: tuple[Period, ...]  # history first, current period last
    transforms: tuple[str, ...] = ()
    exception: str | None = None
    note: str | None = None
    line: int = 0
    compiled: Typed | None = None

    @property
    def status(self) -> str:
        return self.periods[-1].status

    def status_at(self, t: float) -> str | None:
        """The rule's status at t, or None when t is outside every period."""
        for p in reversed(self.periods):
            if p.contains(t):
                return p.status
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "domain": self.domain,
            "title": self.title,
            "citation": self.citation,
            "verification": self.verification,
            "status": self.status,
            "periods": [p.to_dict() for p in self.periods],
            "condition": " ".join(self.condition.split()),
            "action": self.action,
            "transforms": list(self.transforms),
            "exception": self.exception,
            "reason_code": self.reason_code,
            "note": self.note,
        }


@dataclass(slots=True)
class Pack:
    """A validated pack. `hash` is the sha256 of the pack file's bytes."""

    name: str
    version: str
    description: str
    source: str
    hash: str
    reference: Reference
    rules: list[Rule]
    definitions: dict[str, dict[str, str]]
    tests: dict[str, Any] = field(default_factory=dict)  # {"base": {...}, "cases": [...]}
    constants: dict[str, dict[str, object]] = field(default_factory=dict)  # per domain

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def boundaries(self) -> list[float]:
        out = self.reference.boundaries()
        for r in self.rules:
            for p in r.periods:
                out.update(x for x in (p.start, p.until) if x is not None)
        return sorted(out)


def default_pack_path() -> Path:
    """The pack shipped with distillguard (package data)."""
    return Path(str(resources.files("distillguard.rules") / "packs" / "default.yaml"))


def _periods(r: dict[str, Any], w: Where) -> tuple[Period, ...]:
    out: list[Period] = []
    hist = r.get("history") or []
    for i, h in enumerate(seq(hist, w.at(line_of(r, "history")), "history")):
        hw = w.at(item_line(hist, i))
        h = mapping(h, hw, "history entry")
        check_keys(h, hw, PERIOD_KEYS, {"status"}, "history entry")
        out.append(_period(h, hw))
    out.append(_period(r, w))
    for a, b in itertools.pairwise(out):
        if a.until is None or (b.start is not None and b.start < a.until):
            raise w.error(
                "history periods must be closed (effective_until) and must not "
                "overlap the next period"
            )
    return tuple(out)


def _period(d: dict[str, Any], w: Where) -> Period:
    status = d.get("status")
    if status not in STATUSES:
        raise w.at(line_of(d, "status")).error(
            f"status must be one of {', '.join(STATUSES)} (got {status!r})"
        )
    start = to_epoch(d.get("effective_from"), w.at(line_of(d, "effective_from")), "effective_from")
    until = to_epoch(
        d.get("effective_until"), w.at(line_of(d, "effective_until")), "effective_until"
    )
    if start is not None and until is not None and until <= start:
        raise w.error("effective_until must be after effective_from")
    note = d.get("note")
    return Period(str(status), start, until, str(note) if note is not None else None)


def make_env(domain: str, ref: Reference) -> CompileEnv:
    sections, scalars = SCHEMAS[domain]
    return CompileEnv(
        sections=sections,
        scalars=scalars,
        groups=frozenset(ref.groups),
        thresholds={n: vs[0].compare for n, vs in ref.thresholds.items()},
        models=frozenset(ref.models),
    )


def parse_pack(data: Any, source: str, content_hash: str) -> Pack:
    """Validate parsed YAML and build a Pack (conditions compiled and type-checked)."""
    w = Where(source)
    d = mapping(data, w, "pack file")
    check_keys(d, w, TOP_KEYS, {"pack", "rules"}, "pack file")
    meta = mapping(d["pack"], w.at(line_of(d, "pack")), "pack")
    check_keys(
        meta,
        w.at(line_of(d, "pack")),
        {"name", "version", "description"},
        {"name", "version"},
        "pack",
    )
    ref = parse_reference(d.get("reference"), w.at(line_of(d, "reference")))

    envs = {dom: make_env(dom, ref) for dom in SCHEMAS}
    defs_raw = mapping(d.get("definitions") or {}, w.at(line_of(d, "definitions")), "definitions")
    definitions: dict[str, dict[str, str]] = {}
    for dom, defs in defs_raw.items():
        dw = w.at(line_of(defs_raw, dom))
        if dom not in SCHEMAS:
            raise dw.error(f"unknown domain '{dom}' (known: {', '.join(SCHEMAS)})")
        defs = mapping(defs, dw, "definitions")
        definitions[dom] = {}
        for name, text in defs.items():
            nw = dw.at(line_of(defs, name), f"definition {dom}.{name}")
            if not name.isidentifier() or name in envs[dom].sections or name in (envs[dom].scalars):
                raise nw.error("a definition name must be an identifier not used by the context")
            try:
                envs[dom].definitions[name] = compile_condition(str(text), envs[dom])
            except ConditionError as exc:
                raise nw.error(f"condition: {exc}") from None
            definitions[dom][name] = str(text)

    rules: list[Rule] = []
    seen: dict[str, int] = {}
    rl = seq(d["rules"], w.at(line_of(d, "rules")), "rules")
    for i, r in enumerate(rl):
        rw = w.at(item_line(rl, i))
        r = mapping(r, rw, "rule")
        rid = r.get("id")
        if not isinstance(rid, str) or not rid:
            raise rw.error("rule is missing 'id'")
        rw = rw.at(rw.line, f"rule {rid}")
        if rid in seen:
            raise rw.error(f"duplicate rule id (first on line {seen[rid]})")
        seen[rid] = rw.line
        rules.append(_parse_rule(r, rw, envs, ref))

    tests = _parse_tests(d.get("tests"), w.at(line_of(d, "tests")))
    return Pack(
        name=str(meta["name"]),
        version=str(meta["version"]),
        description=str(meta.get("description", "")),
        source=source,
        hash=content_hash,
        reference=ref,
        rules=rules,
        definitions=definitions,
        tests=tests,
        constants={dom: dict(env.constants) for dom, env in envs.items()},
    )


def _parse_rule(r: dict[str, Any], rw: Where, envs: dict[str, CompileEnv], ref: Reference) -> Rule:
    check_keys(
        r,
        rw,
        RULE_KEYS,
        {
            "id",
            "domain",
            "title",
            "citation",
            "status",
            "verification",
            "condition",
            "action",
            "reason_code",
        },
        "rule",
    )
    dom = r["domain"]
    if dom not in SCHEMAS:
        raise rw.at(line_of(r, "domain")).error(
            f"unknown domain {dom!r} (known: {', '.join(SCHEMAS)})"
        )
    action = r["action"]
    if action not in ACTIONS[dom]:
        raise rw.at(line_of(r, "action")).error(
            f"action {action!r} is not valid for domain {dom} (one of: {', '.join(ACTIONS[dom])})"
        )
    transforms = tuple(str(t) for t in seq(r.get("transforms") or [], rw, "transforms"))
    for t in transforms:
        if parse_transform(t) is None:
            raise rw.at(line_of(r, "transforms")).error(
                f"unknown transform {t!r} (strip_reasoning, drop_logprobs, "
                "summarise_reasoning[:count|first_sentence], leak_check:on|off, "
                "cap_max_tokens:N, cap_n:N)"
            )
    if transforms and action not in ("degrade", "throttle"):
        raise rw.at(line_of(r, "transforms")).error(
            "transforms are only meaningful with action degrade or throttle"
        )
    exc = r.get("exception")
    if (action == "licence_exception") != (exc is not None):
        raise rw.error("action licence_exception needs 'exception' (and only it may have one)")
    if exc is not None and exc not in ref.licence_exceptions:
        raise rw.at(line_of(r, "exception")).error(
            f"unknown licence exception {exc!r} (known: {', '.join(ref.licence_exceptions)})"
        )
    rc = string(r, "reason_code", rw) or ""
    if not rc.replace("_", "").isalnum():
        raise rw.at(line_of(r, "reason_code")).error("reason_code must be snake_case")
    try:
        compiled = compile_condition(r["condition"], envs[dom])
    except ConditionError as e:
        raise rw.at(line_of(r, "condition")).error(f"condition: {e}") from None
    note = r.get("note")
    return Rule(
        id=r["id"],
        domain=dom,
        title=string(r, "title", rw) or "",
        citation=string(r, "citation", rw) or "",
        verification=verification(r, rw),
        condition=str(r["condition"]),
        action=action,
        reason_code=rc,
        periods=_periods(r, rw),
        transforms=transforms,
        exception=exc,
        note=str(note) if note is not None else None,
        line=rw.line,
        compiled=compiled,
    )


def _parse_tests(raw: Any, w: Where) -> dict[str, Any]:
    if raw is None:
        return {}
    t = mapping(raw, w, "tests")
    check_keys(t, w, {"base", "cases"}, {"cases"}, "tests")
    seq(t["cases"], w.at(line_of(t, "cases")), "cases")
    return t


def _hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def load_pack(path: str | Path, *, with_tests: bool = True) -> Pack:
    """Load, validate and compile a pack file; tests come from `tests:` or `<stem>.tests.yaml`."""
    p = Path(path)
    data, raw = load_yaml_file(p)
    pack = parse_pack(data, str(p), _hash(raw))
    sibling = p.with_name(p.stem + ".tests.yaml")
    if with_tests and not pack.tests and sibling.is_file():
        tdata, _ = load_yaml_file(sibling)
        pack.tests = _parse_tests(tdata, Where(str(sibling)))
        pack.tests["_source"] = str(sibling)
    return pack


def load_pack_text(text: str, source: str = "<pack>") -> Pack:
    """Load a pack from YAML text (for tests and the hot-reload API)."""
    return parse_pack(load_yaml_text(text, source), source, _hash(text.encode("utf-8")))
