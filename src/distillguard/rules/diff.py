"""What changed between two packs: rules added, removed or changed (field by field),
definitions changed, and reference facts added, removed or changed (value or provenance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from distillguard.rules.pack import Pack

_RULE_FIELDS = (
    "domain",
    "title",
    "citation",
    "verification",
    "status",
    "periods",
    "condition",
    "action",
    "transforms",
    "exception",
    "reason_code",
)


@dataclass(slots=True)
class PackDiff:
    old: str
    new: str
    rules_added: list[str] = field(default_factory=list)
    rules_removed: list[str] = field(default_factory=list)
    rules_changed: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    definitions_changed: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    facts_added: dict[str, Any] = field(default_factory=dict)
    facts_removed: dict[str, Any] = field(default_factory=dict)
    facts_changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (
            self.rules_added
            or self.rules_removed
            or self.rules_changed
            or self.definitions_changed
            or self.facts_added
            or self.facts_removed
            or self.facts_changed
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "rules": {
                "added": self.rules_added,
                "removed": self.rules_removed,
                "changed": {
                    k: {f: {"old": a, "new": b} for f, (a, b) in v.items()}
                    for k, v in self.rules_changed.items()
                },
            },
            "definitions": {
                k: {"old": a, "new": b} for k, (a, b) in self.definitions_changed.items()
            },
            "reference": {
                "added": self.facts_added,
                "removed": self.facts_removed,
                "changed": {k: {"old": a, "new": b} for k, (a, b) in self.facts_changed.items()},
            },
        }

    def lines(self) -> list[str]:
        """A readable change list (one line per change)."""
        out: list[str] = []
        out += [f"+ rule {r}" for r in self.rules_added]
        out += [
            f"- rule {r}  (warning: history is never deleted; close a rule with "
            "effective_until instead)"
            for r in self.rules_removed
        ]
        for rid, fields in self.rules_changed.items():
            for f, (a, b) in fields.items():
                out.append(f"~ rule {rid}: {f}: {_short(a)} -> {_short(b)}")
        for k, (a, b) in self.definitions_changed.items():
            out.append(f"~ definition {k}: {_short(a)} -> {_short(b)}")
        out += [f"+ {k}: {_short(v)}" for k, v in self.facts_added.items()]
        out += [f"- {k}: {_short(v)}" for k, v in self.facts_removed.items()]
        out += [f"~ {k}: {_short(a)} -> {_short(b)}" for k, (a, b) in self.facts_changed.items()]
        return out


def _short(v: Any, n: int = 100) -> str:
    s = v if isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[: n - 1] + "…"


def diff_packs(old: Pack, new: Pack) -> PackDiff:
    d = PackDiff(
        f"{old.name} {old.version} ({old.hash[:12]})", f"{new.name} {new.version} ({new.hash[:12]})"
    )
    o = {r.id: r.to_dict() for r in old.rules}
    n = {r.id: r.to_dict() for r in new.rules}
    d.rules_added = [k for k in n if k not in o]
    d.rules_removed = [k for k in o if k not in n]
    for k in n:
        if k in o:
            ch = {f: (o[k][f], n[k][f]) for f in _RULE_FIELDS if o[k][f] != n[k][f]}
            if ch:
                d.rules_changed[k] = ch
    od = {
        f"{dom}.{k}": " ".join(v.split())
        for dom, defs in old.definitions.items()
        for k, v in defs.items()
    }
    nd = {
        f"{dom}.{k}": " ".join(v.split())
        for dom, defs in new.definitions.items()
        for k, v in defs.items()
    }
    for k in sorted(set(od) | set(nd)):
        if od.get(k) != nd.get(k):
            d.definitions_changed[k] = (od.get(k), nd.get(k))
    of = {k: {"value": v, **m.to_dict()} for k, v, m in old.reference.facts()}
    nf = {k: {"value": v, **m.to_dict()} for k, v, m in new.reference.facts()}
    d.facts_added = {k: v for k, v in nf.items() if k not in of}
    d.facts_removed = {k: v for k, v in of.items() if k not in nf}
    for k in nf:
        if k in of and of[k] != nf[k]:
            d.facts_changed[k] = (
                {f: of[k][f] for f in of[k] if of[k][f] != nf[k].get(f)},
                {f: nf[k][f] for f in nf[k] if nf[k][f] != of[k].get(f)},
            )
    return d
