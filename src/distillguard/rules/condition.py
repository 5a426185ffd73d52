"""The condition language: a strict subset of Python expression syntax, type-checked and
compiled to Python source once per pack.

Why not eval(): the text comes from a data file. We parse it with `ast.parse`, accept
only a whitelist of node types (boolean logic, comparisons, `in`, literal lists, dotted
context fields, a few named functions), type-check every node against the domain's
context schema, and emit *our own* Python source from the checked tree: identifiers in
the output come only from the schema and the function table, literals only via repr().
The emitted expressions are compiled by `compile.py` into one function per domain.

Semantics worth knowing (documented in docs/rules.md):
- any field may be missing (None); `==`/`!=`/`in` treat None as an ordinary value, so
  `account.kyc_level not in ["verified"]` is true for a missing level (fail closed);
- an ordering comparison (`<`, `>=`, ...) with a missing side is false;
- a value of the wrong runtime type raises, and an evaluation error decides the most
  restrictive action with reason `rule_error`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from distillguard.rules.iso3166 import ISO_3166_ALPHA2, country_hint
from distillguard.rules.reference import COMPARES, NOT_MET
from distillguard.rules.schema import (
    BOOL,
    COUNTRY,
    LIST_NUM,
    LIST_STR,
    NULL,
    NUM,
    STR,
    Field,
)

MAX_CONDITION_CHARS = 4000
MAX_DEPTH = 40

_CMP = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_LITERAL_NAMES = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}


class ConditionError(ValueError):
    """A condition that does not parse or does not type-check (message says where)."""


@dataclass(slots=True)
class Typed:
    """An emitted Python expression with its checked type (and enum/country hints)."""

    code: str
    type: str
    field: Field | None = None
    path: str = ""
    const: object = None
    is_const: bool = False
    threshold: str | None = None  # set on the value of threshold("name")


@dataclass(slots=True)
class CompileEnv:
    """What a condition may refer to: the domain schema and the pack's reference names."""

    sections: dict[str, dict[str, Field]]
    scalars: dict[str, Field]
    groups: frozenset[str]
    thresholds: Mapping[str, str]  # name -> compare ("gte" | "gt")
    models: frozenset[str]
    definitions: dict[str, Typed] = field(default_factory=dict)
    constants: dict[str, object] = field(default_factory=dict)  # name -> frozenset literal
    used_sections: set[str] = field(default_factory=set)
    used_scalars: set[str] = field(default_factory=set)
    _tmp: int = 0

    def const(self, value: object) -> str:
        for name, v in self.constants.items():
            if v == value:
                return name
        name = f"_C{len(self.constants)}"
        self.constants[name] = value
        return name

    def tmp(self) -> str:
        self._tmp += 1
        return f"_t{self._tmp}"


def _err(node: ast.AST | None, msg: str) -> ConditionError:
    col = getattr(node, "col_offset", None)
    return ConditionError(f"{msg}" + (f" (at column {col + 1})" if col is not None else ""))


def _base(t: str) -> str:
    return STR if t == COUNTRY else t


