"""Export for auditors, and offline verification of an export.

A directory export holds:
- `records.jsonl`: each line is exactly the stored leaf bytes (canonical JSON of
  `{"index", "record", "time"}`), so SHA-256(0x00 || line) is the Merkle leaf hash;
- `checkpoints/<size>.txt`: every signed checkpoint; `checkpoint.txt`: the latest;
- `pubkey.pem` and `verifier-key.txt`: the public key, as PEM and as a note verifier key.
A `.jsonl` export holds the same in one file: a header line (`"kind": "ledger"`), then
`"kind": "checkpoint"` lines, then `"kind": "record"` lines carrying the envelope.

`verify_export` needs only the export and a public key the auditor trusts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from distillguard.errors import DistillguardError, VerificationError

from . import merkle, note
from .canonical import canonical_json

if TYPE_CHECKING:
    from .ledger import Ledger


def export_ledger(led: Ledger, dest: Path, progress: Callable[[int], None] | None = None) -> int:
    """Write records, checkpoints and public key to `dest`; return the record count.

    Written under a temporary name beside `dest` and renamed into place once complete, so
    an export that fails part-way (disk full, storage error) leaves nothing an auditor
    could mistake for a whole export.
    """
    jsonl = dest.suffix == ".jsonl"
    if jsonl and dest.exists():
        raise DistillguardError(f"{dest} already exists; export to a new file")
    if not jsonl and dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DistillguardError(f"export directory {dest} is not empty (or not a directory)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    try:
        n = (_export_file if jsonl else _export_dir)(led, tmp, progress)
        if dest.is_dir():
            dest.rmdir()  # the empty directory we were given
        tmp.replace(dest)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise
    return n


def _export_file(led: Ledger, dest: Path, progress: Callable[[int], None] | None) -> int:
    n = 0
    with dest.open("wb") as f:
        head = {
            "kind": "ledger",
            "origin": led.origin,
            "public_key_pem": led.public_key_pem().decode(),
            "verifier_key": led.verifier_key(),
        }
        f.write(orjson.dumps(head) + b"\n")
        for cp in led.storage.checkpoints():
            f.write(orjson.dumps({"kind": "checkpoint", "size": cp.size, "note": cp.note}))
            f.write(b"\n")
        for rows in led.storage.iter_records(0, 65536):
            for _, _, _, body in rows:
                f.write(b'{"kind":"record","envelope":' + body + b"}\n")
            n += len(rows)
            if progress:
                progress(n)
    return n


def _export_dir(led: Ledger, dest: Path, progress: Callable[[int], None] | None) -> int:
    n = 0
    cps = led.storage.checkpoints()
    (dest / "checkpoints").mkdir(parents=True)
    (dest / "pubkey.pem").write_bytes(led.public_key_pem())
    (dest / "verifier-key.txt").write_text(led.verifier_key() + "\n")
    for cp in cps:
        (dest / "checkpoints" / f"{cp.size}.txt").write_text(cp.note, encoding="utf-8")
    if cps:
        (dest / "checkpoint.txt").write_text(cps[-1].note, encoding="utf-8")
    with (dest / "records.jsonl").open("wb") as f:
        for rows in led.storage.iter_records(0, 65536):
            f.write(b"".join(body + b"\n" for _, _, _, body in rows))
            n += len(rows)
            if progress:
                progress(n)
    return n


def _read_export(src: Path) -> tuple[list[str], Iterator[bytes]]:
    """(checkpoint notes, iterator of record envelope bytes as exported)."""
    if src.is_dir():
        found = sorted((src / "checkpoints").glob("*.txt"))
        texts = [p.read_text(encoding="utf-8") for p in found]
        path = src / "records.jsonl"
        if not path.exists():
            raise DistillguardError(f"{src} has no records.jsonl")

        def lines() -> Iterator[bytes]:
            with path.open("rb") as f:
                for line in f:
                    yield line.rstrip(b"\n")

        return texts, lines()
    try:
        f = src.open("rb")
    except OSError as exc:
        raise DistillguardError(f"cannot read export {src}: {exc.strerror}") from None
    notes: list[str] = []
    first: list[bytes] = []
    for line in f:
        obj = orjson.loads(line)
        if obj.get("kind") == "checkpoint":
            notes.append(str(obj["note"]))
        elif obj.get("kind") == "record":
            first.append(canonical_json(obj["envelope"]))
            break

    def records() -> Iterator[bytes]:
        yield from first
        with f:
            for line in f:
                yield canonical_json(orjson.loads(line)["envelope"])

    return notes, records()


def verify_export(
    src: Path,
    pub: Ed25519PublicKey,
    origin: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Re-verify an export: every record against every signed checkpoint it contains.

    Returns (records, latest checkpoint size); raises VerificationError naming the first
    bad record or checkpoint.
    """
    try:
        notes, records = _read_export(src)
        if not notes:
            raise VerificationError("the export holds no signed checkpoint")
        cps = sorted((note.open_checkpoint(t, pub, origin) for t in notes), key=lambda c: c.size)
        leaves = bytearray()
        sha = hashlib.sha256
        for i, body in enumerate(records):
            if not body.startswith(b'{"index":%d,' % i):
                raise VerificationError(f"export line for record {i} carries another index")
            if canonical_json(orjson.loads(body)) != body:
                raise VerificationError(f"record {i} is not in canonical form")
            leaves += sha(b"\x00" + body).digest()
            if progress and i % 65536 == 0:
                progress(i)
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise VerificationError(f"malformed export {src}: {exc}") from None
    except UnicodeDecodeError:
        raise VerificationError(f"malformed export {src}: a checkpoint is not UTF-8 text") from None
    n = len(leaves) // 32
    levels = merkle.build_levels(leaves)
    good = 0
    for cp in cps:
        if cp.size > n:
            raise VerificationError(f"checkpoint of size {cp.size} but the export has {n} records")
        if merkle.root_from_levels(levels, cp.size) != cp.root:
            raise VerificationError(
                f"records {good}..{cp.size - 1} do not match the signed checkpoint {cp.size}"
            )
        good = cp.size
    return n, cps[-1].size
