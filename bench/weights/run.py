"""Benchmark of distillguard.weights: hash-and-sign vs model-signing, vault throughput, memory.

    .venv/bin/python bench/weights/run.py                 # ~2 GB of generated files
    .venv/bin/python bench/weights/run.py --total-gb 8    # larger (needs ~3x that on disk)

Everything is measured in the same run on the same files, so the ratios hold on a noisy
shared machine. Files are generated (a random 64 MiB block repeated; neither SHA-256 nor
AES cares about content), read from the page cache, and deleted at the end.

1. Hash-and-sign a model folder of safetensors shards with an EC P-256 key: ours
   (`signing.sign_model`) vs model-signing 1.1.1's own API and CLI (`model_signing sign key`),
   alternating order, median of N repetitions. Both signatures are verified with
   model-signing's verifier before timing counts.
2. Vault encryption/decryption throughput (GB = 1e9 bytes):
   - to tmpfs (/dev/shm): the engine itself (read, AES-256-GCM, write), no disk;
   - decrypt to a stream (/dev/null): what a loader reading plaintext does;
   - to disk with fsync (median of 3), next to a plain `cp` + fsync of the same file;
     decrypt reads the vault file from disk, next to `cp` of that file read from disk.
3. Peak RSS of encrypt + decrypt-to-stream + hash in a fresh process at three file sizes.
"""

from __future__ import annotations

import argparse
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


