"""Encryption of weight files at rest: AES-256-GCM in authenticated chunks (STREAM).

Why chunks: a single GCM message is limited to 64 GiB and must be held or re-read to
check its tag before any plaintext may be used; chunking gives constant memory for files
of hundreds of GB and lets every chunk be checked before it is released. The layout is
the STREAM construction (Hoang et al. 2015), as in age and Tink's streaming AEAD:

    file   = MAGIC(8) | u32 header_len | header (canonical JSON) | chunk_0 | ... | chunk_{n-1}
    chunk  = AES-256-GCM(DEK, nonce_i, plaintext_i, AD_i)  (ciphertext || 16-byte tag)
    nonce_i = nonce_prefix (8 random bytes per file) || u32 i
    AD_i   = sha256(MAGIC | len | header) || u64 i || u8 final

The header (file id, chunk size, plaintext size) is bound into every chunk through its
hash; the index catches reordering; the final flag catches truncation at a chunk boundary
and appended chunks. Each file has its own random DEK; only the DEK wrapped by a KEK
(`keys.KeyProvider`) is stored, in a small JSON envelope beside the file (`<file>.key`),
so that key rotation rewrites the envelope and never the data.

Speed (issue 8, measured; docs/weights.md): AES-256-GCM runs at 5-10 GB/s on one core
here and is not the bound; `cryptography` holds the GIL while encrypting, and preadv /
pwrite release it, so a small thread pool overlaps I/O with the cipher. What was slow
on this VM is putting data into fresh page-cache pages (1-2 CPU s per GB in the kernel),
so cold input ranges are read O_DIRECT (`_Reader`) and outputs are written O_DIRECT
(`_Writer`), with buffered fallbacks where O_DIRECT is refused. Memory is
`workers x in-flight x chunk size`, independent of the file size. Outputs go to a
temporary file in the destination folder, are fsynced and renamed: a failure leaves
nothing half-written.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import io
import json
import mmap
import os
import queue
import secrets
import stat
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from distillguard.errors import DistillguardError, VerificationError
from distillguard.weights.keys import DEK_BYTES, KeyProvider, WrappedKey

MAGIC = b"DGVAULT\x01"
ALG = "AES-256-GCM-STREAM-v1"
TAG = 16
DEFAULT_CHUNK = 8 << 20
MIN_CHUNK = 4096
MAX_CHUNK = 64 << 20
MAX_HEADER = 64 << 10
ENVELOPE_SUFFIX = ".key"

Progress = Callable[[int], None]


class UnauthorisedDestination(DistillguardError):
    """Decryption to a place the registry does not authorise (a security event)."""


@dataclass(frozen=True)
class Header:
    file_id: str
    chunk_size: int
    nonce_prefix: bytes
    plaintext_size: int
    raw: bytes  # MAGIC | len | json, exactly as stored

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.raw).digest()

    @property
    def n_chunks(self) -> int:
        return max(1, -(-self.plaintext_size // self.chunk_size))

    @property
    def ciphertext_size(self) -> int:
        return len(self.raw) + self.plaintext_size + self.n_chunks * TAG

    def context(self) -> bytes:
        """What wrapped DEKs are bound to: this file's id and header."""
        return b"distillguard/weights/vault/v1|" + self.file_id.encode() + b"|" + self.digest

    @classmethod
    def new(cls, plaintext_size: int, chunk_size: int) -> Header:
        if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
            raise DistillguardError(f"chunk size must be between {MIN_CHUNK} and {MAX_CHUNK}")
        prefix = secrets.token_bytes(8)
        obj = {
            "alg": ALG,
            "chunk_size": chunk_size,
            "file_id": secrets.token_hex(16),
            "nonce_prefix": prefix.hex(),
            "plaintext_size": plaintext_size,
            "v": 1,
        }
        body = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
        raw = MAGIC + struct.pack(">I", len(body)) + body
        return cls(obj["file_id"], chunk_size, prefix, plaintext_size, raw)  # type: ignore[arg-type]

    @classmethod
    def read(cls, fh: BinaryIO, name: str) -> Header:
        head = fh.read(12)
        if len(head) < 12 or head[:8] != MAGIC:
            raise VerificationError(f"{name} is not a distillguard vault file (bad magic)")
        (n,) = struct.unpack(">I", head[8:12])
        if n > MAX_HEADER:
            raise VerificationError(f"{name}: header length {n} is implausible")
        body = fh.read(n)
        if len(body) != n:
            raise VerificationError(f"{name} is truncated inside its header")
        try:
            obj = json.loads(body)
            hdr = cls(
                str(obj["file_id"]),
                int(obj["chunk_size"]),
                bytes.fromhex(obj["nonce_prefix"]),
                int(obj["plaintext_size"]),
                head + body,
            )
            ok = obj["alg"] == ALG and len(hdr.nonce_prefix) == 8
        except (ValueError, KeyError, TypeError):
            raise VerificationError(f"{name}: malformed vault header") from None
        if not ok or not MIN_CHUNK <= hdr.chunk_size <= MAX_CHUNK or hdr.plaintext_size < 0:
            raise VerificationError(f"{name}: unsupported or malformed vault header")
        return hdr

    def nonce(self, i: int) -> bytes:
        return self.nonce_prefix + struct.pack(">I", i)

    def ad(self, i: int, final: bool) -> bytes:
        return self.digest + struct.pack(">QB", i, 1 if final else 0)


