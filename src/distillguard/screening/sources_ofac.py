"""OFAC SDN legacy CSV (sdn.csv + optional alt.csv and add.csv, joined on ent_num).

Why the legacy CSV: it is the smallest complete public form of the SDN list and the one most
compliance teams already mirror. Quirks handled: no header, `-0-` for null, a trailing DOS
end-of-file byte (0x1A), Windows-1252 bytes in old files, programs written as `IRAN] [SDGT`,
and dates of birth, nationalities and some aliases only in the free-text remarks.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from distillguard.screening.model import Alias, ListEntry, ParseResult
from distillguard.screening.sources_common import (
    check_result,
    clean,
    codes,
    read_text,
    squash,
)

SDN_URL = "https://sanctionslist.ofac.treas.gov/Home/SdnList"
_DOB = re.compile(r"\bDOB ([^;]+?)(?:;|\.$|$)")
_NAT = re.compile(r"\b(?:nationality|citizen) ([A-Za-z ,'()-]+?)(?:;|\.$|$)")
_AKA = re.compile(r"\b[afn]\.k\.a\.,? '([^']{2,})'")
_SCHEMAS = {"individual": "Person", "vessel": "Vessel", "aircraft": "Aircraft"}


def _rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text)) if any(c.strip() for c in row)]


def _ent(value: str) -> str | None:
    v = (clean(value) or "").strip()
    return v if v.isdigit() else None


def _joined(
    path: Path,
    min_cols: int,
    label: str,
    by_ent: dict[str, ListEntry],
    result: ParseResult,
    encoding: str | None,
) -> Iterator[tuple[ListEntry, list[str]]]:
    """Rows of alt.csv / add.csv with the entry they belong to; others counted as skipped."""
    for row in _rows(read_text(path, encoding=encoding, fallback="cp1252")):
        ent = _ent(row[0]) if row else None
        if ent is None or len(row) < min_cols:
            result.skip(f"{label}: malformed row")
            continue
        target = by_ent.get(ent)
        if target is None:
            result.skip(f"{label}: unknown ent_num")
            continue
        yield target, row


def parse_ofac(
    sdn: Path,
    alt: Path | None = None,
    add: Path | None = None,
    *,
    encoding: str | None = None,
) -> ParseResult:
    """Parse an OFAC legacy CSV triple into entries (aliases and addresses joined)."""
    result = ParseResult(entries=[])
    rows = _rows(read_text(sdn, encoding=encoding, fallback="cp1252"))
    by_ent: dict[str, ListEntry] = {}
    for row in rows:
        if len(row) < 4 or len(row) > 12:
            result.skip("wrong column count")
            continue
        row = row + [""] * (12 - len(row))
        ent = _ent(row[0])
        name = clean(row[1])
        if ent is None:
            result.skip("ent_num not a number")
            continue
        if not name:
            result.skip("empty name")
            continue
        schema = _SCHEMAS.get((clean(row[2]) or "").lower(), "Organization")
        programs = [p.strip(" []") for p in (clean(row[3]) or "").split("] [") if p.strip(" []")]
        remarks = clean(row[11])
        entry = ListEntry(
            source="ofac",
            entry_id=ent,
            schema=schema,
            names=[Alias(squash(name), "primary")],
            list_name="SDN",
            programs=programs,
            remarks=remarks,
            source_list_url=SDN_URL,
        )
        if title := clean(row[4]):
            entry.remarks = f"title: {title}" + (f"; {remarks}" if remarks else "")
        if remarks:
            entry.dates_of_birth = [d.strip() for d in _DOB.findall(remarks)]
            entry.countries = codes([n.strip() for n in _NAT.findall(remarks)])
            for aka in _AKA.findall(remarks):
                entry.names.append(Alias(squash(aka), "aka"))
        if vessel_flag := clean(row[9]):
            entry.countries = [*entry.countries, *codes([vessel_flag])]
        if ent in by_ent:
            result.skip("duplicate ent_num")
            continue
        by_ent[ent] = entry
        result.entries.append(entry)
    check_result(result, str(sdn), len(rows), "an OFAC sdn.csv")
    if alt is not None:
        for target, row in _joined(alt, 4, "alt", by_ent, result, encoding):
            name = clean(row[3])
            if not name:
                result.skip("alt: empty name")
                continue
            kind = (clean(row[2]) or "aka").lower()
            target.names.append(
                Alias(squash(name), kind if kind in ("aka", "fka", "nka") else "aka")
            )
    if add is not None:
        for target, row in _joined(add, 5, "add", by_ent, result, encoding):
            parts = [p for p in (clean(x) for x in row[2:5]) if p]
            if parts:
                target.addresses.append(", ".join(parts))
            for c in codes([clean(row[4]) or ""]):
                if c not in target.countries:
                    target.countries.append(c)
    return result
