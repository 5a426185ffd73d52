"""Benchmark of distillguard.weights: hash-and-sign vs model-signing, vault throughput, memory.

    .venv/bin/python bench/weights/run.py                   # sign 2 GB; vault 1, 4, 8 GB
    .venv/bin/python bench/weights/run.py --only vault --vault-gb 1,4 --reps 3

Needs about 3.2x the largest vault size free on disk (plaintext, vault file, output);
everything is deleted at the end. Each part measures our engine and its baselines in the
same run, interleaved, so the ratios hold on a noisy shared machine; files are a random
64 MiB block repeated (neither SHA-256 nor AES cares about content).

1. Hash-and-sign a model folder of safetensors shards with an EC P-256 key: ours
   (`signing.sign_model`) vs model-signing 1.1.1's own API and CLI (`model_signing sign key`),
   alternating order, median of N repetitions. Both signatures are verified with
   model-signing's verifier before timing counts.
2. Vault throughput (GB = 1e9 bytes) per file size: encrypt and decrypt from a cold
   input (fsynced and dropped from the page cache just before) and a warm one, to a
   stream (/dev/null, a SHA-256 sink) and to disk with and without fsync, next to
   `dd` (O_DIRECT read, write, copy: what the disk itself does), `cp` + fsync and
   AES-256-GCM in memory; CPU seconds per GB beside each figure.
3. Peak RSS of encrypt + decrypt (file and stream) + hash in a fresh process per size.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from distillguard.weights import formats, keys, signing, vault  # noqa: E402

GB = 1e9
MiB = 1 << 20
BLOCK = os.urandom(64 * MiB)


def write_file(path: Path, size: int, header: bool = True) -> None:
    """A safetensors file of `size` bytes (one U8 tensor) made of a repeated random block."""
    with open(path, "wb") as fh:
        if header:
            import struct

            body = size - 8
            hdr = b""
            for _ in range(3):  # header length depends on the numbers inside it
                n = body - len(hdr)
                hdr = json.dumps(
                    {"w": {"dtype": "U8", "shape": [n], "data_offsets": [0, n]}}
                ).encode()
                hdr += b" " * (-len(hdr) % 8)
            fh.write(struct.pack("<Q", len(hdr)) + hdr)
            left = size - 8 - len(hdr)
        else:
            left = size
        while left > 0:
            k = min(left, len(BLOCK))
            fh.write(BLOCK[:k])
            left -= k


CPU: list[float] = []  # CPU seconds (all threads + children) of the last `timed` call


def _cpu() -> float:
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def timed(fn: object, *a: object, **kw: object) -> float:
    """Wall seconds of one call; its CPU seconds go to CPU[-1] (robust to a busy machine)."""
    c = _cpu()
    t = time.perf_counter()
    fn(*a, **kw)  # type: ignore[operator]
    wall = time.perf_counter() - t
    CPU.append(_cpu() - c)
    return wall


def bench_sign(model: Path, work: Path, reps: int) -> dict[str, object]:
    from model_signing import signing as ms_signing
    from model_signing import verifying

    key = work / "sign.pem"
    pub = signing.generate_signing_key(key)
    cli = Path(sys.executable).with_name("model_signing")
    ours, api, cli_t = [], [], []

    def run_ours() -> None:
        signing.sign_model(model, work / "ours.sig", private_key=key)

    def run_api() -> None:
        ms_signing.Config().use_elliptic_key_signer(private_key=key).sign(model, work / "api.sig")

    def run_cli() -> None:
        subprocess.run(
            [str(cli), "sign", "key", str(model), "--signature", str(work / "cli.sig"),
             "--private_key", str(key)],
            check=True, capture_output=True,
        )  # fmt: skip

    cpu: dict[int, list[float]] = {id(ours): [], id(api): [], id(cli_t): []}
    run_ours()  # warm the page cache and imports
    for i in range(reps):
        order = [(run_ours, ours), (run_api, api), (run_cli, cli_t)]
        if i % 2:
            order.reverse()
        for fn, acc in order:
            acc.append(timed(fn))
            cpu[id(acc)].append(CPU[-1])
    for sig in ("ours.sig", "api.sig", "cli.sig"):
        verifying.Config().use_elliptic_key_verifier(public_key=pub).verify(model, work / sig)
    ver = [timed(signing.verify_model, model, work / "ours.sig", public_key=pub) for _ in range(2)]
    size = sum(p.stat().st_size for p in model.iterdir())
    m = {k: statistics.median(v) for k, v in (("ours", ours), ("api", api), ("cli", cli_t))}
    return {
        "bytes": size,
        "files": len(list(model.iterdir())),
        "ours_s": m["ours"],
        "model_signing_api_s": m["api"],
        "model_signing_cli_s": m["cli"],
        "ours_verify_s": statistics.median(ver),
        "ours_cpu_s": statistics.median(cpu[id(ours)]),
        "model_signing_api_cpu_s": statistics.median(cpu[id(api)]),
        "model_signing_cli_cpu_s": statistics.median(cpu[id(cli_t)]),
        "speedup_vs_api": m["api"] / m["ours"],
        "speedup_vs_cli": m["cli"] / m["ours"],
        "reps": reps,
    }


def _drop_cache(p: Path) -> None:
    """Make `p` cold for this VM: fsync, then drop its pages (POSIX_FADV_DONTNEED).

    Only this file's pages go (no system-wide drop_caches on a shared machine). The
    hypervisor may still cache the disk: "cold" means cold for this guest's page cache.
    """
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _warm(p: Path) -> None:
    with open(p, "rb", buffering=0) as fh:
        buf = bytearray(8 * MiB)
        while fh.readinto(buf):
            pass


def _fsync(p: Path) -> None:
    fd = os.open(p, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def _dd(*args: str) -> None:
    subprocess.run(["dd", *args, "status=none"], check=True)


class _HashSink:
    """A loader stand-in that hashes the plaintext (SHA-256) instead of storing it."""

    def __init__(self) -> None:
        self.h = hashlib.sha256()

    def write(self, data: object) -> None:
        self.h.update(data)  # type: ignore[arg-type]

    def flush(self) -> None:
        pass


VAULT_ROWS = [  # key, label, kind (baseline / encrypt / decrypt)
    ("aes_mem", "AES-256-GCM in memory, 1 thread, no I/O", "baseline"),
    ("sha_mem", "SHA-256 in memory, 1 thread, no I/O", "baseline"),
    ("dd_read", "`dd` read, cold, O_DIRECT -> /dev/null", "baseline"),
    ("dd_write", "`dd` write zeros, O_DIRECT + fsync", "baseline"),
    ("dd_copy", "`dd` copy cold file, O_DIRECT both ways + fsync", "baseline"),
    ("cp_cold", "`cp` cold file + fsync", "baseline"),
    ("cp_warm", "`cp` warm file + fsync", "baseline"),
    ("enc_cold_fsync", "encrypt cold -> disk + fsync", "encrypt"),
    ("enc_warm_fsync", "encrypt warm -> disk + fsync", "encrypt"),
    ("enc_warm_nofsync", "encrypt warm -> disk, no fsync", "encrypt"),
    ("dec_cold_null", "decrypt cold -> stream (/dev/null)", "decrypt"),
    ("dec_warm_null", "decrypt warm -> stream (/dev/null)", "decrypt"),
    ("dec_cold_sha", "decrypt cold -> stream (SHA-256 sink)", "decrypt"),
    ("dec_cold_fsync", "decrypt cold -> disk + fsync", "decrypt"),
    ("dec_warm_fsync", "decrypt warm -> disk + fsync", "decrypt"),
    ("dec_warm_nofsync", "decrypt warm -> disk, no fsync", "decrypt"),
]


def bench_vault(work: Path, size: int, reps: int) -> dict[str, Any]:
    """Every row at one file size, baselines and engine interleaved (same load).

    Cold: the input was fsynced and dropped from the page cache just before; warm: it
    was read just before. Disk outputs are deleted after each row.
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    kek = keys.LocalKeyFile.create(work / f"kek-{size}.json")
    src, enc, out = work / "plain.bin", work / "w.dgv", work / "out.bin"
    write_file(src, size, header=False)
    vault.encrypt_file(src, enc, kek)
    aead = AESGCM(os.urandom(32))
    chunk = BLOCK[: 8 * MiB]
    mem_n = min(size, 2 * 1024 * MiB) // len(chunk)

    def aes_mem() -> None:
        for i in range(mem_n):
            aead.encrypt(i.to_bytes(12, "big"), chunk, b"")

    def sha_mem() -> None:
        h = hashlib.sha256()
        for _ in range(mem_n):
            h.update(chunk)

    def rm(*ps: Path) -> None:
        for p in ps:
            p.unlink(missing_ok=True)

    null = open(os.devnull, "wb")  # noqa: SIM115

    def enc_to(durable: bool) -> Any:
        return lambda: vault.encrypt_file(src, out, kek, durable=durable)

    def dec_to(durable: bool) -> Any:
        return lambda: vault.decrypt_file(enc, out, kek, durable=durable)

    def stream_to(sink: Any) -> Any:
        return lambda: vault.decrypt_to_stream(enc, sink() if callable(sink) else sink, kek)

    def cp() -> None:
        shutil.copyfile(enc, out)
        _fsync(out)

    direct = ("bs=8M", "iflag=direct")
    count = f"count={size // (8 * MiB)}"
    ops: dict[str, tuple[Path | None, str, Any]] = {  # key -> (input, cold/warm, run)
        "aes_mem": (None, "", aes_mem),
        "sha_mem": (None, "", sha_mem),
        "dd_read": (src, "cold", lambda: _dd(f"if={src}", "of=/dev/null", *direct)),
        "dd_write": (None, "", lambda: _dd("if=/dev/zero", f"of={out}", "bs=8M", count,
                                           "oflag=direct", "conv=fsync")),
        "dd_copy": (enc, "cold", lambda: _dd(f"if={enc}", f"of={out}", *direct,
                                             "oflag=direct", "conv=fsync")),
        "cp_cold": (enc, "cold", cp),
        "cp_warm": (enc, "warm", cp),
        "enc_cold_fsync": (src, "cold", enc_to(True)),
        "enc_warm_fsync": (src, "warm", enc_to(True)),
        "enc_warm_nofsync": (src, "warm", enc_to(False)),
        "dec_cold_null": (enc, "cold", stream_to(null)),
        "dec_warm_null": (enc, "warm", stream_to(null)),
        "dec_cold_sha": (enc, "cold", stream_to(_HashSink)),
        "dec_cold_fsync": (enc, "cold", dec_to(True)),
        "dec_warm_fsync": (enc, "warm", dec_to(True)),
        "dec_warm_nofsync": (enc, "warm", dec_to(False)),
    }  # fmt: skip
    res: dict[str, list[float]] = {k: [] for k in ops}
    cpu: dict[str, list[float]] = {k: [] for k in ops}
    load: list[float] = []
    try:
        for _ in range(reps):
            for key, (inp, temp, run) in ops.items():
                if inp is not None:
                    (_drop_cache if temp == "cold" else _warm)(inp)
                load.append(os.getloadavg()[0])
                n = mem_n * len(chunk) if key.endswith("_mem") else size
                res[key].append(n / GB / timed(run))
                cpu[key].append(CPU[-1] * GB / n)
                rm(out, vault.envelope_path(out))
    finally:
        null.close()
        rm(src, enc, vault.envelope_path(enc), out, vault.envelope_path(out))
    return {
        "bytes": size,
        "reps": reps,
        "loadavg_min_max": (min(load), max(load)),
        "GBps": {k: statistics.median(v) for k, v in res.items()},
        "cpu_s_per_GB": {k: statistics.median(v) for k, v in cpu.items()},
    }


