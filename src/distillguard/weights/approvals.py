"""Cryptographically attributable transfer approvals (Ed25519).

Why: "two different approvers" checked by name is only as strong as whoever types
`--as`. Here an approver is a public key registered by an admin (`wt_approvers`), and an
approval is that key's Ed25519 signature over the canonical transfer request: id, model
(root digest and the digest of every registered artifact), recipient and its public key,
destination, end use, purpose, the rules' decision, the licence number, the approver's
verdict and the approval time. Packaging re-builds that statement from the registry and
counts only approvals whose signature verifies against a registered, unrevoked key, from
distinct approvers and distinct keys, none of them the requester's or registered by the
requester; a request edited after approval no longer matches what was signed. The
statements and signatures travel in the package and the ledger, so the recipient and an
auditor can verify them with nothing but the approvers' public keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from distillguard.errors import DistillguardError, VerificationError
from distillguard.store import Database
from distillguard.weights.registry import iso, now, parse_iso

STATEMENT_TYPE = "distillguard.weights.transfer_approval/v1"
MAX_CLOCK_SKEW = timedelta(minutes=10)  # how far an approval's own time may be from ours


def generate_keypair() -> tuple[bytes, bytes]:
    """A new Ed25519 approver key: (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    key = ed25519.Ed25519PrivateKey.generate()
    priv = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    return priv, public_pem(key.public_key())


def public_pem(pub: ed25519.Ed25519PublicKey) -> bytes:
    return pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public(pem: bytes | str) -> ed25519.Ed25519PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        pub = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise DistillguardError(f"not a PEM public key: {exc}") from None
    if not isinstance(pub, ed25519.Ed25519PublicKey):
        raise DistillguardError("an approver key must be an Ed25519 public key")
    return pub


def load_private(pem: bytes) -> ed25519.Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise DistillguardError(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise DistillguardError("an approver key must be an Ed25519 private key")
    return key


def key_id(pub: ed25519.Ed25519PublicKey) -> str:
    """`ed25519:` + sha256 of the raw 32-byte public key (hex): the same key, the same id."""
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()


def canonical(obj: dict[str, Any]) -> bytes:
    """The signed bytes: JSON, sorted keys, no spaces, ASCII only (no ambiguity)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def artifacts_digest(artifacts: list[dict[str, Any]]) -> str:
    rows = sorted((str(a["path"]), str(a["sha256"]), int(a["size"])) for a in artifacts)
    return hashlib.sha256(canonical({"artifacts": rows})).hexdigest()


@dataclass(frozen=True)
class SignedApproval:
    approver: str
    key_id: str
    approved_at: str
    statement: bytes  # canonical JSON, exactly as signed
    signature: bytes

    def to_json(self, public_key_pem: str | None = None) -> dict[str, Any]:
        out = {
            "approver": self.approver,
            "key_id": self.key_id,
            "approved_at": self.approved_at,
            "statement": self.statement.decode(),
            "signature": base64.b64encode(self.signature).decode(),
        }
        if public_key_pem is not None:
            out["public_key"] = public_key_pem
        return out


def sign(private_pem: bytes, statement: dict[str, Any]) -> SignedApproval:
    key = load_private(private_pem)
    kid = key_id(key.public_key())
    if statement.get("approver_key") != kid:
        raise DistillguardError("the statement names another approver key than the one signing")
    data = canonical(statement)
    return SignedApproval(
        str(statement["approver"]), kid, str(statement["approved_at"]), data, key.sign(data)
    )


def signature_valid(public_key_pem: str, data: bytes, signature: bytes) -> bool:
    try:
        load_public(public_key_pem).verify(signature, data)
    except InvalidSignature:
        return False
    return True


# -- the approver registry ------------------------------------------------------------------


class Approvers:
    """Registered approver keys (table `wt_approvers`); rows are revoked, never deleted."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, name: str, public_key_pem: str, *, added_by: str) -> str:
        name = name.strip()
        if not name:
            raise DistillguardError("an approver needs a name")
        if name == added_by:
            raise DistillguardError(
                "an admin cannot register an approver key for themselves; another admin must"
            )
        pub = load_public(public_key_pem)
        kid = key_id(pub)
        row = self.get(kid)
        if row is not None:
            raise DistillguardError(
                f"key {kid} is already registered to {row['name']}"
                + (" (revoked; a revoked key cannot come back)" if row["revoked_at"] else "")
            )
        self.db.execute(
            "INSERT INTO wt_approvers (key_id, name, public_key, added_by, added_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (kid, name, public_pem(pub).decode(), added_by, iso(now())),
        )
        return kid

    def get(self, kid: str) -> dict[str, Any] | None:
        return self.db.query_one("SELECT * FROM wt_approvers WHERE key_id = ?", (kid,))

    def all(self) -> list[dict[str, Any]]:
        return self.db.query("SELECT * FROM wt_approvers ORDER BY name, added_at")

    def keys_of(self, name: str) -> set[str]:
        """Every key ever registered to `name` (revoked too: still theirs)."""
        rows = self.db.query("SELECT key_id FROM wt_approvers WHERE name = ?", (name,))
        return {str(r["key_id"]) for r in rows}

    def revoke(self, name_or_key: str, *, by: str) -> list[str]:
        rows = self.db.query(
            "SELECT key_id FROM wt_approvers WHERE (key_id = ? OR name = ?) AND revoked_at IS NULL",
            (name_or_key, name_or_key),
        )
        if not rows:
            raise DistillguardError(f"no active approver key or approver named {name_or_key!r}")
        for r in rows:
            self.db.execute(
                "UPDATE wt_approvers SET revoked_by = ?, revoked_at = ? WHERE key_id = ?",
                (by, iso(now()), r["key_id"]),
            )
        return [str(r["key_id"]) for r in rows]


# -- checks -----------------------------------------------------------------------------------


def check_fresh(approved_at: str) -> datetime:
    """An approval's time must be parseable and close to now (no back- or forward-dating)."""
    try:
        t = parse_iso(approved_at)
    except ValueError:
        raise VerificationError(f"approval time {approved_at!r} is not an ISO time") from None
    if t.tzinfo is None or abs(t - now()) > MAX_CLOCK_SKEW:
        raise VerificationError(
            f"approval time {approved_at} is not within {MAX_CLOCK_SKEW} of now; re-sign"
        )
    return t


def count_valid(
    approvals: list[dict[str, Any]],
    expected: dict[str, bytes],
    *,
    requester: str,
    requester_keys: set[str],
    approvers: dict[str, dict[str, Any]],
) -> tuple[list[str], list[str]]:
    """Which approvals count; returns (approver names counted, reasons for the rest).

    `approvals`: rows with approver, key_id, statement (str), signature (b64).
    `expected`: approver name -> the statement the registry says they must have signed.
    `approvers`: key id -> registered approver row (name, public_key, added_by, revoked_at).
    """
    counted: list[str] = []
    seen_keys: set[str] = set()
    problems: list[str] = []
    for a in approvals:
        who, kid = str(a.get("approver")), str(a.get("key_id"))
        reg = approvers.get(kid)
        why = None
        if reg is None:
            why = f"{who}: key {kid[:24]} is not a registered approver key"
        elif reg["revoked_at"]:
            why = f"{who}: approver key {kid[:24]} was revoked at {reg['revoked_at']}"
        elif reg["name"] != who:
            why = f"{who}: key {kid[:24]} is registered to {reg['name']}, not {who}"
        elif who == requester or kid in requester_keys:
            why = f"{who}: self-approval (the requester's own key) does not count"
        elif reg["added_by"] == requester:
            why = f"{who}: key registered by the requester ({requester}) does not count"
        elif kid in seen_keys or who in counted:
            why = f"{who}: the same approver or key counted twice"
        elif (stmt := str(a.get("statement", "")).encode()) != expected.get(who):
            why = f"{who}: signed a different request (it changed after approval, or is another)"
        else:
            try:
                sig = base64.b64decode(str(a.get("signature", "")), validate=True)
            except ValueError:
                sig = b""
            if not signature_valid(str(reg["public_key"]), stmt, sig):
                why = f"{who}: signature does not verify with key {kid[:24]}"
        if why:
            problems.append(why)
        else:
            counted.append(who)
            seen_keys.add(kid)
    return counted, problems


def verify_package_approvals(
    meta: dict[str, Any], trusted_keys: set[str] | None = None
) -> list[str]:
    """Recipient/auditor side: the package's approvals, checked with their own keys only.

    Each statement must name this transfer, model root digest and recipient, its
    signature must verify with the public key shipped beside it (whose id must match),
    and at least `required_approvals` distinct approvers and keys must remain, none the
    requester. `trusted_keys` (key ids obtained out of band) restricts which keys count.
    Returns "name (key id)" for each counted approval; raises VerificationError otherwise.
    """
    counted: list[str] = []
    names: set[str] = set()
    kids: set[str] = set()
    problems: list[str] = []
    for a in meta.get("approvals") or []:
        if not isinstance(a, dict):
            raise VerificationError("package approvals are malformed")
        try:
            stmt = json.loads(a["statement"])
            pub = load_public(a["public_key"])
            sig = base64.b64decode(a["signature"], validate=True)
        except (KeyError, TypeError, ValueError, DistillguardError):
            problems.append("a malformed approval entry")
            continue
        kid = key_id(pub)
        who = stmt.get("approver")
        checks = [
            (canonical(stmt) == a["statement"].encode(), "statement is not canonical"),
            (stmt.get("type") == STATEMENT_TYPE, "not a transfer approval statement"),
            (stmt.get("verdict") == "approve", "not an approval"),
            (kid == a.get("key_id") == stmt.get("approver_key"), "key id mismatch"),
            (stmt.get("transfer") == meta.get("transfer"), "statement is for another transfer"),
            ((stmt.get("model") or {}).get("root_digest") == meta.get("root_digest"),
             "statement is for other model files"),
            ((stmt.get("recipient") or {}).get("org") == (meta.get("recipient") or {}).get("org"),
             "statement names another recipient"),
            (stmt.get("licence_ref") == meta.get("licence_ref"), "licence number differs"),
            (who != stmt.get("requested_by"), "self-approval"),
            (trusted_keys is None or kid in trusted_keys, "key not among the trusted keys"),
            (who not in names and kid not in kids, "same approver or key twice"),
        ]  # fmt: skip
        failed = [msg for ok, msg in checks if not ok]
        if not failed:
            try:
                pub.verify(sig, a["statement"].encode())
            except InvalidSignature:
                failed.append("signature does not verify")
        if failed:
            problems.append(f"{who}: {'; '.join(failed)}")
            continue
        names.add(str(who))
        kids.add(kid)
        counted.append(f"{who} ({kid[:24]})")
    need = int(meta.get("required_approvals") or 2)
    if len(counted) < need:
        detail = f": {'; '.join(problems)}" if problems else ""
        raise VerificationError(
            f"package carries {len(counted)} valid approval(s), {need} required{detail}"
        )
    return counted
