"""Ledger benchmark: sustained append rate, inclusion-proof time, full verification.

    .venv/bin/python bench/ledger/run.py                 # default: 1,000,000 records, SQLite
    .venv/bin/python bench/ledger/run.py --records 200000 --pg postgresql://...

Everything runs on the same records in one process, with a baseline measured in the
same run (the machine is shared and noisy): a plain hash chain h_i = SHA-256(h_{i-1} ||
record), once in memory and once persisted to SQLite with the same batching and
durability (synchronous=FULL) as the ledger. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from distillguard.ledger import open_ledger
from distillguard.ledger.canonical import canonical_json
from distillguard.ledger.verify import verify_inclusion_proof


def make_records(n: int) -> list[dict[str, Any]]:
    """Decision records shaped like the gateway's (ids, action, rules, commitment, score)."""
    rng = random.Random(7)
    actions = ["allow", "degrade", "throttle", "block"]
    return [
        {
            "type": "decision",
            "request_id": f"req_{i:09d}",
            "account": f"acct_{rng.randrange(5000)}",
            "org": f"org_{rng.randrange(300)}",
            "action": actions[i % 4],
            "rules": ["kyc.verified", "geo.tier2"][: 1 + i % 2],
            "pack_hash": "9f2c" * 16,
            "prompt": {"alg": "sha256-salted", "digest": f"{rng.getrandbits(256):064x}"},
            "risk": round(rng.random() * 0.9 + 0.05, 4),
            "country": "DE",
        }
        for i in range(n)
    ]


def make_prompts(n: int) -> list[str]:
    """Prompt texts of 20-200 words (about 600 bytes on average) for payload commitments."""
    rng = random.Random(3)
    words = ["explain", "step", "by", "how", "the", "model", "should", "reason", "about", "this"]
    return [" ".join(rng.choice(words) for _ in range(rng.randrange(20, 200))) for _ in range(n)]


def gateway_record(i: int, prompt: dict[str, str]) -> dict[str, Any]:
    """The record the gateway's ledger hook writes (gateway/server.py make_ledger_hook)."""
    return {
        "type": "decision",
        "ts": "2026-11-28T04:00:00.123456Z",
        "request_id": f"req_{i:012x}",
        "account": f"acct_{i % 5000}",
        "org": f"org_{i % 300}",
        "country": "DE",
        "endpoint": "/v1/chat/completions",
        "model": "gpt-x",
        "action": "allow",
        "rule_ids": ["kyc.verified"],
        "reason_codes": [],
        "pack_hash": "9f2c" * 16,
        "transforms": [],
        "status": 200,
        "prompt": prompt,
    }


def gateway_shaped(led: Any, n: int, batch: int) -> tuple[float, float]:
    """(wall s, CPU s) to log n gateway decisions: commit_payload + record build + enqueue."""
    prompts = make_prompts(n)
    w = led.writer(batch_size=batch, checkpoint_every=100_000)
    t, cpu0 = time.perf_counter(), time.process_time()
    for i in range(n):
        w.enqueue(gateway_record(i, led.commit_payload("prompt", prompts[i])))
    w.flush()
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu0
    w.close()
    return wall, cpu


def hash_chain_memory(items: list[bytes]) -> float:
    t = time.perf_counter()
    h = b"\0" * 32
    sha = hashlib.sha256
    for b in items:
        h = sha(h + b).digest()
    return time.perf_counter() - t


def hash_chain_sqlite(records: list[dict[str, Any]], path: Path, batch: int) -> float:
    """The baseline log: canonicalise, chain, and store each batch durably, like the ledger."""
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=FULL")
    c.execute("CREATE TABLE chain (idx INTEGER PRIMARY KEY, h BLOB, body BLOB)")
    t = time.perf_counter()
    h = b"\0" * 32
    sha = hashlib.sha256
    for s in range(0, len(records), batch):
        rows = []
        for i, r in enumerate(records[s : s + batch], start=s):
            body = canonical_json(r)
            h = sha(h + body).digest()
            rows.append((i, h, body))
        c.execute("BEGIN")
        c.executemany("INSERT INTO chain VALUES (?, ?, ?)", rows)
        c.execute("COMMIT")
    dt = time.perf_counter() - t
    c.close()
    return dt


