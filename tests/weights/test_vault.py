"""Vault: round trips, and every way of damaging a vault file is refused."""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distillguard.errors import DistillguardError, VerificationError
from distillguard.weights import keys, vault

CHUNK = 4096


@pytest.fixture()
def kek(tmp_path: Path) -> keys.LocalKeyFile:
    return keys.LocalKeyFile.create(tmp_path / "kek.json")


def _plain(tmp_path: Path, size: int, name: str = "w.bin") -> Path:
    p = tmp_path / name
    p.write_bytes(os.urandom(size))
    return p


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17])
@pytest.mark.parametrize("workers", [1, 3])
def test_round_trip_sizes(tmp_path: Path, kek: keys.LocalKeyFile, size: int, workers: int) -> None:
    src = _plain(tmp_path, size)
    enc = tmp_path / "w.dgv"
    res = vault.encrypt_file(src, enc, kek, chunk_size=CHUNK, workers=workers)
    assert res.chunks == max(1, -(-size // CHUNK))
    assert enc.stat().st_size == vault.read_header(enc).ciphertext_size
    assert stat.S_IMODE(res.envelope.stat().st_mode) == 0o600
    out = tmp_path / "out.bin"
    assert vault.decrypt_file(enc, out, kek, workers=workers) == size
    assert out.read_bytes() == src.read_bytes()
    buf = io.BytesIO()
    vault.decrypt_to_stream(enc, buf, kek, workers=workers)
    assert buf.getvalue() == src.read_bytes()
    if size >= 16:
        assert src.read_bytes()[:16] not in enc.read_bytes()


def _encrypted(tmp_path: Path, kek: keys.LocalKeyFile, chunks: int = 4) -> tuple[Path, Path]:
    src = _plain(tmp_path, chunks * CHUNK - 100)
    enc = tmp_path / "w.dgv"
    vault.encrypt_file(src, enc, kek, chunk_size=CHUNK)
    return src, enc


def _chunk_span(enc: Path, i: int) -> tuple[int, int]:
    h = vault.read_header(enc)
    start = len(h.raw) + i * (CHUNK + vault.TAG)
    return start, start + min(CHUNK, h.plaintext_size - i * CHUNK) + vault.TAG


def _expect_refusal(tmp_path: Path, enc: Path, kek: keys.LocalKeyFile, match: str) -> None:
    out = tmp_path / "out.bin"
    with pytest.raises(VerificationError, match=match):
        vault.decrypt_file(enc, out, kek)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_flipped_bit_in_any_chunk(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    _, enc = _encrypted(tmp_path, kek)
    data = bytearray(enc.read_bytes())
    for i in range(4):
        start, end = _chunk_span(enc, i)
        for pos in (start, (start + end) // 2, end - 1):  # first byte, middle, tag
            bad = bytearray(data)
            bad[pos] ^= 0x01
            enc.write_bytes(bad)
            _expect_refusal(tmp_path, enc, kek, f"chunk {i} of 4 failed authentication")
    enc.write_bytes(data)
    vault.verify_encrypted(enc, kek)


def test_reordered_chunks(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    _, enc = _encrypted(tmp_path, kek)
    data = enc.read_bytes()
    s0, e0 = _chunk_span(enc, 0)
    s1, e1 = _chunk_span(enc, 1)
    enc.write_bytes(data[:s0] + data[s1:e1] + data[s0:e0] + data[e1:])
    _expect_refusal(tmp_path, enc, kek, "chunk 0 of 4 failed")


def test_truncated_and_appended(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    _, enc = _encrypted(tmp_path, kek)
    data = enc.read_bytes()
    s3, _ = _chunk_span(enc, 3)
    enc.write_bytes(data[:s3])  # whole final chunk dropped
    _expect_refusal(tmp_path, enc, kek, "truncated")
    enc.write_bytes(data[:-5])
    _expect_refusal(tmp_path, enc, kek, "truncated")
    enc.write_bytes(data + data[s3:])  # final chunk appended again
    _expect_refusal(tmp_path, enc, kek, "extended")


def test_truncation_at_chunk_boundary_caught_by_final_flag(
    tmp_path: Path, kek: keys.LocalKeyFile
) -> None:
    """Even with a forged header (size check bypassed) a dropped final chunk is caught."""
    _, enc = _encrypted(tmp_path, kek)
    h = vault.read_header(enc)
    s3, _ = _chunk_span(enc, 3)
    body = enc.read_bytes()[len(h.raw) : s3]
    # the attacker cannot rewrite the header (its hash is in every chunk's AD), so reuse
    # it with a consistent size by calling the chunk engine directly with a shortened header
    short = vault.Header(h.file_id, h.chunk_size, h.nonce_prefix, 3 * CHUNK, h.raw)
    forged = tmp_path / "forged.dgv"
    forged.write_bytes(h.raw + body)
    dek = vault.unwrap_dek(vault.read_envelope(vault.envelope_path(enc)), h, kek)
    with pytest.raises(VerificationError, match="chunk 2 of 3 failed"):
        list(vault.iter_decrypted(forged, dek, short))


def test_header_tamper_and_foreign_envelope(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    _, enc = _encrypted(tmp_path, kek)
    other_src = _plain(tmp_path, 100, "other.bin")
    other = tmp_path / "other.dgv"
    vault.encrypt_file(other_src, other, kek, chunk_size=CHUNK)
    vault.envelope_path(enc).write_bytes(vault.envelope_path(other).read_bytes())
    _expect_refusal(tmp_path, enc, kek, "belongs to another file")
    data = bytearray(enc.read_bytes())
    data[20] ^= 0x20
    enc.write_bytes(data)
    with pytest.raises(VerificationError):
        vault.decrypt_file(enc, tmp_path / "o.bin", kek)
    enc.write_bytes(b"not a vault file")
    with pytest.raises(VerificationError, match="bad magic"):
        vault.read_header(enc)
    enc.write_bytes(vault.MAGIC + struct.pack(">I", 10**6))
    with pytest.raises(VerificationError, match="implausible"):
        vault.read_header(enc)


def test_wrong_key_file(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    _, enc = _encrypted(tmp_path, kek)
    other = keys.LocalKeyFile.create(tmp_path / "other-kek.json")
    _expect_refusal(tmp_path, enc, other, "is not in")
    # same KEK id but different key material
    forged = keys.LocalKeyFile(tmp_path / "x", {kek.current_kek_id(): os.urandom(32)}, "x")
    forged._current = kek.current_kek_id()
    _expect_refusal(tmp_path, enc, forged, "wrong key")


def test_rotation_rewraps_without_touching_data(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    src, enc = _encrypted(tmp_path, kek)
    before = enc.read_bytes()
    old = kek.current_kek_id()
    new = kek.rotate()
    assert vault.rewrap(enc, kek) == 1
    env = vault.read_envelope(vault.envelope_path(enc))
    assert [k.kek_id for k in env.keys] == [new]
    assert enc.read_bytes() == before
    kek.retire(old)
    reloaded = keys.LocalKeyFile.load(kek.path)
    out = tmp_path / "o.bin"
    vault.decrypt_file(enc, out, reloaded)
    assert out.read_bytes() == src.read_bytes()


def test_key_file_permissions_enforced(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    assert stat.S_IMODE(kek.path.stat().st_mode) == 0o600
    kek.path.chmod(0o644)
    with pytest.raises(DistillguardError, match="chmod 600"):
        keys.LocalKeyFile.load(kek.path)
    with pytest.raises(DistillguardError, match="already exists"):
        keys.LocalKeyFile.create(kek.path)


def test_authorised_destination_only(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    _, enc = _encrypted(tmp_path, kek)
    allowed = tmp_path / "secure"
    allowed.mkdir()
    with pytest.raises(vault.UnauthorisedDestination, match="not under an authorised"):
        vault.decrypt_file(enc, tmp_path / "elsewhere.bin", kek, allowed_roots=[allowed])
    with pytest.raises(vault.UnauthorisedDestination):  # ../ escapes are resolved first
        vault.decrypt_file(enc, allowed / ".." / "x.bin", kek, allowed_roots=[allowed])
    vault.decrypt_file(enc, allowed / "ok.bin", kek, allowed_roots=[allowed])


def test_no_overwrite_and_no_partial_output(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    src, enc = _encrypted(tmp_path, kek)
    with pytest.raises(DistillguardError, match="already exists"):
        vault.encrypt_file(src, enc, kek)
    with pytest.raises(DistillguardError, match="cannot read"):
        vault.encrypt_file(tmp_path / "missing", tmp_path / "m.dgv", kek)
    assert not (tmp_path / "m.dgv").exists()


def test_recipient_wrapping(tmp_path: Path) -> None:
    dek = os.urandom(32)
    for kind in ("x25519", "rsa"):
        priv, pub = keys.generate_recipient_keypair(kind)
        wk = keys.wrap_for_recipient(dek, pub, b"ctx")
        assert keys.unwrap_as_recipient(wk, priv, b"ctx") == dek
        with pytest.raises(VerificationError):
            keys.unwrap_as_recipient(wk, priv, b"other ctx")
        other_priv, _ = keys.generate_recipient_keypair(kind)
        with pytest.raises(VerificationError):
            keys.unwrap_as_recipient(wk, other_priv, b"ctx")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.integers(min_value=0, max_value=6 * CHUNK),
    flip=st.integers(min_value=0, max_value=10**9),
    bit=st.integers(min_value=0, max_value=7),
)
def test_any_single_bit_flip_is_refused(
    tmp_path: Path, kek: keys.LocalKeyFile, size: int, flip: int, bit: int
) -> None:
    """Property: whatever the size, flipping any one bit anywhere in the file is caught."""
    work = tmp_path / f"p{size}-{flip}-{bit}"
    work.mkdir()
    src = work / "w.bin"
    src.write_bytes(os.urandom(size))
    enc = work / "w.dgv"
    vault.encrypt_file(src, enc, kek, chunk_size=CHUNK, workers=2)
    data = bytearray(enc.read_bytes())
    pos = flip % len(data)
    data[pos] ^= 1 << bit
    enc.write_bytes(data)
    with pytest.raises(VerificationError):
        vault.decrypt_file(enc, work / "out.bin", kek)
    assert not (work / "out.bin").exists()


def test_stream_chunks_are_recycled_safely(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    """Many more chunks than buffers: every chunk streamed in order, none overwritten."""
    src = _plain(tmp_path, 40 * CHUNK + 123)
    enc = tmp_path / "w.dgv"
    vault.encrypt_file(src, enc, kek, chunk_size=CHUNK)
    for workers in (1, 2, 4):
        buf = io.BytesIO()
        assert vault.decrypt_to_stream(enc, buf, kek, workers=workers) == 40 * CHUNK + 123
        assert buf.getvalue() == src.read_bytes()


def test_non_regular_files_refused(tmp_path: Path, kek: keys.LocalKeyFile) -> None:
    with pytest.raises(DistillguardError, match=r"not a regular file|Is a directory"):
        vault.encrypt_file(tmp_path, tmp_path / "d.dgv", kek)
    with pytest.raises(DistillguardError, match=r"not a regular file|Is a directory"):
        vault.decrypt_file(tmp_path, tmp_path / "out", kek)
    with pytest.raises(DistillguardError, match="not a regular file"):
        vault.encrypt_file(Path("/dev/null"), tmp_path / "n.dgv", kek)
    assert not (tmp_path / "d.dgv").exists()


def test_full_disk_refused_before_work(
    tmp_path: Path, kek: keys.LocalKeyFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    src = _plain(tmp_path, 3 * CHUNK)

    def no_space(fd: int, off: int, n: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    with pytest.raises(DistillguardError, match="not enough space"):
        vault.encrypt_file(src, tmp_path / "w.dgv", kek, chunk_size=CHUNK)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kek.json", "w.bin"]


@pytest.mark.parametrize("processes", [2, 3])
def test_encryption_in_worker_processes(
    tmp_path: Path, kek: keys.LocalKeyFile, processes: int
) -> None:
    """Chunk ranges encrypted in separate processes give a file that decrypts exactly."""
    src = _plain(tmp_path, 37 * CHUNK + 5)
    enc = tmp_path / "w.dgv"
    seen: list[int] = []
    res = vault.encrypt_file(src, enc, kek, chunk_size=CHUNK, processes=processes,
                             progress=seen.append)  # fmt: skip
    assert sum(seen) == src.stat().st_size and res.chunks == 38
    out = tmp_path / "out.bin"
    vault.decrypt_file(enc, out, kek)
    assert out.read_bytes() == src.read_bytes()
    data = bytearray(enc.read_bytes())
    data[len(vault.read_header(enc).raw) + 20 * (CHUNK + vault.TAG) + 7] ^= 1
    enc.write_bytes(data)
    with pytest.raises(VerificationError, match="chunk 20 of 38"):
        vault.decrypt_file(enc, tmp_path / "o2.bin", kek)


@pytest.mark.parametrize("workers", [1, 2])
def test_durable_write_behind_round_trip(
    tmp_path: Path, kek: keys.LocalKeyFile, workers: int
) -> None:
    """Far more chunks than the write-behind lag: pages dropped behind the writer must
    still all reach the file (encrypt and decrypt to disk, fsync on)."""
    n = 3 * vault.WRITE_BEHIND_CHUNKS
    src = _plain(tmp_path, n * CHUNK + 123)
    enc = tmp_path / "w.dgv"
    vault.encrypt_file(src, enc, kek, chunk_size=CHUNK, workers=workers, durable=True)
    out = tmp_path / "out.bin"
    vault.decrypt_file(enc, out, kek, workers=workers, durable=True)
    assert out.read_bytes() == src.read_bytes()
    enc2 = tmp_path / "w2.dgv"
    vault.encrypt_file(src, enc2, kek, chunk_size=CHUNK, workers=workers, durable=False)
    buf = io.BytesIO()
    vault.decrypt_to_stream(enc, buf, kek)
    buf2 = io.BytesIO()
    vault.decrypt_to_stream(enc2, buf2, kek)
    assert buf.getvalue() == buf2.getvalue() == src.read_bytes()


# -- the I/O paths (issue 8): O_DIRECT, page cache, fallbacks ----------------------------------


@pytest.mark.parametrize("path", ["direct", "cached", "no_direct"])
@pytest.mark.parametrize("chunk", [CHUNK, 5000])  # 5000: chunks not page-aligned
def test_round_trip_on_every_io_path(
    tmp_path: Path, kek: keys.LocalKeyFile, monkeypatch: pytest.MonkeyPatch, path: str, chunk: int
) -> None:
    """Cold ranges read O_DIRECT, cached ones copied from the page cache, and the
    buffered fallback where O_DIRECT is refused (tmpfs) all give the same bytes."""
    opened: list[int] = []
    real_open = vault._open_direct

    def spy(p: Path, flags: int, like: int) -> int:
        fd = -1 if path == "no_direct" else real_open(p, flags, like)
        opened.append(fd)
        return fd

    monkeypatch.setattr(vault, "_open_direct", spy)
    cached = {"direct": 0, "cached": 1 << 40, "no_direct": None}[path]
    monkeypatch.setattr(vault, "_cached_pages", lambda fd, off, ln: cached)
    src = _plain(tmp_path, 7 * chunk + 4321)
    enc = tmp_path / "w.dgv"
    vault.encrypt_file(src, enc, kek, chunk_size=chunk, workers=2)
    out = tmp_path / "out.bin"
    vault.decrypt_file(enc, out, kek, workers=2)
    assert out.read_bytes() == src.read_bytes()
    buf = io.BytesIO()
    vault.decrypt_to_stream(enc, buf, kek, workers=3)
    assert buf.getvalue() == src.read_bytes()
    if path == "direct" and max(opened) < 0:
        pytest.skip("this filesystem refuses O_DIRECT: only the fallback was exercised")


def test_direct_write_refused_midway_falls_back(
    tmp_path: Path, kek: keys.LocalKeyFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filesystem that opens O_DIRECT but refuses the writes (EINVAL) still gets a
    complete, correct file (buffered from then on)."""
    direct: set[int] = set()
    real_open, real_pwrite = vault._open_direct, vault._pwrite_all

    def spy_open(p: Path, flags: int, like: int) -> int:
        fd = real_open(p, flags, like)
        if flags & os.O_WRONLY:
            direct.add(fd)
        return fd

    def refuse(fd: int, data: object, off: int, behind: int = 0) -> None:
        if fd in direct:
            raise OSError(errno.EINVAL, "Invalid argument")
        real_pwrite(fd, data, off, behind)  # type: ignore[arg-type]

    monkeypatch.setattr(vault, "_open_direct", spy_open)
    monkeypatch.setattr(vault, "_pwrite_all", refuse)
    src = _plain(tmp_path, 9 * CHUNK + 5)
    enc = tmp_path / "w.dgv"
    vault.encrypt_file(src, enc, kek, chunk_size=CHUNK)
    out = tmp_path / "out.bin"
    vault.decrypt_file(enc, out, kek)
    assert out.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("direct", [True, False])
def test_input_truncated_while_read_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct: bool
) -> None:
    """No SIGBUS (as with a memory map) and no silent short chunk: a clear refusal."""
    if not direct:
        monkeypatch.setattr(vault, "_open_direct", lambda p, f, like: -1)
    monkeypatch.setattr(vault, "_cached_pages", lambda fd, off, ln: 0)
    src = _plain(tmp_path, 6 * CHUNK)
    fd = os.open(src, os.O_RDONLY)
    reader = vault._Reader(src, fd, 6 * CHUNK)
    try:
        buf = reader.buffer(CHUNK)
        assert (
            bytes(reader.read(CHUNK + 3, CHUNK, buf)) == src.read_bytes()[CHUNK + 3 : 2 * CHUNK + 3]
        )
        os.truncate(src, 2 * CHUNK)
        with pytest.raises(VerificationError, match="changed while being read"):
            reader.read(3 * CHUNK, CHUNK, buf)
    finally:
        reader.close()
        os.close(fd)


def test_cache_probe_tells_cached_from_cold(tmp_path: Path) -> None:
    """cachestat(2) is how the reader chooses the page cache or O_DIRECT per range."""
    src = _plain(tmp_path, 64 * 4096)
    fd = os.open(src, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        cold = vault._cached_pages(fd, 0, 64 * 4096)
        if cold is None:
            pytest.skip("no cachestat(2) on this kernel: every range is read O_DIRECT")
        os.pread(fd, 16 * 4096, 0)
        assert vault._cached_pages(fd, 0, 16 * 4096) == 16
        assert cold < 64
    finally:
        os.close(fd)
