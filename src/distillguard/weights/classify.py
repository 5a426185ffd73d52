"""Per-regime classification of a model version from its training-compute ledger.

Why here and not hard-coded: the thresholds (10^26, 10^25, $500M), their dates and the
[U] synthetic-data flag are read from the rule pack's reference data, so a pack update
re-classifies every model; only the comparison each law's text uses is fixed below
(4E091: "10^26 or more"; EU AI Act Art. 51(2): "greater than 10^25"; SB 53 and RAISE:
"more than 10^26", revenue "more than $500M"). Results are stored with the pack hash and
a digest of their inputs; a new row is written whenever either changes, so the history
of every classification stays queryable.

Totals sum pre-training, fine-tuning, RL and other phases; synthetic-data compute is
added when the pack's `us_4e091_count_synthetic_data_compute` flag (unverified) says so.
When no compute is recorded but parameters N and tokens D are, the 6·N·D estimate is used
and the result says it is an estimate. With no compute at all, US 4E091 fails closed
(treated as controlled) and the other regimes say "unknown".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from distillguard.weights import deps
from distillguard.weights.registry import Registry, VersionRef, iso, now

SYNTHETIC_FLAG = "us_4e091_count_synthetic_data_compute"


@dataclass(frozen=True)
class Regime:
    key: str
    title: str
    threshold: str
    strict: bool  # True: compute must exceed the threshold; False: reach it
    revenue_threshold: str | None = None
    published_exclusion: bool = False
    incident_clocks: tuple[tuple[str, str], ...] = ()  # (clock regime, event)


REGIMES = (
    Regime("us_4e091", "US ECCN 4E091 (model weights)", "us_4e091_training_flop", False,
           published_exclusion=True),
    Regime("eu_gpai_systemic_risk", "EU AI Act: general-purpose model with systemic risk "
           "(presumption)", "eu_systemic_risk_flop", True,
           incident_clocks=(("eu_cop", "serious_cybersecurity_incident_or_weight_exfiltration"),)),
    Regime("ca_sb53", "California SB 53 frontier model", "sb53_frontier_flop", True,
           "sb53_large_developer_revenue_usd",
           incident_clocks=(("sb53", "critical_safety_incident"),)),
    Regime("ny_raise", "New York RAISE Act frontier model", "raise_frontier_flop", True,
           "raise_large_developer_revenue_usd", incident_clocks=(("raise", "safety_incident"),)),
)  # fmt: skip


def estimate_flop(parameters: float, tokens: float) -> float:
    """Dense-transformer training compute estimate: 6 x parameters x tokens (Kaplan 2020)."""
    return 6.0 * float(parameters) * float(tokens)


@dataclass
class RegimeResult:
    regime: str
    title: str
    in_scope: bool | None  # None: unknown (no compute recorded)
    status: str
    in_force: bool
    threshold: float
    citation: str
    verification: str
    explanation: list[str] = field(default_factory=list)
    large_developer: bool | None = None


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


def _total(
    reg: Registry, ref: VersionRef, count_synthetic: bool
) -> tuple[float | None, bool, list[str]]:
    entries = reg.compute(ref)
    row = reg.version_row(ref)
    notes: list[str] = []
    if not entries:
        if row["parameters"] and row["training_tokens"]:
            est = estimate_flop(row["parameters"], row["training_tokens"])
            notes.append(
                f"no measured compute: ESTIMATE 6·N·D = 6 x {_fmt(row['parameters'])} params x "
                f"{_fmt(row['training_tokens'])} tokens = {_fmt(est)}"
            )
            return est, True, notes
        return None, False, ["no training compute recorded and no N, D to estimate it"]
    total = 0.0
    estimated = False
    for e in entries:
        if e["phase"] == "synthetic_data" and not count_synthetic:
            notes.append(f"synthetic-data compute {_fmt(e['flop'])} not counted (pack flag)")
            continue
        if e["phase"] == "synthetic_data":
            notes.append(f"synthetic-data compute {_fmt(e['flop'])} counted (pack flag)")
        total += float(e["flop"])
        estimated = estimated or bool(e["estimated"])
        tag = " (estimate)" if e["estimated"] else ""
        notes.append(f"{e['phase']}: {_fmt(e['flop'])}{tag}, source: {e['source']}")
    return total, estimated, notes


def classify(
    reg: Registry, engine: Any, ref: VersionRef, at: datetime | None = None
) -> Classification:
    """Classify one version under every regime, with the reasons."""
    t = (at or now()).timestamp()
    count_syn, syn_tag = deps.flag(engine, SYNTHETIC_FLAG, True)
    total, estimated, notes = _total(reg, ref, count_syn)
    row = reg.version_row(ref)
    published = bool(row["published"])
    revenue = row["developer_revenue_usd"]
    results = []
    for rg in REGIMES:
        th = deps.threshold(engine, rg.threshold, t)
        expl = list(notes)
        if any(e.startswith("synthetic") for e in notes):
            expl.append(f"pack flag {SYNTHETIC_FLAG}={count_syn} (verification {syn_tag})")
        op = ">" if rg.strict else ">="
        if total is None:
            in_scope: bool | None = None
            status = "unknown"
            if rg.published_exclusion and not published:
                in_scope, status = True, "controlled"
                expl.append("no compute on record: treated as controlled (fail closed)")
        else:
            over = total > th.value if rg.strict else total >= th.value
            expl.append(
                f"total {_fmt(total)} {op if over else 'not ' + op} threshold {_fmt(th.value)}"
                + (" (total includes estimates)" if estimated else "")
            )
            in_scope = over
            status = "in_scope" if over else "below_threshold"
            if rg.published_exclusion:
                if published:
                    in_scope, status = False, "not_controlled"
                    expl.append("weights are published: not subject to the EAR (734.7(a))")
                else:
                    status = "controlled" if over else "not_controlled"
        large: bool | None = None
        if rg.revenue_threshold:
            rv = deps.threshold(engine, rg.revenue_threshold, t)
            if revenue is None:
                expl.append("developer revenue unknown: large-developer status unknown")
            else:
                large = float(revenue) > rv.value
                expl.append(
                    f"developer revenue ${_fmt(float(revenue))} "
                    f"{'>' if large else '<='} ${_fmt(rv.value)}: "
                    f"{'large' if large else 'not a large'} developer"
                )
        if not th.in_force:
            if th.effective_from and th.effective_from > t:
                when = datetime.fromtimestamp(th.effective_from, UTC).date().isoformat()
                expl.append(f"not in force yet: applies from {when}")
            else:
                expl.append("threshold no longer in force in this pack (shown for reference)")
        results.append(
            RegimeResult(
                rg.key, rg.title, in_scope, status, th.in_force, th.value, th.citation,
                th.verification, expl, large,
            )
        )  # fmt: skip
    return Classification(
        ref.model, ref.version, total, estimated, published, results,
        deps.pack_hash(engine), iso(datetime.fromtimestamp(t, UTC)),
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
    c: Classification, engine: Any, discovered: datetime
) -> list[dict[str, Any]]:
    """Reporting deadlines a weight-exfiltration incident starts, per in-scope regime."""
    out = []
    t = discovered.timestamp()
    for rg in REGIMES:
        res = c.get(rg.key)
        if not res.in_scope:
            continue
        for clock_regime, event in rg.incident_clocks:
            for clk in deps.incident_clocks(engine, clock_regime):
                if clk.event != event or not clk.meta.in_force(t):
                    continue
                out.append(
                    {
                        "regime": clock_regime,
                        "event": event,
                        "due": iso(clk.due(discovered)),
                        "citation": clk.meta.citation,
                    }
                )
    return out
