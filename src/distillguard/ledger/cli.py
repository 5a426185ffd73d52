"""`distillguard ledger ...`: operate the ledger and check it, online or offline.

Commands that only read (verify, prove, export, pubkey, consistency) open the database
read-only, so bad input never changes anything. `verify-proof` and `consistency` with
`--proof` need no database at all: only the public key and the files an auditor holds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from distillguard.errors import DistillguardError, VerificationError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from .ledger import Ledger

app = typer.Typer(
    help="Tamper-evident compliance ledger: append, checkpoint, prove, verify, export.",
    no_args_is_help=True,
)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="DISTILLGUARD_LEDGER_URL",
        help="sqlite:///PATH or postgresql://... (default: ledger.db in the data directory).",
    ),
]
KeyOpt = Annotated[
    Path | None,
    typer.Option(
        "--key",
        envvar="DISTILLGUARD_LEDGER_KEY",
        help="Ed25519 signing key (PEM, created on first use; default: ledger.key in the "
        "data directory).",
    ),
]
PubOpt = Annotated[
    Path | None,
    typer.Option("--pubkey", help="The log's public key (PEM or note verifier key) to trust."),
]


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DistillguardError(f"cannot read {what} {path}: {exc}") from None


def _read_json(path: Path, what: str) -> Any:
    text = sys.stdin.read() if str(path) == "-" else _read_text(path, what)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{what} {path} is not valid JSON ({exc.msg}, line {exc.lineno})"
        raise VerificationError(msg) from None


def _pubkey(path: Path) -> tuple[str | None, Ed25519PublicKey]:
    from .verify import load_verifier

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DistillguardError(f"cannot read public key {path}: {exc.strerror}") from None
    return load_verifier(data)


def _open_ro(db: str | None, key: Path | None) -> Ledger:
    from .open import open_ledger

    return open_ledger(db, key, readonly=True)


def _trusted_pub(led: Ledger, pubkey: Path | None) -> Ed25519PublicKey:
    """The key to verify with: --pubkey if given (and it must be the log's key)."""
    if pubkey is None:
        return led.public_key
    name, pub = _pubkey(pubkey)
    if name is not None and name != led.origin:
        raise VerificationError(f"public key is for log {name!r}, this log is {led.origin!r}")
    return pub


@contextmanager
def _progress(total: int, what: str) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr for logs of 100,000 records or more."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        f"[progress.description]{what}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=total < 100_000,
    ) as bar:
        task = bar.add_task(what, total=total)
        yield lambda n: bar.update(task, completed=n)


def _echo_json(obj: Any, output: Path | None) -> None:
    text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}", err=True)


@app.command("append")
def append_cmd(
    record: Annotated[
        str | None, typer.Argument(help="A JSON object; omit to read JSON lines from stdin.")
    ] = None,
    db: DbOpt = None,
    key: KeyOpt = None,
) -> None:
    """Append records (admin/testing); print each index once it is durable."""
    from .open import open_ledger

    lines = [record] if record is not None else [ln for ln in sys.stdin if ln.strip()]
    objs = []
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DistillguardError(f"record {n} is not valid JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise DistillguardError(f"record {n} is not a JSON object")
        objs.append(obj)
    with open_ledger(db, key) as led:
        for i in led.append_many(objs):
            typer.echo(i)


@app.command("checkpoint")
def checkpoint_cmd(
    db: DbOpt = None,
    key: KeyOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Sign a checkpoint of the current tree and print it (C2SP signed note)."""
    from .open import open_ledger

    with open_ledger(db, key, create=False) as led:
        text = led.checkpoint()
    if output is not None:
        output.write_text(text, encoding="utf-8")
    typer.echo(text, nl=False)


@app.command("verify")
def verify_cmd(
    db: DbOpt = None,
    key: KeyOpt = None,
    pubkey: PubOpt = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="A checkpoint you hold; the log must match it too."),
    ] = None,
) -> None:
    """Re-verify every stored record against the signed checkpoints."""
    from rich.console import Console

    from .verify import verify_log

    err = Console(stderr=True)
    trusted = _read_text(checkpoint, "checkpoint") if checkpoint else None
    with _open_ro(db, key) as led:
        pub = _trusted_pub(led, pubkey)
        if pubkey is None and led._key is None:
            err.print(
                "[yellow]note: using the public key stored in the database; pass --pubkey "
                "with your own copy to rule out a replaced key[/]"
            )
        with _progress(led.size, "verifying") as tick:
            report = verify_log(
                led.storage, pub, led.origin, trusted_checkpoint=trusted, progress=tick
            )
    if report.ok:
        msg = (
            f"OK: {report.records} records of {report.origin} verified against "
            f"{report.checkpoints} signed checkpoint(s), latest of size {report.checkpoint_size}"
        )
        if report.unsigned:
            msg += f"; {report.unsigned} newer records are not yet covered by a checkpoint"
        typer.echo(msg)
        return
    for p in report.problems[:10]:
        err.print(f"  {p.where()}: {p.message}", markup=False, highlight=False)
    first = report.problems[0]
    raise VerificationError(
        f"ledger does not verify: first bad record at {first.where()}: {first.message} "
        f"({len(report.problems)} problem(s))"
    )


@app.command("prove")
def prove_cmd(
    index: Annotated[int, typer.Argument(help="Record index.")],
    db: DbOpt = None,
    key: KeyOpt = None,
    size: Annotated[
        int | None, typer.Option("--size", help="Tree size of a stored checkpoint.")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Print an inclusion proof (JSON) of one record against a signed checkpoint."""
    with _open_ro(db, key) as led:
        if not 0 <= index < led.size:
            raise DistillguardError(f"no record {index}: the log has {led.size} records")
        latest = led.storage.latest_checkpoint()
        if size is None and (latest is None or latest.size <= index):
            raise DistillguardError(
                f"no checkpoint covers record {index} yet; run `distillguard ledger checkpoint`"
            )
        if size is None and latest is not None:
            size = latest.size
        proof = led.prove_inclusion(index, size)
    _echo_json(proof, output)


@app.command("verify-proof")
def verify_proof_cmd(
    proof: Annotated[Path, typer.Argument(help="Inclusion proof JSON (from `prove`).")],
    pubkey: Annotated[Path, typer.Option("--pubkey", help="The log's public key.")],
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="A signed checkpoint.")],
    record: Annotated[
        Path | None,
        typer.Option("--record", help="The record envelope JSON (default: the proof's copy)."),
    ] = None,
) -> None:
    """Offline: check that a record is in the log, given only public files."""
    from .verify import verify_inclusion_proof

    name, pub = _pubkey(pubkey)
    p = _read_json(proof, "proof")
    if not isinstance(p, dict):
        raise VerificationError("proof is not a JSON object")
    rec = _read_json(record, "record") if record is not None else p.get("record")
    if not isinstance(rec, dict):
        raise VerificationError("record is not a JSON object (pass --record)")
    cp = verify_inclusion_proof(p, rec, _read_text(checkpoint, "checkpoint"), pub, name)
    typer.echo(f"OK: record {p['index']} is in {cp.origin} at tree size {cp.size}")


