"""Authorised transfers of weights: request, decide, approve twice, package, receive.

Why this shape: under ECCN 4E091 the end user's headquarters and its ultimate parent's
headquarters matter as much as the destination, denied parties are never eligible, and
a transfer of controlled weights is a decision two people must own. A request is decided
by the rule pack's "transfer" domain (no licence needed / licence exception and which /
licence required / prohibited) with the recipient's screening status; controlled weights
need two approvers other than the requester (each with a live `transfer_approve` grant),
and a licence number when the rules require a licence. The package holds the files
encrypted with fresh data keys wrapped to the recipient's public key (X25519 or RSA-OAEP)
and a model-signing signature of the plaintext; `receive` decrypts into a staging folder
and renames it into place only when the signature verifies. Every step goes to the ledger.
"""

from __future__ import annotations

import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from distillguard.errors import DistillguardError, VerificationError
from distillguard.weights import deps, keys, signing, vault
from distillguard.weights.registry import iso, new_id, now
from distillguard.weights.service import WeightsService

PACKAGE_FORMAT = "distillguard-weights-package/v1"


@dataclass(frozen=True)
class Recipient:
    org: str
    hq_country: str
    destination_country: str
    parent_hq_country: str | None = None
    public_key_pem: str = ""

    def validated(self) -> Recipient:
        if not self.org.strip():
            raise DistillguardError("the recipient organisation must be named")
        if not self.public_key_pem:
            raise DistillguardError("the recipient's public key (X25519 or RSA) is required")
        keys.load_public_key(self.public_key_pem.encode())
        hq = deps.check_country(self.hq_country, "recipient headquarters")
        dest = deps.check_country(self.destination_country, "destination")
        if hq is None or dest is None:
            raise DistillguardError("recipient headquarters and destination country are required")
        return Recipient(
            self.org.strip(), hq, dest,
            deps.check_country(self.parent_hq_country, "ultimate parent headquarters"),
            self.public_key_pem,
        )  # fmt: skip


class _RecipientWrap:
    """A KeyProvider that can only wrap, to one recipient public key."""

    def __init__(self, pem: bytes) -> None:
        self.pem = pem
        self.name = "recipient"

    def current_kek_id(self) -> str:
        return keys.public_key_id(self.pem)

    def wrap(self, dek: bytes, context: bytes) -> keys.WrappedKey:
        return keys.wrap_for_recipient(dek, self.pem, context)

    def unwrap(self, wrapped: keys.WrappedKey, context: bytes) -> bytes:
        raise DistillguardError("only the recipient can unwrap a transfer key")


