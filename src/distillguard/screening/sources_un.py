"""UN Security Council Consolidated List XML (individuals, entities, aliases, DOBs).

Why its own parser: the UN list is the multilateral baseline every screening programme
covers; its names are split over FIRST_NAME..FOURTH_NAME, aliases carry a quality
(Good / Low: low-quality aliases are indexed as weak), original-script names are given
separately, and dates of birth come as exact dates, years or ranges.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from distillguard.screening.model import Alias, ListEntry, ParseResult
from distillguard.screening.sources_common import (
    ListFormatError,
    check_result,
    codes,
    read_text,
    squash,
)

UN_URL = "https://main.un.org/securitycouncil/content/un-sc-consolidated-list"


def _text(el: ET.Element | None) -> str:
    return squash(el.text or "") if el is not None and el.text else ""


def _values(parent: ET.Element, tag: str) -> list[str]:
    return [v for el in parent.findall(f"{tag}/VALUE") if (v := _text(el))]


def _entry(el: ET.Element, person: bool, result: ParseResult) -> ListEntry | None:
    parts = [_text(el.find(t)) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
    name = " ".join(p for p in parts if p)
    dataid = _text(el.find("DATAID"))
    if not dataid:
        result.skip("missing DATAID")
        return None
    if not name:
        result.skip("empty name")
        return None
    names = [Alias(name, "primary")]
    if original := _text(el.find("NAME_ORIGINAL_SCRIPT")):
        names.append(Alias(original, "original"))
    alias_tag = "INDIVIDUAL_ALIAS" if person else "ENTITY_ALIAS"
    for al in el.findall(alias_tag):
        alias = _text(al.find("ALIAS_NAME"))
        if alias:
            quality = _text(al.find("QUALITY")).lower()
            names.append(Alias(alias, "weak" if quality in ("low", "a.k.a.low") else "aka"))
    countries = _values(el, "NATIONALITY")
    addr_tag = "INDIVIDUAL_ADDRESS" if person else "ENTITY_ADDRESS"
    addresses: list[str] = []
    for ad in el.findall(addr_tag):
        fields = [_text(ad.find(t)) for t in ("STREET", "CITY", "STATE_PROVINCE", "COUNTRY")]
        if any(fields):
            addresses.append(", ".join(f for f in fields if f))
        if c := _text(ad.find("COUNTRY")):
            countries.append(c)
    dobs: list[str] = []
    for dob in el.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        if d := _text(dob.find("DATE")):
            dobs.append(d)
        elif y := _text(dob.find("YEAR")):
            dobs.append(y)
        elif (f := _text(dob.find("FROM_YEAR"))) and (t := _text(dob.find("TO_YEAR"))):
            dobs.extend(str(y) for y in range(int(f), int(t) + 1) if f.isdigit() and t.isdigit())
    ids = [
        f"{_text(d.find('TYPE_OF_DOCUMENT'))}: {_text(d.find('NUMBER'))}"
        for d in el.findall("INDIVIDUAL_DOCUMENT")
        if _text(d.find("NUMBER"))
    ]
    return ListEntry(
        source="un",
        entry_id=dataid,
        schema="Person" if person else "Organization",
        names=names,
        list_name=f"UN {_text(el.find('UN_LIST_TYPE'))}".strip(),
        programs=[p for p in [_text(el.find("REFERENCE_NUMBER"))] if p],
        countries=codes(countries),
        dates_of_birth=dobs,
        addresses=addresses,
        ids=ids,
        start_date=_text(el.find("LISTED_ON")) or None,
        remarks=_text(el.find("COMMENTS1")) or None,
        source_list_url=UN_URL,
    )


def parse_un(path: Path, *, encoding: str | None = None) -> ParseResult:
    """Parse a UN SC consolidated list XML file."""
    text = read_text(path, encoding=encoding)
    try:
        # expat does not fetch external entities and limits entity expansion (Python >= 3.11)
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as exc:
        raise ListFormatError(f"{path}: not well-formed XML ({exc})") from None
    if root.tag != "CONSOLIDATED_LIST":
        raise ListFormatError(f"{path}: root element {root.tag!r}, expected CONSOLIDATED_LIST")
    result = ParseResult(entries=[], list_date=(root.get("dateGenerated") or "")[:10] or None)
    rows = 0
    for tag, person in (("INDIVIDUALS/INDIVIDUAL", True), ("ENTITIES/ENTITY", False)):
        for el in root.findall(tag):
            rows += 1
            entry = _entry(el, person, result)
            if entry is not None:
                result.entries.append(entry)
    return check_result(result, str(path), rows, "a UN consolidated list XML")
