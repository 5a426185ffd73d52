"""Shared helpers of the list parsers: decoding, null markers, countries, sanity checks.

Why: every publisher has its own quirks (OFAC's DOS end-of-file byte and `-0-` nulls, BOMs,
Windows code pages) and every parser must turn them into the same clear errors. A file that
parses to nothing, or mostly to skips, is an error: an index silently emptied by a wrong
file would clear every customer.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from distillguard.errors import DistillguardError
from distillguard.screening.model import ParseResult

_NULLS = {"-0-", ""}


class ListFormatError(DistillguardError):
    """A list file that cannot be parsed as the format it was declared as."""


def read_text(path: Path, *, encoding: str | None = None, fallback: str | None = None) -> str:
    """Read a list file as text: BOM-aware, DOS EOF byte stripped, clear error on bad bytes."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ListFormatError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_bytes(data, str(path), encoding=encoding, fallback=fallback)


def decode_bytes(
    data: bytes, label: str, *, encoding: str | None = None, fallback: str | None = None
) -> str:
    data = data.rstrip(b"\x1a")  # OFAC legacy CSV ends with a DOS end-of-file byte
    if not data.strip():
        raise ListFormatError(f"{label}: file is empty")
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise ListFormatError(f"{label}: unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as exc:
            raise ListFormatError(
                f"{label}: not valid {encoding} (byte offset {exc.start})"
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise ListFormatError(f"{label}: binary data (NUL bytes), not a text list file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if fallback:
            return data.decode(fallback, errors="replace")
        raise ListFormatError(
            f"{label}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert the file to UTF-8 or pass --encoding"
        ) from None


def clean(value: str | None) -> str | None:
    """Trim a field; OFAC's `-0-` and empty strings become None."""
    if value is None:
        return None
    v = value.strip()
    return None if v in _NULLS else v


def split_list(value: object) -> list[str]:
    """A field that is a JSON list or a `;`-separated string, as a list of clean strings."""
    if value is None:
        return []
    if isinstance(value, list):
        out: list[str] = []
        for v in value:
            if isinstance(v, dict):
                v = "; ".join(str(x) for x in v.values() if x)
            c = clean(str(v)) if v is not None else None
            if c:
                out.append(c)
        return out
    return [c for part in str(value).split(";") if (c := clean(part))]


_PUNCT = re.compile(r"[^\w]+")


def _country_key(name: str) -> str:
    return _PUNCT.sub(" ", name.casefold()).strip()


@lru_cache(maxsize=1)
def _country_table() -> dict[str, str]:
    """Country names (English and the Latin-script names rigour knows) -> ISO2.

    Built directly from rigour's territory data: `lookup_territory` would transliterate
    ~29k names in every script on first use (seconds), which an import cannot afford.
    """
    from rigour.territories import get_territories

    table: dict[str, str] = {}
    try:
        from rigour.territories.lookup import _load_territory_names

        for terr, strong, weak, _places in _load_territory_names():
            if len(terr.code) != 2:
                continue
            for n in [*weak, *strong]:
                if n.isascii():
                    table[_country_key(n)] = terr.code
    except ImportError:  # pragma: no cover - private helper moved
        pass
    for terr in get_territories():
        if len(terr.code) != 2:
            continue
        for n in (terr.name, terr.full_name, terr.code, terr.alpha3 or ""):
            if n:
                table[_country_key(n)] = terr.code
    return table


@lru_cache(maxsize=4096)
def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 (lower case) for a country name or code, if known."""
    key = _country_key(value)
    if not key:
        return None
    return _country_table().get(key)


def codes(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        c = country_code(v)
        if c and c not in out:
            out.append(c)
    return out


_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    return _WS.sub(" ", text).strip()


def check_result(result: ParseResult, label: str, rows: int, what: str) -> ParseResult:
    """Refuse a parse that produced nothing or skipped most rows (a wrong or broken file)."""
    if not result.entries:
        reasons = ", ".join(f"{k}: {v}" for k, v in result.skip_reasons.items()) or "no rows"
        raise ListFormatError(
            f"{label}: no entries found in {rows} rows ({reasons}); is it {what}?"
        )
    if rows >= 10 and result.skipped > rows // 2:
        raise ListFormatError(
            f"{label}: {result.skipped} of {rows} rows could not be parsed "
            f"({result.skip_reasons}); is it {what}?"
        )
    return result
