"""Signed manifests of model weights, in OpenSSF `model-signing` (v1.1.1) format.

Why through `model-signing`: its signature (a Sigstore bundle holding a DSSE envelope over
an in-toto statement, predicate `https://model_signing/signature/v1.0`) is what model hubs
and downstream users verify with `model_signing verify`; inventing our own format would
make our signatures useless outside distillguard. We build the manifest ourselves
(one SHA-256 per file, identical to model-signing's `files` serialization, same ignored
git paths) and hand it to the library's own `Payload` and signers, so the bytes signed are
exactly the library's. Files are hashed in parallel (largest first; hashlib releases the
GIL); files of 64 MiB or more are hashed through a read-only memory map (no copy into
Python), smaller ones with `readinto` into a reused 8 MiB buffer. model-signing reads
1 MiB objects per call. A file truncated by another process while being hashed through
the map raises SIGBUS (the process dies; nothing is written).

Verification checks the signature with the library's verifier, then re-hashes and says
*which* files changed, were added or are missing (model-signing's own message only says
that the manifests differ; sigstore/model-transparency#374).

Signers: an EC key (P-256 by default; P-384/P-521 accepted) is the default and works
offline. Sigstore keyless (OIDC identity, Fulcio certificate, Rekor log) is available with
`method="sigstore"`, but needs network access to Sigstore, so it is not exercised by our
tests on an offline machine.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import pathlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillguard.errors import DistillguardError, VerificationError

GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")
READ_BUF = 8 << 20
MMAP_MIN = 64 << 20

Progress = Callable[[int], None]


@dataclass(frozen=True)
class FileDigest:
    path: str  # relative POSIX path, "." when the model is a single file
    sha256: str
    size: int  # bytes hashed (the shard's length in shard mode)
    start: int | None = None  # shard mode: byte range [start, end) of the file
    end: int | None = None

    @property
    def identifier(self) -> str:
        """The resource name model-signing uses: `path` or `path:start:end`."""
        return self.path if self.start is None else f"{self.path}:{self.start}:{self.end}"


@dataclass(frozen=True)
class ModelManifest:
    """What was hashed: per-file digests plus the ignore list recorded in the signature."""

    model_name: str
    files: tuple[FileDigest, ...]
    ignore_paths: tuple[str, ...]
    shard_size: int | None = None  # None: one digest per file (model-signing "files")

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def root_digest(self) -> str:
        """model-signing's subject digest: sha256 over the digests in its canonical order."""
        h = hashlib.sha256()
        for rd in self.to_library().resource_descriptors():
            h.update(rd.digest.digest_value)
        return h.hexdigest()

    def to_library(self) -> Any:
        """The equivalent `model_signing.manifest.Manifest`."""
        from model_signing import manifest as ms_manifest
        from model_signing._hashing import hashing as ms_hashing

        ignores = [pathlib.Path(p) for p in self.ignore_paths]
        items: list[Any] = []
        # model-signing labels shard digests with the shard size
        alg = "sha256" if self.shard_size is None else f"sha256-sharded-{self.shard_size}"
        for f in self.files:
            digest = ms_hashing.Digest(alg, bytes.fromhex(f.sha256))
            path = pathlib.PurePosixPath(f.path)
            if f.start is None:
                items.append(ms_manifest.FileManifestItem(path=path, digest=digest))
            else:
                assert f.end is not None
                items.append(ms_manifest.ShardedFileManifestItem(
                    path=path, start=f.start, end=f.end, digest=digest))  # fmt: skip
        ser: Any
        if self.shard_size is None:
            ser = ms_manifest._FileSerialization("sha256", False, ignores)
        else:
            ser = ms_manifest._ShardSerialization("sha256", self.shard_size, False, ignores)
        return ms_manifest.Manifest(self.model_name, items, ser)


