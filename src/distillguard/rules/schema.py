"""The typed decision contexts and the action vocabulary, one table per domain.

Conditions are type-checked against these tables when a pack loads, so a misspelt field
(`acount.kyc`), a wrong literal (`kyc_level == "verfied"`) or a non-ISO country fails the
load instead of silently never matching. Consumers build contexts with exactly these
names (see docs/rules.md); every value may be missing (None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict

# Expression types used by the checker.
STR = "str"
NUM = "num"
BOOL = "bool"
COUNTRY = "country"  # a str holding an ISO 3166-1 alpha-2 code
LIST_STR = "list[str]"
LIST_NUM = "list[num]"
NULL = "null"


@dataclass(frozen=True, slots=True)
class Field:
    """One context field: its type and, for closed vocabularies, the allowed values."""

    type: str
    values: tuple[str, ...] | None = None
    doc: str = ""


KYC_LEVELS = ("none", "basic", "verified", "enhanced")
SCREENING = ("clear", "hit", "review", "unknown", "stale")

ACCESS_SCHEMA: dict[str, dict[str, Field]] = {
    "account": {
        "id": Field(STR),
        "type": Field(STR, ("individual", "organization")),
        "status": Field(STR, ("active", "suspended")),
        "kyc_level": Field(STR, KYC_LEVELS),
        "nationality": Field(COUNTRY),
        "age_days": Field(NUM),
    },
    "org": {
        "id": Field(STR),
        "hq_country": Field(COUNTRY),
        "parent_hq_country": Field(COUNTRY, doc="ultimate parent's headquarters"),
        "allowlists": Field(LIST_STR, doc="names of allowlists the organisation is on"),
    },
    "request": {
        "country": Field(COUNTRY),
        "ip": Field(STR),
        "endpoint": Field(STR),
        "model": Field(STR),
        "time": Field(STR, doc="RFC 3339; the decision time when present"),
    },
    "model": {
        "name": Field(STR),
        "classification": Field(STR, doc="filled from the pack's models table when missing"),
    },
    "screening": {"status": Field(STR, SCREENING)},
    "risk": {
        "score": Field(NUM),
        "verdict": Field(STR, ("benign", "suspicious", "distillation")),
        "campaign": Field(STR),
        "review": Field(
            STR,
            ("none", "cleared", "confirmed", "lapsed"),
            doc="a reviewer's disposition as it stands now (identity's set_review)",
        ),
        "reviewed_by": Field(STR),
        "reviewed_score": Field(NUM, doc="the detector's score when the review was made"),
    },
    "guard": {
        "verdict": Field(STR, ("allow", "flag", "block")),
        "family": Field(STR),
    },
    "params": {
        "n": Field(NUM),
        "logprobs": Field(BOOL),
        "top_logprobs": Field(NUM),
        "max_tokens": Field(NUM),
        "temperature": Field(NUM),
        "stream": Field(BOOL),
    },
}

TRANSFER_SCHEMA: dict[str, dict[str, Field]] = {
    "model": {
        "name": Field(STR),
        "training_flop": Field(NUM, doc="total training operations incl. fine-tuning"),
        "published": Field(BOOL, doc="weights published (EAR 734.7(a))"),
        "classification": Field(STR),
    },
    "recipient": {
        "org": Field(STR),
        "hq_country": Field(COUNTRY),
        "parent_hq_country": Field(COUNTRY),
        "destination_country": Field(COUNTRY),
        "screening_status": Field(STR, SCREENING),
    },
}
# Top-level scalar fields of a domain (no section).
TRANSFER_SCALARS: dict[str, Field] = {
    "end_use": Field(STR),
    "purpose": Field(STR),
    "gpu_count": Field(NUM),
}

SCHEMAS: dict[str, tuple[dict[str, dict[str, Field]], dict[str, Field]]] = {
    "access": (ACCESS_SCHEMA, {}),
    "transfer": (TRANSFER_SCHEMA, TRANSFER_SCALARS),
}

# Actions from least to most restrictive: the most restrictive matching action wins.
ACTIONS: dict[str, tuple[str, ...]] = {
    "access": ("allow", "degrade", "throttle", "hold_for_review", "block"),
    "transfer": ("no_licence_required", "licence_exception", "licence_required", "prohibited"),
}
# What an evaluation error decides (fail closed).
ERROR_ACTION = {"access": "block", "transfer": "prohibited"}
DEFAULT_ACTION = {"access": "allow", "transfer": "licence_required"}

# Output/request transforms a `degrade` (or `throttle`) rule may name; `:N` takes an int.
# The vocabulary is the one distillguard.guard.transforms applies.
TRANSFORMS_PLAIN = ("strip_reasoning", "drop_logprobs", "summarise_reasoning")
TRANSFORMS_INT = ("cap_max_tokens", "cap_n")
# `name:mode` transforms; the mode is kept verbatim.
TRANSFORMS_MODE = {
    "summarise_reasoning": ("count", "first_sentence"),
    "leak_check": ("on", "off"),
}

STATUSES = ("in_force", "suspended", "proposed")
VERIFICATION = ("V", "S", "U")


class AccountCtx(TypedDict, total=False):
    id: str | None
    type: Literal["individual", "organization"] | None
    status: Literal["active", "suspended"] | None
    kyc_level: Literal["none", "basic", "verified", "enhanced"] | None
    nationality: str | None
    age_days: float | None


class OrgCtx(TypedDict, total=False):
    id: str | None
    hq_country: str | None
    parent_hq_country: str | None
    allowlists: list[str] | None


class AccessContext(TypedDict, total=False):
    """The access context (every section and value optional)."""

    account: AccountCtx
    org: OrgCtx
    request: dict[str, Any]
    model: dict[str, Any]
    screening: dict[str, Any]
    risk: dict[str, Any]
    guard: dict[str, Any]
    params: dict[str, Any]


class TransferContext(TypedDict, total=False):
    """The weights-transfer context."""

    model: dict[str, Any]
    recipient: dict[str, Any]
    end_use: str | None
    purpose: str | None
    gpu_count: int | None


def parse_transform(t: str) -> tuple[str, int | None] | None:
    """Split 'cap_max_tokens:1024' into ('cap_max_tokens', 1024); None if not in the vocabulary."""
    name, sep, arg = t.partition(":")
    if name in TRANSFORMS_PLAIN and not sep:
        return name, None
    if name in TRANSFORMS_MODE and sep and arg in TRANSFORMS_MODE[name]:
        return t, None
    if name in TRANSFORMS_INT and sep and arg.isdigit() and int(arg) > 0:
        return name, int(arg)
    return None


def merge_transforms(transforms: list[str]) -> list[str]:
    """Union of transforms; for capped ones the smallest cap wins. Stable order."""
    plain: list[str] = []
    caps: dict[str, int] = {}
    for t in transforms:
        p = parse_transform(t)
        if p is None:
            continue
        name, arg = p
        if arg is None:
            if name not in plain:
                plain.append(name)
        else:
            caps[name] = min(arg, caps.get(name, arg))
    return plain + [f"{k}:{v}" for k, v in caps.items()]