# -- envelopes ----------------------------------------------------------------------------


@dataclass
class Envelope:
    """The wrapped DEK(s) of one vault file; several wraps may coexist (KEK, recipients)."""

    file_id: str
    header_sha256: str
    keys: list[WrappedKey]

    def to_bytes(self) -> bytes:
        obj = {
            "v": 1,
            "file_id": self.file_id,
            "header_sha256": self.header_sha256,
            "keys": [k.to_json() for k in self.keys],
        }
        return json.dumps(obj, indent=1).encode()

    @classmethod
    def from_bytes(cls, data: bytes, name: str) -> Envelope:
        try:
            obj = json.loads(data)
            return cls(
                str(obj["file_id"]),
                str(obj["header_sha256"]),
                [WrappedKey.from_json(k) for k in obj["keys"]],
            )
        except (ValueError, KeyError, TypeError):
            raise DistillguardError(f"{name} is not a valid key envelope") from None

    def check_matches(self, header: Header) -> None:
        if self.file_id != header.file_id or self.header_sha256 != header.digest.hex():
            raise VerificationError(
                "the key envelope belongs to another file (file id or header hash differs)"
            )


def envelope_path(vault_file: Path) -> Path:
    return vault_file.with_name(vault_file.name + ENVELOPE_SUFFIX)


def read_envelope(path: Path) -> Envelope:
    try:
        return Envelope.from_bytes(path.read_bytes(), str(path))
    except FileNotFoundError:
        raise DistillguardError(f"key envelope {path} not found") from None


def write_envelope(path: Path, env: Envelope) -> None:
    from distillguard.weights.keys import write_private_file

    write_private_file(path, env.to_bytes())


def unwrap_dek(env: Envelope, header: Header, provider: KeyProvider) -> bytes:
    """The DEK, unwrapped by whichever of the envelope's wraps `provider` owns."""
    env.check_matches(header)
    mine = [k for k in env.keys if k.provider == provider.name]
    if not mine:
        raise VerificationError(f"no data key in the envelope is wrapped by {provider.name}")
    last: VerificationError | None = None
    for wk in mine:
        try:
            dek = provider.unwrap(wk, header.context())
        except VerificationError as exc:
            last = exc
            continue
        if len(dek) != DEK_BYTES:
            raise VerificationError("unwrapped data key has the wrong length")
        return dek
    assert last is not None
    raise last


def rewrap(vault_file: Path, provider: KeyProvider) -> int:
    """Re-wrap the file's DEK under the provider's current KEK; returns wraps replaced.

    The data is not read or rewritten; the envelope is replaced atomically.
    """
    header = read_header(vault_file)
    epath = envelope_path(vault_file)
    env = read_envelope(epath)
    dek = unwrap_dek(env, header, provider)
    kept = [k for k in env.keys if k.provider != provider.name]
    replaced = len(env.keys) - len(kept)
    env.keys = [*kept, provider.wrap(dek, header.context())]
    write_envelope(epath, env)
    return replaced


