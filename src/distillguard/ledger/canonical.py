"""Canonical record bytes: RFC 8785 (JSON Canonicalization Scheme).

A Merkle leaf commits to bytes, so a record must have exactly one byte encoding. We use
RFC 8785 (JCS); the pinned `rfc8785` package is the reference implementation. It costs
about 40 µs for a typical decision record, which alone would cap appends near 25,000/s,
so records inside a proven-equal subset take a fast path through `orjson` with sorted
keys (about 1 µs): dict keys all ASCII (JCS sorts by UTF-16 code units, orjson by code
points; the orders agree on ASCII), integers inside the IEEE-754 safe range, and floats
that are finite, non-integral and between 1e-5 and 1e15 in magnitude (where ECMAScript
and orjson number formatting agree). Strings need no check: orjson and JCS escape every
code point the same way. The eligibility check is split to stay cheap (it runs for every
record on the caller's thread): Python walks the values only for floats and unsupported
types, orjson refuses unsafe integers and non-string keys itself, and keys are checked
only when the output is not all ASCII. Anything else (other floats, non-ASCII keys, big
integers, unsupported types) goes to `rfc8785`, which either encodes it or rejects it.
The test suite checks the fast path byte-for-byte against `rfc8785` with hypothesis.
"""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

from distillguard.errors import DistillguardError

# OPT_STRICT_INTEGER makes orjson refuse integers outside the IEEE-754 safe range
# (|n| <= 2**53 - 1), exactly the range where JCS and orjson print them alike.
_OPT = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_EncodeError = orjson.JSONEncodeError


def _plain(v: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> bool:
    """True when every value inside the container is of a type orjson prints as JCS does.

    Only floats need a value check here: orjson itself refuses unsafe integers and
    non-string keys, and key order is checked on the output. Recursive (cheaper than an
    explicit stack in CPython 3.11); a too-deep or cyclic value ends in RecursionError,
    which sends it to the reference encoder.
    """
    for x in v.values() if type(v) is dict else v:
        tx = type(x)
        if tx is str or tx is int or tx is bool or x is None:
            continue
        if tx is dict or tx is list or tx is tuple:
            if not _plain(x):
                return False
        elif tx is not float or not 1e-5 <= abs(x) < 1e15 or x.is_integer():
            return False
    return True


def _keys_ascii(value: Any) -> bool:
    """True when every dict key inside `value` is ASCII (JCS and orjson order agree)."""
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is dict:
            if not "".join(v).isascii():
                return False
            stack.extend(v.values())
        elif t is list or t is tuple:
            stack.extend(v)
    return True


def _fast_path(value: Any) -> bytes | None:
    """orjson's bytes for `value` when they are provably the RFC 8785 bytes, else None."""
    t = type(value)
    try:
        if not _plain(value if t is dict or t is list or t is tuple else (value,)):
            return None
        out = orjson.dumps(value, option=_OPT)
    except (_EncodeError, RecursionError):
        return None
    # An all-ASCII output has only ASCII keys; otherwise look at the keys themselves.
    return out if out.isascii() or _keys_ascii(value) else None


def _fast_ok(value: Any) -> bool:
    """True when `value` takes the fast path (for tests)."""
    return _fast_path(value) is not None


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value; DistillguardError if not JSON."""
    out = _fast_path(value)
    if out is not None:
        return out
    try:
        return rfc8785.dumps(value)
    except Exception as exc:  # rfc8785 raises its own error classes and TypeError
        raise DistillguardError(f"record is not canonical JSON: {exc}") from None


def canonical_json_slow(value: Any) -> bytes:
    """The reference encoding (always `rfc8785`), used by tests and auditors' tools."""
    try:
        return rfc8785.dumps(value)
    except Exception as exc:
        raise DistillguardError(f"record is not canonical JSON: {exc}") from None
