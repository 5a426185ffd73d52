"""`distillguard ledger ...`: operate the ledger and check it, online or offline.

Commands that only read (verify, prove, export, pubkey, consistency) open the database
read-only, so bad input never changes anything. `verify-proof` and `consistency` with
`--proof` need no database at all: only the public key and the files an auditor holds.
Exit codes follow one rule: a file that is missing, empty, binary or of another kind (a proof
given as `--pubkey`) is bad input (2, one line naming the option and the file); a file of
the right kind that does not check out, damaged or forged, is a failed verification (1).
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


PUBKEY_HINT = "expected the output of `distillguard ledger pubkey`"
CHECKPOINT_HINT = "expected the output of `distillguard ledger checkpoint`"
PROOF_HINT = "expected the JSON output of `distillguard ledger prove`"


def _read_text(path: Path, what: str, hint: str = "") -> str:
    """A text file the user named; one-line DistillguardError (exit 2) if it cannot be read,
    is empty or is not text. `what` names the option or argument, e.g. '--pubkey'."""
    hint = f" ({hint})" if hint else ""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DistillguardError(f"{what} {path}: cannot read: {exc.strerror or exc}") from None
    if not data.strip():
        raise DistillguardError(f"{what} {path}: the file is empty{hint}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise DistillguardError(f"{what} {path}: not a text file{hint}") from None


def _read_json(path: Path, what: str, kind: tuple[str, str] | None = None, hint: str = "") -> Any:
    """A JSON object from a file (or stdin for '-').

    A file that is not JSON at all, or JSON of another kind (its `type` is not `kind`), is
    bad input (exit 2); a JSON object that is damaged (truncated, say) fails verification
    (exit 1), as a forged one does.
    """
    text = sys.stdin.read() if str(path) == "-" else _read_text(path, what, hint)
    hint = f" ({hint})" if hint else ""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        if not text.lstrip().startswith("{"):
            raise DistillguardError(f"{what} {path}: not a JSON object{hint}") from None
        msg = f"{what} {path} is not valid JSON ({exc.msg}, line {exc.lineno})"
        raise VerificationError(msg) from None
    if not isinstance(obj, dict):
        raise DistillguardError(f"{what} {path}: not a JSON object{hint}")
    if kind is not None and obj.get("type") != kind[0]:
        got = obj.get("type")
        named = f", its type is {got[:60]!r}" if isinstance(got, str) else ""
        raise DistillguardError(f"{what} {path}: not {kind[1]}{named}{hint}")
    return obj


def _read_checkpoint(path: Path, what: str = "--checkpoint") -> str:
    """A signed checkpoint file: a file of another kind is bad input (exit 2); a signed note
    that is damaged or forged is left to the verification (exit 1)."""
    text = _read_text(path, what, CHECKPOINT_HINT)
    if "\n\n\u2014 " not in text:
        raise DistillguardError(f"{what} {path}: not a signed checkpoint ({CHECKPOINT_HINT})")
    return text


def _pubkey(path: Path, what: str = "--pubkey") -> tuple[str | None, Ed25519PublicKey]:
    """The public key in a file (PEM or note verifier key); one line, exit 2, if it is not."""
    from .verify import load_verifier

    text = _read_text(path, what, PUBKEY_HINT).strip()
    try:
        return load_verifier(text.encode())
    except (DistillguardError, ValueError) as exc:
        if "PRIVATE KEY-----" in text:
            why = "this is a private key, pass the public key"
        elif text.startswith("-----BEGIN PUBLIC KEY") or (
            "\n" not in text and text.count("+") >= 2
        ):
            why = f"not a ledger public key: {exc}"  # the right kind, but damaged
        else:
            why = "not a ledger public key"
        raise DistillguardError(f"{what} {path}: {why} ({PUBKEY_HINT})") from None


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


def _check_output(output: Path | None) -> None:
    """Fail (exit 2) before doing anything when --output cannot be written."""
    import os
    import tempfile

    if output is None:
        return
    # the message is `<path>: <reason>`, as for any path that cannot be written (cli.main)
    if output.is_dir():
        raise DistillguardError(f"{output}: Is a directory (--output takes a file name)")
    try:
        fd, probe = tempfile.mkstemp(dir=output.parent, prefix=".dg-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DistillguardError(f"{output}: {exc.strerror or exc}") from None


def _write_output(output: Path, text: str) -> None:
    """Write --output whole or not at all (temporary file, then rename)."""
    import os
    import tempfile

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, output)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise DistillguardError(f"{output}: {exc.strerror or exc}") from None


def _echo_json(obj: Any, output: Path | None) -> None:
    text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        _write_output(output, text)
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

    _check_output(output)  # before signing: a checkpoint is stored for good
    with open_ledger(db, key, create=False) as led:
        text = led.checkpoint()
    if output is not None:
        _write_output(output, text)
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
    trusted = _read_checkpoint(checkpoint) if checkpoint else None
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
    _check_output(output)
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
    from .ledger import INCLUSION_TYPE
    from .verify import verify_inclusion_proof

    name, pub = _pubkey(pubkey)
    cp_text = _read_checkpoint(checkpoint)
    p = _read_json(proof, "proof", (INCLUSION_TYPE, "an inclusion proof"), PROOF_HINT)
    rec = _read_json(record, "--record") if record is not None else p.get("record")
    if not isinstance(rec, dict):
        raise VerificationError("record is not a JSON object (pass --record)")
    cp = verify_inclusion_proof(p, rec, cp_text, pub, name)
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
    from .ledger import CONSISTENCY_TYPE
    from .verify import verify_consistency_proof

    old_text, new_text = _read_checkpoint(old, "OLD"), _read_checkpoint(new, "NEW")
    _check_output(output)
    if proof is not None:
        if pubkey is None:
            raise DistillguardError("--proof needs --pubkey (the log's public key)")
        name, pub = _pubkey(pubkey)
        hint = "expected the JSON output of `distillguard ledger consistency`"
        p = _read_json(proof, "--proof", (CONSISTENCY_TYPE, "a consistency proof"), hint)
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


def _check_export(src: Path) -> None:
    """Refuse (exit 2) a path that is not an export at all; a damaged export fails
    verification (exit 1) later."""
    hint = "expected a directory or .jsonl file written by `distillguard ledger export`"
    if src.is_dir():
        if not (src / "records.jsonl").is_file():
            raise DistillguardError(f"{src}: not a ledger export, no records.jsonl ({hint})")
        return
    try:
        with src.open("rb") as f:
            first = f.readline(1 << 20)
    except OSError as exc:
        raise DistillguardError(f"{src}: cannot read: {exc.strerror or exc}") from None
    try:
        head = json.loads(first)
    except (json.JSONDecodeError, UnicodeDecodeError):
        head = None
    if not isinstance(head, dict) or head.get("kind") != "ledger":
        raise DistillguardError(f"{src}: not a ledger export ({hint})")


@app.command("verify-export")
def verify_export_cmd(
    src: Annotated[Path, typer.Argument(help="An export directory or .jsonl file.")],
    pubkey: Annotated[Path, typer.Option("--pubkey", help="The log's public key to trust.")],
) -> None:
    """Offline: re-verify a whole export against its signed checkpoints."""
    from .export import verify_export

    name, pub = _pubkey(pubkey)
    _check_export(src)
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
