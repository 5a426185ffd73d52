"""Realistic generated contexts for benchmarks, property tests and demos.

The mix (mostly benign US and allied users on general models, a few Tier 3 links,
screening problems and detector verdicts) follows the shape of API traffic a frontier
provider sees; the exact proportions are assumptions stated here, not measurements.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

_NAT = (
    [("US", 45)]
    + [(c, 2) for c in ("GB", "DE", "FR", "JP", "KR", "CA", "AU", "NL", "SE", "ES", "IT", "TW")]
    + [(c, 2) for c in ("IN", "BR", "MX", "SG", "AE", "PL", "IL", "TR", "ID", "VN", "NG")]
    + [(c, 1) for c in ("CN", "RU", "HK", "MO", "KH", "IR", "BY", "VE")]
)
_MODELS = [
    ("general-chat", 60),
    ("frontier-gamma", 20),
    ("frontier-alpha", 10),
    ("frontier-beta", 5),
    ("open-weights-8b", 5),
]
_KYC = [("none", 10), ("basic", 40), ("verified", 40), ("enhanced", 10)]
_SCREEN = [("clear", 930), ("review", 20), ("hit", 5), ("stale", 20), ("unknown", 25)]
_VERDICT = [("benign", 90), ("suspicious", 7), ("distillation", 3)]
_GUARD = [("allow", 95), ("flag", 4), ("block", 1)]


def _pick(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def access_context(
    rng: random.Random, start: datetime | None = None, span: timedelta = timedelta(days=30)
) -> dict[str, Any]:
    """One access context with every field of the schema filled as a gateway would."""
    start = start or datetime(2026, 11, 1, tzinfo=UTC)
    is_org = rng.random() < 0.3
    nat = _pick(rng, _NAT)
    hq = (nat if rng.random() < 0.8 else _pick(rng, _NAT)) if is_org else None
    parent = (_pick(rng, _NAT) if rng.random() < 0.15 else hq) if is_org else None
    verdict = _pick(rng, _VERDICT)
    model = _pick(rng, _MODELS)
    ts = start + timedelta(seconds=rng.random() * span.total_seconds())
    org_id = f"org_{rng.randrange(2000)}" if is_org else None
    if is_org and rng.random() < 0.02:
        org_id = "org_partner_example_1"
    return {
        "account": {
            "id": f"acct_{rng.randrange(100_000)}",
            "type": "organization" if is_org else "individual",
            "status": "suspended" if rng.random() < 0.005 else "active",
            "kyc_level": _pick(rng, _KYC),
            "nationality": nat if rng.random() > 0.03 else None,
            "age_days": round(rng.expovariate(1 / 120), 2),
        },
        "org": {"id": org_id, "hq_country": hq, "parent_hq_country": parent, "allowlists": []},
        "request": {
            "country": nat if rng.random() < 0.85 else _pick(rng, _NAT),
            "ip": f"198.51.100.{rng.randrange(256)}",
            "endpoint": "/v1/chat/completions",
            "model": model,
            "time": ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
        "model": {"name": model},
        "screening": {"status": _pick(rng, _SCREEN)},
        "risk": {
            "score": round(rng.betavariate(1, 8) if verdict == "benign" else rng.random(), 3),
            "verdict": verdict,
            "campaign": f"camp_{rng.randrange(20)}"
            if verdict == "distillation" and rng.random() < 0.5
            else None,
            # as identity's snapshot shows an unreviewed account (no draw: seeds unchanged)
            "review": "none",
            "reviewed_by": None,
            "reviewed_score": None,
        },
        "guard": {"verdict": _pick(rng, _GUARD), "family": None},
        "params": {
            "n": 1 if rng.random() < 0.95 else rng.choice([2, 4, 8, 16]),
            "logprobs": rng.random() < 0.1,
            "top_logprobs": rng.choice([0, 0, 0, 5, 20]),
            "max_tokens": rng.choice([256, 1024, 4096, None]),
            "temperature": round(rng.random(), 2),
            "stream": rng.random() < 0.6,
        },
    }


def transfer_context(rng: random.Random) -> dict[str, Any]:
    hq = _pick(rng, _NAT)
    return {
        "model": {
            "name": "weights",
            "training_flop": 10 ** rng.uniform(24, 27),
            "published": rng.random() < 0.2,
            "classification": None,
        },
        "recipient": {
            "org": f"org_{rng.randrange(100)}",
            "hq_country": hq,
            "parent_hq_country": hq if rng.random() < 0.8 else _pick(rng, _NAT),
            "destination_country": hq if rng.random() < 0.8 else _pick(rng, _NAT),
            "screening_status": _pick(rng, _SCREEN),
        },
        "end_use": "commercial",
        "purpose": "inference",
        "gpu_count": rng.choice([8, 64, 512]),
    }
