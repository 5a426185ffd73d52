"""Differential test of the condition compiler: random conditions are built together with
an independent Python evaluation of the documented semantics, then compiled through a
pack and compared on generated contexts."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillguard.rules import RuleEngine, load_pack_text
from distillguard.rules.samples import access_context

Fn = Callable[[dict[str, Any]], Any]
TIER1 = {"US", "DE", "JP", "GB", "FR"}
TIER3 = {"CN", "RU", "IR", "MO"}
SANCTIONED = {"IR", "KP"}
PACK_HEAD = """\
pack: {name: diff, version: "1"}
reference:
  country_groups:
    sanctioned: {citation: t, verification: S, members: [IR, KP]}
    t3: {citation: t, verification: S, members: [CN, RU, IR]}
  tiers:
    citation: t
    verification: V
    default: 2
    tiers:
      - {tier: 1, countries: [US, DE, JP, GB, FR]}
      - {tier: 3, groups: [t3], countries: [MO]}
rules:
  - id: r
    domain: access
    title: r
    citation: t
    status: in_force
    verification: V
    action: block
    reason_code: r
    condition: |-
      COND
"""


def _get(path: str) -> Fn:
    sec, name = path.split(".")
    return lambda c: (c.get(sec) or {}).get(name)


def _tier(code: Any) -> int | None:
    if code is None:
        return None
    return 1 if code in TIER1 else 3 if code in TIER3 else 2


ENUMS = {
    "account.kyc_level": ["none", "basic", "verified", "enhanced"],
    "screening.status": ["clear", "hit", "review", "unknown", "stale"],
    "risk.verdict": ["benign", "suspicious", "distillation"],
    "risk.review": ["none", "cleared", "confirmed", "lapsed"],
    "guard.verdict": ["allow", "flag", "block"],
}
COUNTRIES = ["account.nationality", "org.hq_country", "request.country"]
NUMS = {"risk.score": [0.1, 0.5, 0.9], "account.age_days": [1, 30, 365], "params.n": [1, 4]}


def _lit(v: Any) -> str:
    return "null" if v is None else f'"{v}"' if isinstance(v, str) else repr(v)


@st.composite
def atoms(draw: st.DrawFn) -> tuple[str, Fn]:
    kind = draw(st.sampled_from(["enum_eq", "enum_in", "country", "num", "tier", "group"]))
    if kind == "enum_eq":
        f = draw(st.sampled_from(sorted(ENUMS)))
        v = draw(st.sampled_from([*ENUMS[f], None]))
        op = draw(st.sampled_from(["==", "!="]))
        g = _get(f)
        return f"{f} {op} {_lit(v)}", (lambda c: (g(c) == v) == (op == "=="))
    if kind == "enum_in":
        f = draw(st.sampled_from(sorted(ENUMS)))
        vs = draw(st.lists(st.sampled_from(ENUMS[f]), min_size=1, max_size=3, unique=True))
        neg = draw(st.booleans())
        g = _get(f)
        text = f"{f} {'not in' if neg else 'in'} [{', '.join(_lit(v) for v in vs)}]"
        return text, (lambda c: (g(c) in vs) != neg)
    if kind == "country":
        f = draw(st.sampled_from(COUNTRIES))
        v = draw(st.sampled_from(["US", "DE", "CN", "IR", None]))
        g = _get(f)
        return f"{f} == {_lit(v)}", (lambda c: g(c) == v)
    if kind == "num":
        f = draw(st.sampled_from(sorted(NUMS)))
        v = draw(st.sampled_from(NUMS[f]))
        op = draw(st.sampled_from(["<", "<=", ">", ">="]))
        g = _get(f)
        ops: dict[str, Callable[[Any, Any], bool]] = {
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
        }
        return f"{f} {op} {v}", (lambda c: g(c) is not None and ops[op](g(c), v))
    if kind == "tier":
        f = draw(st.sampled_from(COUNTRIES))
        t = draw(st.sampled_from([1, 2, 3]))
        g = _get(f)
        return f"tier({f}) == {t}", (lambda c: _tier(g(c)) == t)
    f = draw(st.sampled_from(COUNTRIES))
    g = _get(f)
    return f'in_group({f}, "sanctioned")', (lambda c: g(c) in SANCTIONED)


def conditions() -> st.SearchStrategy[tuple[str, Fn]]:
    def extend(inner: st.SearchStrategy[tuple[str, Fn]]) -> st.SearchStrategy[tuple[str, Fn]]:
        def combine(op: str, a: tuple[str, Fn], b: tuple[str, Fn]) -> tuple[str, Fn]:
            fa, fb = a[1], b[1]
            if op == "and":
                return f"({a[0]} and {b[0]})", (lambda c: bool(fa(c)) and bool(fb(c)))
            return f"({a[0]} or {b[0]})", (lambda c: bool(fa(c)) or bool(fb(c)))

        def negate(a: tuple[str, Fn]) -> tuple[str, Fn]:
            fa = a[1]
            return f"not ({a[0]})", (lambda c: not fa(c))

        return st.one_of(
            st.builds(combine, st.sampled_from(["and", "or"]), inner, inner),
            st.builds(negate, inner),
        )

    return st.recursive(atoms(), extend, max_leaves=6)


CONTEXTS = [access_context(random.Random(i)) for i in range(120)]
for i, ctx in enumerate(CONTEXTS):  # sprinkle missing values
    if i % 7 == 0:
        ctx["account"]["nationality"] = None
    if i % 11 == 0:
        ctx["risk"]["score"] = None
    ctx["risk"]["review"] = [None, "none", "cleared", "confirmed", "lapsed"][i % 5]
AT = datetime(2026, 11, 1, tzinfo=UTC)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cond=conditions())
def test_compiled_condition_matches_reference_semantics(cond: tuple[str, Fn]) -> None:
    text, expected = cond
    engine = RuleEngine(load_pack_text(PACK_HEAD.replace("COND", text), "diff.yaml"))
    for ctx in CONTEXTS:
        d = engine.decide("access", ctx, at=AT)
        assert d.errors == 0, (text, d.reasons)
        assert (d.action == "block") == bool(expected(ctx)), (text, ctx)