def hash_file(
    path: Path, progress: Progress | None, start: int = 0, end: int | None = None
) -> tuple[str, int]:
    """SHA-256 of a file (or of its byte range [start, end)).

    Ranges of 64 MiB or more are hashed through a read-only map (no copy into Python);
    hashed pages leave our resident set at once (they stay in the page cache), so RSS
    does not grow with the file. Smaller ranges use `preadv` into one reused buffer.
    """
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        fd = fh.fileno()
        total = os.fstat(fd).st_size
        stop = total if end is None else min(end, total)
        if stop - start >= MMAP_MIN:
            with mmap.mmap(fd, total, access=mmap.ACCESS_READ) as m, memoryview(m) as view:
                m.madvise(mmap.MADV_SEQUENTIAL)
                for off in range(start, stop, READ_BUF):
                    nxt = min(off + READ_BUF, stop)
                    with view[off:nxt] as piece:
                        h.update(piece)
                    lo = off - off % mmap.PAGESIZE
                    m.madvise(mmap.MADV_DONTNEED, lo, nxt - lo)
                    if progress:
                        progress(nxt - off)
            return h.hexdigest(), stop - start
        buf = memoryview(bytearray(READ_BUF))
        off = start
        while off < stop:
            n = os.preadv(fd, [buf[: min(READ_BUF, stop - off)]], off)
            if n == 0:
                break
            h.update(buf[:n])
            off += n
            if progress:
                progress(n)
    return h.hexdigest(), off - start


def _ignored(path: Path, ignore: Sequence[Path]) -> bool:
    return any(path.is_relative_to(p) for p in ignore)


def list_model_files(
    model_path: Path, ignore_paths: Iterable[str | Path] = (), *, allow_symlinks: bool = False
) -> tuple[list[Path], tuple[str, ...]]:
    """The files model-signing would hash, and the relative ignore list it would record."""
    if not model_path.exists():
        raise DistillguardError(f"model path {model_path} does not exist")
    root = model_path.resolve()
    rel_ignores: set[str] = set(GIT_PATHS)  # model-signing records these even for one file
    for p in ignore_paths:
        cand = Path(p)
        cand = (cand if cand.is_absolute() else Path.cwd() / cand).resolve()
        try:
            rel_ignores.add(str(cand.relative_to(root)))
        except ValueError:
            continue  # outside the model: nothing to ignore
    ignore_full = [model_path / r for r in rel_ignores]
    out: list[Path] = []
    for path in [model_path, *sorted(model_path.glob("**/*"))]:
        if not allow_symlinks and path.is_symlink():
            raise DistillguardError(f"{path} is a symbolic link; refusing to sign through it")
        if not (path.is_file() or path.is_dir()):
            raise DistillguardError(f"{path} is neither a regular file nor a directory")
        if path.is_file() and not _ignored(path, ignore_full):
            out.append(path)
    return out, tuple(sorted(rel_ignores))


def _endpoints(shard_size: int, size: int) -> list[tuple[int, int]]:
    """model-signing's shards of a file: [0, s), [s, 2s), ..., [ks, size); none if empty."""
    return [(a, min(a + shard_size, size)) for a in range(0, size, shard_size)]


def hash_model(
    model_path: Path,
    *,
    ignore_paths: Iterable[str | Path] = (),
    workers: int | None = None,
    progress: Progress | None = None,
    shard_size: int | None = None,
) -> ModelManifest:
    """Hash every file of a model (a file or a directory tree) in parallel.

    With `shard_size`, files are hashed in shards of that many bytes, all in parallel
    (model-signing's "shards" serialization, which `model_signing verify` recognises
    from the signature): a single 100 GB file then uses every core.
    """
    model_path = Path(model_path)
    if shard_size is not None and shard_size < (1 << 20):
        raise DistillguardError("shard size must be at least 1 MiB")
    files, rel_ignores = list_model_files(model_path, ignore_paths)
    tasks: list[tuple[Path, int, int | None]] = []
    for p in files:
        size = p.stat().st_size
        if shard_size is None:
            tasks.append((p, 0, None))
        else:
            tasks.extend((p, a, b) for a, b in _endpoints(shard_size, size))
    # largest first: best load balance
    tasks.sort(key=lambda t: -((t[2] if t[2] is not None else t[0].stat().st_size) - t[1]))
    n = workers or min(32, (os.cpu_count() or 1) + 1)
    with ThreadPoolExecutor(max_workers=max(1, n), thread_name_prefix="dg-hash") as ex:
        results = list(ex.map(lambda t: hash_file(t[0], progress, t[1], t[2]), tasks))
    digests = []
    for (p, a, b), (hexd, size) in zip(tasks, results, strict=True):
        rel = p.relative_to(model_path).as_posix()
        if shard_size is None:
            digests.append(FileDigest(rel, hexd, size))
        else:
            digests.append(FileDigest(rel, hexd, size, a, b))
    name = model_path.name or os.path.basename(model_path.resolve())
    ordered = tuple(sorted(digests, key=lambda f: (f.path, f.start or 0)))
    return ModelManifest(name, ordered, rel_ignores, shard_size)


