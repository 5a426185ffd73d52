"""Sign every generated report and record its hash in the ledger.

Why both: the Ed25519 signature shows who produced the document; the ledger entry (an
append-only Merkle log with signed checkpoints) shows when, and that the filed version was
not swapped later. The signature covers the RFC 8785 canonical bytes of the document (the
ledger's own canonicalisation), so any JSON re-serialisation verifies the same.

The ledger's signing key signs checkpoints only and is not exposed by its API; reports use
their own key, `<data_dir>/reports.key` (created 0600 on first use with the ledger's key
file handling), and publish its public key in every signed envelope.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from distillguard.errors import DistillguardError, VerificationError
from distillguard.ledger.canonical import canonical_json
from distillguard.ledger.keys import create_private_key, load_private_key, load_public_key
from distillguard.reports.store import ReportsStore, new_id
from distillguard.reports.timeutil import iso

ENVELOPE_TYPE = "distillguard.reports.signed/v1"


def default_key_path() -> Path:
    from distillguard.paths import data_dir

    return data_dir() / "reports.key"


def load_or_create_key(path: Path | None = None) -> Ed25519PrivateKey:
    p = path or default_key_path()
    return load_private_key(p) if p.exists() else create_private_key(p)


def _key_id(pem: bytes) -> str:
    return hashlib.sha256(pem).hexdigest()[:16]


def sign_and_record(
    doc: dict[str, Any],
    *,
    store: ReportsStore,
    ledger: Any,
    key: Ed25519PrivateKey | None = None,
) -> dict[str, Any]:
    """Sign `doc`, append its hash to the ledger, remember it; return the signed envelope."""
    if ledger is None:
        raise DistillguardError("a report must be recorded in the ledger: no ledger given")
    key = key or load_or_create_key()
    body = canonical_json(doc)
    digest = hashlib.sha256(body).hexdigest()
    sig = base64.b64encode(key.sign(body)).decode()
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    rid = new_id("rpt")
    record = {
        "type": "report",
        "report_id": rid,
        "kind": doc["kind"],
        "subject": doc.get("subject"),
        "sha256": digest,
        "signature": sig,
        "key_id": _key_id(pem),
    }
    index = ledger.append(record)
    store.add_report(
        {
            "id": rid,
            "kind": doc["kind"],
            "subject": doc.get("subject"),
            "created_at": iso(datetime.now(UTC)),
            "sha256": digest,
            "signature": sig,
            "key_id": record["key_id"],
            "ledger_index": index,
            "document": body.decode("utf-8"),
        }
    )
    return {
        "type": ENVELOPE_TYPE,
        "report_id": rid,
        "report": doc,
        "integrity": {
            "canonicalization": "RFC 8785 (JCS)",
            "sha256": digest,
            "alg": "Ed25519",
            "signature": sig,
            "key_id": record["key_id"],
            "public_key_pem": pem.decode(),
        },
        "ledger": {"origin": getattr(ledger, "origin", None), "index": index},
    }


def verify_envelope(
    env: dict[str, Any], *, public_key_pem: bytes | None = None, ledger: Any = None
) -> str:
    """Check a signed report: hash, signature (against a trusted key when given) and, with a
    ledger, that the ledger recorded this hash. Returns the sha256; raises VerificationError."""
    if not isinstance(env, dict) or env.get("type") != ENVELOPE_TYPE:
        raise VerificationError(f"not a signed report (expected type {ENVELOPE_TYPE})")
    integ, doc = env.get("integrity") or {}, env.get("report")
    if not isinstance(doc, dict):
        raise VerificationError("signed report has no report document")
    if not isinstance(integ, dict):
        raise VerificationError("signed report has no integrity block")
    body = canonical_json(doc)
    digest = hashlib.sha256(body).hexdigest()
    if digest != integ.get("sha256"):
        raise VerificationError("report content does not match its sha256 (changed after signing)")
    pem = public_key_pem or str(integ.get("public_key_pem", "")).encode()
    try:
        pub = load_public_key(pem)
        pub.verify(base64.b64decode(str(integ.get("signature", ""))), body)
    except (InvalidSignature, ValueError, DistillguardError) as exc:
        raise VerificationError(
            f"report signature does not verify: {str(exc) or 'bad signature or wrong key'}"
        ) from None
    if ledger is not None:
        where = env.get("ledger")
        idx = where.get("index") if isinstance(where, dict) else None
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise VerificationError("signed report names no ledger index")
        try:
            rec = ledger.get_record(idx).get("record", {})
        except DistillguardError:
            msg = f"the ledger has no record {idx}, which the report names"
            raise VerificationError(msg) from None
        if rec.get("sha256") != digest or rec.get("report_id") != env.get("report_id"):
            raise VerificationError(f"ledger record {idx} does not hold this report's hash")
    return digest
