"""The checkpoint signing key: an Ed25519 private key in a PEM file created with mode 0600.

The key is created on first use. An existing key file that others can read, or that is
not an Ed25519 key, is refused (fail closed) rather than used or replaced.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from distillguard.errors import DistillguardError


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Load an existing key file; DistillguardError if unreadable, too open or not Ed25519."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise DistillguardError(f"cannot read ledger key {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise DistillguardError(
            f"ledger key {path} is accessible by other users (mode {mode & 0o777:o}); "
            f"run: chmod 600 {path}"
        )
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        why = (
            "a public key"
            if b"PUBLIC KEY-----" in data
            else "encrypted (a key file without a passphrase is needed)"
            if b"ENCRYPTED" in data
            else "not a PEM private key"
        )
        raise DistillguardError(
            f"ledger key {path} is {why} (expected the Ed25519 signing key distillguard "
            "created there, or a path where it may create one)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise DistillguardError(f"ledger key {path} is not an Ed25519 key")
    return key


def create_private_key(path: Path) -> Ed25519PrivateKey:
    """Create a new key file (mode 0600, never overwriting an existing file)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_private_key(path)
    except OSError as exc:
        raise DistillguardError(f"cannot create ledger key {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    return key


def public_pem(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """A public key from PEM (SubjectPublicKeyInfo); DistillguardError otherwise."""
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise DistillguardError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise DistillguardError("public key is not an Ed25519 key")
    return key