def verify_chain_sqlite(path: Path) -> float:
    c = sqlite3.connect(path)
    t = time.perf_counter()
    h = b"\0" * 32
    sha = hashlib.sha256
    cur = c.execute("SELECT h, body FROM chain ORDER BY idx")
    while rows := cur.fetchmany(65536):
        for stored, body in rows:
            h = sha(h + body).digest()
            if h != stored:
                raise SystemExit("baseline chain broken")
    dt = time.perf_counter() - t
    c.close()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=4096, help="writer batch size")
    ap.add_argument("--proofs", type=int, default=20_000)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir of databases")
    ap.add_argument("--pg", help="also measure appends on this PostgreSQL DSN (a scratch db)")
    args = ap.parse_args()
    n = args.records
    tmp = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    rows: list[tuple[str, str, str, str]] = []
    print(f"load average before: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print(f"# {n:,} records, batch {args.batch}, {os.cpu_count()} CPUs, load "
          f"{os.getloadavg()[0]:.1f}; temp dir {tmp}", file=sys.stderr)  # fmt: skip

    load0 = os.getloadavg()[0]
    records = make_records(n)
    canon = [canonical_json(r) for r in records]

    # ---- appends ------------------------------------------------------------------------
    chain_mem = hash_chain_memory(canon)
    cpu0 = time.process_time()
    chain_db = hash_chain_sqlite(records, tmp / "chain.db", args.batch)
    chain_cpu = time.process_time() - cpu0
    led = open_ledger(f"sqlite:///{tmp / 'ledger.db'}", tmp / "ledger.key")
    w = led.writer(batch_size=args.batch, checkpoint_every=100_000)
    t, cpu0 = time.perf_counter(), time.process_time()
    enqueue_time = 0.0
    for s in range(0, n, 1000):
        t0 = time.perf_counter()
        for r in records[s : s + 1000]:
            w.enqueue(r)
        enqueue_time += time.perf_counter() - t0
    w.flush()
    append_s, append_cpu = time.perf_counter() - t, time.process_time() - cpu0
    w.close()
    rate = n / append_s
    rows.append(("append, batched writer (SQLite WAL, synchronous=FULL)",
                 f"{rate:,.0f} records/s ({1e6 / rate:.1f} µs/record)", ">= 50,000 records/s",
                 "met" if rate >= 50_000 else "MISSED"))  # fmt: skip
    rows.append(("  CPU time per record, both threads",
                 f"{append_cpu / n * 1e6:.1f} µs = {n / append_cpu:,.0f} records per CPU-second",
                 "", ""))  # fmt: skip
    rows.append(("  caller wall time in enqueue() (canonicalise + queue)",
                 f"{enqueue_time / n * 1e6:.1f} µs/record", "", ""))  # fmt: skip
    rows.append(("  baseline: hash chain persisted the same way",
                 f"{n / chain_db:,.0f} records/s ({chain_db / n * 1e6:.1f} µs/record)",
                 f"ledger/chain: wall {append_s / chain_db:.2f}x, "
                 f"CPU {append_cpu / chain_cpu:.2f}x", ""))  # fmt: skip
    rows.append(("  baseline: hash chain in memory (hashing only)",
                 f"{chain_mem / n * 1e6:.2f} µs/record", "", ""))  # fmt: skip
    gn = min(n, 200_000)
    with open_ledger(f"sqlite:///{tmp / 'gateway.db'}", tmp / "ledger.key") as gled:
        g_wall, g_cpu = gateway_shaped(gled, gn, args.batch)
    rows.append((f"append, gateway-shaped ({gn:,} decisions, each with a ~600-byte prompt "
                 "committed and stored under retention)",
                 f"{gn / g_wall:,.0f} records/s; CPU {g_cpu / gn * 1e6:.1f} µs/record "
                 "(incl. building the record)",
                 f"CPU vs plain append {g_cpu / gn / (append_cpu / n):.2f}x", ""))  # fmt: skip

    if args.pg:
        pn = min(n, 200_000)
        pled = open_ledger(args.pg, tmp / "pg.key")
        pw = pled.writer(batch_size=args.batch, checkpoint_every=100_000)
        t = time.perf_counter()
        for r in records[:pn]:
            pw.enqueue(r)
        pw.flush()
        pg_s = time.perf_counter() - t
        pw.close()
        rows.append((f"append, batched writer (PostgreSQL, {pn:,} records)",
                     f"{pn / pg_s:,.0f} records/s", ">= 50,000 records/s",
                     "met" if pn / pg_s >= 50_000 else "MISSED"))  # fmt: skip
        gpn = min(n, 50_000)
        pg_wall, pg_cpu = gateway_shaped(pled, gpn, args.batch)
        pled.close()
        rows.append((f"  gateway-shaped on PostgreSQL ({gpn:,} decisions with prompts)",
                     f"{gpn / pg_wall:,.0f} records/s; client CPU "
                     f"{pg_cpu / gpn * 1e6:.1f} µs/record", "", ""))  # fmt: skip

    # ---- inclusion proofs ---------------------------------------------------------------
    size = led.size
    rng = random.Random(1)
    idx = [rng.randrange(size) for _ in range(args.proofs)]
    cp = led.storage.latest_checkpoint()
    assert cp is not None and cp.size == size
    led.prove_inclusion(0)
    warm_s = led.warm_proof_cache()  # load the cached tree levels, as a proof service does
    for i in idx[:2000]:
        led._proof_hashes(i, size)
    core_lat = []
    c = time.process_time()
    for i in idx:
        t0 = time.perf_counter()
        led._proof_hashes(i, size)
        core_lat.append(time.perf_counter() - t0)
    core, core_cpu = statistics.mean(core_lat), (time.process_time() - c) / len(idx)
    core_p50 = sorted(core_lat)[len(core_lat) // 2]
    lat = []
    proofs = []
    c = time.process_time()
    for i in idx[:5000]:
        t0 = time.perf_counter()
        proofs.append(led.prove_inclusion(i))
        lat.append(time.perf_counter() - t0)
    full_cpu = (time.process_time() - c) / len(lat)
    full = statistics.mean(lat)
    p50 = sorted(lat)[len(lat) // 2]
    t, c = time.perf_counter(), time.process_time()
    for i in idx:
        led.storage.get_record(i)
    one, one_cpu = (time.perf_counter() - t) / len(idx), (time.process_time() - c) / len(idx)
    t = time.perf_counter()
    for p in proofs[:2000]:
        verify_inclusion_proof(p, p["record"], cp.note, led.public_key, led.origin)
    vt = (time.perf_counter() - t) / 2000
    rows.append((f"inclusion proof, tree of {size:,}: one read (record + nodes), hashes",
                 f"{core * 1e6:.0f} µs mean, {core_p50 * 1e6:.0f} µs median, "
                 f"{core_cpu * 1e6:.0f} µs CPU", "<= 100 µs",
                 "met" if core <= 1e-4 else "MISSED (mean wall)"))  # fmt: skip
    rows.append(("  full prove_inclusion() (also checks the index, builds the dict)",
                 f"{full * 1e6:.0f} µs mean, {p50 * 1e6:.0f} µs median, "
                 f"{full_cpu * 1e6:.0f} µs CPU", "<= 100 µs",
                 "met" if full <= 1e-4 else "MISSED (mean wall)"))  # fmt: skip
    rows.append(("  one-off warm-up: load the cached tree levels (`warm_proof_cache`)",
                 f"{warm_s:.2f} s, {led._node_cache.nbytes() / 2**20:.0f} MiB",
                 "", ""))  # fmt: skip
    rows.append(("  baseline: one primary-key SELECT of a record",
                 f"{one * 1e6:.0f} µs wall, {one_cpu * 1e6:.0f} µs CPU",
                 f"proof/SELECT: wall {core / one:.1f}x", ""))  # fmt: skip
    rows.append(("  offline verification of a proof (signature + path)",
                 f"{vt * 1e6:.0f} µs", "", ""))  # fmt: skip

    # ---- full verification (in a fresh process, so its memory is its own) ---------------
    led.close()
    del records, canon, proofs
    code = (
        "import json, sys, time\n"
        "def hwm_mib():  # VmHWM: this process's own peak (ru_maxrss survives exec)\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "from distillguard.ledger import open_ledger\n"
        "from distillguard.ledger.verify import verify_log\n"
        "led = open_ledger(sys.argv[1], sys.argv[2], readonly=True)\n"
        "t, c = time.perf_counter(), time.process_time()\n"
        "r = verify_log(led.storage, led.public_key, led.origin)\n"
        "print(json.dumps({'ok': r.ok, 'records': r.records, 'checkpoints': r.checkpoints,\n"
        "    'wall': time.perf_counter() - t, 'cpu': time.process_time() - c,\n"
        "    'rss_mib': hwm_mib()}))\n"
    )
    res = json.loads(
        subprocess.run(
            [sys.executable, "-c", code, f"sqlite:///{tmp / 'ledger.db'}", str(tmp / "ledger.key")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert res["ok"], "verification failed"
    vs = res["wall"]
    cs = verify_chain_sqlite(tmp / "chain.db")
    rows.append((f"full verify of {res['records']:,} records ({res['checkpoints']} checkpoints)",
                 f"{vs:.2f} s wall, {res['cpu']:.2f} s CPU", "<= 10 s",
                 "met" if vs <= 10 else "MISSED"))  # fmt: skip
    rows.append(("  baseline: re-verify the hash chain from SQLite", f"{cs:.2f} s",
                 f"ledger/chain = {vs / cs:.2f}x", ""))  # fmt: skip
    rows.append(("  peak RSS of the verifying process", f"{res['rss_mib']:,.0f} MiB", "", ""))

    print(f"\n{n:,} records; load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end "
          f"({os.cpu_count()} CPUs)\n")  # fmt: skip
    print("| measure | result | target / ratio | |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    size_mb = sum(p.stat().st_size for p in tmp.glob("ledger.db*")) / 2**20
    print(f"\nledger database: {size_mb:,.0f} MiB for {n:,} records", file=sys.stderr)
    if not args.keep:  # a 1M run leaves about 1 GB of databases behind
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
