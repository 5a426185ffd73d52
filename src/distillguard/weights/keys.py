"""Key-encryption keys and data-key wrapping for the weight vault.

Why: RAND SL3 asks for 256-bit encryption with the keys kept apart from the data. Every
encrypted artifact has its own random 256-bit data key (DEK); only the DEK wrapped by a
key-encryption key (KEK) is stored. A `KeyProvider` owns the KEKs: the default
`LocalKeyFile` keeps them in a 0600 JSON file; an HSM (PKCS#11) or cloud KMS provider
implements the same three methods (`current_kek_id`, `wrap`, `unwrap`) by calling the
device's/KMS's Encrypt/Decrypt with `context` as the additional authenticated data
(the "encryption context" in AWS/GCP terms), so the KEK never leaves the device.
Rotation adds a KEK version and re-wraps DEKs; the encrypted data is not touched.

Transfers wrap the DEK to a recipient's public key instead (`wrap_for_recipient`):
X25519 (ephemeral ECDH + HKDF-SHA256 + AES-256-GCM) or RSA-OAEP-SHA256.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from distillguard.errors import DistillguardError, VerificationError

DEK_BYTES = 32


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise DistillguardError(f"malformed base64 value in key material: {exc}") from None


@dataclass(frozen=True)
class WrappedKey:
    """A DEK wrapped by one KEK (or one recipient public key)."""

    provider: str  # "local-file" | "x25519" | "rsa-oaep" | a KMS provider's name
    kek_id: str
    alg: str
    wrapped: bytes
    meta: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "kek_id": self.kek_id,
            "alg": self.alg,
            "wrapped": b64e(self.wrapped),
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> WrappedKey:
        try:
            return cls(
                provider=str(obj["provider"]),
                kek_id=str(obj["kek_id"]),
                alg=str(obj["alg"]),
                wrapped=b64d(str(obj["wrapped"])),
                meta={str(k): str(v) for k, v in dict(obj.get("meta") or {}).items()},
            )
        except (KeyError, TypeError) as exc:
            raise DistillguardError(f"malformed wrapped key entry: missing {exc}") from None


@runtime_checkable
class KeyProvider(Protocol):
    """Where KEKs live. Implement these for PKCS#11 or a cloud KMS."""

    name: str

    def current_kek_id(self) -> str: ...

    def wrap(self, dek: bytes, context: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, context: bytes) -> bytes: ...


