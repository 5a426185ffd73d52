"""Pack test cases: context -> expected action, run by `rules test` and before every hot
reload, plus coverage (which rules no case exercises).

A case (in the pack's `tests:` or a sibling `<stem>.tests.yaml`):
    - name: screening hit blocks
      domain: access
      at: 2026-11-20            # optional decision time (else request.time, else now)
      context: {screening: {status: hit}}   # deep-merged over tests.base[domain]
      expect: block
      expect_rules: [screening.hit]          # must all be among the reasons
      expect_transforms: [strip_reasoning]   # exact set, when given
      expect_exception: AIA                  # transfer
      expect_skipped: [iaas_cip.foreign_customer]  # rules explain must report as skipped
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from distillguard.rules.engine import RuleEngine
from distillguard.rules.packerror import PackError
from distillguard.rules.schema import ACTIONS, SCHEMAS
from distillguard.rules.validate import Where, check_keys, line_of

CASE_KEYS = {
    "name",
    "domain",
    "at",
    "context",
    "expect",
    "expect_rules",
    "expect_not_rules",
    "expect_transforms",
    "expect_exception",
    "expect_skipped",
    "note",
}


@dataclass(slots=True)
class CaseResult:
    name: str
    ok: bool
    expected: str
    got: str
    problems: list[str] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    line: int = 0


@dataclass(slots=True)
class TestReport:
    results: list[CaseResult]
    uncovered: list[str]  # rule ids no case matched or expected to be skipped
    source: str = ""

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.failed


def deep_merge(base: Any, over: Any) -> Any:
    """Recursively merge mappings; anything else in `over` replaces (null included)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = {k: copy.deepcopy(v) for k, v in base.items()}
        for k, v in over.items():
            out[k] = deep_merge(out.get(k), v) if k in out else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def check_context(domain: str, ctx: Any, where: Where) -> None:
    """Unknown sections or fields in a test context are errors (typos must not pass)."""
    sections, scalars = SCHEMAS[domain]
    if not isinstance(ctx, dict):
        raise where.error("context must be a mapping")
    for k, v in ctx.items():
        if k in scalars:
            continue
        if k not in sections:
            raise where.error(f"unknown context section '{k}' for {domain}")
        if v is None:
            continue
        if not isinstance(v, dict):
            raise where.error(f"context section '{k}' must be a mapping")
        for f in v:
            if f not in sections[k]:
                raise where.error(
                    f"unknown context field '{k}.{f}' ({k} has: {', '.join(sections[k])})"
                )


def _plain(v: Any) -> Any:
    """YAML dates in contexts become ISO strings, as a JSON context would carry them."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v


def run_pack_tests(engine: RuleEngine) -> TestReport:
    """Run every case of the engine's pack; raises PackError for malformed cases."""
    pack = engine.pack
    tests = pack.tests or {}
    source = str(tests.get("_source", pack.source))
    w = Where(source)
    base = tests.get("base") or {}
    covered: set[str] = set()
    results: list[CaseResult] = []
    for i, case in enumerate(tests.get("cases") or []):
        cw = w.at(getattr(case, "line", 0), f"test case {i + 1}")
        if not isinstance(case, dict):
            raise cw.error("a test case must be a mapping")
        check_keys(case, cw, CASE_KEYS, {"name", "domain", "expect"}, "test case")
        name = str(case["name"])
        cw = cw.at(cw.line, f"test case {name!r}")
        dom = case["domain"]
        if dom not in ACTIONS:
            raise cw.error(f"unknown domain {dom!r}")
        if case["expect"] not in ACTIONS[dom]:
            raise cw.at(line_of(case, "expect")).error(
                f"expect must be one of {', '.join(ACTIONS[dom])}"
            )
        ctx = _plain(deep_merge(base.get(dom) or {}, case.get("context") or {}))
        check_context(dom, ctx, cw.at(line_of(case, "context")))
        for key in ("expect_rules", "expect_not_rules", "expect_skipped"):
            for rid in case.get(key) or []:
                try:
                    pack.rule(rid)
                except KeyError:
                    raise cw.at(line_of(case, key)).error(
                        f"{key} names unknown rule {rid!r}"
                    ) from None
        at = _plain(case.get("at"))
        d = engine.decide(dom, ctx, at=at)
        problems: list[str] = []
        if d.action != case["expect"]:
            problems.append(f"action {d.action}, expected {case['expect']}")
        for rid in case.get("expect_rules") or []:
            if rid not in d.rule_ids:
                problems.append(f"rule {rid} did not match")
        for rid in case.get("expect_not_rules") or []:
            if rid in d.rule_ids:
                problems.append(f"rule {rid} matched but should not")
        if "expect_transforms" in case and set(case["expect_transforms"] or []) != set(
            d.transforms
        ):
            problems.append(f"transforms {d.transforms}, expected {case['expect_transforms']}")
        if "expect_exception" in case and case["expect_exception"] != d.exception:
            problems.append(f"exception {d.exception}, expected {case['expect_exception']}")
        if case.get("expect_skipped"):
            traces = {t.rule_id: t for t in engine.explain(dom, ctx, at=at).rules}
            for rid in case["expect_skipped"]:
                if traces.get(rid) is None or traces[rid].outcome != "skipped":
                    problems.append(f"rule {rid} was not skipped")
                else:
                    covered.add(rid)
        if d.errors:
            problems.extend(
                f"rule error: {r.rule_id}: {r.detail}"
                for r in d.reasons
                if r.reason_code == "rule_error"
            )
        if not problems:
            covered.update(d.rule_ids)
        results.append(
            CaseResult(
                name, not problems, str(case["expect"]), d.action, problems, d.rule_ids, cw.line
            )
        )
    uncovered = [r.id for r in pack.rules if r.id not in covered]
    return TestReport(results, uncovered, source)


def require_passing(engine: RuleEngine, *, require_cases: bool = False) -> TestReport:
    """Run the pack's tests and raise PackError (naming the failures) unless all pass."""
    report = run_pack_tests(engine)
    if require_cases and not report.results:
        raise PackError(f"{engine.pack.source}: pack has no test cases")
    if report.failed:
        first = report.failed[0]
        more = f" (and {len(report.failed) - 1} more)" if len(report.failed) > 1 else ""
        raise PackError(
            f"{report.source}:{first.line}: test case {first.name!r} failed: "
            f"{'; '.join(first.problems)}{more}"
        )
    return report
