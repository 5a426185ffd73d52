"""kill -9 a process appending in a loop: every acknowledged record survives, and the log
still verifies (on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from distillguard.ledger import open_ledger
from distillguard.ledger.verify import verify_log

CHILD = r"""
import sys
from distillguard.ledger import open_ledger
led = open_ledger(sys.argv[1], sys.argv[2])
w = led.writer(batch_size=64, linger_s=0.001, checkpoint_every=300, checkpoint_interval_s=0.2)
tag, seq = sys.argv[3], 0
while True:
    for _ in range(41):
        w.enqueue({"type": "crash-test", "run": tag, "seq": seq})
        seq += 1
    w.flush()                                   # durable from here on
    print(f"ack {seq}", flush=True)
    i = led.append({"type": "crash-test", "run": tag, "sync": seq})
    print(f"idx {i} {seq}", flush=True)
"""


def _run_and_kill(url: str, key: Path, tag: str, acks_wanted: int) -> tuple[int, dict[int, int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(key), tag],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acked, sync = 0, {}
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            kind, *rest = line.split()
            if kind == "ack":
                acked = int(rest[0])
            else:
                sync[int(rest[0])] = int(rest[1])
            if len(sync) >= acks_wanted or time.monotonic() > deadline:
                break
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: the writer thread is busy appending
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    return acked, sync


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_record(ledger_url: str, tmp_path: Path) -> None:
    key = tmp_path / "ledger.key"
    open_ledger(ledger_url, key).close()
    runs = []
    for r in range(3):  # the later runs also prove a killed log keeps accepting appends
        runs.append((f"run{r}", *_run_and_kill(ledger_url, key, f"run{r}", 15 + 10 * r)))
    with open_ledger(ledger_url, key) as led:
        report = verify_log(led.storage, led.public_key, led.origin)
        assert report.ok, report.problems[:3]
        assert report.checkpoints >= 1
        seqs: dict[str, set[int]] = {}
        for rows in led.storage.iter_records(0, 10_000):
            for idx, _, _, body in rows:
                rec = orjson.loads(body)["record"]
                if "seq" in rec:
                    seqs.setdefault(rec["run"], set()).add(rec["seq"])
                else:
                    seqs.setdefault(rec["run"] + "/sync", set()).add(idx)
        for tag, acked, sync in runs:
            assert acked > 0
            missing = set(range(acked)) - seqs.get(tag, set())
            assert not missing, f"{tag}: acknowledged records lost: {sorted(missing)[:5]}"
            for idx, seq in sync.items():
                assert idx in seqs[tag + "/sync"]
                assert led.get_record(idx)["record"] == {
                    "type": "crash-test",
                    "run": tag,
                    "sync": seq,
                }
        led.checkpoint()
        assert verify_log(led.storage, led.public_key, led.origin).ok
