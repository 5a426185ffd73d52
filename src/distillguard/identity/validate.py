"""Input checks for identity records: country codes, emails, phones, IPs, ids, enumerations.

Why strict: these fields decide export-control outcomes (a nationality of "UK" instead of
"GB" would silently miss every Tier-1 rule), so bad values are refused at the door with a
one-line `DistillguardError` rather than stored and misread later.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from distillguard.countries import ISO_3166_ALPHA2, country_hint
from distillguard.errors import DistillguardError

ACCOUNT_TYPES = ("individual", "organization")
STATUSES = ("active", "suspended")
KYC_LEVELS = ("none", "basic", "verified", "enhanced")
SCREENING_STATUSES = ("clear", "hit", "review", "unknown", "stale")
RISK_VERDICTS = ("benign", "suspicious", "distillation")
REVIEW_DISPOSITIONS = ("cleared", "confirmed")
PAYMENT_MEANS = ("card", "bank_transfer", "invoice", "direct_debit", "crypto", "prepaid", "other")

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
# Pragmatic RFC 5321/5322 subset: dot-atom local part, DNS domain with a letter TLD.
_EMAIL_RE = re.compile(
    r"^(?=.{3,254}$)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_PHONE_STRIP = re.compile(r"[\s().-]")
_E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def country_codes() -> frozenset[str]:
    """The accepted ISO 3166-1 alpha-2 codes (249 assigned, plus XK)."""
    return ISO_3166_ALPHA2


def country(value: object, field: str) -> str:
    """An upper-case ISO 3166-1 alpha-2 code, or an error naming the field."""
    if not isinstance(value, str) or value.strip().upper() not in country_codes():
        hint = country_hint(str(value).strip().upper())
        raise DistillguardError(
            f"{field}: {value!r} is not an ISO 3166-1 alpha-2 country code{hint}"
        )
    return value.strip().upper()


def opt_country(value: object, field: str) -> str | None:
    return None if value is None or value == "" else country(value, field)


def email(value: object, field: str = "email") -> str:
    if not isinstance(value, str) or not _EMAIL_RE.match(value.strip()):
        raise DistillguardError(f"{field}: {value!r} is not a valid email address")
    local, _, domain = value.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def phone(value: object, field: str = "phone") -> str:
    """An E.164 number (`+` and 7-15 digits); spaces, dots, dashes and brackets are dropped."""
    cleaned = _PHONE_STRIP.sub("", value) if isinstance(value, str) else ""
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not _E164_RE.match(cleaned):
        raise DistillguardError(
            f"{field}: {value!r} is not an international phone number (E.164, e.g. +14155550100)"
        )
    return cleaned


def ip_network(value: object, field: str = "ip") -> str:
    """An IPv4/IPv6 address or CIDR block, normalised (`10.0.0.0/8`, `2001:db8::1`)."""
    try:
        net = ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        raise DistillguardError(f"{field}: {value!r} is not an IP address or CIDR block") from None
    if net.num_addresses == 1:
        return str(net.network_address)
    return str(net)


def ident(value: object, field: str = "id") -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise DistillguardError(
            f"{field}: {value!r} is not a valid id (1-64 of A-Z a-z 0-9 _ . : -, "
            "starting with a letter or digit)"
        )
    return value


def choice(value: object, allowed: Iterable[str], field: str) -> str:
    options = tuple(allowed)
    if value not in options:
        raise DistillguardError(f"{field}: {value!r} is not one of {', '.join(options)}")
    return str(value)


def text(value: object, field: str, *, max_len: int = 500, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise DistillguardError(f"{field}: a non-empty string is required")
    if len(value) > max_len:
        raise DistillguardError(f"{field}: longer than {max_len} characters")
    return value.strip()


def opt_text(value: object, field: str, *, max_len: int = 500) -> str | None:
    if value is None or value == "":
        return None
    return text(value, field, max_len=max_len)


def limit(value: object, field: str) -> int | None:
    """A quota limit: a non-negative integer, or None for "use the default"."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise DistillguardError(f"{field}: {value!r} is not a non-negative integer")
    return value


def str_list(value: object, field: str, *, max_items: int = 100) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise DistillguardError(f"{field}: a list of strings is required")
    if len(value) > max_items:
        raise DistillguardError(f"{field}: more than {max_items} items")
    return [text(v, f"{field}[{i}]", max_len=200) for i, v in enumerate(value)]
