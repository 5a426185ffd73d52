"""C2SP signed notes and tlog checkpoints, with Ed25519 (signature type 0x01).

Formats (c2sp.org/signed-note, c2sp.org/tlog-checkpoint):
- note: text ending in a newline, a blank line, then lines `— <key name> <base64(key ID
  || signature)>`; the Ed25519 signature covers the text including its final newline.
- key ID: the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || 32-byte public key).
- verifier key (for auditors' tools): `<name>+<key ID hex>+<base64(0x01 || public key)>`.
- checkpoint text: origin line, tree size in decimal, base64 root hash, then optional
  extension lines (we write none and ignore any we read).
The key name of our checkpoints is the log's origin, as the C2SP ecosystem does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from distillguard.errors import DistillguardError, VerificationError

ED25519 = 0x01
_DASH = "\u2014 "


def _check_name(name: str) -> None:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        shown = repr(name[:40]) + ("..." if len(name) > 40 else "")
        raise DistillguardError(f"invalid note key name {shown}: no spaces, '+' or control chars")


def raw_public_key(pub: Ed25519PublicKey) -> bytes:
    return pub.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, pub: Ed25519PublicKey) -> bytes:
    """The 4-byte signed-note key ID of an Ed25519 key under `name`."""
    material = name.encode() + b"\n" + bytes([ED25519]) + raw_public_key(pub)
    return hashlib.sha256(material).digest()[:4]


def verifier_key(name: str, pub: Ed25519PublicKey) -> str:
    """The note verifier key string `<name>+<hex id>+<base64(0x01||pub)>`."""
    _check_name(name)
    blob = base64.b64encode(bytes([ED25519]) + raw_public_key(pub)).decode()
    return f"{name}+{key_id(name, pub).hex()}+{blob}"


def parse_verifier_key(vkey: str) -> tuple[str, Ed25519PublicKey]:
    """Parse a verifier key string; DistillguardError if malformed or its ID is wrong."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise DistillguardError("malformed verifier key: expected <name>+<id>+<key>")
    name, hex_id, blob = parts
    _check_name(name)
    try:
        raw = base64.b64decode(blob, validate=True)
        kid = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise DistillguardError("malformed verifier key: bad hex or base64") from None
    if len(kid) != 4 or len(raw) != 33 or raw[0] != ED25519:
        raise DistillguardError("malformed verifier key: not an Ed25519 key")
    pub = Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_id(name, pub) != kid:
        raise DistillguardError("malformed verifier key: key ID does not match the key")
    return name, pub


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """A signed note over `text` (which must end in a newline) with one signature."""
    _check_name(name)
    if not text.endswith("\n") or "\n\n" in text:
        raise DistillguardError("note text must end in a newline and contain no blank line")
    sig = key.sign(text.encode())
    blob = base64.b64encode(key_id(name, key.public_key()) + sig).decode()
    return f"{text}\n{_DASH}{name} {blob}\n"


def open_note(note: str, name: str, pub: Ed25519PublicKey) -> str:
    """Verify a note signed by (`name`, `pub`) and return its text; VerificationError if not."""
    if not note.endswith("\n"):
        raise VerificationError("signed note is truncated (no final newline)")
    split = note.rfind("\n\n")
    if split < 0:
        raise VerificationError("not a signed note: no blank line before the signatures")
    text, sig_block = note[: split + 1], note[split + 2 :]
    want_id = key_id(name, pub)
    found_name = False
    for line in sig_block.splitlines():
        if not line.startswith(_DASH):
            raise VerificationError(f"malformed signature line {line[:40]!r}")
        try:
            line_name, blob = line[len(_DASH) :].rsplit(" ", 1)
            raw = base64.b64decode(blob, validate=True)
        except (ValueError, binascii.Error):
            raise VerificationError(f"malformed signature line {line[:40]!r}") from None
        if line_name != name:
            continue
        found_name = True
        if len(raw) < 5 or raw[:4] != want_id:
            continue
        try:
            pub.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise VerificationError(f"bad signature by {name} on the note") from None
        return text
    if found_name:
        raise VerificationError(f"note is signed by another key named {name} (key ID differs)")
    raise VerificationError(f"note carries no signature by {name}")


@dataclass(frozen=True)
class Checkpoint:
    """A parsed checkpoint body: origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint_text(text: str) -> Checkpoint:
    """Parse checkpoint note text (already verified); DistillguardError if malformed."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise VerificationError("malformed checkpoint: fewer than three lines")
    origin, size_s, root_s = lines[0], lines[1], lines[2]
    if not origin or not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
        raise VerificationError("malformed checkpoint: bad origin or tree size line")
    try:
        root = base64.b64decode(root_s, validate=True)
    except binascii.Error:
        raise VerificationError("malformed checkpoint: root hash is not base64") from None
    if len(root) != 32:
        raise VerificationError("malformed checkpoint: root hash is not 32 bytes")
    return Checkpoint(origin, int(size_s), root)


def note_origin(note: str) -> str:
    """The first line of a note (the checkpoint origin), without verifying anything."""
    return note.split("\n", 1)[0]


def open_checkpoint(note: str, pub: Ed25519PublicKey, origin: str | None = None) -> Checkpoint:
    """Verify a signed checkpoint (key name = origin) and parse it.

    With `origin`, a checkpoint of another log is rejected before any signature check.
    """
    first = note_origin(note)
    if origin is not None and first != origin:
        raise VerificationError(f"checkpoint is for log {first!r}, not {origin!r}")
    _check_name(first)
    text = open_note(note, first, pub)
    return parse_checkpoint_text(text)


def sign_checkpoint(cp: Checkpoint, key: Ed25519PrivateKey) -> str:
    return sign_note(cp.text(), cp.origin, key)