# -- keys ---------------------------------------------------------------------------------


def generate_signing_key(private_path: Path, *, curve: str = "P-256") -> Path:
    """Write an EC private key (0600) and its public key beside it (`.pub`)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from distillguard.weights.keys import write_private_file

    curves: dict[str, ec.EllipticCurve] = {
        "P-256": ec.SECP256R1(),
        "P-384": ec.SECP384R1(),
        "P-521": ec.SECP521R1(),
    }
    if curve not in curves:
        raise DistillguardError(f"unsupported curve {curve!r}: use {', '.join(curves)}")
    if private_path.exists():
        raise DistillguardError(f"{private_path} already exists; refusing to overwrite it")
    key = ec.generate_private_key(curves[curve])
    write_private_file(
        private_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    pub = private_path.with_name(private_path.name + ".pub")
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pub


# -- sign / verify ------------------------------------------------------------------------


@dataclass(frozen=True)
class SigstoreOptions:
    """Keyless signing through Sigstore (needs network and an OIDC identity)."""

    identity_token: str | None = None
    use_staging: bool = False
    oidc_issuer: str | None = None


@dataclass(frozen=True)
class SignResult:
    signature: Path
    manifest: ModelManifest


def sign_model(
    model_path: Path,
    signature_path: Path,
    *,
    private_key: Path | None = None,
    password: str | None = None,
    sigstore: SigstoreOptions | None = None,
    ignore_paths: Iterable[str | Path] = (),
    workers: int | None = None,
    progress: Progress | None = None,
    shard_size: int | None = None,
) -> SignResult:
    """Hash and sign; the signature verifies with `model_signing verify key|sigstore`."""
    from model_signing._signing import signing as ms_signing

    if (private_key is None) == (sigstore is None):
        raise DistillguardError("give exactly one of a private key or Sigstore options")
    signer: Any
    if private_key is not None:
        from model_signing._signing import sign_ec_key

        try:
            signer = sign_ec_key.Signer(Path(private_key), password)
        except FileNotFoundError:
            raise DistillguardError(f"private key {private_key} not found") from None
        except (ValueError, TypeError) as exc:
            raise DistillguardError(f"cannot use {private_key} as a signing key: {exc}") from None
    else:
        assert sigstore is not None
        from model_signing._signing import sign_sigstore

        signer = sign_sigstore.Signer(
            identity_token=sigstore.identity_token,
            use_staging=sigstore.use_staging,
            oidc_issuer=sigstore.oidc_issuer,
            use_ambient_credentials=sigstore.identity_token is None,
        )
    man = hash_model(
        model_path,
        ignore_paths=[*ignore_paths, signature_path],
        workers=workers,
        progress=progress,
        shard_size=shard_size,
    )
    signature = signer.sign(ms_signing.Payload(man.to_library()))
    signature_path = Path(signature_path)
    tmp = signature_path.with_name(f".{signature_path.name}.tmp")
    signature.write(tmp)
    os.replace(tmp, signature_path)
    return SignResult(signature_path, man)


def read_signed_manifest(
    signature_path: Path,
    *,
    public_key: Path | None = None,
    sigstore_identity: tuple[str, str] | None = None,
) -> dict[str, str]:
    """Check the signature itself; return the signed {path: sha256} and the ignore list."""
    from model_signing import manifest as ms_manifest

    if not Path(signature_path).is_file():
        raise DistillguardError(f"signature {signature_path} not found")
    try:
        if public_key is not None:
            from model_signing._signing import sign_ec_key, sign_sigstore_pb

            verifier: Any = sign_ec_key.Verifier(Path(public_key))
            sig: Any = sign_sigstore_pb.Signature.read(Path(signature_path))
        elif sigstore_identity is not None:
            from model_signing._signing import sign_sigstore

            verifier = sign_sigstore.Verifier(
                identity=sigstore_identity[0], oidc_issuer=sigstore_identity[1]
            )
            sig = sign_sigstore.Signature.read(Path(signature_path))
        else:
            raise DistillguardError("give a public key or a Sigstore identity to verify with")
        expected: ms_manifest.Manifest = verifier.verify(sig)
    except DistillguardError:
        raise
    except FileNotFoundError as exc:
        raise DistillguardError(f"file not found: {exc.filename}") from None
    except Exception as exc:  # the library raises ValueError, InvalidSignature, parse errors
        msg = str(exc) or type(exc).__name__
        if "Key mismatch" in msg or type(exc).__name__ == "InvalidSignature":
            msg = "the signature was not made with the private key paired with this public key"
        raise VerificationError(f"signature {signature_path} is not valid: {msg}") from None
    signed = {rd.identifier: rd.digest.digest_hex for rd in expected.resource_descriptors()}
    ignores = expected.serialization_type.get("ignore_paths", [])
    signed["\0ignore"] = "\n".join(str(p) for p in ignores)
    ser = expected.serialization_type
    if ser.get("method") not in ("files", "shards") or ser.get("hash_type") != "sha256":
        raise VerificationError(
            f"signature {signature_path} uses {ser.get('method')}/{ser.get('hash_type')}; "
            "only sha256 files or shards manifests are supported here"
        )
    # the shard size comes back from the signed JSON as a float (1048576.0)
    signed["\0shard"] = str(int(float(ser["shard_size"]))) if ser["method"] == "shards" else ""
    return signed


@dataclass(frozen=True)
class VerifyResult:
    files: int
    total_bytes: int
    root_digest: str


def verify_model(
    model_path: Path,
    signature_path: Path,
    *,
    public_key: Path | None = None,
    sigstore_identity: tuple[str, str] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> VerifyResult:
    """Verify signature and content; VerificationError names every differing file."""
    signed = read_signed_manifest(
        signature_path, public_key=public_key, sigstore_identity=sigstore_identity
    )
    ignores = [p for p in signed.pop("\0ignore").split("\n") if p]
    shard = signed.pop("\0shard")
    man = hash_model(
        Path(model_path),
        ignore_paths=[*(Path(model_path).resolve() / p for p in ignores), signature_path],
        workers=workers,
        progress=progress,
        shard_size=int(shard) if shard else None,
    )
    actual = {f.identifier: f.sha256 for f in man.files}

    def files_of(ids: Iterable[str]) -> list[str]:  # report files, not shards
        return sorted({i.rsplit(":", 2)[0] if shard else i for i in ids})

    changed = files_of(p for p in actual.keys() & signed.keys() if actual[p] != signed[p])
    added = files_of(actual.keys() - signed.keys())
    missing = files_of(signed.keys() - actual.keys())
    if shard:  # a changed file length shows up as shards added and missing
        changed = sorted(set(changed) | (set(added) & set(missing)))
        added = sorted(set(added) - set(changed))
        missing = sorted(set(missing) - set(changed))
    if changed or added or missing:
        parts = []
        for label, items in (("changed", changed), ("not signed", added), ("missing", missing)):
            if items:
                shown = ", ".join(items[:5]) + (
                    f" (+{len(items) - 5} more)" if len(items) > 5 else ""
                )
                parts.append(f"{label}: {shown}")
        raise VerificationError(
            f"model {model_path} does not match its signature; " + "; ".join(parts)
        )
    return VerifyResult(len(man.files), man.total_bytes, man.root_digest)