class Transfers:
    def __init__(self, svc: WeightsService) -> None:
        self.svc = svc
        self.db = svc.db

    def request(
        self, spec: str, recipient: Recipient, *, end_use: str, purpose: str, requested_by: str,
        gpu_count: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        rcp = recipient.validated()
        if not end_use.strip() or not purpose.strip():
            raise DistillguardError("a transfer request needs an end use and a purpose")
        ref = self.svc.reg.resolve(spec)
        if not self.svc.reg.has_grant(ref, requested_by, "transfer_request"):
            raise DistillguardError(f"{requested_by} has no live 'transfer_request' grant")
        c, _ = self.svc.classify(spec, trigger="transfer_request")
        us = c.get("us_4e091")
        screen = self.svc.screener.screen(rcp.org, rcp.hq_country)
        ctx = {
            "model": {"name": ref.model, "training_flop": c.total_flop, "published": c.published},
            "recipient": {
                "org": rcp.org, "hq_country": rcp.hq_country,
                "parent_hq_country": rcp.parent_hq_country,
                "destination_country": rcp.destination_country,
                "screening_status": screen.status,
            },
            "end_use": end_use, "purpose": purpose, "gpu_count": gpu_count,
        }  # fmt: skip
        d = deps.decide_transfer(self.svc.engine, ctx)
        controlled = us.status == "controlled"
        status = "prohibited" if d.action == "prohibited" else "pending"
        tid = new_id("trf")
        decision = d.to_dict() | {"controlled": controlled}
        request = {k: v for k, v in ctx.items() if k != "model"} | {
            "public_key_pem": rcp.public_key_pem,
            "model": f"{ref.model}@{ref.version}",
        }
        with self.db.transaction():  # the ledger record commits with the row, or neither
            self.db.execute(
                "INSERT INTO wt_transfers (id, version_id, requested_by, requested_at, request, "
                "screening, decision, required_approvals, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (tid, ref.version_id, requested_by, iso(now()), json.dumps(request),
                 json.dumps(screen.__dict__), json.dumps(decision), 2 if controlled else 1,
                 status),
            )  # fmt: skip
            self.svc.audit.record(
                "transfer_request", transfer=tid, model=ref.model, version=ref.version,
                actor=requested_by, recipient=ctx["recipient"], end_use=end_use,
                purpose=purpose, screening=screen.__dict__, decision=d.action,
                exception=d.exception, rules=d.rule_ids, pack_hash=d.pack_hash,
            )  # fmt: skip
        return self.get(tid)

    def get(self, tid: str) -> dict[str, Any]:
        row = self.db.query_one("SELECT * FROM wt_transfers WHERE id = ?", (tid,))
        if row is None:
            raise DistillguardError(f"no transfer {tid}")
        for k in ("request", "screening", "decision"):
            row[k] = json.loads(row[k])
        row["approvals"] = [
            r["approver"]
            for r in self.db.query(
                "SELECT approver FROM wt_approvals WHERE transfer_id = ? ORDER BY approved_at",
                (tid,),
            )
        ]
        return row

    def list(self) -> list[dict[str, Any]]:
        return [self.get(r["id"]) for r in self.db.query(
            "SELECT id FROM wt_transfers ORDER BY requested_at")]  # fmt: skip

    def approve(self, tid: str, approver: str, *, licence_ref: str | None = None) -> dict[str, Any]:
        t = self.get(tid)
        action = t["decision"]["action"]
        if t["status"] == "prohibited":
            raise DistillguardError(f"transfer {tid} is prohibited by rule; it cannot be approved")
        if t["status"] != "pending":
            raise DistillguardError(f"transfer {tid} is {t['status']}, not pending approval")
        if approver == t["requested_by"]:
            raise DistillguardError("self-approval refused: the requester cannot approve")
        if approver in t["approvals"]:
            raise DistillguardError(f"{approver} has already approved {tid}; a second person must")
        ref = self.svc.reg.resolve(t["request"]["model"])
        if not self.svc.reg.has_grant(ref, approver, "transfer_approve"):
            raise DistillguardError(f"{approver} has no live 'transfer_approve' grant")
        if action == "licence_required" and not (licence_ref or t["licence_ref"]):
            raise DistillguardError(
                f"the rules require a licence for {tid}; give the licence number (--licence)"
            )
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO wt_approvals (transfer_id, approver, approved_at) VALUES (?, ?, ?)",
                (tid, approver, iso(now())),
            )
            if licence_ref:
                self.db.execute(
                    "UPDATE wt_transfers SET licence_ref = ? WHERE id = ?", (licence_ref, tid)
                )
            if len(t["approvals"]) + 1 >= int(t["required_approvals"]):
                self.db.execute("UPDATE wt_transfers SET status = 'approved' WHERE id = ?", (tid,))
            self.svc.audit.record(
                "transfer_approve", transfer=tid, actor=approver, licence_ref=licence_ref
            )
        return self.get(tid)

    def package(
        self, tid: str, model_dir: Path, out_dir: Path, *, signing_key: Path, actor: str,
        chunk_size: int = vault.DEFAULT_CHUNK,
    ) -> Path:  # fmt: skip
        """Build the encrypted, signed package of an approved transfer."""
        t = self.get(tid)
        if t["status"] not in ("approved", "packaged"):
            raise DistillguardError(f"transfer {tid} is {t['status']}; only approved ones package")
        ref = self.svc.reg.resolve(t["request"]["model"])
        registered = {a["path"]: a["sha256"] for a in self.svc.reg.artifacts(ref)}
        if out_dir.exists():
            raise DistillguardError(f"{out_dir} already exists; refusing to overwrite it")
        staging = out_dir.with_name(f".{out_dir.name}.{secrets.token_hex(4)}.part")
        (staging / "payload").mkdir(parents=True)
        try:
            sig = signing.sign_model(model_dir, staging / "manifest.sig", private_key=signing_key)
            actual = {f.path: f.sha256 for f in sig.manifest.files}
            if actual != registered:
                diff = sorted(set(actual.items()) ^ set(registered.items()))
                raise DistillguardError(
                    f"{model_dir} is not the registered {ref}: differs in "
                    f"{', '.join(sorted({p for p, _ in diff})[:5])}"
                )
            wrap = _RecipientWrap(t["request"]["public_key_pem"].encode())
            files = []
            for i, f in enumerate(sig.manifest.files):
                src = model_dir if f.path == "." else model_dir / f.path
                blob = f"payload/f{i:05d}.dgv"
                vault.encrypt_file(src, staging / blob, wrap, chunk_size=chunk_size)
                files.append({"path": f.path, "blob": blob, "size": f.size, "sha256": f.sha256})
            pub = _public_pem(signing_key)
            meta = {
                "format": PACKAGE_FORMAT, "transfer": tid, "model": ref.model,
                "version": ref.version, "root_digest": sig.manifest.root_digest,
                "recipient": t["request"]["recipient"], "decision": t["decision"]["action"],
                "licence_exception": t["decision"].get("exception"),
                "licence_ref": t["licence_ref"], "approvals": t["approvals"],
                "files": files, "signer_public_key": pub, "created_at": iso(now()),
            }  # fmt: skip
            (staging / "transfer.json").write_text(json.dumps(meta, indent=1))
            where = str(out_dir.resolve())
            with self.db.transaction():  # registry, ledger and the package appear together
                self.db.execute(
                    "UPDATE wt_transfers SET status = 'packaged', package = ? WHERE id = ?",
                    (where, tid),
                )
                self.svc.reg.add_custody(
                    ref, where, storage="transfer-package", encrypted=True,
                    key_holder=f"recipient:{t['request']['recipient']['org']}",
                    recorded_by=actor,
                )  # fmt: skip
                self.svc.audit.record(
                    "transfer_package", transfer=tid, actor=actor, package=where,
                    root_digest=sig.manifest.root_digest, files=len(files),
                )  # fmt: skip
                staging.rename(out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return out_dir


def _public_pem(private_key: Path) -> str:
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(private_key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise DistillguardError(f"cannot load signing key {private_key}: {exc}") from None
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _safe_rel(path: str) -> PurePosixPath:
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not path:
        raise VerificationError(f"package names an unsafe path {path!r}")
    return p


def receive(
    package: Path, private_key_pem: bytes, signer_public_key: Path, out: Path
) -> signing.VerifyResult:
    """Recipient side: decrypt every file, verify the provider's signature, then publish.

    `signer_public_key` must come from the provider out of band (not from the package).
    """
    try:
        meta = json.loads((package / "transfer.json").read_text())
    except (OSError, ValueError) as exc:
        raise DistillguardError(f"{package} is not a transfer package: {exc}") from None
    if meta.get("format") != PACKAGE_FORMAT:
        raise DistillguardError(f"{package}: unsupported package format {meta.get('format')!r}")
    if out.exists():
        raise DistillguardError(f"{out} already exists; refusing to overwrite it")
    single = [f for f in meta["files"] if f["path"] == "."]
    staging = out.with_name(f".{out.name}.{secrets.token_hex(4)}.part")
    staging.mkdir(parents=True)
    try:
        for f in meta["files"]:
            rel = _safe_rel(str(f["path"]))
            blob = package / _safe_rel(str(f["blob"]))
            header = vault.read_header(blob)
            env = vault.read_envelope(vault.envelope_path(blob))
            env.check_matches(header)
            if not env.keys:
                raise VerificationError(f"{blob}: no wrapped key")
            dek = keys.unwrap_as_recipient(env.keys[0], private_key_pem, header.context())
            target = staging / "model" if single else staging / "model" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            vault.decrypt_file(blob, target, _NoKek(), dek=dek)
        model_path = staging / "model"
        result = signing.verify_model(
            model_path, package / "manifest.sig", public_key=signer_public_key
        )
        if result.root_digest != meta.get("root_digest"):
            raise VerificationError("package root digest differs from the signed manifest")
        model_path.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


class _NoKek:
    name = "none"

    def current_kek_id(self) -> str:
        return ""

    def wrap(self, dek: bytes, context: bytes) -> keys.WrappedKey:
        raise DistillguardError("no key-encryption key on the recipient side")

    def unwrap(self, wrapped: keys.WrappedKey, context: bytes) -> bytes:
        raise DistillguardError("no key-encryption key on the recipient side")