def read_header(path: Path) -> Header:
    try:
        with open(path, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise DistillguardError(f"{path} is not a regular file")
            return Header.read(fh, str(path))
    except FileNotFoundError:
        raise DistillguardError(f"{path} not found") from None
    except OSError as exc:
        raise DistillguardError(f"cannot read {path}: {exc.strerror}") from None


# -- the chunk engine ---------------------------------------------------------------------


PAGE = mmap.PAGESIZE  # O_DIRECT alignment (covers 512- and 4096-byte logical blocks)


def _aligned(size: int) -> memoryview:
    """A page-aligned buffer (anonymous map), as O_DIRECT needs; not kept in the heap."""
    return memoryview(mmap.mmap(-1, max(size, 1)))


def _open_direct(path: Path, flags: int, like: int) -> int:
    """A second descriptor on the same file with O_DIRECT, or -1 where unsupported
    (tmpfs, some network filesystems). `like` must be the same inode: no swap between."""
    direct = getattr(os, "O_DIRECT", 0)
    if not direct:
        return -1
    try:
        fd = os.open(path, flags | direct)
    except OSError:
        return -1
    a, b = os.fstat(fd), os.fstat(like)
    if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
        os.close(fd)
        raise DistillguardError(f"{path} was replaced while being opened")
    return fd


class _CacheStat(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("cache", "dirty", "writeback", "ev", "rev")]


class _Range(ctypes.Structure):
    _fields_ = [("off", ctypes.c_uint64), ("len", ctypes.c_uint64)]


_SYS_CACHESTAT = 451  # Linux >= 6.5, the same number on every architecture
_libc: Any = None


def _cached_pages(fd: int, off: int, length: int) -> int | None:
    """Pages of the range in the page cache (cachestat(2)); None where unavailable."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else False
        except OSError:
            _libc = False
    if not _libc:
        return None
    rng, st = _Range(off, length), _CacheStat()
    if _libc.syscall(_SYS_CACHESTAT, fd, ctypes.byref(rng), ctypes.byref(st), 0) != 0:
        _libc = False  # ENOSYS (older kernel) or refused: do not ask again
        return None
    return int(st.cache)


class _Reader:
    """Reads byte ranges of an input file into page-aligned buffers, bypassing the page
    cache for data that is not already in it.

    Why (issue 8, measured on this VM): reading a cold file through the page cache
    (mmap faults, read/pread) cost 1-1.5 CPU s per GB in the kernel and ran at
    0.3-0.8 GB/s, where O_DIRECT reads of the same file ran at 1-1.7 GB/s with a fifth
    of the CPU. A range already wholly in the page cache (cachestat(2)) is copied from
    it instead, so warm inputs stay fast; without cachestat every range is read
    O_DIRECT. (preadv with RWF_NOWAIT cannot serve as the test: a miss starts
    readahead into the page cache, the very cost avoided here.) Every read checks that
    the file still holds the bytes asked for: a file truncated meanwhile is a clear
    error, not a SIGBUS as with a memory map.
    """

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path, self.fd, self.size = path, fd, size
        self.dfd = _open_direct(path, os.O_RDONLY, fd)

    def buffer(self, longest: int) -> memoryview:
        """A buffer `read` can use for ranges up to `longest` bytes."""
        return _aligned(longest + 2 * PAGE)

    def read(self, off: int, length: int, buf: memoryview) -> memoryview:
        lo = off - off % PAGE
        hi = -(-(off + length) // PAGE) * PAGE
        if self.dfd >= 0 and (_cached_pages(self.fd, lo, hi - lo) or 0) < (hi - lo) // PAGE:
            got = _pread_into(self.dfd, buf[: hi - lo], lo)
            if got >= off + length - lo:
                return buf[off - lo : off - lo + length]
        elif _pread_into(self.fd, buf[:length], off) == length:
            return buf[:length]
        raise VerificationError(f"{self.path} changed while being read (short read at {off})")

    def close(self) -> None:
        if self.dfd >= 0:
            os.close(self.dfd)
            self.dfd = -1


def _pread_into(fd: int, buf: memoryview, off: int) -> int:
    """Fill `buf` from `off` until it is full or the file ends; returns bytes read."""
    done = 0
    while done < len(buf):
        n = os.preadv(fd, [buf[done:]], off + done)
        if n == 0:
            break
        done += n
    return done


def _pwrite_all(fd: int, data: bytes | memoryview, offset: int, behind: int = 0) -> None:
    """Write all of `data` at `offset`; with `behind` > 0, then write behind (see below)."""
    view = memoryview(data)
    start, length = offset, len(view)
    while len(view):
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n
    if behind > 0:
        _write_behind(fd, start, length, behind)


WRITE_BEHIND_CHUNKS = 8  # how far behind the newest write written pages are dropped


def _write_behind(fd: int, start: int, length: int, lag: int) -> None:
    """Start writeback of the range just written and drop the range `lag` bytes back.

    The fallback where O_DIRECT is refused. Why (issue 8): buffered writes of a whole
    file into fresh page-cache pages ran at 0.3-0.5 GB/s on this VM (one core in the
    kernel allocating pages), and the final fsync then had the whole file to write.
    POSIX_FADV_DONTNEED on a dirty range starts its writeback without waiting; on a
    range already written back it frees the pages, which the next chunks reuse.
    Measured on /tmp (ext4), 512 MiB with fallocate + 8 MiB pwrites + fsync: 0.31-0.50
    GB/s plain, 1.40-1.92 GB/s with this. Durability is unchanged: the caller's fsync
    still waits for every page and the extent metadata. Pages still dirty or under
    writeback are skipped by the kernel, never lost.
    """
    with suppress(OSError):  # advice only: a filesystem that refuses it just goes slower
        os.posix_fadvise(fd, start, length, os.POSIX_FADV_DONTNEED)
        if start >= lag:
            os.posix_fadvise(fd, start - lag, length, os.POSIX_FADV_DONTNEED)


def _bounded(
    fn: Callable[[int], Any], n: int, workers: int, window: int
) -> Iterator[tuple[int, Any]]:
    """Run fn(0..n-1) on a thread pool, at most `window` in flight, yielding in order."""
    if workers <= 1:
        for i in range(n):
            yield i, fn(i)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dg-vault") as ex:
        pending: deque[tuple[int, Future[Any]]] = deque()
        nxt = 0
        try:
            while nxt < n or pending:
                while nxt < n and len(pending) < window:
                    pending.append((nxt, ex.submit(fn, nxt)))
                    nxt += 1
                i, fut = pending.popleft()
                yield i, fut.result()
        finally:
            for _, fut in pending:
                fut.cancel()


def _reserve(fd: int, size: int, where: Path) -> None:
    """Reserve the output's blocks up front: a full disk fails now with a clear message,
    not after hours of encryption; extents are allocated once instead of per write."""
    if size <= 0:
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DistillguardError(f"not enough space for {size} bytes next to {where}") from None
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise


def _tmp_beside(dst: Path) -> Path:
    return dst.with_name(f".{dst.name}.{secrets.token_hex(6)}.part")


@dataclass(frozen=True)
class EncryptResult:
    path: Path
    envelope: Path
    file_id: str
    plaintext_size: int
    chunks: int
    kek_id: str


def encrypt_file(
    src: Path,
    dst: Path,
    provider: KeyProvider,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    workers: int = 2,
    durable: bool = True,
    progress: Progress | None = None,
    extra_wraps: Sequence[Callable[[bytes, bytes], WrappedKey]] = (),
    processes: int | None = None,
) -> EncryptResult:
    """Encrypt `src` to `dst` (+ `dst.key` envelope) under a fresh DEK.

    `processes` > 1 encrypts disjoint chunk ranges in worker processes (AES-GCM in
    `cryptography` holds the GIL, so threads use one core for the cipher). Off by
    default: the cipher is not the bound here (5-10 GB/s on a core) and it measured no
    gain on our shared 2-core machine; it is meant for many-core servers.
    """
    if dst.exists():
        raise DistillguardError(f"{dst} already exists; refusing to overwrite it")
    try:
        src_fd = os.open(src, os.O_RDONLY)
    except OSError as exc:
        raise DistillguardError(f"cannot read {src}: {exc.strerror}") from None
    dek = secrets.token_bytes(DEK_BYTES)
    try:
        st = os.fstat(src_fd)
        if not stat.S_ISREG(st.st_mode):
            raise DistillguardError(f"{src} is not a regular file")
        size = st.st_size
        header = Header.new(size, chunk_size)
        aead = AESGCM(dek)
        n = header.n_chunks
        local = threading.local()

        def job(i: int) -> int:
            bufs = getattr(local, "bufs", None)
            if bufs is None:  # per-thread buffers: no allocation per chunk
                bufs = local.bufs = (reader.buffer(chunk_size), _aligned(chunk_size + TAG + PAGE))
            return _encrypt_chunk(aead, header, reader, bufs[0], bufs[1], i, writer)

        procs = processes or 1
        # write behind instead of filling fresh page-cache pages (see _write_behind)
        behind = WRITE_BEHIND_CHUNKS * (chunk_size + TAG)

        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp_beside(dst)
        dst_fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _reserve(dst_fd, header.ciphertext_size, dst)
            _pwrite_all(dst_fd, header.raw, 0)
            if procs > 1 and n >= 2 * procs:
                spans = _in_processes(_encrypt_span, src, tmp, dek, header, procs, behind)
                for ln in spans:
                    if progress:
                        progress(ln)
            else:
                reader = _Reader(src, src_fd, size)
                writer = _Writer(tmp, dst_fd, behind)
                try:
                    for _, ln in _bounded(job, n, workers, 2 * workers):
                        if progress:
                            progress(ln)
                finally:
                    writer.close()
                    reader.close()
            if os.fstat(src_fd).st_size != size:
                raise DistillguardError(f"{src} changed size while being encrypted")
            if durable:
                os.fsync(dst_fd)
            os.close(dst_fd)
            dst_fd = -1
            env = Envelope(
                header.file_id,
                header.digest.hex(),
                [provider.wrap(dek, header.context())]
                + [w(dek, header.context()) for w in extra_wraps],
            )
            epath = envelope_path(dst)
            write_envelope(epath, env)
            os.replace(tmp, dst)
        except BaseException:
            if dst_fd >= 0:
                os.close(dst_fd)
            tmp.unlink(missing_ok=True)
            raise
    finally:
        os.close(src_fd)
    return EncryptResult(dst, epath, header.file_id, size, n, provider.current_kek_id())


class _Writer:
    """Writes chunks at their offsets in an output file, from any worker thread.

    The page-aligned middle of each chunk goes O_DIRECT, to disk without filling fresh
    page-cache pages, which on this VM cost more CPU than the cipher itself (issue 8,
    docs/weights.md); the partial pages at either end (at most 2 x 4 KiB per chunk,
    shared with the neighbouring chunks) go through the page cache. That needs the
    chunk to lie in its buffer at the same offset modulo the page size as in the file:
    `lead(off)` says where to put it. Where O_DIRECT is refused (tmpfs, or EINVAL on
    the first write) every byte is written buffered and behind (`_write_behind`). The
    caller's fsync, for durable outputs, covers both kinds of write.
    """

    def __init__(self, path: Path, fd: int, behind: int) -> None:
        self.fd, self.behind = fd, behind
        self.dfd = _open_direct(path, os.O_WRONLY, fd)

    @staticmethod
    def lead(off: int) -> int:
        return off % PAGE

    def write(self, buf: memoryview, lead: int, length: int, off: int) -> None:
        """Write buf[lead : lead + length] at file offset `off` (lead == off % PAGE)."""
        lo = -(-off // PAGE) * PAGE  # first page boundary inside the chunk
        hi = (off + length) // PAGE * PAGE  # last one
        if self.dfd >= 0 and hi > lo and lead == off % PAGE:
            try:
                _pwrite_all(self.dfd, buf[lead + lo - off : lead + hi - off], lo)
            except OSError as exc:  # the filesystem wants another alignment: go buffered
                if exc.errno != errno.EINVAL:
                    raise
                self.close()
            else:
                _pwrite_all(self.fd, buf[lead : lead + lo - off], off)
                _pwrite_all(self.fd, buf[lead + hi - off : lead + length], hi)
                return
        _pwrite_all(self.fd, buf[lead : lead + length], off, self.behind)

    def close(self) -> None:
        if self.dfd >= 0:
            os.close(self.dfd)
            self.dfd = -1


def _encrypt_chunk(
    aead: AESGCM, header: Header, reader: _Reader, inbuf: memoryview, out: memoryview,
    i: int, writer: _Writer,
) -> int:  # fmt: skip
    """Encrypt chunk i into `out` and write it at its place; returns plaintext bytes."""
    cs, size = header.chunk_size, header.plaintext_size
    off = i * cs
    ln = min(cs, size - off)
    piece = reader.read(off, ln, inbuf)
    where = len(header.raw) + off + i * TAG
    lead = writer.lead(where)
    ad = header.ad(i, i == header.n_chunks - 1)
    aead.encrypt_into(header.nonce(i), piece, ad, out[lead : lead + ln + TAG])
    writer.write(out, lead, ln + TAG, where)
    return ln


def _encrypt_span(
    src: str, tmp: str, dek: bytes, raw: bytes, first: int, last: int, behind: int
) -> int:
    """Worker process: encrypt chunks [first, last) of `src` into the prepared `tmp`."""
    header = Header.read(io.BytesIO(raw), "header")
    aead = AESGCM(dek)
    sfd = os.open(src, os.O_RDONLY)
    dfd = os.open(tmp, os.O_WRONLY)
    reader = _Reader(Path(src), sfd, header.plaintext_size)
    writer = _Writer(Path(tmp), dfd, behind)
    inbuf, out = reader.buffer(header.chunk_size), _aligned(header.chunk_size + TAG + PAGE)
    try:
        return sum(
            _encrypt_chunk(aead, header, reader, inbuf, out, i, writer) for i in range(first, last)
        )
    finally:
        writer.close()
        reader.close()
        os.close(sfd)
        os.close(dfd)


def _in_processes(
    fn: Callable[[str, str, bytes, bytes, int, int, int], int],
    src: Path, tmp: Path, dek: bytes, header: Header, procs: int, behind: int,
) -> Iterator[int]:  # fmt: skip
    """Run `fn` over contiguous chunk ranges in `procs` processes; yield bytes per range.

    Processes are forked when this process has a single thread (cheap, and safe then),
    spawned otherwise. The data key reaches them through a pipe between processes of
    the same user; it is never written anywhere.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    method = "fork" if threading.active_count() == 1 else "spawn"
    n = header.n_chunks
    parts = min(n, procs * 4)
    bounds = [n * k // parts for k in range(parts + 1)]
    ctx = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=procs, mp_context=ctx) as ex:
        futs = [
            ex.submit(fn, str(src), str(tmp), dek, header.raw, bounds[k], bounds[k + 1], behind)
            for k in range(parts)
        ]
        try:
            for f in as_completed(futs):
                yield f.result()
        finally:
            for f in futs:
                f.cancel()


def _check_size(path: Path, fd: int, header: Header) -> None:
    actual = os.fstat(fd).st_size
    if actual != header.ciphertext_size:
        what = "truncated" if actual < header.ciphertext_size else "extended (data appended)"
        raise VerificationError(
            f"{path} is {what}: {actual} bytes on disk, header says {header.ciphertext_size}"
        )


def iter_decrypted(
    src: Path,
    dek: bytes,
    header: Header,
    *,
    workers: int = 2,
    writer: _Writer | None = None,
) -> Iterator[memoryview]:
    """Yield authenticated plaintext chunks in order; raises VerificationError on any defect.

    A chunk is yielded only after its tag has been checked; a stream consumer must still
    treat an exception as "discard everything" (the earlier chunks were genuine). Each
    yielded view is valid until the next one is requested (buffers are recycled, so no
    chunk is copied twice): write it out, or copy it, before asking for more. With
    `writer`, workers write each verified chunk at its offset themselves (parallel I/O)
    and yield empty views.
    """
    window = 2 * max(1, workers)
    cs = header.chunk_size
    pool: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
    for _ in range(window + 2):  # in flight + the one the consumer holds + spare
        pool.put(_aligned(cs + PAGE))
    fd = os.open(src, os.O_RDONLY)
    reader: _Reader | None = None
    try:
        _check_size(src, fd, header)
        reader = _Reader(src, fd, header.ciphertext_size)
        aead = AESGCM(dek)
        n = header.n_chunks
        hlen = len(header.raw)
        local = threading.local()

        def job(i: int) -> tuple[memoryview, int]:
            assert reader is not None
            inbuf = getattr(local, "inbuf", None)
            if inbuf is None:
                inbuf = local.inbuf = reader.buffer(cs + TAG)
            out_view = pool.get()
            try:
                ln = min(cs, header.plaintext_size - i * cs)
                data = reader.read(hlen + i * (cs + TAG), ln + TAG, inbuf)
                lead = writer.lead(i * cs) if writer is not None else 0
                try:  # checks the tag; nothing below runs for a forged chunk
                    aead.decrypt_into(header.nonce(i), data, header.ad(i, i == n - 1),
                                      out_view[lead : lead + ln])  # fmt: skip
                except InvalidTag:
                    raise VerificationError(
                        f"{src}: chunk {i} of {n} failed authentication: the file was "
                        "altered, reordered, truncated or extended"
                    ) from None
                if writer is not None:
                    writer.write(out_view, lead, ln, i * cs)
                    ln = 0
            except BaseException:
                pool.put(out_view)
                raise
            return out_view, ln

        held: memoryview | None = None
        for _, (buf, done) in _bounded(job, n, workers, window):
            if held is not None:
                pool.put(held)
            held = buf
            yield buf[:done]
    finally:
        if reader is not None:
            reader.close()
        os.close(fd)


def _authorise(dst: Path, allowed_roots: Sequence[Path] | None) -> None:
    if allowed_roots is None:
        return
    real = dst.resolve()
    for root in allowed_roots:
        if real.is_relative_to(root.resolve()):
            return
    raise UnauthorisedDestination(
        f"decryption to {dst} refused: not under an authorised destination "
        f"({', '.join(str(r) for r in allowed_roots) or 'none configured'})"
    )


def open_for_decrypt(src: Path, provider: KeyProvider) -> tuple[Header, bytes]:
    header = read_header(src)
    dek = unwrap_dek(read_envelope(envelope_path(src)), header, provider)
    return header, dek


def decrypt_file(
    src: Path,
    dst: Path,
    provider: KeyProvider,
    *,
    allowed_roots: Sequence[Path] | None = None,
    workers: int = 2,
    durable: bool = True,
    progress: Progress | None = None,
    dek: bytes | None = None,
) -> int:
    """Decrypt to `dst` (must be under an authorised root when `allowed_roots` is given).

    Plaintext goes to a 0600 temporary file that is renamed only when every chunk has
    been authenticated. Returns the plaintext size.
    """
    _authorise(dst, allowed_roots)
    if dst.exists():
        raise DistillguardError(f"{dst} already exists; refusing to overwrite it")
    if dek is None:
        header, dek = open_for_decrypt(src, provider)
    else:
        header = read_header(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_beside(dst)
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _reserve(out, header.plaintext_size, dst)
        done = 0
        writer = _Writer(tmp, out, WRITE_BEHIND_CHUNKS * header.chunk_size)
        try:
            for _ in iter_decrypted(src, dek, header, workers=workers, writer=writer):
                step = min(header.chunk_size, header.plaintext_size - done)
                done += step
                if progress:
                    progress(step)
        finally:
            writer.close()
        if durable:
            os.fsync(out)
        os.close(out)
        out = -1
        os.replace(tmp, dst)
    except BaseException:
        if out >= 0:
            os.close(out)
        tmp.unlink(missing_ok=True)
        raise
    return header.plaintext_size


def decrypt_to_stream(
    src: Path, out: BinaryIO, provider: KeyProvider, *, workers: int = 2, dek: bytes | None = None
) -> int:
    """Decrypt to a stream (e.g. a loader's pipe); each chunk is released once verified."""
    if dek is None:
        header, dek = open_for_decrypt(src, provider)
    else:
        header = read_header(src)
    total = 0
    for pt in iter_decrypted(src, dek, header, workers=workers):
        out.write(pt)
        total += len(pt)
    out.flush()
    return total


def verify_encrypted(src: Path, provider: KeyProvider, *, workers: int = 2) -> Header:
    """Authenticate every chunk without writing plaintext anywhere."""
    header, dek = open_for_decrypt(src, provider)
    for _ in iter_decrypted(src, dek, header, workers=workers):
        pass
    return header
