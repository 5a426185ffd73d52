"""Per-regime classification of a model version from its training-compute ledger.

Why here: the weights registry owns the compute ledger (pre-training, fine-tuning, RL,
synthetic data; 6·N·D estimates) and keeps a history of every classification. The
decision itself is the rules part's `classify_model`, the one implementation: thresholds,
their dates and each law's comparison (`compare: gte` for 4E091's "10^26 or more", `gt`
for "greater than" / "more than" in the EU AI Act, SB 53, RAISE and BIS 702.7) are pack
data. Results are stored with the pack hash and a digest of their inputs; a new row is
written whenever either changes, so the history of every classification stays queryable.

With no compute at all every regime fails closed (counted as in scope, status "unknown";
4E091 "controlled"); unknown developer revenue gives large_developer None (unknown) but
treated_as_large_developer True. Incident deadlines come from the pack's
`reference.incident_types["weight_exfiltration"]` through the reports part's clock code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from distillguard.rules.classify import (
    SYNTHETIC_FLAG,
    classify_model,
    exact_sum,
    training_compute,
)
from distillguard.rules.classify import RegimeResult as RulesResult
from distillguard.weights import deps
from distillguard.weights.registry import Registry, VersionRef, iso, now

INCIDENT_TYPE = "weight_exfiltration"
__all__ = ["SYNTHETIC_FLAG", "Classification", "RegimeResult", "classify", "incident_deadlines"]

# The registry's names for the rules part's regimes (kept: they are in stored histories
# and the CLI output).
REGIME_KEYS = {
    "eu_systemic_risk": "eu_gpai_systemic_risk",
    "sb53_frontier": "ca_sb53",
    "raise_frontier": "ny_raise",
}


def estimate_flop(parameters: float, tokens: float) -> float:
    """Dense-transformer training compute estimate: 6 x parameters x tokens (Kaplan 2020)."""
    return 6.0 * float(parameters) * float(tokens)


@dataclass
class RegimeResult:
    regime: str
    title: str
    in_scope: bool  # threshold met, or compute unknown (fail closed); ignores in_force
    status: str
    in_force: bool
    threshold: float | None
    citation: str
    verification: str
    explanation: list[str] = field(default_factory=list)
    large_developer: bool | None = None  # None: no revenue test, or revenue unknown
    compare: str = "gte"
    covered: bool = False  # in force and in scope: what starts incident clocks
    treated_as_large_developer: bool = False
    clock_regime: str | None = None


@dataclass
class Classification:
    model: str
    version: str
    total_flop: float | None
    estimated: bool
    published: bool
    regimes: list[RegimeResult]
    pack_hash: str
    computed_at: str

    def get(self, key: str) -> RegimeResult:
        for r in self.regimes:
            if r.regime == key:
                return r
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _facts(reg: Registry, ref: VersionRef) -> tuple[dict[str, Any], bool, list[str]]:
    """The version's facts for `classify_model`, whether they include estimates, and notes."""
    entries = reg.compute(ref)
    row = reg.version_row(ref)
    facts: dict[str, Any] = {
        "published": bool(row["published"]),
        "developer_revenue_usd": row["developer_revenue_usd"],
    }
    if not entries:
        if row["parameters"] and row["training_tokens"]:
            est = estimate_flop(row["parameters"], row["training_tokens"])
            facts["training_flop"] = est
            note = (
                f"no measured compute: ESTIMATE 6·N·D = 6 x {_fmt(row['parameters'])} params x "
                f"{_fmt(row['training_tokens'])} tokens = {_fmt(est)}"
            )
            return facts, True, [note]
        return facts, False, ["no training compute recorded and no N, D to estimate it"]
    notes: list[str] = []
    for e in entries:
        tag = " (estimate)" if e["estimated"] else ""
        notes.append(f"{e['phase']}: {_fmt(e['flop'])}{tag}, source: {e['source']}")
    syn = [float(e["flop"]) for e in entries if e["phase"] == "synthetic_data"]
    facts["training_flop"] = exact_sum(
        float(e["flop"]) for e in entries if e["phase"] != "synthetic_data"
    )
    facts["synthetic_data_flop"] = exact_sum(syn)
    return facts, any(bool(e["estimated"]) for e in entries), notes


