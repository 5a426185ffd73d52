"""Canonical record bytes: RFC 8785 (JSON Canonicalization Scheme).

A Merkle leaf commits to bytes, so a record must have exactly one byte encoding. We use
RFC 8785 (JCS); the pinned `rfc8785` package is the reference implementation. It costs
about 40 µs for a typical decision record, which alone would cap appends near 25,000/s,
so records inside a proven-equal subset take a fast path through `orjson` with sorted
keys (about 1 µs): dict keys all ASCII (JCS sorts by UTF-16 code units, orjson by code
points; the orders agree on ASCII), integers inside the IEEE-754 safe range, and floats
that are finite, non-integral and between 1e-5 and 1e15 in magnitude (where ECMAScript
and orjson number formatting agree). Strings need no check: orjson and JCS escape every
code point the same way. Anything else (other floats, non-ASCII keys, big integers,
unsupported types) goes to `rfc8785`, which either encodes it or rejects it. The test
suite checks the fast path byte-for-byte against `rfc8785` with hypothesis.
"""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785

from distillguard.errors import DistillguardError

_MAX_SAFE_INT = 2**53 - 1


def _scalar_ok(v: Any, t: type) -> bool:
    if t is int:
        return bool(-_MAX_SAFE_INT <= v <= _MAX_SAFE_INT)
    if t is float:
        a = abs(v)
        return bool(1e-5 <= a < 1e15 and not v.is_integer())
    return False


def _fast_ok(value: Any) -> bool:
    """True when orjson with sorted keys produces the RFC 8785 bytes for `value`.

    Iterative, with the common scalar types tested inline: this check runs for every
    record on the caller's thread.
    """
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is dict:
            try:
                if not "".join(v).isascii():
                    return False
            except TypeError:  # a non-string key
                return False
            children = v.values()
        elif t is list or t is tuple:
            children = v
        else:
            children = (v,)
        for x in children:
            tx = type(x)
            if tx is str or x is None or tx is bool:
                continue
            if tx is dict or tx is list or tx is tuple:
                stack.append(x)
            elif not _scalar_ok(x, tx):
                return False
    return True


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of a JSON value; DistillguardError if not JSON."""
    if _fast_ok(value):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
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
