"""Salts and payload ids come from a pooled os.urandom buffer: never repeated, not shared
with a forked child, and payload ids sort by creation time; payloads stored with the
writer read back on each backend."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from unittest.mock import ANY

from distillguard.ledger import open_ledger
from distillguard.ledger.records import check_commitment, random_bytes


def test_pool_never_repeats_bytes() -> None:
    seen = {random_bytes(40) for _ in range(2000)}  # crosses several 16 KiB refills
    assert len(seen) == 2000
    assert len(random_bytes(20000)) == 20000  # larger than one chunk


def test_forked_child_does_not_reuse_parent_bytes() -> None:
    random_bytes(8)  # the parent's buffer is filled
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report its next bytes and leave without running teardown
        os.close(r)
        os.write(w, random_bytes(32))
        os._exit(0)
    os.close(w)
    child = os.read(r, 64)
    os.close(r)
    os.waitpid(pid, 0)
    assert len(child) == 32
    assert child != random_bytes(32)


def test_payload_ids_are_time_ordered_and_unique(tmp_path: Path) -> None:
    led = open_ledger(f"sqlite:///{tmp_path / 'l.db'}", tmp_path / "k")
    try:
        ids = [led.commit_payload("prompt", f"p{i}")["payload_id"] for i in range(300)]
        assert len(set(ids)) == 300
        assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
        stamps = [i[:16] for i in ids]  # nanosecond clock prefix, then random bits
        assert stamps == sorted(stamps)
        assert led.open_payload(ids[7]) is not None
    finally:
        led.close()


def test_payloads_with_the_writer_on_each_backend(make_ledger: Any) -> None:
    """Payload rows go in with the writer's batch (binary COPY on PostgreSQL) and read back."""
    led = make_ledger()
    w = led.writer(batch_size=64, linger_s=0.001)
    commits = [led.commit_payload("prompt", f"prompt {i} é") for i in range(200)]
    for c in commits:
        w.enqueue({"type": "decision", "prompt": c})
    w.flush()
    kept = led.commit_payload("prompt", b"\x00raw", retention_days=float("inf"))  # no expiry
    w.flush()
    for i in (0, 117, 199):
        got = led.open_payload(commits[i]["payload_id"])
        assert got is not None and got[0] == "prompt" and got[2] == f"prompt {i} é".encode()
        assert check_commitment(commits[i], got[2], got[1])
    assert led.open_payload(kept["payload_id"]) == ("prompt", ANY, b"\x00raw")
    assert led.purge_expired_payloads(now=time.time() + 400 * 86400) == 200
    assert led.open_payload(kept["payload_id"]) is not None
