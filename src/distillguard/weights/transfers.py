"""Authorised transfers of weights: request, decide, approve twice, package, receive.

Why this shape: under ECCN 4E091 the end user's headquarters and its ultimate parent's
headquarters matter as much as the destination, denied parties are never eligible, and
a transfer of controlled weights is a decision two people must own. A request is decided
by the rule pack's "transfer" domain (no licence needed / licence exception and which /
licence required / prohibited) with the recipient's screening status; controlled weights
need two approvers other than the requester (each with a live `transfer_approve`
grant and an Ed25519 key registered by an admin; an approval is a signature over the
canonical request, see approvals.py), and a licence number when the rules require a
licence. The package holds the files encrypted with fresh data keys wrapped to the
recipient's public key (X25519 or RSA-OAEP), a model-signing signature of the plaintext
and the signed approvals; `receive` checks the approvals, decrypts into a staging
folder and renames it into place only when the signature verifies. Every step goes to
the ledger.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from distillguard.errors import DistillguardError, VerificationError
from distillguard.weights import approvals, deps, keys, signing, vault
from distillguard.weights.registry import iso, new_id, now, parse_iso
from distillguard.weights.service import WeightsService

PACKAGE_FORMAT = "distillguard-weights-package/v2"  # v2: signed approvals


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
        row["signed_approvals"] = self.db.query(
            "SELECT approver, approved_at, key_id, statement, signature FROM wt_approvals "
            "WHERE transfer_id = ? ORDER BY approved_at, approver",
            (tid,),
        )
        row["approvals"] = [r["approver"] for r in row["signed_approvals"]]
        return row

    def all(self) -> list[dict[str, Any]]:
        return [self.get(r["id"]) for r in self.db.query(
            "SELECT id FROM wt_transfers ORDER BY requested_at")]  # fmt: skip

    def statement(
        self, tid: str, approver: str, key_id: str, approved_at: str,
        licence_ref: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The canonical request an approver signs, rebuilt from the registry each time.

        Everything the approval vouches for is in it: the model's files (root digest and
        the digest of every registered artifact), the recipient and its key, destination,
        end use, purpose, the rules' decision, the licence number, who asked and when.
        """
        t = self.get(tid)
        ref = self.svc.reg.resolve(t["request"]["model"])
        row = self.svc.reg.version_row(ref)
        req, d = t["request"], t["decision"]
        return {
            "type": approvals.STATEMENT_TYPE,
            "transfer": tid,
            "model": {
                "name": f"{ref.model}@{ref.version}",
                "root_digest": row["root_digest"],
                "artifacts_sha256": approvals.artifacts_digest(self.svc.reg.artifacts(ref)),
            },
            "recipient": req["recipient"],
            "recipient_key": keys.public_key_id(str(req["public_key_pem"]).encode()),
            "end_use": req["end_use"], "purpose": req["purpose"],
            "gpu_count": req.get("gpu_count"),
            "requested_by": t["requested_by"], "requested_at": t["requested_at"],
            "rules_decision": {
                "action": d["action"], "exception": d.get("exception"),
                "controlled": d.get("controlled"), "pack_hash": d.get("pack_hash"),
            },
            "required_approvals": int(t["required_approvals"]),
            "licence_ref": licence_ref or t["licence_ref"],
            "verdict": "approve",
            "approver": approver, "approver_key": key_id, "approved_at": approved_at,
        }  # fmt: skip

    def approve(
        self, tid: str, private_key_pem: bytes, *, actor: str | None = None,
        licence_ref: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Sign the request with an approver's Ed25519 key and submit the approval.

        The approver is whoever the key is registered to; `actor`, when given, must be
        that person (a name typed on the command line is not proof of anything).
        """
        kid = approvals.key_id(approvals.load_private(private_key_pem).public_key())
        reg = approvals.Approvers(self.db).get(kid)
        if reg is None:
            raise DistillguardError(
                f"key {kid[:24]} is not a registered approver key (an admin registers it "
                "with `weights approvers add`)"
            )
        who = str(reg["name"])
        if actor is not None and actor != who:
            raise DistillguardError(f"this key is registered to {who}, not {actor}")
        stmt = self.statement(tid, who, kid, iso(now()), licence_ref)
        return self.submit_approval(tid, approvals.sign(private_key_pem, stmt), licence_ref)

    def submit_approval(
        self, tid: str, signed: approvals.SignedApproval, licence_ref: str | None = None
    ) -> dict[str, Any]:
        """Record an approval signed elsewhere (e.g. on the approver's own machine)."""
        t = self.get(tid)
        action = t["decision"]["action"]
        approver = signed.approver
        if t["status"] == "prohibited":
            raise DistillguardError(f"transfer {tid} is prohibited by rule; it cannot be approved")
        if t["status"] != "pending":
            raise DistillguardError(f"transfer {tid} is {t['status']}, not pending approval")
        reg = approvals.Approvers(self.db).get(signed.key_id)
        if reg is None:
            raise DistillguardError(f"key {signed.key_id[:24]} is not a registered approver key")
        if reg["revoked_at"]:
            raise DistillguardError(
                f"approver key {signed.key_id[:24]} of {reg['name']} was revoked"
            )
        if reg["name"] != approver:
            raise DistillguardError(f"key {signed.key_id[:24]} is registered to {reg['name']}")
        if approver == t["requested_by"] or signed.key_id in approvals.Approvers(self.db).keys_of(
            t["requested_by"]
        ):
            raise DistillguardError("self-approval refused: the requester cannot approve")
        if reg["added_by"] == t["requested_by"]:
            raise DistillguardError(
                f"{approver}'s key was registered by the requester; it cannot approve this"
            )
        if approver in t["approvals"]:
            raise DistillguardError(f"{approver} has already approved {tid}; a second person must")
        if signed.key_id in {a["key_id"] for a in t["signed_approvals"]}:
            raise DistillguardError("this key has already approved; a second key must")
        ref = self.svc.reg.resolve(t["request"]["model"])
        if not self.svc.reg.has_grant(ref, approver, "transfer_approve"):
            raise DistillguardError(f"{approver} has no live 'transfer_approve' grant")
        if licence_ref and t["licence_ref"] and licence_ref != t["licence_ref"]:
            raise DistillguardError(
                f"{tid} already carries licence {t['licence_ref']}; approvals signed so far "
                "vouch for it, so it cannot be changed"
            )
        if action == "licence_required" and not (licence_ref or t["licence_ref"]):
            raise DistillguardError(
                f"the rules require a licence for {tid}; give the licence number (--licence)"
            )
        approvals.check_fresh(signed.approved_at)
        expected = approvals.canonical(
            self.statement(tid, approver, signed.key_id, signed.approved_at, licence_ref)
        )
        if signed.statement != expected:
            raise VerificationError(
                f"the signed statement is not this request as registered ({tid}); re-sign"
            )
        if not approvals.signature_valid(str(reg["public_key"]), expected, signed.signature):
            raise VerificationError(f"signature of {approver} does not verify; nothing recorded")
        sig_b64 = signed.to_json()["signature"]
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO wt_approvals (transfer_id, approver, approved_at, key_id, statement, "
                "signature) VALUES (?, ?, ?, ?, ?, ?)",
                (tid, approver, signed.approved_at, signed.key_id, signed.statement.decode(),
                 sig_b64),
            )  # fmt: skip
            if licence_ref:
                self.db.execute(
                    "UPDATE wt_transfers SET licence_ref = ? WHERE id = ?", (licence_ref, tid)
                )
            if len(t["approvals"]) + 1 >= int(t["required_approvals"]):
                self.db.execute("UPDATE wt_transfers SET status = 'approved' WHERE id = ?", (tid,))
            self.svc.audit.record(
                "transfer_approve", transfer=tid, actor=approver, licence_ref=licence_ref,
                key_id=signed.key_id, approved_at=signed.approved_at,
                statement=signed.statement.decode(), signature=sig_b64,
            )  # fmt: skip
        return self.get(tid)

    def verified_approvals(self, tid: str) -> list[dict[str, Any]]:
        """The approvals that count now, re-checked from scratch; raises if too few.

        The stored status is not trusted: each signature is verified against the
        statement rebuilt from the registry as it is now, with the approver's key as
        registered now (revoked keys do not count).
        """
        t = self.get(tid)
        reg = approvals.Approvers(self.db)
        rows = t["signed_approvals"]
        by_key = {str(a["key_id"]): reg.get(str(a["key_id"])) for a in rows if a["key_id"]}
        expected = {}
        for a in rows:
            if a["key_id"] and a["approver"] not in expected:
                expected[str(a["approver"])] = approvals.canonical(
                    self.statement(tid, a["approver"], a["key_id"], a["approved_at"])
                )
        counted, problems = approvals.count_valid(
            rows, expected, requester=str(t["requested_by"]),
            requester_keys=reg.keys_of(str(t["requested_by"])),
            approvers={k: v for k, v in by_key.items() if v is not None},
        )  # fmt: skip
        need = int(t["required_approvals"])
        asked = parse_iso(str(t["requested_at"]))
        ok = []
        for a in rows:
            if a["approver"] not in counted:
                continue
            if parse_iso(str(a["approved_at"])) < asked:
                problems.append(f"{a['approver']}: approval dated before the request")
            else:
                ok.append(a)
        if len(ok) < need:
            detail = f": {'; '.join(problems)}" if problems else ""
            raise VerificationError(
                f"transfer {tid} has {len(ok)} valid signed approval(s), {need} required{detail}"
            )
        return [
            {
                "approver": a["approver"], "key_id": a["key_id"],
                "approved_at": a["approved_at"], "statement": a["statement"],
                "signature": a["signature"],
                "public_key": (by_key[str(a["key_id"])] or {}).get("public_key"),
            }
            for a in ok
        ]  # fmt: skip

    def package(
        self, tid: str, model_dir: Path, out_dir: Path, *, signing_key: Path, actor: str,
        chunk_size: int = vault.DEFAULT_CHUNK,
    ) -> Path:  # fmt: skip
        """Build the encrypted, signed package of an approved transfer."""
        t = self.get(tid)
        if t["status"] not in ("approved", "packaged"):
            raise DistillguardError(f"transfer {tid} is {t['status']}; only approved ones package")
        signed = self.verified_approvals(tid)
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
                "licence_ref": t["licence_ref"], "approvals": signed,
                "required_approvals": int(t["required_approvals"]),
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
                    approvals=[(a["approver"], a["key_id"]) for a in signed],
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


@dataclass(frozen=True)
class Received:
    result: signing.VerifyResult
    approvals: list[str]  # "name (key id)" of each verified approval
    approver_keys_pinned: bool


def receive(
    package: Path, private_key_pem: bytes, signer_public_key: Path, out: Path,
    *, approver_keys: Sequence[bytes] | None = None,
) -> Received:  # fmt: skip
    """Recipient side: verify approvals, decrypt every file, verify the provider's
    signature, then publish.

    `signer_public_key` must come from the provider out of band (not from the package),
    and so should `approver_keys` (Ed25519 public keys): without them the approvals are
    checked for consistency with this package only, since whoever could alter the
    package could also add approvals signed with keys of their own.
    """
    try:
        meta = json.loads((package / "transfer.json").read_text())
    except (OSError, ValueError) as exc:
        raise DistillguardError(f"{package} is not a transfer package: {exc}") from None
    if meta.get("format") != PACKAGE_FORMAT:
        raise DistillguardError(f"{package}: unsupported package format {meta.get('format')!r}")
    if out.exists():
        raise DistillguardError(f"{out} already exists; refusing to overwrite it")
    trusted = (
        None
        if approver_keys is None
        else {approvals.key_id(approvals.load_public(k)) for k in approver_keys}
    )
    approved = approvals.verify_package_approvals(meta, trusted)
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
    return Received(result, approved, trusted is not None)


class _NoKek:
    name = "none"

    def current_kek_id(self) -> str:
        return ""

    def wrap(self, dek: bytes, context: bytes) -> keys.WrappedKey:
        raise DistillguardError("no key-encryption key on the recipient side")

    def unwrap(self, wrapped: keys.WrappedKey, context: bytes) -> bytes:
        raise DistillguardError("no key-encryption key on the recipient side")
