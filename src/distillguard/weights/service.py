"""The weights workflows: register, classify, encrypt and decrypt under control, find copies.

Why a service over the registry: each workflow touches several stores at once (registry
rows, vault files, the compliance ledger) and must enforce policy on the way: decryption
needs a live `decrypt` grant and a destination the registry knows; a refused decryption
or a copy found where the registry expects none opens a `weight_exfiltration` incident
with its discovery time and the reporting deadlines of every regime the model falls under.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from distillguard.errors import DistillguardError
from distillguard.store import Database
from distillguard.weights import approvals, classify, deps, formats, signing, vault
from distillguard.weights.classify import Classification
from distillguard.weights.keys import KeyProvider
from distillguard.weights.registry import REVIEW_DAYS, Registry, VersionRef, iso, now

INCIDENT_KIND = "weight_exfiltration"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ComputeEntry:
    phase: str
    flop: float
    source: str
    estimated: bool = False


class WeightsService:
    """One entry point for the CLI and for other parts (e.g. the gateway's admin API)."""

    def __init__(
        self,
        db: Database,
        *,
        engine: Any | None = None,
        audit: deps.Audit | None = None,
        screener: deps.Screener | None = None,
    ) -> None:
        self.db = db
        self.reg = Registry(db)
        self._engine = engine
        self.audit = audit or deps.Audit(None)
        self._screener = screener

    @property
    def engine(self) -> Any:
        if self._engine is None:
            self._engine = deps.load_engine()
        return self._engine

    @property
    def screener(self) -> deps.Screener:
        if self._screener is None:
            self._screener = deps.default_screener(self.db)
        return self._screener

    # -- registration and classification -------------------------------------------------
    def register(
        self,
        model: str,
        version: str,
        path: Path,
        *,
        actor: str,
        published: bool = False,
        parameters: int | None = None,
        training_tokens: float | None = None,
        developer: str | None = None,
        revenue_usd: float | None = None,
        compute: Iterable[ComputeEntry] = (),
        storage: str = "local-disk",
        key_holder: str | None = None,
        workers: int | None = None,
    ) -> tuple[VersionRef, Classification]:
        """Hash and inspect every file, record artifacts, compute and the first custody entry."""
        man = signing.hash_model(path, workers=workers)
        files = []
        for f in man.files:
            full = path if f.path == "." else path / f.path
            info = formats.inspect_artifact(full)
            files.append({**f.__dict__, "format": info.format, "parameters": info.parameters})
        counted = [f["parameters"] for f in files if f["parameters"] is not None]
        if parameters is None and counted:
            parameters = int(sum(counted))
        with self.db.transaction():
            ref = self.reg.add_version(
                model, version, parameters=parameters, training_tokens=training_tokens,
                published=published, developer=developer, revenue_usd=revenue_usd,
            )  # fmt: skip
            self.reg.add_artifacts(ref, files, man.root_digest)
            for e in compute:
                self.reg.add_compute(
                    ref, e.phase, e.flop, source=e.source, recorded_by=actor,
                    estimated=e.estimated, method="estimate" if e.estimated else "measured",
                )  # fmt: skip
            encrypted = any(f["path"].endswith(".dgv") for f in files)
            self.reg.add_custody(
                ref, str(path.resolve()), storage=storage, encrypted=encrypted,
                key_holder=key_holder, recorded_by=actor,
            )  # fmt: skip
            c, _ = classify.reclassify(self.reg, self.engine, ref, "register")
            # the ledger record is written last inside the transaction: if the ledger
            # refuses, nothing is registered (fail closed, no unaudited state)
            self.audit.record(
                "register", model=model, version=version, actor=actor,
                root_digest=man.root_digest, files=len(files), bytes=man.total_bytes,
                classification=_summary(c),
            )  # fmt: skip
        return ref, c

    def add_compute(self, spec: str, entry: ComputeEntry, *, actor: str) -> Classification:
        ref = self.reg.resolve(spec)
        with self.db.transaction():
            self.reg.add_compute(
                ref, entry.phase, entry.flop, source=entry.source, recorded_by=actor,
                estimated=entry.estimated, method="estimate" if entry.estimated else "measured",
            )  # fmt: skip
            c, changed = classify.reclassify(self.reg, self.engine, ref, "ledger_change")
            self.audit.record(
                "compute", model=ref.model, version=ref.version, actor=actor,
                phase=entry.phase, flop=entry.flop, source=entry.source,
                classification=_summary(c), changed=changed,
            )  # fmt: skip
        return c

    def classify(
        self, spec: str, *, at: datetime | None = None, trigger: str = "manual"
    ) -> tuple[Classification, bool]:
        ref = self.reg.resolve(spec)
        if at is not None:  # a what-if for another date: shown, not stored in the history
            return classify.classify(self.reg, self.engine, ref, at), False
        with self.db.transaction():
            c, changed = classify.reclassify(self.reg, self.engine, ref, trigger)
            if changed:
                self.audit.record(
                    "classification", model=ref.model, version=ref.version,
                    pack_hash=c.pack_hash, trigger=trigger, classification=_summary(c),
                )  # fmt: skip
        return c, changed

    def set_published(self, spec: str, published: bool, *, actor: str) -> Classification:
        """Record that the weights were (un)published; re-classify (EAR 734.7(a))."""
        ref = self.reg.resolve(spec)
        with self.db.transaction():
            self.reg.set_published(ref, published)
            c, _ = classify.reclassify(self.reg, self.engine, ref, "published_change")
            self.audit.record(
                "published", model=ref.model, version=ref.version, published=published,
                actor=actor, classification=_summary(c),
            )  # fmt: skip
        return c

    def reclassify_all(self, trigger: str = "pack_change") -> list[tuple[str, bool]]:
        out = []
        for v in self.reg.versions():
            _, changed = self.classify(f"{v['name']}@{v['version']}", trigger=trigger)
            out.append((f"{v['name']}@{v['version']}", changed))
        return out

    # -- vault under control --------------------------------------------------------------
    def encrypt(
        self, spec: str, src: Path, dst: Path, provider: KeyProvider, *, actor: str,
        storage: str = "local-disk", **kw: Any,
    ) -> vault.EncryptResult:  # fmt: skip
        ref = self.reg.resolve(spec)
        res = vault.encrypt_file(src, dst, provider, **kw)
        holder = f"{provider.name}:{res.kek_id}"
        try:
            with self.db.transaction():
                self.db.execute(
                    "INSERT INTO wt_vault_files (file_id, version_id, artifact, location, "
                    "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (res.file_id, ref.version_id, src.name, str(dst.resolve()), actor,
                     iso(now())),
                )  # fmt: skip
                self.reg.add_custody(
                    ref, str(dst.resolve()), storage=storage, encrypted=True,
                    key_holder=holder, recorded_by=actor,
                )  # fmt: skip
                self.audit.record(
                    "encrypt", model=ref.model, version=ref.version, actor=actor,
                    file_id=res.file_id, location=str(dst.resolve()), kek=holder,
                    bytes=res.plaintext_size,
                )  # fmt: skip
        except BaseException:  # an unregistered encrypted copy must not stay behind
            dst.unlink(missing_ok=True)
            res.envelope.unlink(missing_ok=True)
            raise
        return res

    def rewrap(self, vault_file: Path, provider: KeyProvider, *, actor: str) -> None:
        """Re-wrap a vault file's data key under the current KEK; update custody; audit."""
        holder = f"{provider.name}:{provider.current_kek_id()}"
        where = str(vault_file.resolve())
        with self.db.transaction():
            self.db.execute(
                "UPDATE wt_custody SET key_holder = ? WHERE location = ? AND status = 'active'",
                (holder, where),
            )
            self.audit.record("rewrap", location=where, kek=holder, actor=actor)
            vault.rewrap(vault_file, provider)

    def _vault_version(self, src: Path) -> VersionRef:
        header = vault.read_header(src)
        row = self.db.query_one(
            "SELECT m.name, v.version FROM wt_vault_files f JOIN wt_versions v ON "
            "v.id = f.version_id JOIN wt_models m ON m.id = v.model_id WHERE f.file_id = ?",
            (header.file_id,),
        )
        if row is None:
            raise DistillguardError(
                f"{src} is not a vault file of this registry (unknown file id {header.file_id})"
            )
        return self.reg.resolve(f"{row['name']}@{row['version']}")

    def decrypt(
        self, src: Path, provider: KeyProvider, *, actor: str, dst: Path | None = None,
        stream: BinaryIO | None = None, **kw: Any,
    ) -> int:  # fmt: skip
        """Decrypt to `stream`, or to `dst` inside a registered custody location.

        Refusals (no live grant, unregistered destination) open an incident and raise.
        """
        ref = self._vault_version(src)
        where = str(dst.resolve()) if dst is not None else "<stream>"
        why = None
        if not self.reg.has_grant(ref, actor, "decrypt"):
            why = f"{actor} has no live 'decrypt' grant on {ref.model}"
        elif dst is not None and not self.reg.is_known_location(ref.version_id, dst.parent):
            why = f"destination {dst} is not a registered custody location of {ref}"
        if why:
            iid = self.open_incident(
                ref, {"event": "unauthorised_decryption_attempt", "actor": actor,
                      "source": str(src.resolve()), "destination": where, "reason": why},
            )  # fmt: skip
            raise vault.UnauthorisedDestination(f"decryption refused: {why} (incident {iid})")
        if stream is None and dst is None:
            raise DistillguardError("give a destination file or a stream to decrypt to")
        # recorded before any plaintext exists: no ledger, no decryption
        self.audit.record(
            "decrypt", model=ref.model, version=ref.version, actor=actor,
            source=str(src.resolve()), destination=where,
        )  # fmt: skip
        if stream is not None:
            return vault.decrypt_to_stream(src, stream, provider, **kw)
        assert dst is not None
        return vault.decrypt_file(src, dst, provider, **kw)

    # -- custody and grants (registry write and ledger record commit together) -------------
    def add_custody(
        self, spec: str, location: Path, *, storage: str, encrypted: bool,
        key_holder: str | None, actor: str,
    ) -> str:  # fmt: skip
        ref = self.reg.resolve(spec)
        where = str(location.resolve())
        with self.db.transaction():
            cid = self.reg.add_custody(ref, where, storage=storage, encrypted=encrypted,
                                       key_holder=key_holder, recorded_by=actor)  # fmt: skip
            self.audit.record("custody", model=ref.model, version=ref.version, location=where,
                              storage=storage, encrypted=encrypted, actor=actor)  # fmt: skip
        return cid

    def grant(self, model: str, subject: str, permission: str, *, actor: str,
              review_days: int = REVIEW_DAYS) -> str:  # fmt: skip
        with self.db.transaction():
            gid = self.reg.grant(model, subject, permission, granted_by=actor,
                                 review_days=review_days)  # fmt: skip
            self.audit.record("grant", grant=gid, model=model, subject=subject,
                              permission=permission, actor=actor)  # fmt: skip
        return gid

    def recertify(self, grant_id: str, *, actor: str) -> str:
        with self.db.transaction():
            due = self.reg.recertify(grant_id, by=actor)
            self.audit.record("grant_recertify", grant=grant_id, actor=actor, review_due=due)
        return due

    def revoke(self, grant_id: str, *, actor: str) -> None:
        with self.db.transaction():
            self.reg.revoke(grant_id, by=actor)
            self.audit.record("grant_revoke", grant=grant_id, actor=actor)

    # -- approvers (signed transfer approvals, approvals.py) -------------------------------
    def add_approver(self, name: str, public_key_pem: str, *, actor: str) -> str:
        """Register an approver's Ed25519 public key; only a holder of a live admin grant."""
        if not self.reg.is_admin(actor):
            raise DistillguardError(f"{actor} has no live 'admin' grant; only an admin registers "
                                    "approver keys")  # fmt: skip
        with self.db.transaction():
            kid = approvals.Approvers(self.db).add(name, public_key_pem, added_by=actor)
            self.audit.record("approver_add", approver=name.strip(), key_id=kid, actor=actor,
                              public_key=public_key_pem)  # fmt: skip
        return kid

    def revoke_approver(self, name_or_key: str, *, actor: str) -> list[str]:
        if not self.reg.is_admin(actor):
            raise DistillguardError(f"{actor} has no live 'admin' grant; only an admin revokes "
                                    "approver keys")  # fmt: skip
        with self.db.transaction():
            kids = approvals.Approvers(self.db).revoke(name_or_key, by=actor)
            self.audit.record("approver_revoke", approver=name_or_key, key_ids=kids, actor=actor)
        return kids

    # -- incidents and inventory ----------------------------------------------------------
    def open_incident(
        self, ref: VersionRef | None, detail: dict[str, Any], discovered: datetime | None = None
    ) -> str:
        found = discovered or now()
        deadlines: list[dict[str, Any]] = []
        if ref is not None:
            c = classify.classify(self.reg, self.engine, ref, found)
            deadlines = classify.incident_deadlines(c, self.engine, found)
            detail = {"model": ref.model, "version": ref.version, **detail}
        iid = self.reg.open_incident(
            INCIDENT_KIND, ref.version_id if ref else None, detail, deadlines, found
        )
        try:  # the incident is already stored; a ledger failure must not hide it
            self.audit.record(
                "incident", incident=iid, incident_kind=INCIDENT_KIND,
                discovered_at=iso(found), detail=detail, deadlines=deadlines,
            )  # fmt: skip
        except Exception as exc:
            log.error("incident %s stored but not written to the ledger: %s", iid, exc)
        return iid

    def scan(self, roots: Iterable[Path]) -> list[dict[str, Any]]:
        """Find copies of registered artifacts; open an incident for each unexpected one.

        Files are hashed only when their size equals some registered artifact's size.
        """
        sizes = self.reg.artifact_sizes()
        found: list[dict[str, Any]] = []
        for root in roots:
            for dirpath, _, names in os.walk(root):
                for name in names:
                    p = Path(dirpath) / name
                    try:
                        if p.is_symlink() or p.stat().st_size not in sizes:
                            continue
                        digest = signing.hash_file(p, None)[0]
                    except OSError:
                        continue
                    for art in self.reg.artifacts_by_sha(digest):
                        known = self.reg.is_known_location(art["version_id"], p)
                        rec = {"path": str(p.resolve()), "model": art["name"],
                               "version": art["version"], "artifact": art["path"],
                               "expected": known, "incident": None}  # fmt: skip
                        if not known:
                            ref = self.reg.resolve(f"{art['name']}@{art['version']}")
                            rec["incident"] = self.open_incident(
                                ref, {"event": "unexpected_copy", "path": rec["path"],
                                      "artifact": art["path"], "sha256": digest},
                            )  # fmt: skip
                        found.append(rec)
        return found


def _summary(c: Classification) -> dict[str, Any]:
    return {r.regime: r.status for r in c.regimes} | {"total_flop": c.total_flop}
