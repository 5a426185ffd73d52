"""Row <-> record conversion and timestamp helpers shared by the identity modules."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson

from distillguard.errors import DistillguardError
from distillguard.identity import validate as v
from distillguard.identity.models import Account, ApiKey, Org, Review
from distillguard.store.db import Row
from distillguard.store.quotas import Limits

_R = TypeVar("_R", Org, Account)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def epoch_iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: datetime | str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise DistillguardError(f"{field}: {value!r} is not an RFC 3339 timestamp") from None
    if value.tzinfo is None:
        raise DistillguardError(f"{field}: a timezone is required (e.g. 2027-01-01T00:00:00Z)")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_epoch(ts: str) -> float:
    """Epoch seconds of a timestamp written by `parse_time`/`now_iso`."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _limits(row: Row) -> Limits:
    return Limits(rpm=row["rpm"], tpm=row["tpm"], concurrency=row["max_concurrency"])


def _from_row(cls: type[_R], row: Row) -> _R:
    """Build an Org or Account from its row: columns share the field names."""
    kw = {f.name: row[f.name] for f in fields(cls) if f.name in row}  # type: ignore[arg-type]
    kw["limits"] = _limits(row)
    kw["version"] = int(row["version"])
    if "allowlists" in kw:
        kw["allowlists"] = tuple(orjson.loads(row["allowlists"]))
    if "risk_score" in kw:
        kw["risk_score"] = float(row["risk_score"])
    return cls(**kw)


def org_from_row(row: Row) -> Org:
    return _from_row(Org, row)


def account_from_row(row: Row) -> Account:
    acct = _from_row(Account, row)
    if not row.get("review_disposition"):
        return acct
    margin = row.get("review_margin")
    review = Review(
        disposition=row["review_disposition"],
        reviewer=row["review_by"],
        reason=row["review_reason"],
        at=row["review_at"],
        score=float(row["review_score"] or 0.0),
        verdict=row["review_verdict"] or "benign",
        campaign=row.get("review_campaign"),
        margin=None if margin is None else float(margin),
        expires_at=row.get("review_expires_at"),
    )
    return replace(acct, review=review)


def key_from_row(row: Row) -> ApiKey:
    return ApiKey(
        id=row["id"],
        account_id=row["account_id"],
        display_prefix=row["display_prefix"],
        name=row["name"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


def limit_columns(limits: Limits | dict[str, Any] | None, where: str) -> dict[str, int | None]:
    if limits is None:
        return {}
    if isinstance(limits, Limits):
        limits = {"rpm": limits.rpm, "tpm": limits.tpm, "concurrency": limits.concurrency}
    unknown = set(limits) - {"rpm", "tpm", "concurrency"}
    if unknown:
        raise DistillguardError(f"{where}: unknown limit(s) {', '.join(sorted(unknown))}")
    return {
        ("max_concurrency" if k == "concurrency" else k): v.limit(val, f"{where}.{k}")
        for k, val in limits.items()
    }


def jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, val in detail.items():
        if isinstance(val, Limits):
            val = {"rpm": val.rpm, "tpm": val.tpm, "concurrency": val.concurrency}
        out[k] = val
    return out