def bench_vault(src: Path, work: Path, reps: int) -> dict[str, object]:
    """Each repetition measures the baselines and our engine back to back (same load)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    kek = keys.LocalKeyFile.create(work / "kek.json")
    size = src.stat().st_size
    shm = Path(tempfile.mkdtemp(prefix="dgw-bench-", dir="/dev/shm"))
    names = ("aes_mem", "cp_tmpfs", "enc_tmpfs", "dec_tmpfs", "dec_stream")
    res: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    aead = AESGCM(os.urandom(32))
    chunk = BLOCK[: 8 * MiB]

    def enc_mem() -> None:  # one thread, no I/O: the ceiling of any AES-GCM file tool here
        for i in range(size // len(chunk)):
            aead.encrypt(i.to_bytes(12, "big"), chunk, b"")

    try:
        for _ in range(reps):
            res["aes_mem"].append(size // len(chunk) * len(chunk) / GB / timed(enc_mem))
            cpu["aes_mem"].append(CPU[-1] * GB / (size // len(chunk) * len(chunk)))
            res["cp_tmpfs"].append(size / GB / timed(shutil.copyfile, src, shm / "copy"))
            cpu["cp_tmpfs"].append(CPU[-1] * GB / size)
            (shm / "copy").unlink()
            enc = shm / "w.dgv"
            res["enc_tmpfs"].append(
                size / GB / timed(vault.encrypt_file, src, enc, kek, durable=False)
            )
            cpu["enc_tmpfs"].append(CPU[-1] * GB / size)
            out = shm / "w.out"
            res["dec_tmpfs"].append(
                size / GB / timed(vault.decrypt_file, enc, out, kek, durable=False)
            )
            cpu["dec_tmpfs"].append(CPU[-1] * GB / size)
            out.unlink()
            with open(os.devnull, "wb") as null:
                res["dec_stream"].append(size / GB / timed(vault.decrypt_to_stream, enc, null, kek))
                cpu["dec_stream"].append(CPU[-1] * GB / size)
            enc.unlink()
            vault.envelope_path(enc).unlink()

        # disk, durable (fsync), with a plain copy + fsync as the baseline
        def cp_sync(a: Path, b: Path) -> None:
            shutil.copyfile(a, b)
            fd = os.open(b, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)

        def drop_cache(p: Path) -> None:  # clean pages only: the file is fsynced
            fd = os.open(p, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)

        disk_enc = work / "w.dgv"
        disk: dict[str, list[float]] = {"cp": [], "enc": [], "cp_cold": [], "dec": []}
        for _ in range(3):  # medians: single disk timings swing by 2x on this VM
            disk["cp"].append(timed(cp_sync, src, work / "copy.bin"))
            (work / "copy.bin").unlink()
            disk["enc"].append(timed(vault.encrypt_file, src, disk_enc, kek, durable=True))
            # the vault writes behind, so its output is not left in the page cache: decrypt
            # reads from disk, and its baseline is `cp` of the same file read from disk
            drop_cache(disk_enc)
            disk["cp_cold"].append(timed(cp_sync, disk_enc, work / "copy.bin"))
            (work / "copy.bin").unlink()
            drop_cache(disk_enc)
            disk["dec"].append(
                timed(vault.decrypt_file, disk_enc, work / "w.out", kek, durable=True)
            )
            (work / "w.out").unlink()
            disk_enc.unlink()
            vault.envelope_path(disk_enc).unlink()
    finally:
        shutil.rmtree(shm, ignore_errors=True)
    out_d: dict[str, object] = {"bytes": size, "reps": reps}
    for k, v in res.items():
        out_d[f"{k}_GBps_median"] = statistics.median(v)
        out_d[f"{k}_GBps_best"] = max(v)
        out_d[f"{k}_cpu_s_per_GB"] = statistics.median(cpu[k])
    out_d |= {
        "disk_copy_fsync_GBps": size / GB / statistics.median(disk["cp"]),
        "disk_enc_fsync_GBps": size / GB / statistics.median(disk["enc"]),
        "disk_copy_cold_fsync_GBps": size / GB / statistics.median(disk["cp_cold"]),
        "disk_dec_fsync_GBps": size / GB / statistics.median(disk["dec"]),
    }
    return out_d


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
vault.decrypt_file(work / "rss.dgv", Path("/dev/shm") / "dgw-rss.out", kek, durable=False)
os.unlink("/dev/shm/dgw-rss.out")
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
    sg, v = r["sign"], r["vault"]
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
    lines += [
        "",
        f"Vault, one {v['bytes'] / GB:.1f} GB file, {v['reps']} repetitions (GB/s, median / best):",
        "",
        "| operation | median | best | CPU s per GB |",
        "|---|---|---|---|",
    ]
    for label, key in (("baseline: AES-256-GCM in memory, 1 thread, no I/O", "aes_mem"),
                       ("baseline: plain copy to tmpfs", "cp_tmpfs"),
                       ("encrypt file -> tmpfs", "enc_tmpfs"),
                       ("decrypt file -> tmpfs", "dec_tmpfs"),
                       ("decrypt file -> stream (/dev/null)", "dec_stream")):  # fmt: skip
        lines.append(f"| {label} | {v[key + '_GBps_median']:.2f} | {v[key + '_GBps_best']:.2f} "
                     f"| {v[key + '_cpu_s_per_GB']:.2f} |")  # fmt: skip
    lines += [
        f"| disk, median of 3: `cp` + fsync (baseline) | {v['disk_copy_fsync_GBps']:.2f} | | |",
        f"| disk: encrypt + fsync | {v['disk_enc_fsync_GBps']:.2f} | | |",
        f"| disk: `cp` + fsync of the vault file, read from disk (baseline) "
        f"| {v['disk_copy_cold_fsync_GBps']:.2f} | | |",
        f"| disk: decrypt + fsync, vault file read from disk "
        f"| {v['disk_dec_fsync_GBps']:.2f} | | |",
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
    ap.add_argument("--total-gb", type=float, default=2.0, help="size of the model folder")
    ap.add_argument("--shards", type=int, default=4, help="safetensors files in the folder")
    ap.add_argument("--reps", type=int, default=5, help="vault repetitions")
    ap.add_argument("--sign-reps", type=int, default=3, help="hash-and-sign repetitions")
    ap.add_argument("--dir", type=Path, default=None, help="work folder on disk (default /tmp)")
    ap.add_argument("--json", type=Path, default=None, help="also write results here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dgw-bench-", dir=args.dir))
    try:
        model = work / "model"
        model.mkdir()
        total = int(args.total_gb * GB)
        shard = total // args.shards
        for i in range(args.shards):
            write_file(model / f"model-{i + 1:05d}-of-{args.shards:05d}.safetensors", shard)
        assert formats.inspect_artifact(next(model.iterdir())).format == "safetensors"
        results = {
            "machine": {
                "cpus": os.cpu_count(),
                "python": sys.version.split()[0],
                "loadavg_at_start": os.getloadavg(),
            },
            "sign": bench_sign(model, work, args.sign_reps),
            "vault": bench_vault(next(iter(sorted(model.iterdir()))), work, args.reps),
        }
        biggest = min(total, 2 * 1024 * MiB) if args.total_gb <= 2 else total
        results["rss"] = bench_rss(work, [biggest // 8, biggest // 2, biggest])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["machine"]["loadavg_at_end"] = os.getloadavg()  # type: ignore[index]
    print(json.dumps(results, indent=1))
    print(markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