def compile_condition(text: str, env: CompileEnv) -> Typed:
    """Parse, check and emit a boolean condition; raises ConditionError."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("condition must be a non-empty string")
    if len(text) > MAX_CONDITION_CHARS:
        raise ConditionError(f"condition longer than {MAX_CONDITION_CHARS} characters")
    src = " ".join(text.split())  # YAML folded text: newlines are spaces
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"syntax error at column {exc.offset}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ConditionError("condition too deeply nested") from None
    out = _Checker(env).visit(tree.body, 0)
    if out.type != BOOL:
        raise ConditionError(f"condition must be true/false, got {out.type}")
    return out


class _Checker:
    def __init__(self, env: CompileEnv) -> None:
        self.env = env
        self.funcs: dict[str, Callable[[ast.Call, list[Typed]], Typed]] = {
            "tier": self._f_tier,
            "in_group": self._f_in_group,
            "allowlist": self._f_allowlist,
            "allowlist_names": self._f_allowlist_names,
            "intersects": self._f_intersects,
            "threshold": self._f_threshold,
            "len": self._f_len,
        }

    def visit(self, node: ast.AST, depth: int) -> Typed:
        if depth > MAX_DEPTH:
            raise _err(node, "condition too deeply nested")
        d = depth + 1
        if isinstance(node, ast.BoolOp):
            parts = [self._bool(v, d) for v in node.values]
            op = " and " if isinstance(node.op, ast.And) else " or "
            return Typed("(" + op.join(p.code for p in parts) + ")", BOOL)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return Typed(f"(not {self._bool(node.operand, d).code})", BOOL)
            if isinstance(node.op, ast.USub):
                v = self.visit(node.operand, d)
                if (
                    v.is_const
                    and isinstance(v.const, int | float)
                    and not isinstance(v.const, bool)
                ):
                    return Typed(repr(-v.const), NUM, const=-v.const, is_const=True)
            raise _err(node, "only 'not' and a minus sign on a number are allowed")
        if isinstance(node, ast.Compare):
            return self._compare(node, d)
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.List | ast.Tuple):
            return self._list(node, d)
        if isinstance(node, ast.Call):
            return self._call(node, d)
        raise _err(node, f"'{type(node).__name__}' is not allowed in a condition")

    def _bool(self, node: ast.AST, depth: int) -> Typed:
        v = self.visit(node, depth)
        if v.type != BOOL:
            raise _err(node, f"expected true/false, got {v.type} ({ast.unparse(node)})")
        return v

    def _constant(self, node: ast.Constant) -> Typed:
        v = node.value
        if v is None:
            return Typed("None", NULL, const=None, is_const=True)
        if isinstance(v, bool):
            return Typed(repr(v), BOOL, const=v, is_const=True)
        if isinstance(v, int | float):
            if not math.isfinite(v):
                raise _err(node, f"number {v!r} is not finite")
            return Typed(repr(v), NUM, const=v, is_const=True)
        if isinstance(v, str):
            return Typed(repr(v), STR, const=v, is_const=True)
        raise _err(node, f"literal {v!r} is not allowed")

    def _name(self, node: ast.Name) -> Typed:
        if node.id in _LITERAL_NAMES:
            v = _LITERAL_NAMES[node.id]
            return Typed(repr(v), NULL if v is None else BOOL, const=v, is_const=True)
        if node.id in self.env.scalars:
            self.env.used_scalars.add(node.id)
            return Typed(
                f"v_{node.id}", self.env.scalars[node.id].type, self.env.scalars[node.id], node.id
            )
        if node.id in self.env.definitions:
            d = self.env.definitions[node.id]
            return Typed(d.code, d.type, d.field, node.id)
        if node.id in self.env.sections:
            raise _err(
                node,
                f"'{node.id}' is a section; name a field, e.g. "
                f"{node.id}.{next(iter(self.env.sections[node.id]))}",
            )
        known = sorted([*self.env.sections, *self.env.scalars, *self.env.definitions])
        raise _err(node, f"unknown name '{node.id}' (known: {', '.join(known)})")

    def _attribute(self, node: ast.Attribute) -> Typed:
        if not isinstance(node.value, ast.Name) or node.value.id not in self.env.sections:
            raise _err(
                node,
                f"'{ast.unparse(node)}' is not a context field "
                f"(sections: {', '.join(self.env.sections)})",
            )
        sec = node.value.id
        fields = self.env.sections[sec]
        if node.attr not in fields:
            raise _err(node, f"unknown field '{sec}.{node.attr}' ({sec} has: {', '.join(fields)})")
        self.env.used_sections.add(sec)
        f = fields[node.attr]
        if sec == "model" and node.attr == "classification":
            return Typed("v_model_classification", f.type, f, "model.classification")
        return Typed(f"s_{sec}.get({node.attr!r})", f.type, f, f"{sec}.{node.attr}")

    def _list(self, node: ast.List | ast.Tuple, depth: int) -> Typed:
        items = [self.visit(e, depth) for e in node.elts]
        if not all(i.is_const and i.const is not None for i in items) or not all(
            isinstance(e, ast.Constant | ast.UnaryOp) for e in node.elts
        ):
            raise _err(node, "a list may hold only literal strings or numbers")
        types = {_base(i.type) for i in items}
        if types - {STR, NUM} or len(types) > 1:
            raise _err(node, "a list must hold only strings or only numbers")
        t = LIST_NUM if types == {NUM} else LIST_STR
        values = tuple(i.const for i in items)
        return Typed(self.env.const(frozenset(values)), t, const=values, is_const=True)

    def _check_literal(self, typed: Typed, lit: Typed, node: ast.AST) -> None:
        """Check a literal (or literal list) against a field's enum/country vocabulary."""
        values = lit.const if isinstance(lit.const, tuple) else (lit.const,)
        for v in values:
            if not isinstance(v, str):
                continue
            if typed.type == COUNTRY and v not in ISO_3166_ALPHA2:
                raise _err(
                    node,
                    f"'{v}' is not an ISO 3166-1 alpha-2 country code"
                    f"{country_hint(v)} (compared with {typed.path})",
                )
            f = typed.field
            if f is not None and f.values is not None and v not in f.values:
                raise _err(
                    node,
                    f"'{v}' is not a possible value of {typed.path} "
                    f"(one of: {', '.join(f.values)})",
                )

    def _compare(self, node: ast.Compare, depth: int) -> Typed:
        left = self.visit(node.left, depth)
        parts: list[str] = []
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.visit(right_node, depth)
            sym = _CMP.get(type(op))
            if sym is None:
                raise _err(node, f"operator '{type(op).__name__}' is not allowed")
            parts.append(self._one_compare(sym, left, right, node))
            left = right
        code = parts[0] if len(parts) == 1 else "(" + " and ".join(parts) + ")"
        return Typed(code, BOOL)

    def _one_compare(self, sym: str, a: Typed, b: Typed, node: ast.AST) -> str:
        ta, tb = _base(a.type), _base(b.type)
        if sym in ("==", "!="):
            if NULL in (ta, tb):
                other = b if ta == NULL else a
                return f"({other.code} is {'not ' if sym == '!=' else ''}None)"
            if ta != tb:
                raise _err(node, f"cannot compare {a.type} with {b.type} using {sym}")
            if a.is_const and not b.is_const:
                self._check_literal(b, a, node)
            if b.is_const and not a.is_const:
                self._check_literal(a, b, node)
            return f"({a.code} {sym} {b.code})"
        if sym in ("in", "not in"):
            if tb not in (LIST_STR, LIST_NUM):
                raise _err(node, f"right side of '{sym}' must be a list, got {b.type}")
            elem = STR if tb == LIST_STR else NUM
            if ta not in (elem, NULL):
                raise _err(node, f"cannot look for {a.type} in {b.type}")
            if b.is_const and not a.is_const:
                self._check_literal(a, b, node)
            neg = "not " if sym == "not in" else ""
            if b.is_const:  # frozenset constant: None/unhashable-safe for str/num/None
                return f"({a.code} {sym} {b.code})"
            return f"({neg}_contains({b.code}, {a.code}))"
        # ordering: numbers only; a missing side makes the comparison false
        if ta != NUM or tb != NUM:
            raise _err(node, f"'{sym}' compares numbers, got {a.type} and {b.type}")
        self._check_threshold_op(sym, a, b, node)
        checks: list[str] = []
        ca, cb = a.code, b.code
        if not a.is_const:
            t = self.env.tmp()
            checks.append(f"({t} := {a.code}) is not None")
            ca = t
        if not b.is_const:
            t = self.env.tmp()
            checks.append(f"({t} := {b.code}) is not None")
            cb = t
        return "(" + " and ".join([*checks, f"{ca} {sym} {cb}"]) + ")"

    def _check_threshold_op(self, sym: str, a: Typed, b: Typed, node: ast.AST) -> None:
        """`x OP threshold("n")` must use the law's comparison of n (its `compare`): for
        gte, `>=` (met) or `<` (not met); for gt, `>` or `<=`. Otherwise a value exactly at
        the threshold would be decided against the law's wording."""
        if b.threshold is not None:
            name, op = b.threshold, sym
        elif a.threshold is not None:  # threshold on the left: read it mirrored
            name, op = a.threshold, _MIRROR.get(sym, sym)
        else:
            return
        compare = self.env.thresholds.get(name, "gte")
        if op not in (COMPARES[compare], NOT_MET[compare]):
            raise _err(
                node,
                f"threshold '{name}' has compare: {compare}, so write "
                f"'value {COMPARES[compare]} threshold(...)' (met) or "
                f"'value {NOT_MET[compare]} threshold(...)' (not met), not '{op}'",
            )

    def _call(self, node: ast.Call, depth: int) -> Typed:
        if not isinstance(node.func, ast.Name) or node.func.id not in self.funcs:
            raise _err(
                node,
                f"unknown function '{ast.unparse(node.func)}' (known: {', '.join(self.funcs)})",
            )
        if node.keywords:
            raise _err(node, "keyword arguments are not allowed")
        args = [self.visit(a, depth) for a in node.args]
        return self.funcs[node.func.id](node, args)

    @staticmethod
    def _arity(node: ast.Call, args: list[Typed], n: int) -> None:
        if len(args) != n:
            name = node.func.id if isinstance(node.func, ast.Name) else "?"
            raise _err(node, f"{name}() takes {n} argument(s), got {len(args)}")

    def _country_arg(self, node: ast.Call, a: Typed) -> None:
        if _base(a.type) not in (STR, NULL):
            raise _err(node, f"expected a country code, got {a.type}")
        if a.is_const and isinstance(a.const, str) and a.const not in ISO_3166_ALPHA2:
            raise _err(
                node,
                f"'{a.const}' is not an ISO 3166-1 alpha-2 country code{country_hint(a.const)}",
            )

    def _f_tier(self, node: ast.Call, args: list[Typed]) -> Typed:
        self._arity(node, args, 1)
        self._country_arg(node, args[0])
        return Typed(f"_TIER.get({args[0].code})", NUM)

    def _f_in_group(self, node: ast.Call, args: list[Typed]) -> Typed:
        self._arity(node, args, 2)
        self._country_arg(node, args[0])
        g = args[1]
        if not (g.is_const and isinstance(g.const, str)):
            raise _err(node, "in_group() needs a group name in quotes as second argument")
        if g.const not in self.env.groups:
            raise _err(
                node,
                f"unknown country group '{g.const}' (known: {', '.join(sorted(self.env.groups))})",
            )
        return Typed(f"({args[0].code} in _GROUPS[{g.const!r}])", BOOL)

    def _model_arg(self, node: ast.Call, a: Typed) -> None:
        if _base(a.type) not in (STR, NULL):
            raise _err(node, f"expected a model name, got {a.type}")
        if a.is_const and a.const not in self.env.models:
            raise _err(
                node, f"unknown model '{a.const}' (known: {', '.join(sorted(self.env.models))})"
            )

    def _f_allowlist(self, node: ast.Call, args: list[Typed]) -> Typed:
        self._arity(node, args, 1)
        self._model_arg(node, args[0])
        return Typed(f"_ALLOW.get({args[0].code}, _EMPTY)", LIST_STR)

    def _f_allowlist_names(self, node: ast.Call, args: list[Typed]) -> Typed:
        self._arity(node, args, 1)
        self._model_arg(node, args[0])
        return Typed(f"_ALLOWN.get({args[0].code}, _EMPTY)", LIST_STR)

    def _f_intersects(self, node: ast.Call, args: list[Typed]) -> Typed:
        self._arity(node, args, 2)
        for a in args:
            if a.type not in (LIST_STR, LIST_NUM, NULL):
                raise _err(node, f"intersects() takes two lists, got {a.type}")
        return Typed(f"_intersects({args[0].code}, {args[1].code})", BOOL)

    def _f_threshold(self, node: ast.Call, args: list[Typed]) -> Typed:
        self._arity(node, args, 1)
        a = args[0]
        if not (a.is_const and isinstance(a.const, str)):
            raise _err(node, "threshold() needs a threshold name in quotes")
        if a.const not in self.env.thresholds:
            raise _err(
                node,
                f"unknown threshold '{a.const}' (known: {', '.join(sorted(self.env.thresholds))})",
            )
        # resolved per decision date (thresholds have effective dates): never None
        return Typed(f"_THR[{a.const!r}]", NUM, is_const=True, threshold=a.const)

    def _f_len(self, node: ast.Call, args: list[Typed]) -> Typed:
        self._arity(node, args, 1)
        if args[0].type not in (LIST_STR, LIST_NUM):
            raise _err(node, f"len() takes a list, got {args[0].type}")
        return Typed(f"len({args[0].code} or ())", NUM)
