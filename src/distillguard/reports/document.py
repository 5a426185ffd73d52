"""The shape every report shares, and the rule that no required field is silently omitted.

A report document is `{"schema", "kind", "title", "generated_at", "pack_hash", "subject",
"sections": {...}, "missing": [...]}`. A mandatory value that the records do not hold is
written as `{"missing": true, "reason": "..."}` in its place (see `missing()`), and the
path is listed in `missing`; the JSON Schemas accept either the value or that marker, and
require every mandatory key. So a filing can go out with gaps, but never with hidden ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from distillguard.reports.timeutil import iso

SCHEMA_PREFIX = "https://distillguard.dev/schemas/reports"


def missing(reason: str) -> dict[str, Any]:
    """The marker for a mandatory value the records do not hold."""
    return {"missing": True, "reason": reason}


def is_missing(v: Any) -> bool:
    return isinstance(v, dict) and v.get("missing") is True and set(v) == {"missing", "reason"}


def or_missing(v: Any, reason: str) -> Any:
    """`v` unless it is None or blank, else the missing marker."""
    if v is None or (isinstance(v, str | list | dict) and not v):
        return missing(reason)
    return v


def collect_missing(obj: Any, path: str = "") -> list[dict[str, str]]:
    """Every missing marker in a document, with its JSON path."""
    if is_missing(obj):
        return [{"field": path or "/", "reason": str(obj["reason"])}]
    out: list[dict[str, str]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(collect_missing(v, f"{path}/{k}"))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.extend(collect_missing(v, f"{path}/{i}"))
    return out


def new_document(
    kind: str, title: str, *, at: datetime, pack_hash: str, subject: str, sections: dict[str, Any]
) -> dict[str, Any]:
    """Assemble a document and list its missing fields."""
    return {
        "schema": f"{SCHEMA_PREFIX}/{kind}/v1",
        "kind": kind,
        "title": title,
        "generated_at": iso(at),
        "pack_hash": pack_hash,
        "subject": subject,
        "sections": sections,
        "missing": collect_missing(sections, "/sections"),
    }