RSS_CHILD = r"""
import os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from distillguard.weights import keys, signing, vault
def hwm():  # this process's own peak RSS in KiB (ru_maxrss would include the parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
src, work = Path(sys.argv[1]), Path(sys.argv[2])
base = hwm()
kek = keys.LocalKeyFile.create(work / "rss-kek.json")
vault.encrypt_file(src, work / "rss.dgv", kek, durable=False)
with open(os.devnull, "wb") as null:
    vault.decrypt_to_stream(work / "rss.dgv", null, kek)
vault.decrypt_file(work / "rss.dgv", work / "rss.out", kek, durable=False)
os.unlink(work / "rss.out")
signing.hash_model(src)
peak = hwm()
for p in ("rss.dgv", "rss.dgv.key", "rss-kek.json"):
    (work / p).unlink()
print(base, peak)
"""


def bench_rss(work: Path, sizes: list[int]) -> list[dict[str, object]]:
    out = []
    for size in sizes:
        f = work / f"rss-{size}.bin"
        write_file(f, size, header=False)
        r = subprocess.run(
            [sys.executable, "-c", RSS_CHILD, str(f), str(work), str(ROOT / "src")],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        base, peak = (int(x) for x in r.stdout.split())
        out.append(
            {"bytes": size, "rss_after_imports_MiB": base / 1024, "peak_rss_MiB": peak / 1024}
        )
        f.unlink()
    return out


def markdown(r: dict[str, Any]) -> str:
    """The tables pasted into docs/benchmarks.md."""
    sg = r["sign"]
    la = r["machine"]["loadavg_at_start"][0], r["machine"]["loadavg_at_end"][0]
    lines = [
        f"Machine: {r['machine']['cpus']} CPUs, 1-minute load average {la[0]:.1f} at start, "
        f"{la[1]:.1f} at end (other jobs share the machine).",
        "",
        f"Hash-and-sign, {sg['files']} safetensors files, {sg['bytes'] / GB:.1f} GB, EC P-256, "
        f"median of {sg['reps']}:",
        "",
        "| tool | wall s | GB/s | ours is faster by | CPU s |",
        "|---|---|---|---|---|",
    ]
    for label, key in (("distillguard `sign_model`", "ours"),
                       ("model-signing 1.1.1 API", "model_signing_api"),
                       ("`model_signing sign key` (CLI)", "model_signing_cli")):  # fmt: skip
        t = sg[key + "_s"]
        lines.append(f"| {label} | {t:.2f} | {sg['bytes'] / GB / t:.2f} | "
                     f"{t / sg['ours_s']:.2f}x | {sg[key + '_cpu_s']:.2f} |")  # fmt: skip
    vs = r["vault"]
    head = " | ".join(f"{v['bytes'] / GB:g} GB" for v in vs)
    lines += [
        "",
        "Vault throughput in GB/s (1e9 bytes/s; median of "
        f"{vs[0]['reps']}), CPU seconds per GB in brackets; load average during each size: "
        + ", ".join(
            f"{v['bytes'] / GB:g} GB {v['loadavg_min_max'][0]:.1f}-{v['loadavg_min_max'][1]:.1f}"
            for v in vs
        )
        + ":",
        "",
        f"| operation | {head} |",
        "|---|" + "---|" * len(vs),
    ]
    for key, label, kind in VAULT_ROWS:
        cells = " | ".join(f"{v['GBps'][key]:.2f} ({v['cpu_s_per_GB'][key]:.2f})" for v in vs)
        lines.append(f"| {kind}: {label} | {cells} |")
    lines += [
        "",
        "Peak RSS of encrypt + decrypt (file and stream) + hash in a fresh process:",
        "",
        "| file size | RSS after imports (MiB) | peak RSS (MiB) |",
        "|---|---|---|",
    ]
    for x in r["rss"]:
        lines.append(f"| {x['bytes'] / GB:.2f} GB | {x['rss_after_imports_MiB']:.0f} | "
                     f"{x['peak_rss_MiB']:.0f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--total-gb", type=float, default=2.0, help="size of the signed folder")
    ap.add_argument("--shards", type=int, default=4, help="safetensors files in the folder")
    ap.add_argument("--vault-gb", default="1,4,8", help="vault file sizes (GB, comma list)")
    ap.add_argument("--reps", type=int, default=1, help="vault repetitions per size")
    ap.add_argument("--sign-reps", type=int, default=3, help="hash-and-sign repetitions")
    ap.add_argument("--only", choices=["sign", "vault", "rss"], action="append",
                    help="run only these parts (repeatable)")  # fmt: skip
    ap.add_argument("--dir", type=Path, default=None, help="work folder on disk (default /tmp)")
    ap.add_argument("--json", type=Path, default=None, help="also write results here")
    args = ap.parse_args()
    parts = set(args.only or ["sign", "vault", "rss"])
    sizes = [int(float(x) * GB) for x in args.vault_gb.split(",")]
    work = Path(tempfile.mkdtemp(prefix="dgw-bench-", dir=args.dir))
    free = shutil.disk_usage(work).free
    if "vault" in parts and free < 3.2 * max(sizes):
        sys.exit(f"need {3.2 * max(sizes) / GB:.0f} GB free in {work}, have {free / GB:.0f}")
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "loadavg_at_start": os.getloadavg(),
        },
    }
    try:
        if "sign" in parts:
            model = work / "model"
            model.mkdir()
            total = int(args.total_gb * GB)
            for i in range(args.shards):
                write_file(model / f"model-{i + 1:05d}-of-{args.shards:05d}.safetensors",
                           total // args.shards)  # fmt: skip
            assert formats.inspect_artifact(next(model.iterdir())).format == "safetensors"
            results["sign"] = bench_sign(model, work, args.sign_reps)
            shutil.rmtree(model)
        if "vault" in parts:
            results["vault"] = []
            for size in sizes:
                results["vault"].append(bench_vault(work, size, args.reps))
                print(json.dumps(results["vault"][-1]), file=sys.stderr, flush=True)
        if "rss" in parts:
            results["rss"] = bench_rss(work, sizes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["machine"]["loadavg_at_end"] = os.getloadavg()
    print(json.dumps(results, indent=1))
    if {"sign", "vault", "rss"} <= parts:
        print(markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