def _status(r: RulesResult) -> str:
    if r.regime == "us_4e091":
        return "controlled" if r.scope in ("in_scope", "unknown") else "not_controlled"
    return r.scope


def _result(r: RulesResult, notes: list[str], estimated: bool) -> RegimeResult:
    expl = list(notes)
    for line in r.reasons:
        if line.startswith("training compute") and estimated:
            line += " (total includes estimates)"
        if line not in expl:
            expl.append(line)
    return RegimeResult(
        REGIME_KEYS.get(r.regime, r.regime), r.title, r.scope in ("in_scope", "unknown"),
        _status(r), r.in_force, r.threshold, r.citation, r.verification, expl,
        r.large_developer, r.compare, r.covered, r.treated_as_large_developer, r.clock_regime,
    )  # fmt: skip


def classify(
    reg: Registry, engine: Any, ref: VersionRef, at: datetime | None = None
) -> Classification:
    """Classify one version under every regime of `rules.classify_model`, with the reasons."""
    when = at or now()
    facts, estimated, notes = _facts(reg, ref)
    total, _ = training_compute(engine.reference, facts)
    results = [_result(r, notes, estimated) for r in classify_model(engine, facts, when).values()]
    return Classification(
        ref.model, ref.version, total, estimated, facts["published"], results,
        deps.pack_hash(engine), iso(datetime.fromtimestamp(when.timestamp(), UTC)),
    )  # fmt: skip


def _inputs_digest(reg: Registry, ref: VersionRef) -> str:
    row = reg.version_row(ref)
    data = {
        "compute": [
            {k: e[k] for k in ("phase", "flop", "estimated", "source")} for e in reg.compute(ref)
        ],
        "published": bool(row["published"]),
        "revenue": row["developer_revenue_usd"],
        "n": row["parameters"],
        "d": row["training_tokens"],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def reclassify(
    reg: Registry, engine: Any, ref: VersionRef, trigger: str, at: datetime | None = None
) -> tuple[Classification, bool]:
    """Classify and store a new history row if the inputs, the pack or the result changed."""
    c = classify(reg, engine, ref, at)
    digest = _inputs_digest(reg, ref)
    result = json.dumps({r.regime: [r.status, r.in_force, r.large_developer] for r in c.regimes})
    last = reg.db.query_one(
        "SELECT pack_hash, inputs_digest, result FROM wt_classifications WHERE version_id = ? "
        "ORDER BY id DESC LIMIT 1",
        (ref.version_id,),
    )
    if last and (last["pack_hash"], last["inputs_digest"]) == (c.pack_hash, digest):
        stored = json.loads(last["result"])
        if {k: v for k, v in stored.items() if k != "_full"} == json.loads(result):
            return c, False
    full = json.loads(result)
    full["_full"] = c.to_dict()
    reg.db.execute(
        "INSERT INTO wt_classifications (version_id, computed_at, pack_hash, inputs_digest, "
        "trigger, result) VALUES (?, ?, ?, ?, ?, ?)",
        (ref.version_id, c.computed_at, c.pack_hash, digest, trigger, json.dumps(full)),
    )
    return c, True


def history(reg: Registry, ref: VersionRef) -> list[dict[str, Any]]:
    rows = reg.db.query(
        "SELECT computed_at, pack_hash, trigger, result FROM wt_classifications "
        "WHERE version_id = ? ORDER BY id",
        (ref.version_id,),
    )
    out = []
    for r in rows:
        res = json.loads(r["result"])
        res.pop("_full", None)
        out.append({**r, "result": res})
    return out


def incident_deadlines(
    c: Classification, engine: Any, discovered: datetime, imminent: bool = False
) -> list[dict[str, Any]]:
    """Reports a weight-exfiltration incident owes: the clocks the pack's incident type
    starts (reports part), kept for the regimes this version is covered by. A clock whose
    regime no classification regime owns is kept (fail closed)."""
    owned = {r.clock_regime for r in c.regimes if r.clock_regime}
    live = {r.clock_regime for r in c.regimes if r.clock_regime and r.covered}
    out = []
    for d in deps.incident_plan(engine, INCIDENT_TYPE, discovered, imminent):
        if d.regime in owned and d.regime not in live:
            continue
        out.append(
            {
                "regime": d.regime,
                "event": d.event,
                "due": iso(d.due),
                "citation": d.citation,
                "verification": d.verification,
            }
        )
    return out
