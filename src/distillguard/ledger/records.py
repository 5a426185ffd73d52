"""Record envelopes and salted payload commitments.

A stored record (a Merkle leaf) is the RFC 8785 canonical JSON of
`{"index": i, "record": <caller's JSON object>, "time": "<RFC 3339 UTC>"}`. The index
inside the leaf makes a moved, swapped or renumbered record detectable on its own; the
time is when the ledger accepted the record. Because the caller's record is already
canonical and the other members are plain ASCII, the envelope is assembled by byte
concatenation in JCS member order (index < record < time), equal to encoding it whole.

Commitments: digest = SHA-256(salt || payload) with a fresh 32-byte salt. The salt is
kept beside the raw payload, under retention, so that a low-entropy payload (a short
prompt) cannot be confirmed by guessing from the digest alone; deleting the payload and
salt leaves the commitment, and the tree, intact.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from typing import Any

import orjson

from distillguard.errors import DistillguardError

COMMIT_ALG = "sha256-salted"


class _RandomPool:
    """`os.urandom` bytes fetched 16 KiB at a time for salts and payload ids.

    One getrandom call per payload cost about 1.4 µs on the shared machine; the bytes are
    the same CSPRNG output, handed out once each. A salt is stored beside its payload
    anyway, so holding upcoming salts in memory exposes nothing the database does not.
    A forked child drops the parent's buffer, so the two never hand out the same bytes.
    """

    CHUNK = 16384

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._buf = b""
        self._pos = 0

    def take(self, n: int) -> bytes:
        with self._lock:
            pos = self._pos
            if pos + n > len(self._buf):
                self._buf = os.urandom(max(self.CHUNK, n))
                pos = 0
            self._pos = pos + n
            return self._buf[pos : pos + n]


_random_pool = _RandomPool()
os.register_at_fork(after_in_child=_random_pool._reset)
random_bytes = _random_pool.take


_stamp_cache: tuple[int, bytes] = (-1, b"")


def now_stamp(ts: float | None = None) -> bytes:
    """UTC time with microseconds as ASCII bytes, e.g. b"2026-11-28T00:01:02.123456Z"."""
    global _stamp_cache
    if ts is None:  # integer arithmetic on the clock: this runs once per record
        secs, micros = divmod(time.time_ns() // 1000, 1_000_000)
    else:
        secs = int(ts)
        micros = round((ts - secs) * 1_000_000)
        if micros == 1_000_000:
            secs, micros = secs + 1, 0
    cached_secs, prefix = _stamp_cache
    if cached_secs != secs:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(secs)).encode()
        _stamp_cache = (secs, prefix)
    return b"%s%06dZ" % (prefix, micros)


def now_rfc3339(ts: float | None = None) -> str:
    return now_stamp(ts).decode()


ENVELOPE = b'{"index":%d,"record":%s,"time":"%s"}'


def envelope(index: int, canonical_record: bytes, stamp: bytes) -> bytes:
    """The canonical leaf bytes for a record already in canonical form."""
    return ENVELOPE % (index, canonical_record, stamp)


def parse_envelope(body: bytes) -> dict[str, Any]:
    """Decode a stored leaf; DistillguardError when it is not an envelope object."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DistillguardError(f"stored record is not JSON: {exc}") from None
    if not isinstance(obj, dict) or set(obj) != {"index", "record", "time"}:
        raise DistillguardError("stored record is not a ledger envelope")
    return obj


def commit(payload: bytes, salt: bytes) -> str:
    """Hex digest of the salted commitment."""
    h = hashlib.sha256(salt)
    h.update(payload)  # no concatenated copy of a large payload
    return h.hexdigest()


def check_commitment(commitment: dict[str, Any], payload: bytes, salt: bytes) -> bool:
    """True when (payload, salt) opens the commitment."""
    if commitment.get("alg") != COMMIT_ALG:
        raise DistillguardError(f"unknown commitment algorithm {commitment.get('alg')!r}")
    return hmac.compare_digest(str(commitment.get("digest", "")), commit(payload, salt))
