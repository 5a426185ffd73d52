"""The default pack's access rules written by hand as plain Python: the "rules in code"
baseline the compiled pack is timed against (and checked to agree with).

Valid for decision times after 2026-06-22 (the bench's contexts are in November 2026):
this is exactly the rigidity packs remove, so it is not meant to be maintained.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

TIER1 = frozenset(
    [
        "US",
        "AU",
        "BE",
        "CA",
        "DK",
        "FI",
        "FR",
        "DE",
        "IE",
        "IT",
        "JP",
        "NL",
        "NZ",
        "NO",
        "KR",
        "ES",
        "SE",
        "TW",
        "GB",
    ]
)
D5 = frozenset(
    [
        "AF",
        "BY",
        "MM",
        "CF",
        "CN",
        "CD",
        "CU",
        "CY",
        "ER",
        "HT",
        "IR",
        "IQ",
        "KP",
        "LB",
        "LY",
        "NI",
        "RU",
        "SO",
        "SS",
        "SD",
        "SY",
        "VE",
        "ZW",
    ]
)
TIER3 = D5 | {"MO", "HK"}
SANCTIONED = frozenset({"CU", "IR", "KP", "SY"})
MODEL_CLASS = {
    "frontier-alpha": "frontier_restricted",
    "frontier-beta": "frontier_restricted",
    "frontier-gamma": "frontier",
    "general-chat": "general",
    "open-weights-8b": "open_weights",
}
ALLOW = {
    m: frozenset({"org_partner_example_1", "org_partner_example_2", "org_provider"})
    for m in ("frontier-alpha", "frontier-beta")
}
ALLOWN = {
    m: frozenset({"is_informed_trusted_partners", "provider_foreign_national_staff"})
    for m in ("frontier-alpha", "frontier-beta")
}
RANK = {"allow": 0, "degrade": 1, "throttle": 2, "hold_for_review": 3, "block": 4}
ACTIONS = list(RANK)
_E: dict[str, Any] = {}


def _tier(c: str | None) -> int | None:
    if c is None:
        return None
    return 1 if c in TIER1 else 3 if c in TIER3 else 2


def _lt(a: Any, b: float) -> bool:
    return a is not None and a < b


def _gt(a: Any, b: float) -> bool:
    return a is not None and a > b


def decide(ctx: dict[str, Any]) -> tuple[str, list[str], list[str]]:
    """(action, matched rule ids, transforms) for an access context."""
    a = ctx.get("account") or _E
    o = ctx.get("org") or _E
    req = ctx.get("request") or _E
    m = ctx.get("model") or _E
    scr = (ctx.get("screening") or _E).get("status")
    risk = ctx.get("risk") or _E
    guard = (ctx.get("guard") or _E).get("verdict")
    p = ctx.get("params") or _E
    if req.get("time"):
        datetime.fromisoformat(req["time"].replace("Z", "+00:00"))  # as the engine must
    name = m.get("name")
    cls = m.get("classification") or MODEL_CLASS.get(name, "general")
    frontier = cls in ("frontier_restricted", "frontier")
    nat, hq, par = a.get("nationality"), o.get("hq_country"), o.get("parent_hq_country")
    kyc = a.get("kyc_level")
    foreign = (
        (nat is not None and nat != "US")
        or (hq is not None and hq != "US")
        or (par is not None and par != "US")
    )
    allowed = o.get("id") in ALLOW.get(name, ()) or bool(
        set(o.get("allowlists") or ()) & ALLOWN.get(name, frozenset())
    )
    tier3e = _tier(hq) == 3 or _tier(par) == 3
    hits: list[tuple[str, str, tuple[str, ...]]] = []
    if a.get("status") == "suspended":
        hits.append(("block", "account.suspended", ()))
    if a.get("type") == "organization" and o.get("id") is None:
        hits.append(("hold_for_review", "account.org_missing", ()))
    if cls == "frontier_restricted" and kyc not in ("verified", "enhanced"):
        hits.append(("block", "kyc.frontier_restricted", ()))
    if cls == "frontier" and kyc not in ("verified", "enhanced"):
        hits.append(("block", "kyc.frontier", ()))
    if cls == "general" and kyc not in ("basic", "verified", "enhanced"):
        hits.append(("throttle", "kyc.general_minimal", ()))
    if scr == "hit":
        hits.append(("block", "screening.hit", ()))
    if scr == "review":
        hits.append(("hold_for_review", "screening.review", ()))
    if scr == "stale":
        hits.append(("block", "screening.stale", ()))
    if scr == "unknown" or scr is None:
        hits.append(("hold_for_review", "screening.missing", ()))
    if req.get("country") in SANCTIONED:
        hits.append(("block", "sanctions.request_country", ()))
    if nat in SANCTIONED or hq in SANCTIONED or par in SANCTIONED:
        hits.append(("block", "sanctions.person", ()))
    if frontier and tier3e:
        hits.append(("block", "tier3.entity_frontier", ()))
    if cls == "general" and tier3e:
        hits.append(("hold_for_review", "tier3.entity_general", ()))
    if frontier and _tier(req.get("country")) == 3:
        hits.append(("block", "tier3.location_frontier", ()))
    if cls == "frontier_restricted" and foreign and not allowed:
        hits.append(("block", "bis.is_informed.foreign_person_allowlist", ()))
    if (
        cls == "frontier_restricted"
        and not allowed
        and (nat is None or (a.get("type") == "organization" and hq is None))
    ):
        hits.append(("hold_for_review", "bis.is_informed.nationality_unknown", ()))
    review = risk.get("review")
    if review == "confirmed":
        hits.append(("block", "review.confirmed_distillation", ()))
    verdict = None if review == "cleared" else risk.get("verdict")
    if verdict == "distillation" and (
        risk.get("campaign") is not None
        or (not _lt(risk.get("score"), 0.9) and risk.get("score") is not None)
    ):
        hits.append(("block", "detect.distillation_campaign", ()))
    if verdict == "distillation":
        hits.append(
            (
                "throttle",
                "detect.distillation",
                ("strip_reasoning", "drop_logprobs", "cap_max_tokens:512"),
            )
        )
    if verdict == "suspicious":
        hits.append(
            (
                "degrade",
                "detect.suspicious",
                ("strip_reasoning", "drop_logprobs", "cap_max_tokens:1024"),
            )
        )
    if guard == "block":
        hits.append(("block", "guard.block", ()))
    if guard == "flag":
        hits.append(("degrade", "guard.flag", ("strip_reasoning",)))
    if frontier and _gt(p.get("top_logprobs"), 5):
        hits.append(("degrade", "params.logprob_harvest", ("drop_logprobs",)))
    if frontier and _gt(p.get("n"), 4):
        hits.append(("degrade", "params.sample_fanout", ("cap_n:4",)))
    if frontier and _lt(a.get("age_days"), 1):
        hits.append(("throttle", "account.new_on_frontier", ()))
    if not hits:
        return "allow", [], []
    best = max(RANK[h[0]] for h in hits)
    action = ACTIONS[best]
    transforms: list[str] = []
    if action in ("degrade", "throttle"):
        transforms = sorted({t for h in hits for t in h[2]})
    return action, [h[1] for h in hits], transforms