def _aes_wrap(kek: bytes, dek: bytes, context: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(kek).encrypt(nonce, dek, context)


def _aes_unwrap(kek: bytes, blob: bytes, context: bytes, what: str) -> bytes:
    if len(blob) < 12 + 16:
        raise VerificationError(f"wrapped data key is truncated ({what})")
    try:
        return AESGCM(kek).decrypt(blob[:12], blob[12:], context)
    except InvalidTag:
        raise VerificationError(
            f"cannot unwrap the data key with {what}: wrong key, or the envelope does not "
            "belong to this file"
        ) from None


def write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` with mode 0600 atomically (temp file in the same dir, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class LocalKeyFile:
    """KEKs in a local JSON file readable only by its owner (mode 0600, checked on load).

    Format: {"version": 1, "current": "kek-<hex>", "keys": {"kek-<hex>": base64(32 bytes)}}.
    Old versions stay in the file so that DEKs wrapped before a rotation still unwrap
    until they are re-wrapped; `retire()` removes one once nothing uses it.
    """

    name = "local-file"

    def __init__(self, path: Path, keys: dict[str, bytes], current: str) -> None:
        self.path = path
        self._keys = keys
        self._current = current

    @classmethod
    def create(cls, path: Path) -> LocalKeyFile:
        if path.exists():
            raise DistillguardError(f"key file {path} already exists; refusing to overwrite it")
        kid = f"kek-{secrets.token_hex(8)}"
        kf = cls(path, {kid: secrets.token_bytes(32)}, kid)
        kf._save()
        return kf

    @classmethod
    def load(cls, path: Path) -> LocalKeyFile:
        try:
            st = path.stat()
        except FileNotFoundError:
            raise DistillguardError(
                f"key file {path} not found (create one with `distillguard weights keygen`)"
            ) from None
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise DistillguardError(
                f"key file {path} is readable by group or others (mode "
                f"{stat.S_IMODE(st.st_mode):o}); run `chmod 600 {path}`"
            )
        try:
            obj = json.loads(path.read_text())
            keys = {str(k): b64d(str(v)) for k, v in obj["keys"].items()}
            current = str(obj["current"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DistillguardError(f"key file {path} is malformed: {exc}") from None
        if current not in keys or any(len(v) != 32 for v in keys.values()):
            raise DistillguardError(f"key file {path} is malformed: bad current key or key size")
        return cls(path, keys, current)

    @classmethod
    def open_or_create(cls, path: Path) -> LocalKeyFile:
        return cls.load(path) if path.exists() else cls.create(path)

    def _save(self) -> None:
        obj = {
            "version": 1,
            "current": self._current,
            "keys": {k: b64e(v) for k, v in self._keys.items()},
        }
        write_private_file(self.path, json.dumps(obj, indent=1).encode())

    def current_kek_id(self) -> str:
        return self._current

    def kek_ids(self) -> list[str]:
        return list(self._keys)

    def rotate(self) -> str:
        """Add a new KEK version and make it current; returns its id."""
        kid = f"kek-{secrets.token_hex(8)}"
        self._keys[kid] = secrets.token_bytes(32)
        self._current = kid
        self._save()
        return kid

    def retire(self, kek_id: str) -> None:
        if kek_id == self._current:
            raise DistillguardError("cannot retire the current key-encryption key")
        self._keys.pop(kek_id, None)
        self._save()

    def wrap(self, dek: bytes, context: bytes) -> WrappedKey:
        blob = _aes_wrap(self._keys[self._current], dek, context)
        return WrappedKey(self.name, self._current, "A256GCM-KW", blob)

    def unwrap(self, wrapped: WrappedKey, context: bytes) -> bytes:
        kek = self._keys.get(wrapped.kek_id)
        if kek is None:
            raise VerificationError(
                f"key-encryption key {wrapped.kek_id} is not in {self.path} (wrong key file, "
                "or the key was retired)"
            )
        return _aes_unwrap(kek, wrapped.wrapped, context, f"KEK {wrapped.kek_id}")


# -- recipient (public-key) wrapping, for transfers ---------------------------------------


def _x25519_kdf(shared: bytes, eph_pub: bytes, rcpt_pub: bytes, context: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=eph_pub + rcpt_pub,
        info=b"distillguard/weights/x25519-dek-wrap/v1|" + context,
    ).derive(shared)


def public_key_id(pem: bytes) -> str:
    """A stable id for a public key: sha256 of its DER SubjectPublicKeyInfo, first 16 hex."""
    import hashlib

    pub = load_public_key(pem)
    der = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


def load_public_key(pem: bytes) -> x25519.X25519PublicKey | rsa.RSAPublicKey:
    try:
        pub = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise DistillguardError(f"not a PEM public key: {exc}") from None
    if isinstance(pub, x25519.X25519PublicKey):
        return pub
    if isinstance(pub, rsa.RSAPublicKey):
        if pub.key_size < 3072:
            raise DistillguardError(f"RSA recipient key too small ({pub.key_size} bits; >= 3072)")
        return pub
    raise DistillguardError("recipient key must be X25519 or RSA (>= 3072 bits)")


def wrap_for_recipient(dek: bytes, recipient_pem: bytes, context: bytes) -> WrappedKey:
    """Wrap a DEK so that only the holder of the recipient's private key can unwrap it."""
    pub = load_public_key(recipient_pem)
    kid = public_key_id(recipient_pem)
    if isinstance(pub, x25519.X25519PublicKey):
        eph = x25519.X25519PrivateKey.generate()
        eph_pub = eph.public_key().public_bytes_raw()
        rcpt_raw = pub.public_bytes_raw()
        kek = _x25519_kdf(eph.exchange(pub), eph_pub, rcpt_raw, context)
        return WrappedKey(
            "x25519", kid, "X25519-HKDF-SHA256-A256GCM", _aes_wrap(kek, dek, context),
            {"epk": b64e(eph_pub)},
        )  # fmt: skip
    blob = pub.encrypt(
        dek,
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=context),
    )
    return WrappedKey("rsa-oaep", kid, "RSA-OAEP-256", blob)


def unwrap_as_recipient(wrapped: WrappedKey, private_pem: bytes, context: bytes) -> bytes:
    try:
        priv = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise DistillguardError(f"cannot load the recipient private key: {exc}") from None
    if wrapped.provider == "x25519" and isinstance(priv, x25519.X25519PrivateKey):
        eph_pub = b64d(wrapped.meta.get("epk", ""))
        rcpt_raw = priv.public_key().public_bytes_raw()
        try:
            shared = priv.exchange(x25519.X25519PublicKey.from_public_bytes(eph_pub))
        except ValueError:
            raise VerificationError("malformed ephemeral key in the package") from None
        kek = _x25519_kdf(shared, eph_pub, rcpt_raw, context)
        return _aes_unwrap(kek, wrapped.wrapped, context, "this X25519 private key")
    if wrapped.provider == "rsa-oaep" and isinstance(priv, rsa.RSAPrivateKey):
        try:
            return priv.decrypt(
                wrapped.wrapped,
                padding.OAEP(
                    mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=context
                ),
            )
        except ValueError:
            raise VerificationError(
                "cannot unwrap the data key with this RSA private key (wrong key?)"
            ) from None
    raise VerificationError(
        f"the package is wrapped with {wrapped.provider}; the private key given does not match"
    )


def generate_recipient_keypair(kind: str = "x25519") -> tuple[bytes, bytes]:
    """(private PEM, public PEM) for a transfer recipient."""
    priv: x25519.X25519PrivateKey | rsa.RSAPrivateKey
    if kind == "x25519":
        priv = x25519.X25519PrivateKey.generate()
    elif kind == "rsa":
        priv = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    else:
        raise DistillguardError(f"unknown key type {kind!r}: use x25519 or rsa")
    priv_pem = priv.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub_pem = priv.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return priv_pem, pub_pem
