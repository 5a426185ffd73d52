"""STIX 2.1 indicators of a distillation campaign, for partners (the `stix2` package).

Why STIX: labs share distillation indicators through the Frontier Model Forum and with
authorities in the threat-intelligence standard, so a partner's TIP can ingest them
unchanged. The bundle holds the producer identity, the campaign, an attack pattern, one
indicator per client subnet and per user agent the campaign used, and `indicates` / `uses`
relationships. Subnets can be shared cloud or proxy ranges: indicators are typed
`anomalous-activity` with a stated confidence, not `malicious-activity`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from distillguard.errors import DistillguardError

ATTACK_PATTERN = "Model distillation through API output harvesting"


def _quote(s: str) -> str:
    """A STIX pattern string literal: backslash and single quote escaped."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def subnet_pattern(subnet: str) -> str:
    kind = "ipv6-addr" if ":" in subnet else "ipv4-addr"
    return f"[{kind}:value ISSUBSET {_quote(subnet)}]"


def user_agent_pattern(ua: str) -> str:
    return (
        "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = "
        f"{_quote(ua)}]"
    )


def build_bundle(
    campaign_id: str,
    *,
    producer: str,
    first_seen: datetime,
    last_seen: datetime,
    subnets: list[str],
    user_agents: list[str],
    description: str,
    confidence: int = 70,
) -> dict[str, Any]:
    """The STIX 2.1 bundle as a JSON-able dict (validated by stix2 on construction)."""
    import stix2

    try:
        ident = stix2.Identity(name=producer, identity_class="organization")
        camp = stix2.Campaign(
            name=f"Distillation campaign {campaign_id}",
            description=description,
            first_seen=first_seen,
            last_seen=last_seen,
            created_by_ref=ident.id,
            confidence=confidence,
        )
        ap = stix2.AttackPattern(
            name=ATTACK_PATTERN,
            description="Many accounts send templated prompts to harvest answers and "
            "reasoning for training a rival model.",
            created_by_ref=ident.id,
        )
        objs: list[Any] = [ident, camp, ap, stix2.Relationship(camp, "uses", ap)]
        for value, pattern, what in [
            *((s, subnet_pattern(s), "client subnet") for s in subnets),
            *((u, user_agent_pattern(u), "user agent") for u in user_agents),
        ]:
            ind = stix2.Indicator(
                name=f"{what} of distillation campaign {campaign_id}: {value}"[:250],
                pattern=pattern,
                pattern_type="stix",
                valid_from=first_seen,
                indicator_types=["anomalous-activity"],
                confidence=confidence,
                created_by_ref=ident.id,
            )
            objs += [ind, stix2.Relationship(ind, "indicates", camp)]
        bundle = stix2.Bundle(objects=objs)
    except (stix2.exceptions.STIXError, ValueError) as exc:
        raise DistillguardError(f"cannot build the STIX bundle: {exc}") from None
    out: dict[str, Any] = json.loads(bundle.serialize())
    return out


def validate_bundle(bundle: dict[str, Any]) -> int:
    """Parse a bundle strictly with stix2 and check every pattern; return the object count."""
    import stix2
    from stix2patterns.validator import run_validator

    try:
        parsed = stix2.parse(json.dumps(bundle), allow_custom=False, version="2.1")
    except (stix2.exceptions.STIXError, ValueError) as exc:
        raise DistillguardError(f"STIX bundle does not validate: {exc}") from None
    for o in parsed.objects:
        if o.type == "indicator":
            errs = run_validator(o.pattern, stix_version="2.1")
            if errs:
                raise DistillguardError(f"STIX pattern {o.pattern!r} is invalid: {errs[0]}")
    return len(parsed.objects)
