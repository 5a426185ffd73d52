"""trade.gov Consolidated Screening List (JSON and CSV) and our internal block-list CSV.

Why: the CSL merges the 13 US export-screening lists (BIS Entity List, DPL, UVL, MEU, State
ISN/DTC, Treasury SDN, SSI, FSE, ...) and carries the fields a hit explanation needs
(programs, federal_register_notice, start_date, source_list_url). The same field names are
used for the internal CSV so that operators can add their own denials without a new format:
columns `name` (required), `id`, `type`, `alt_names` (`;`-separated), `programs`,
`nationalities`, `dates_of_birth`, `remarks`, `start_date`.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import orjson

from distillguard.screening.model import Alias, ListEntry, ParseResult, canonical_schema
from distillguard.screening.sources_common import (
    ListFormatError,
    check_result,
    clean,
    codes,
    read_text,
    split_list,
    squash,
)

_CSV_LIMIT = 1 << 20


def _entry(
    rec: dict[str, Any], source: str, fallback_id: str, result: ParseResult
) -> ListEntry | None:
    name = clean(str(rec.get("name") or ""))
    if not name:
        result.skip("empty name")
        return None
    eid = clean(str(rec.get("id") or rec.get("_id") or "")) or None
    if eid is None and rec.get("entity_number"):
        eid = f"{rec.get('source', '')}:{rec['entity_number']}"
    names = [Alias(squash(name), "primary")]
    for alt in split_list(rec.get("alt_names")):
        names.append(Alias(squash(alt), "aka"))
    addresses: list[str] = []
    countries: list[str] = []
    raw_addresses = rec.get("addresses")
    if isinstance(raw_addresses, list):
        for ad in raw_addresses:
            if isinstance(ad, dict):
                fields = [
                    clean(str(ad.get(k) or ""))
                    for k in ("address", "city", "state", "postal_code", "country")
                ]
                addresses.append(", ".join(f for f in fields if f))
                if c := clean(str(ad.get("country") or "")):
                    countries.append(c)
    else:
        addresses = split_list(raw_addresses)
    countries += split_list(rec.get("nationalities")) + split_list(rec.get("citizenships"))
    ids: list[str] = []
    raw_ids = rec.get("ids")
    if isinstance(raw_ids, list):
        for i in raw_ids:
            if isinstance(i, dict) and i.get("number"):
                ids.append(f"{i.get('type') or 'id'}: {i['number']}")
    else:
        ids = split_list(raw_ids)
    remarks = [
        r
        for r in (
            clean(str(rec.get(k) or ""))
            for k in ("remarks", "title", "license_requirement", "license_policy")
        )
        if r
    ]
    return ListEntry(
        source=source,
        entry_id=eid or fallback_id,
        schema=canonical_schema(str(rec.get("type") or "")),
        names=names,
        list_name=clean(str(rec.get("source") or ""))
        or ("internal" if source == "internal" else ""),
        programs=split_list(rec.get("programs")),
        countries=codes(countries),
        dates_of_birth=split_list(rec.get("dates_of_birth")),
        addresses=addresses,
        ids=ids,
        start_date=clean(str(rec.get("start_date") or "")) or None,
        federal_register_notice=clean(str(rec.get("federal_register_notice") or "")) or None,
        remarks="; ".join(remarks) or None,
        source_list_url=clean(str(rec.get("source_list_url") or "")) or None,
    )


def parse_csl_json(path: Path, *, encoding: str | None = None) -> ParseResult:
    """Parse the CSL JSON (`{"results": [...]}` as served, or a bare list of records)."""
    text = read_text(path, encoding=encoding)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ListFormatError(f"{path}: not valid JSON ({exc})") from None
    records = data.get("results") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise ListFormatError(f'{path}: expected a list of records or {{"results": [...]}}')
    result = ParseResult(entries=[])
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            result.skip("record is not an object")
            continue
        if (e := _entry(rec, "csl", f"row-{i + 1}", result)) is not None:
            result.entries.append(e)
    return check_result(result, str(path), len(records), "a CSL JSON file")


def _csv_records(path: Path, encoding: str | None) -> list[dict[str, Any]]:
    text = read_text(path, encoding=encoding)
    csv.field_size_limit(_CSV_LIMIT)
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in (reader.fieldnames or [])]
    if "name" not in fields:
        raise ListFormatError(f"{path}: no 'name' column in the header ({', '.join(fields[:8])})")
    try:
        return [{(k or "").strip().lower(): v for k, v in row.items()} for row in reader]
    except csv.Error as exc:
        raise ListFormatError(f"{path}: malformed CSV ({exc})") from None


def parse_csl_csv(path: Path, *, encoding: str | None = None) -> ParseResult:
    """Parse the CSL CSV download (same field names as the JSON; lists `;`-separated)."""
    records = _csv_records(path, encoding)
    result = ParseResult(entries=[])
    for i, rec in enumerate(records):
        if (e := _entry(rec, "csl", f"row-{i + 1}", result)) is not None:
            result.entries.append(e)
    return check_result(result, str(path), len(records), "a CSL CSV file")


def parse_internal(path: Path, *, encoding: str | None = None) -> ParseResult:
    """Parse an internal block-list CSV (header with at least a `name` column)."""
    records = _csv_records(path, encoding)
    result = ParseResult(entries=[])
    for i, rec in enumerate(records):
        rec.setdefault("alt_names", rec.get("aliases"))
        rec.setdefault("nationalities", rec.get("country"))
        rec.setdefault("dates_of_birth", rec.get("dob"))
        rec.setdefault("type", rec.get("schema"))
        if (e := _entry(rec, "internal", f"row-{i + 1}", result)) is not None:
            result.entries.append(e)
    return check_result(result, str(path), len(records), "a CSV with a 'name' column")
