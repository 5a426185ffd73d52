"""Plain data types shared by ingestion, index, scorer and service.

Why a separate module: parsers, the store and the matcher must agree on one shape of a list
entry (so a snapshot hash, a clearance and a hit explanation all refer to the same thing),
and none of them should import the others to get it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

SCHEMAS = ("Person", "Organization", "Vessel", "Aircraft", "LegalEntity")
SOURCES = ("ofac", "un", "csl", "internal")


def canonical_schema(value: str | None) -> str:
    """Map list and user spellings (Individual, Entity, Company, ...) onto our schemas."""
    v = (value or "").strip().lower()
    if v in ("person", "individual", "people", "natural person"):
        return "Person"
    if v in ("organization", "organisation", "entity", "company", "legalentity"):
        return "Organization" if v != "legalentity" else "LegalEntity"
    if v == "vessel":
        return "Vessel"
    if v == "aircraft":
        return "Aircraft"
    return "LegalEntity"


@dataclass(slots=True)
class Alias:
    """One name string of an entry; `kind` is primary, aka, fka, nka, weak or original."""

    name: str
    kind: str = "primary"


@dataclass(slots=True)
class ListEntry:
    """One listed party as published, with every alias, in a source-independent shape."""

    source: str
    entry_id: str
    schema: str
    names: list[Alias]
    list_name: str = ""
    programs: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    dates_of_birth: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    start_date: str | None = None
    federal_register_notice: str | None = None
    remarks: str | None = None
    source_list_url: str | None = None

    @property
    def caption(self) -> str:
        return self.names[0].name if self.names else self.entry_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "entry_id": self.entry_id,
            "schema": self.schema,
            "names": [{"name": a.name, "kind": a.kind} for a in self.names],
            "list_name": self.list_name,
            "programs": list(self.programs),
            "countries": list(self.countries),
            "dates_of_birth": list(self.dates_of_birth),
            "addresses": list(self.addresses),
            "ids": list(self.ids),
            "start_date": self.start_date,
            "federal_register_notice": self.federal_register_notice,
            "remarks": self.remarks,
            "source_list_url": self.source_list_url,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ListEntry:
        data = dict(d)
        data["names"] = [Alias(**a) for a in data.get("names", [])]
        return cls(**data)

    def content_hash(self) -> str:
        """sha256 of the canonical JSON: a clearance is valid only while this is unchanged."""
        blob = orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(blob).hexdigest()


@dataclass(slots=True)
class ParseResult:
    """A parsed list file: the entries plus every row that was skipped and why."""

    entries: list[ListEntry]
    skipped: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)
    list_date: str | None = None

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + 1


@dataclass(slots=True)
class Hit:
    """One matching list entry with the evidence an analyst or auditor needs."""

    source: str
    entry_id: str
    caption: str
    schema: str
    score: float
    matched_alias: str
    alias_kind: str
    query_name: str
    features: dict[str, float]
    list_name: str = ""
    programs: list[str] = field(default_factory=list)
    start_date: str | None = None
    federal_register_notice: str | None = None
    source_list_url: str | None = None
    snapshot_id: int | None = None
    snapshot_hash: str | None = None
    entry_hash: str | None = None
    mode: str = "best"
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hit:
        return cls(**d)
