"""API key format and hashing.

A key looks like `dg_live_<43 base62 chars: 256 random bits><6 base62 chars: CRC32>`.
Why this shape: the `dg_live_` prefix lets secret scanners (GitHub push protection,
gitleaks) recognise leaked keys; the checksum lets the gateway reject typos and random
garbage without touching the database; 256 bits make guessing hopeless, so a fast hash
(SHA-256, or HMAC-SHA256 with a server-side pepper when one is configured) is the right
storage form: a slow password hash would add milliseconds to every cache miss for no gain.
Only the hash and a short display prefix are stored; the plaintext is shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import zlib

from distillguard.errors import DistillguardError

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SECRET_LEN = 43  # ceil(256 / log2(62))
_CHECK_LEN = 6  # ceil(32 / log2(62))
ENVIRONMENTS = ("live", "test")
DISPLAY_LEN = 12  # "dg_live_" + 4 characters of the secret


def _b62(n: int, width: int) -> str:
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(_ALPHABET[r])
    return "".join(reversed(out)).rjust(width, "0")


def _checksum(body: str) -> str:
    return _b62(zlib.crc32(body.encode("ascii")), _CHECK_LEN)


def generate_key(env: str = "live") -> str:
    """A new random API key for environment `live` or `test`."""
    if env not in ENVIRONMENTS:
        raise DistillguardError(f"key environment {env!r} is not one of {', '.join(ENVIRONMENTS)}")
    body = f"dg_{env}_" + _b62(secrets.randbits(256), _SECRET_LEN)
    return body + _checksum(body)


_SHAPE = re.compile(rf"dg_(?:{'|'.join(ENVIRONMENTS)})_[0-9A-Za-z]{{{_SECRET_LEN + _CHECK_LEN}}}")


def well_formed(key: str) -> bool:
    """True when `key` has our prefix, length, alphabet and a valid checksum (no I/O)."""
    if not _SHAPE.fullmatch(key):
        return False
    return hmac.compare_digest(_checksum(key[:-_CHECK_LEN]), key[-_CHECK_LEN:])


def hash_key(key: str, pepper: bytes | None = None) -> str:
    """The stored form of a key: `s1:<sha256 hex>` or, with a pepper, `h1:<hmac-sha256 hex>`."""
    data = key.encode("utf-8")
    if pepper:
        return "h1:" + hmac.new(pepper, data, hashlib.sha256).hexdigest()
    return "s1:" + hashlib.sha256(data).hexdigest()


def display_prefix(key: str) -> str:
    """What listings show of a key (never enough to use it)."""
    return key[:DISPLAY_LEN]
