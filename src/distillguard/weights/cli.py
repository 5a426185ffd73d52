"""`distillguard weights ...`: registry, classification, signing, vault, transfers.

Settings come from options or the environment: DISTILLGUARD_DB (registry database URL,
default the data directory's SQLite file), DISTILLGUARD_ACTOR (who is acting; default
the OS user: record real identities in production), DISTILLGUARD_KEK (the local
key-encryption key file, default <data dir>/weights/kek.json). Imports of the heavy
parts stay inside the commands so `distillguard --help` stays fast.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from distillguard.weights.keys import LocalKeyFile
    from distillguard.weights.service import WeightsService

app = typer.Typer(
    help="Model weights: registry, classification, signing, vault, transfers.", no_args_is_help=True
)
transfer_app = typer.Typer(
    help="Request, approve and package weight transfers.", no_args_is_help=True
)
grants_app = typer.Typer(help="Access grants with six-monthly reviews.", no_args_is_help=True)
approvers_app = typer.Typer(
    help="Transfer approvers and their Ed25519 public keys (registered by an admin).",
    no_args_is_help=True,
)
app.add_typer(transfer_app, name="transfer")
app.add_typer(grants_app, name="grants")
app.add_typer(approvers_app, name="approvers")

_state: dict[str, Any] = {}


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="weights")


@app.callback()
def _options(
    db: str | None = typer.Option(
        None, "--db", help="Registry database URL [env DISTILLGUARD_DB]."
    ),
    actor: str | None = typer.Option(None, "--as", help="Acting person [env DISTILLGUARD_ACTOR]."),
) -> None:
    """Model weights: registry, classification, signing, vault, transfers."""
    _state["db"] = db or os.environ.get("DISTILLGUARD_DB")
    _state["actor"] = actor or os.environ.get("DISTILLGUARD_ACTOR") or getpass.getuser()
    _state["actor_explicit"] = actor or os.environ.get("DISTILLGUARD_ACTOR")


AS_OPT = typer.Option(None, "--as", help="Acting person (overrides the group's --as).")


def _actor(as_: str | None = None) -> str:
    return str(as_ or _state.get("actor") or getpass.getuser())


def _svc() -> WeightsService:
    from distillguard.store import open_database
    from distillguard.weights.deps import Audit
    from distillguard.weights.service import WeightsService

    return WeightsService(open_database(_state.get("db")), audit=Audit.open_default())


def _kek_path(path: Path | None) -> Path:
    from distillguard.paths import data_dir

    env = os.environ.get("DISTILLGUARD_KEK")
    return path or (Path(env) if env else data_dir() / "weights" / "kek.json")


def _kek(path: Path | None) -> LocalKeyFile:
    from distillguard.weights.keys import LocalKeyFile

    return LocalKeyFile.load(_kek_path(path))


@contextmanager
def _progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on an interactive terminal, nothing otherwise."""
    if not sys.stderr.isatty() or total < (64 << 20):
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    cols = (
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*cols, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _tree_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _print_classification(c: Any) -> None:
    total = "unknown" if c.total_flop is None else f"{c.total_flop:.3g}"
    est = " (estimate)" if c.estimated else ""
    typer.echo(f"{c.model}@{c.version}: training compute {total}{est}; published={c.published}")
    common = set.intersection(*(set(r.explanation) for r in c.regimes)) if c.regimes else set()
    for line in c.regimes[0].explanation if c.regimes else []:
        if line in common:
            typer.echo(f"  - {line}")
    for r in c.regimes:
        force = "" if r.in_force else " [not in force yet]"
        large = "" if r.large_developer is None else f", large developer={r.large_developer}"
        typer.echo(f"  {r.regime:<22} {r.status}{large}{force}")
        for line in r.explanation:
            if line not in common:
                typer.echo(f"      - {line}")
        typer.echo(f"      cite: {r.citation} [{r.verification}]")


# -- keys -----------------------------------------------------------------------------


@app.command()
def keygen(
    kek: bool = typer.Option(False, "--kek", help="Create the key-encryption key file."),
    kek_file: Path | None = typer.Option(None, help="KEK file [env DISTILLGUARD_KEK]."),
    signing_key: Path | None = typer.Option(
        None, "--signing", help="Write an EC P-256 signing key here (+ .pub)."
    ),
    recipient: Path | None = typer.Option(
        None, "--recipient", help="Write a recipient key pair here (+ .pub)."
    ),
    kind: str = typer.Option("x25519", "--type", help="Recipient key type: x25519 or rsa."),
    approver: Path | None = typer.Option(
        None, "--approver", help="Write an Ed25519 transfer-approver key here (+ .pub)."
    ),
) -> None:
    """Create keys: the vault KEK file (0600), a signing key, a transfer recipient key, or
    a transfer approver's key."""
    from distillguard.errors import DistillguardError
    from distillguard.weights import keys, signing

    if not (kek or signing_key or recipient or approver):
        raise DistillguardError(
            "say which key to create: --kek, --signing PATH, --recipient PATH or --approver PATH"
        )
    if kek:
        kf = keys.LocalKeyFile.create(_kek_path(kek_file))
        typer.echo(f"created KEK file {kf.path} (mode 0600), key {kf.current_kek_id()}")
    if signing_key:
        pub = signing.generate_signing_key(signing_key)
        typer.echo(f"created signing key {signing_key} and public key {pub}")
    if recipient:
        if recipient.exists():
            raise DistillguardError(f"{recipient} already exists; refusing to overwrite it")
        priv, pub_pem = keys.generate_recipient_keypair(kind)
        keys.write_private_file(recipient, priv)
        recipient.with_name(recipient.name + ".pub").write_bytes(pub_pem)
        typer.echo(f"created {kind} recipient key {recipient} and public key {recipient}.pub")
    if approver:
        from distillguard.weights import approvals

        if approver.exists():
            raise DistillguardError(f"{approver} already exists; refusing to overwrite it")
        priv, pub_pem = approvals.generate_keypair()
        keys.write_private_file(approver, priv)
        approver.with_name(approver.name + ".pub").write_bytes(pub_pem)
        kid = approvals.key_id(approvals.load_public(pub_pem))
        typer.echo(f"created Ed25519 approver key {approver} and public key {approver}.pub ({kid})")


@app.command()
def rotate(
    files: list[Path] = typer.Argument(None, help="Vault files whose data keys to re-wrap."),
    kek_file: Path | None = typer.Option(None, help="KEK file [env DISTILLGUARD_KEK]."),
    new_key: bool = typer.Option(
        True, "--new-key/--rewrap-only", help="Add a new KEK version first."
    ),
    as_: str | None = AS_OPT,
) -> None:
    """Rotate the KEK and re-wrap data keys (the encrypted data is not rewritten)."""
    from distillguard.weights import vault

    kf = _kek(kek_file)
    for f in files or []:  # every file must open under the current KEK before it changes
        header = vault.read_header(f)
        vault.unwrap_dek(vault.read_envelope(vault.envelope_path(f)), header, kf)
    if new_key:
        typer.echo(f"new key-encryption key {kf.rotate()}")
    svc = _svc()
    for f in files or []:
        svc.rewrap(f, kf, actor=_actor(as_))
        typer.echo(f"re-wrapped {f} under {kf.current_kek_id()}")


# -- registry and classification ------------------------------------------------------------


def _compute_entries(specs: list[str]) -> list[Any]:
    from distillguard.errors import DistillguardError
    from distillguard.weights.service import ComputeEntry

    out = []
    for s in specs:
        phase, _, rest = s.partition("=")
        flop, _, source = rest.partition("@")
        try:
            out.append(ComputeEntry(phase.strip(), float(flop), source.strip()))
        except ValueError:
            raise DistillguardError(
                f"bad --compute {s!r}: use PHASE=FLOP@SOURCE, e.g. pretraining=3.1e25@run-17.log"
            ) from None
    return out


@app.command("register")
def register_cmd(
    spec: str = typer.Argument(..., help="MODEL@VERSION"),
    path: Path = typer.Argument(..., help="The model's file or folder."),
    published: bool = typer.Option(False, help="The weights are published (open)."),
    params: int | None = typer.Option(
        None, help="Parameters N (default: from safetensors headers)."
    ),
    tokens: float | None = typer.Option(None, help="Training tokens D (for the 6ND estimate)."),
    compute: list[str] = typer.Option(
        [], help="PHASE=FLOP@SOURCE; phases: pretraining, fine_tuning, rl, synthetic_data, other."
    ),
    developer: str | None = typer.Option(None, help="Developer organisation."),
    revenue: float | None = typer.Option(None, help="Developer prior-year revenue in USD."),
    storage: str = typer.Option("local-disk", help="Kind of storage holding this copy."),
    key_holder: str | None = typer.Option(None, help="Who holds the key of this copy."),
    as_: str | None = AS_OPT,
) -> None:
    """Register a model version: hash its files, record artifacts, compute and custody."""
    from distillguard.errors import DistillguardError

    model, _, version = spec.partition("@")
    if not model or not version:
        raise DistillguardError(f"give MODEL@VERSION, not {spec!r}")
    svc = _svc()
    ref, c = svc.register(
        model,
        version,
        path,
        actor=_actor(as_),
        published=published,
        parameters=params,
        training_tokens=tokens,
        compute=_compute_entries(compute),
        developer=developer,
        revenue_usd=revenue,
        storage=storage,
        key_holder=key_holder,
    )
    arts = svc.reg.artifacts(ref)
    typer.echo(f"registered {ref}: {len(arts)} files, {sum(a['size'] for a in arts)} bytes")
    _print_classification(c)


@app.command("compute")
def compute_cmd(
    spec: str = typer.Argument(..., help="MODEL[@VERSION]"),
    phase: str = typer.Option(..., help="pretraining, fine_tuning, rl, synthetic_data or other."),
    flop: float | None = typer.Option(None, help="Operations used (measured)."),
    source: str = typer.Option(..., help="Where the figure comes from (log, invoice, report)."),
    params: float | None = typer.Option(None, help="Estimate instead: parameters N ..."),
    tokens: float | None = typer.Option(None, help="... and tokens D (6·N·D)."),
    as_: str | None = AS_OPT,
) -> None:
    """Add a training-compute entry (measured, or estimated as 6·N·D) and re-classify."""
    from distillguard.errors import DistillguardError
    from distillguard.weights.classify import estimate_flop
    from distillguard.weights.service import ComputeEntry

    estimate = params is not None or tokens is not None
    if (flop is not None) == estimate or (estimate and (params is None or tokens is None)):
        raise DistillguardError(
            "give either --flop (measured) or --params and --tokens (a 6·N·D estimate)"
        )
    est = flop is None
    value = estimate_flop(params or 0, tokens or 0) if est else float(flop or 0)
    src = f"{source} (6·N·D estimate, N={params:.3g}, D={tokens:.3g})" if est else source  # type: ignore[str-format]
    c = _svc().add_compute(spec, ComputeEntry(phase, value, src, est), actor=_actor(as_))
    _print_classification(c)


@app.command()
def publish(
    spec: str = typer.Argument(..., help="MODEL@VERSION"),
    unpublish: bool = typer.Option(False, "--unpublish", help="Mark as not published."),
    as_: str | None = AS_OPT,
) -> None:
    """Record that a version's weights are published (or not) and re-classify."""
    _print_classification(_svc().set_published(spec, not unpublish, actor=_actor(as_)))


@app.command("classify")
def classify_cmd(
    spec: str | None = typer.Argument(None, help="MODEL[@VERSION]; omit with --all."),
    all_: bool = typer.Option(
        False, "--all", help="Re-classify every version (after a pack change)."
    ),
    at: str | None = typer.Option(None, help="Classify as of this date (YYYY-MM-DD)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    show_history: bool = typer.Option(False, "--history", help="Show the classification history."),
) -> None:
    """Classify a version per regime (US 4E091, EU systemic risk, SB 53, RAISE, BIS 702.7)."""
    from datetime import UTC

    from distillguard.errors import DistillguardError
    from distillguard.weights import classify

    svc = _svc()
    if all_:
        for name, changed in svc.reclassify_all():
            typer.echo(f"{name}: {'re-classified' if changed else 'unchanged'}")
        return
    if not spec:
        raise DistillguardError("give MODEL[@VERSION] or --all")
    when = None
    if at:
        try:
            when = datetime.fromisoformat(at).replace(tzinfo=UTC)
        except ValueError:
            raise DistillguardError(f"bad date {at!r}: use YYYY-MM-DD") from None
    c, _ = svc.classify(spec, at=when)
    if show_history:
        for h in classify.history(svc.reg, svc.reg.resolve(spec)):
            res = ", ".join(f"{k}={v[0]}" for k, v in h["result"].items())
            typer.echo(f"{h['computed_at']} [{h['trigger']}] pack {h['pack_hash'][:12]}: {res}")
    elif as_json:
        typer.echo(json.dumps(c.to_dict(), indent=1))
    else:
        _print_classification(c)


# -- signing --------------------------------------------------------------------------------


@app.command()
def sign(
    path: Path = typer.Argument(..., help="Model file or folder."),
    key: Path | None = typer.Option(None, "--key", help="EC private key (PEM)."),
    signature: Path | None = typer.Option(None, help="Output (default: PATH.sig beside it)."),
    sigstore: bool = typer.Option(False, help="Sign keyless with Sigstore (needs network)."),
    identity_token: str | None = typer.Option(None, help="OIDC token for Sigstore."),
    workers: int | None = typer.Option(None, help="Hashing threads."),
    shard_mib: int | None = typer.Option(
        None, help="Hash in shards of this many MiB, all in parallel (model-signing shards)."
    ),
) -> None:
    """Sign a model; `model_signing verify key` accepts the signature."""
    from distillguard.weights import signing

    sig = signature or path.with_name(path.name + ".sig")
    opts = signing.SigstoreOptions(identity_token=identity_token) if sigstore else None
    with _progress(_tree_size(path), "hashing") as cb:
        res = signing.sign_model(
            path, sig, private_key=key, sigstore=opts, workers=workers, progress=cb,
            shard_size=shard_mib << 20 if shard_mib else None,
        )  # fmt: skip
    typer.echo(
        f"signed {len(res.manifest.files)} {'shards' if shard_mib else 'files'} "
        f"({res.manifest.total_bytes} bytes), "
        f"root sha256 {res.manifest.root_digest} -> {sig}"
    )


def _check_ec_public_key(path: Path, what: str) -> None:
    """A signature key must be an EC public key in PEM; say so instead of failing deep
    inside model-signing with an attribute error."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from distillguard.errors import DistillguardError

    try:
        key = load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise DistillguardError(f"cannot read {what} {path}: {exc.strerror}") from None
    except ValueError:
        raise DistillguardError(f"{what} {path} is not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise DistillguardError(
            f"{what} {path} is not an EC public key (the .pub written by "
            "`weights keygen --signing`)"
        )


@app.command()
def verify(
    path: Path = typer.Argument(..., help="Model file or folder."),
    signature: Path = typer.Option(..., help="Signature (Sigstore bundle)."),
    key: Path | None = typer.Option(None, "--key", help="EC public key (PEM)."),
    identity: str | None = typer.Option(None, help="Sigstore: expected signer identity."),
    issuer: str | None = typer.Option(None, help="Sigstore: expected OIDC issuer."),
    workers: int | None = typer.Option(None, help="Hashing threads."),
) -> None:
    """Verify a model against its signature; names every changed, added or missing file."""
    from distillguard.weights import signing

    ident = (identity, issuer) if identity and issuer else None
    if key is not None:
        _check_ec_public_key(key, "--key")
    with _progress(_tree_size(path), "hashing") as cb:
        res = signing.verify_model(
            path, signature, public_key=key, sigstore_identity=ident, workers=workers, progress=cb
        )
    typer.echo(f"verified: {res.files} files, {res.total_bytes} bytes, root {res.root_digest}")


# -- vault ----------------------------------------------------------------------------------


@app.command()
def encrypt(
    src: Path = typer.Argument(..., help="Plaintext weight file."),
    dst: Path = typer.Argument(..., help="Encrypted output (its key envelope goes to DST.key)."),
    model: str = typer.Option(..., "--model", help="MODEL@VERSION the file belongs to."),
    kek_file: Path | None = typer.Option(None, help="KEK file [env DISTILLGUARD_KEK]."),
    chunk_mib: int = typer.Option(8, help="Chunk size in MiB."),
    workers: int = typer.Option(2, help="I/O threads."),
    processes: int = typer.Option(1, help="Worker processes for the cipher (many-core hosts)."),
    storage: str = typer.Option("local-disk", help="Kind of storage of the encrypted copy."),
    as_: str | None = AS_OPT,
) -> None:
    """Encrypt a weight file (AES-256-GCM chunks, per-file data key wrapped by the KEK)."""
    kf = _kek(kek_file)
    with _progress(src.stat().st_size if src.exists() else 0, "encrypting") as cb:
        res = _svc().encrypt(
            model,
            src,
            dst,
            kf,
            actor=_actor(as_),
            storage=storage,
            chunk_size=chunk_mib << 20,
            workers=workers,
            processes=processes,
            progress=cb,
        )
    typer.echo(
        f"encrypted {res.plaintext_size} bytes in {res.chunks} chunks -> {dst} "
        f"(key envelope {res.envelope}, KEK {res.kek_id})"
    )


@app.command()
def decrypt(
    src: Path = typer.Argument(..., help="Encrypted weight file."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Destination file (inside a registered custody location)."
    ),
    stdout: bool = typer.Option(False, "--stdout", help="Stream plaintext to standard output."),
    kek_file: Path | None = typer.Option(None, help="KEK file [env DISTILLGUARD_KEK]."),
    workers: int = typer.Option(2, help="I/O threads."),
    as_: str | None = AS_OPT,
) -> None:
    """Decrypt to a stream or an authorised destination (needs a live 'decrypt' grant)."""
    from distillguard.errors import DistillguardError

    if (output is None) == (not stdout):
        raise DistillguardError("give exactly one of --output FILE or --stdout")
    kf = _kek(kek_file)
    svc = _svc()
    if stdout:
        if sys.stdout.isatty():
            raise DistillguardError("refusing to write weights to a terminal: pipe --stdout")
        svc.decrypt(src, kf, actor=_actor(as_), stream=sys.stdout.buffer, workers=workers)
        return
    assert output is not None
    with _progress(src.stat().st_size if src.exists() else 0, "decrypting") as cb:
        n = svc.decrypt(src, kf, actor=_actor(as_), dst=output, workers=workers, progress=cb)
    typer.echo(f"decrypted {n} bytes -> {output} (every chunk authenticated)")


# -- inventory, custody, incidents ------------------------------------------------------------


@app.command()
def inventory(
    scan: list[Path] = typer.Option([], help="Folders to search for unregistered copies."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every known copy of every version; with --scan, find copies nobody registered."""
    from rich.console import Console
    from rich.table import Table

    from distillguard.errors import DistillguardError

    for root in scan:
        if not root.is_dir():
            raise DistillguardError(f"--scan {root}: no such folder")
    svc = _svc()
    rows = svc.reg.custody()
    found = svc.scan(scan) if scan else []
    if as_json:
        typer.echo(json.dumps({"custody": rows, "scan": found}, indent=1, default=str))
        return
    table = Table()
    for col in ("model", "location", "storage", "encrypted", "key holder", "since"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            f"{r['name']}@{r['version']}",
            r["location"],
            r["storage"],
            "yes" if r["encrypted"] else "NO",
            r["key_holder"] or "-",
            str(r["recorded_at"]),
        )
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    for f in found:
        tag = "expected" if f["expected"] else f"UNEXPECTED -> incident {f['incident']}"
        typer.echo(f"copy of {f['model']}@{f['version']}:{f['artifact']} at {f['path']}: {tag}")


@app.command()
def custody(
    spec: str = typer.Argument(..., help="MODEL@VERSION"),
    location: Path = typer.Argument(..., help="Where the copy is (folder or file)."),
    storage: str = typer.Option(..., help="Kind of storage (gpu-node, s3, hsm-backed-disk...)."),
    encrypted: bool = typer.Option(False, help="The copy is encrypted at rest."),
    key_holder: str | None = typer.Option(None, help="Who holds the key."),
    as_: str | None = AS_OPT,
) -> None:
    """Record a known copy (also authorises decryption into that location)."""
    cid = _svc().add_custody(spec, location, storage=storage, encrypted=encrypted,
                             key_holder=key_holder, actor=_actor(as_))  # fmt: skip
    typer.echo(f"recorded copy {cid} of {spec} at {location.resolve()}")


@app.command()
def incidents() -> None:
    """Weight-exfiltration incidents with discovery time and reporting deadlines."""
    for i in _svc().reg.incidents():
        typer.echo(
            f"{i['id']} {i['kind']} discovered {i['discovered_at']} [{i['status']}]: "
            f"{json.dumps(i['detail'])}"
        )
        for d in i["deadlines"]:
            what = str(d.get("event", "report")).replace("_", " ")
            typer.echo(f"    report to {d['regime']} by {d['due']}: {what} ({d['citation']})")


# -- grants ---------------------------------------------------------------------------------


@grants_app.command("list")
def grants_list(model: str | None = typer.Option(None, help="Only this model.")) -> None:
    """Grants with their review dates; expired ones need re-certification."""
    for g in _svc().reg.grants(model):
        typer.echo(
            f"{g['id']} {g['model']} {g['subject']} {g['permission']} "
            f"review due {g['review_due']} [{g['state']}]"
        )


@grants_app.command("add")
def grants_add(
    model: str = typer.Argument(...),
    subject: str = typer.Argument(...),
    permission: str = typer.Argument(
        ..., help="read, decrypt, sign, transfer_request, transfer_approve, admin"
    ),
    review_days: int = typer.Option(182, min=1, help="Days until the grant must be re-certified."),
    as_: str | None = AS_OPT,
) -> None:
    """Grant a permission on a model (expires at the review date unless re-certified)."""
    gid = _svc().grant(model, subject, permission, actor=_actor(as_), review_days=review_days)
    typer.echo(f"granted {permission} on {model} to {subject}: {gid}")


@grants_app.command("recertify")
def grants_recertify(grant_id: str = typer.Argument(...), as_: str | None = AS_OPT) -> None:
    """Re-certify a grant for another review period (not by its holder)."""
    due = _svc().recertify(grant_id, actor=_actor(as_))
    typer.echo(f"re-certified {grant_id}; next review {due}")


@grants_app.command("revoke")
def grants_revoke(grant_id: str = typer.Argument(...), as_: str | None = AS_OPT) -> None:
    """Revoke a grant."""
    _svc().revoke(grant_id, actor=_actor(as_))
    typer.echo(f"revoked {grant_id}")


# -- transfers ------------------------------------------------------------------------------


def _print_transfer(t: dict[str, Any]) -> None:
    d = t["decision"]
    exc = f" ({d['exception']})" if d.get("exception") else ""
    r = t["request"]["recipient"]
    typer.echo(
        f"{t['id']} {t['request']['model']} -> {r['org']} (HQ {r['hq_country']}, parent "
        f"{r['parent_hq_country'] or '-'}, destination {r['destination_country']}); "
        f"screening {t['screening']['status']}"
    )
    typer.echo(
        f"  decision: {d['action']}{exc}; status {t['status']}; approvals "
        f"{len(t['approvals'])}/{t['required_approvals']} {t['approvals']}"
    )
    for reason in d["reasons"]:
        typer.echo(f"  - {reason['rule_id']}: {reason['title']} [{reason['citation']}]")


@transfer_app.command("request")
def transfer_request(
    spec: str = typer.Argument(..., help="MODEL@VERSION"),
    org: str = typer.Option(..., help="Recipient organisation."),
    hq: str = typer.Option(..., help="Recipient headquarters country (ISO 3166-1 alpha-2)."),
    dest: str = typer.Option(..., help="Destination country of the weights."),
    parent_hq: str | None = typer.Option(None, help="Ultimate parent's headquarters country."),
    end_use: str = typer.Option(..., help="End use (e.g. inference, research)."),
    purpose: str = typer.Option(..., help="Purpose of the transfer."),
    recipient_key: Path = typer.Option(..., help="Recipient public key (X25519 or RSA PEM)."),
    gpus: int | None = typer.Option(None, help="GPUs in the order (for LPP)."),
    as_: str | None = AS_OPT,
) -> None:
    """Request a transfer; the rules decide and the recipient is screened."""
    from distillguard.errors import DistillguardError
    from distillguard.weights.transfers import Recipient, Transfers

    try:
        pem = recipient_key.read_text()
    except OSError as exc:
        raise DistillguardError(f"cannot read {recipient_key}: {exc.strerror}") from None
    t = Transfers(_svc()).request(
        spec,
        Recipient(org, hq, dest, parent_hq, pem),
        end_use=end_use,
        purpose=purpose,
        requested_by=_actor(as_),
        gpu_count=gpus,
    )
    _print_transfer(t)


@transfer_app.command("approve")
def transfer_approve(
    transfer_id: str = typer.Argument(...),
    key: Path = typer.Option(..., "--key", help="Your Ed25519 approver private key (PEM)."),
    licence: str | None = typer.Option(None, help="Licence number, where the rules require one."),
    as_: str | None = typer.Option(
        None, "--as", help="Expected approver name; must be the key's registered owner."
    ),
) -> None:
    """Sign and record your approval (not your own request; controlled weights need two).

    The approver is whoever the key is registered to (`weights approvers add`); the
    signature covers the whole request as registered, so any later change voids it.
    """
    from distillguard.errors import DistillguardError
    from distillguard.weights.transfers import Transfers

    try:
        pem = key.read_bytes()
    except OSError as exc:
        raise DistillguardError(f"cannot read {key}: {exc.strerror}") from None
    expected = as_ or _state.get("actor_explicit")
    t = Transfers(_svc()).approve(transfer_id, pem, actor=expected, licence_ref=licence)
    _print_transfer(t)
    last = t["signed_approvals"][-1]
    typer.echo(
        f"  signed by {last['approver']} with {last['key_id'][:24]} at {last['approved_at']}"
    )


@transfer_app.command("package")
def transfer_package(
    transfer_id: str = typer.Argument(...),
    model_dir: Path = typer.Option(..., help="The registered model's plaintext files."),
    out: Path = typer.Option(..., help="Package folder to create."),
    signing_key: Path = typer.Option(..., help="EC private key that signs the manifest."),
    as_: str | None = AS_OPT,
) -> None:
    """Build the package of an approved transfer: encrypted to the recipient, signed."""
    from distillguard.weights.transfers import Transfers

    p = Transfers(_svc()).package(
        transfer_id, model_dir, out, signing_key=signing_key, actor=_actor(as_)
    )
    typer.echo(f"package written to {p}")


@transfer_app.command("list")
def transfer_list() -> None:
    """All transfer requests with their decisions and approvals."""
    from distillguard.weights.transfers import Transfers

    for t in Transfers(_svc()).all():
        _print_transfer(t)


@app.command()
def receive(
    package: Path = typer.Argument(..., help="Transfer package folder."),
    key: Path = typer.Option(..., "--key", help="Recipient private key (PEM)."),
    signer_key: Path = typer.Option(
        ..., help="Provider's signing public key (obtained out of band)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Folder (or file) to create."),
    approver_key: list[Path] = typer.Option(
        [], "--approver-key", help="Provider's approver public key (out of band; repeatable)."
    ),
) -> None:
    """Recipient side: verify the signed approvals, decrypt a package and verify the
    provider's signature."""
    from distillguard.errors import DistillguardError
    from distillguard.weights.transfers import receive as do_receive

    try:
        priv = key.read_bytes()
        pinned = [p.read_bytes() for p in approver_key]
    except OSError as exc:
        raise DistillguardError(f"cannot read {exc.filename}: {exc.strerror}") from None
    _check_ec_public_key(signer_key, "--signer-key")
    got = do_receive(package, priv, signer_key, output, approver_keys=pinned or None)
    res = got.result
    typer.echo(
        f"received and verified {res.files} files ({res.total_bytes} bytes), root "
        f"{res.root_digest} -> {output}"
    )
    how = "pinned keys" if got.approver_keys_pinned else "keys in the package (not pinned)"
    typer.echo(f"approvals verified with {how}: {', '.join(got.approvals)}")


# -- approvers ------------------------------------------------------------------------------


@approvers_app.command("add")
def approvers_add(
    name: str = typer.Argument(..., help="Approver's name (as in their transfer_approve grant)."),
    key: Path = typer.Option(..., "--key", help="The approver's Ed25519 public key (PEM)."),
    as_: str | None = AS_OPT,
) -> None:
    """Register an approver's public key (admins only; not your own)."""
    from distillguard.errors import DistillguardError

    try:
        pem = key.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DistillguardError(f"cannot read {key}: {exc}") from None
    kid = _svc().add_approver(name, pem, actor=_actor(as_))
    typer.echo(f"registered approver {name} with key {kid}")


@approvers_app.command("list")
def approvers_list() -> None:
    """Registered approver keys, active and revoked."""
    from distillguard.weights.approvals import Approvers

    for a in Approvers(_svc().db).all():
        state = f"revoked {a['revoked_at']} by {a['revoked_by']}" if a["revoked_at"] else "active"
        typer.echo(f"{a['name']} {a['key_id']} added {a['added_at']} by {a['added_by']} [{state}]")


@approvers_app.command("revoke")
def approvers_revoke(
    who: str = typer.Argument(..., help="Approver name (all their keys) or one key id."),
    as_: str | None = AS_OPT,
) -> None:
    """Revoke approver keys; approvals signed with them stop counting for unpackaged
    transfers."""
    for kid in _svc().revoke_approver(who, actor=_actor(as_)):
        typer.echo(f"revoked {kid}")
