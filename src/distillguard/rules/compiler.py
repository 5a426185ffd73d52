"""Turns a pack's checked conditions into Python functions, one per (domain, period).

The set of rules in force and the reference data (tiers, groups, thresholds, allowlists)
only change at known instants, so the timeline is cut at those instants and each
segment gets its own compiled function with the lookups of that segment bound as plain
dicts/frozensets. `decide` then costs one bisect plus one function call that evaluates
each in-force rule inline (no per-rule call overhead), each in its own try block so an
erroring rule is reported by id and decides fail-closed.

The source compiled here is generated from the whitelisted AST by `condition.py`; no
text from the pack reaches `compile()` except through repr() of literals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from distillguard.rules.pack import Pack, Rule
from distillguard.rules.reference import Snapshot
from distillguard.rules.schema import SCHEMAS

DecideFn = Callable[[dict[str, Any]], tuple[list[int], list[tuple[int, BaseException]] | None]]
RuleFn = Callable[[dict[str, Any]], bool]

_EMPTY: frozenset[str] = frozenset()
_E: dict[str, Any] = {}


def _contains(container: Any, item: Any) -> bool:
    return container is not None and item in container


def _intersects(a: Any, b: Any) -> bool:
    if not a or not b:
        return False
    return not set(a).isdisjoint(b)


@dataclass(slots=True)
class Segment:
    """The compiled decision function for one domain over one stretch of time."""

    decide: DecideFn
    rule_fns: dict[int, RuleFn]
    active: tuple[int, ...]  # indices into pack.rules of rules in force here
    snapshot: Snapshot


def _prologue(domain: str, indent: str) -> list[str]:
    sections, scalars = SCHEMAS[domain]
    lines = [f"{indent}s_{s} = ctx.get({s!r}) or _E" for s in sections]
    if "model" in sections and "classification" in sections["model"]:
        lines.append(
            f"{indent}v_model_classification = s_model.get('classification') or "
            f"_MC.get(s_model.get('name'), _DC)"
        )
    lines += [f"{indent}v_{s} = ctx.get({s!r})" for s in scalars]
    return lines


def _code(rule: Rule) -> str:
    return rule.compiled.code if rule.compiled is not None else "False"


def generate_source(domain: str, rules: list[Rule], active: tuple[int, ...]) -> str:
    """Python source of `_decide(ctx)` and one `_r<i>(ctx)` per active rule."""
    out = ["def _decide(ctx):", *_prologue(domain, "    "), "    m = []", "    e = None"]
    for i in active:
        code = _code(rules[i])
        out += [
            "    try:",
            f"        if {code}:",
            f"            m.append({i})",
            "    except Exception as x:",
            f"        e = (e or []) + [({i}, x)]",
        ]
    out.append("    return m, e")
    for i in active:
        code = _code(rules[i])
        out += [f"def _r{i}(ctx):", *_prologue(domain, "    "), f"    return bool({code})"]
    return "\n".join(out) + "\n"


def compile_segment(pack: Pack, domain: str, t: float) -> Segment:
    """Compile the decision function of `domain` for the segment containing instant t."""
    active = tuple(
        i for i, r in enumerate(pack.rules) if r.domain == domain and r.status_at(t) == "in_force"
    )
    snap = pack.reference.snapshot(t)
    src = generate_source(domain, pack.rules, active)
    ns: dict[str, Any] = {
        "__builtins__": {"len": len, "bool": bool, "Exception": Exception},
        "_E": _E,
        "_EMPTY": _EMPTY,
        "_contains": _contains,
        "_intersects": _intersects,
        "_TIER": snap.tier,
        "_GROUPS": snap.groups,
        "_THR": snap.thresholds,
        "_ALLOW": snap.allow,
        "_ALLOWN": snap.allow_names,
        "_MC": snap.model_class,
        "_DC": pack.reference.default_classification,
        **pack.constants.get(domain, {}),
    }
    code = compile(src, f"<rules {pack.name} {domain}>", "exec")
    exec(code, ns)  # source generated from the checked AST, see module doc
    return Segment(
        decide=ns["_decide"],
        rule_fns={i: ns[f"_r{i}"] for i in active},
        active=active,
        snapshot=snap,
    )