@app.command("consistency")
def consistency_cmd(
    old: Annotated[Path, typer.Argument(help="Older signed checkpoint file.")],
    new: Annotated[Path, typer.Argument(help="Newer signed checkpoint file.")],
    proof: Annotated[
        Path | None, typer.Option("--proof", help="Verify this proof offline (no database).")
    ] = None,
    pubkey: PubOpt = None,
    db: DbOpt = None,
    key: KeyOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Prove (with the log) or check (with --proof) that NEW extends OLD."""
    from . import note
    from .verify import verify_consistency_proof

    old_text, new_text = _read_text(old, "checkpoint"), _read_text(new, "checkpoint")
    if proof is not None:
        if pubkey is None:
            raise DistillguardError("--proof needs --pubkey (the log's public key)")
        name, pub = _pubkey(pubkey)
        p = _read_json(proof, "proof")
    else:
        with _open_ro(db, key) as led:
            pub = _trusted_pub(led, pubkey)
            name = led.origin
            a = note.open_checkpoint(old_text, pub, led.origin)
            b = note.open_checkpoint(new_text, pub, led.origin)
            p = led.prove_consistency(a.size, b.size)
        _echo_json(p, output)
    a, b = verify_consistency_proof(p, old_text, new_text, pub, name)
    typer.echo(f"OK: tree {b.size} of {a.origin} extends tree {a.size}", err=proof is None)


@app.command("export")
def export_cmd(
    dest: Annotated[Path, typer.Argument(help="A directory, or a file ending in .jsonl.")],
    db: DbOpt = None,
    key: KeyOpt = None,
) -> None:
    """Export records, checkpoints and the public key for an auditor."""
    from .export import export_ledger

    with _open_ro(db, key) as led, _progress(led.size, "exporting") as tick:
        n = export_ledger(led, dest, progress=tick)
    typer.echo(f"exported {n} records of {led.origin} to {dest}")


@app.command("verify-export")
def verify_export_cmd(
    src: Annotated[Path, typer.Argument(help="An export directory or .jsonl file.")],
    pubkey: Annotated[Path, typer.Option("--pubkey", help="The log's public key to trust.")],
) -> None:
    """Offline: re-verify a whole export against its signed checkpoints."""
    from .export import verify_export

    name, pub = _pubkey(pubkey)
    n, size = verify_export(src, pub, name)
    typer.echo(f"OK: {n} exported records verified; latest signed checkpoint covers {size}")


@app.command("purge-payloads")
def purge_payloads_cmd(db: DbOpt = None, key: KeyOpt = None) -> None:
    """Delete raw payloads whose retention has ended (records and proofs are unaffected)."""
    from .open import open_ledger

    with open_ledger(db, key, create=False, need_key=False) as led:
        n = led.purge_expired_payloads()
    typer.echo(f"deleted {n} expired payload(s)")


@app.command("pubkey")
def pubkey_cmd(
    db: DbOpt = None,
    key: KeyOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="pem or note (verifier key).")] = "pem",
) -> None:
    """Print the log's public key (PEM, or the signed-note verifier key)."""
    if fmt not in ("pem", "note"):
        raise DistillguardError("--format must be pem or note")
    with _open_ro(db, key) as led:
        out = led.public_key_pem().decode() if fmt == "pem" else led.verifier_key() + "\n"
    typer.echo(out, nl=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="ledger")
