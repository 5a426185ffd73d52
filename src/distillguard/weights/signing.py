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
    size: int


@dataclass(frozen=True)
class ModelManifest:
    """What was hashed: per-file digests plus the ignore list recorded in the signature."""

    model_name: str
    files: tuple[FileDigest, ...]
    ignore_paths: tuple[str, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def root_digest(self) -> str:
        """model-signing's subject digest: sha256 over the file digests in path order."""
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f.path):
            h.update(bytes.fromhex(f.sha256))
        return h.hexdigest()

    def to_library(self) -> Any:
        """The equivalent `model_signing.manifest.Manifest`."""
        from model_signing import manifest as ms_manifest
        from model_signing._hashing import hashing as ms_hashing

        items = [
            ms_manifest.FileManifestItem(
                path=pathlib.PurePosixPath(f.path),
                digest=ms_hashing.Digest("sha256", bytes.fromhex(f.sha256)),
            )
            for f in self.files
        ]
        ser = ms_manifest._FileSerialization(
            "sha256", False, [pathlib.Path(p) for p in self.ignore_paths]
        )
        return ms_manifest.Manifest(self.model_name, items, ser)


def hash_file(path: Path, progress: Progress | None) -> tuple[str, int]:
    """SHA-256 of one file; large files through a read-only map (no copy into Python)."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size >= MMAP_MIN:
            with mmap.mmap(fh.fileno(), size, access=mmap.ACCESS_READ) as m:
                m.madvise(mmap.MADV_SEQUENTIAL)
                with memoryview(m) as view:
                    for off in range(0, size, READ_BUF):
                        with view[off : off + READ_BUF] as piece:
                            h.update(piece)
                        # hashed pages leave our resident set (they stay in the page
                        # cache): RSS does not grow with the file
                        m.madvise(mmap.MADV_DONTNEED, off, min(READ_BUF, size - off))
                        if progress:
                            progress(min(READ_BUF, size - off))
            return h.hexdigest(), size
        buf = bytearray(READ_BUF)
        view = memoryview(buf)
        size = 0
        while n := fh.readinto(buf):
            h.update(view[:n])
            size += n
            if progress:
                progress(n)
    return h.hexdigest(), size


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


def hash_model(
    model_path: Path,
    *,
    ignore_paths: Iterable[str | Path] = (),
    workers: int | None = None,
    progress: Progress | None = None,
) -> ModelManifest:
    """Hash every file of a model (a file or a directory tree) in parallel."""
    model_path = Path(model_path)
    files, rel_ignores = list_model_files(model_path, ignore_paths)
    sizes = {p: p.stat().st_size for p in files}
    order = sorted(files, key=lambda p: -sizes[p])  # largest first: best load balance
    n = workers or min(32, (os.cpu_count() or 1) + 1)
    with ThreadPoolExecutor(max_workers=max(1, n), thread_name_prefix="dg-hash") as ex:
        results = list(ex.map(lambda p: hash_file(p, progress), order))
    digests = []
    for p, (hexd, size) in zip(order, results, strict=True):
        rel = p.relative_to(model_path).as_posix()
        digests.append(FileDigest(rel, hexd, size))
    name = model_path.name or os.path.basename(model_path.resolve())
    return ModelManifest(name, tuple(sorted(digests, key=lambda f: f.path)), rel_ignores)


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
    man = hash_model(
        Path(model_path),
        ignore_paths=[*(Path(model_path).resolve() / p for p in ignores), signature_path],
        workers=workers,
        progress=progress,
    )
    actual = {f.path: f.sha256 for f in man.files}
    changed = sorted(p for p in actual.keys() & signed.keys() if actual[p] != signed[p])
    added = sorted(actual.keys() - signed.keys())
    missing = sorted(signed.keys() - actual.keys())
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
