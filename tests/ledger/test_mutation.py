"""Tampering with any one stored record makes `verify` fail and name it (both backends)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from distillguard.ledger import Ledger, merkle
from distillguard.ledger.verify import VerifyReport, verify_log

from .conftest import RawDB

N = 37
INDICES = [0, 1, 7, 19, 20, 36]


def build(make_ledger: Callable[..., Ledger]) -> Ledger:
    led = make_ledger()
    led.append_many([{"type": "decision", "n": i} for i in range(20)])
    led.checkpoint()
    led.append_many([{"type": "decision", "n": i} for i in range(20, N)])
    led.checkpoint()
    return led


def check(led: Ledger) -> VerifyReport:
    return verify_log(led.storage, led.public_key, led.origin)


def body(raw: RawDB, i: int) -> bytes:
    return bytes(raw.q("SELECT body FROM ledger_records WHERE idx = ?", i)[0][0])


def leaf(b: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + b).digest()


def test_untouched_log_verifies(make_ledger: Callable[..., Ledger]) -> None:
    report = check(build(make_ledger))
    assert report.ok and report.records == N and report.checkpoints == 2 and not report.unsigned


@pytest.mark.parametrize("i", INDICES)
def test_changed_record_is_named(make_ledger: Any, raw: RawDB, i: int) -> None:
    led = build(make_ledger)
    forged = body(raw, i).replace(b'"n":%d' % i, b'"n":999')
    raw.q("UPDATE ledger_records SET body = ? WHERE idx = ?", forged, i)
    report = check(led)
    assert not report.ok and report.first_bad_index == i


@pytest.mark.parametrize("i", INDICES)
def test_changed_record_with_rewritten_hash_is_narrowed_to_it(
    make_ledger: Any, raw: RawDB, i: int
) -> None:
    led = build(make_ledger)
    forged = body(raw, i).replace(b'"n":%d' % i, b'"n":999')
    raw.q("UPDATE ledger_records SET body = ?, leaf = ? WHERE idx = ?", forged, leaf(forged), i)
    report = check(led)
    first = min(report.problems)
    # The record and its own hash agree, so only the signed tree and the stored interior
    # nodes can say which record changed: they pin it to the pair of leaves under one
    # node; the last record of an odd-sized log, which no stored node covers yet, is
    # named as the likely one within the range the signature proves.
    assert first.index <= i <= max(first.index, first.last)
    assert first.last - first.index <= 1 or first.likely == i


@pytest.mark.parametrize("i", INDICES)
def test_deleted_record_is_named(make_ledger: Any, raw: RawDB, i: int) -> None:
    led = build(make_ledger)
    raw.q("DELETE FROM ledger_records WHERE idx = ?", i)
    assert check(led).first_bad_index == i


@pytest.mark.parametrize("i", INDICES)
def test_deleted_and_renumbered_is_named(make_ledger: Any, raw: RawDB, i: int) -> None:
    led = build(make_ledger)
    raw.q("DELETE FROM ledger_records WHERE idx = ?", i)
    for j in range(i + 1, N):
        raw.q("UPDATE ledger_records SET idx = ? WHERE idx = ?", j - 1, j)
    raw.q("UPDATE ledger_head SET size = size - 1")
    assert check(led).first_bad_index == i


def test_inserted_at_end_is_named(make_ledger: Any, raw: RawDB) -> None:
    led = build(make_ledger)
    forged = b'{"index":%d,"record":{"n":1},"time":"2026-01-01T00:00:00.000000Z"}' % N
    raw.q(
        "INSERT INTO ledger_records (idx, leaf, nodes, body) VALUES (?, ?, ?, ?)",
        N,
        leaf(forged),
        b"",
        forged,
    )
    assert check(led).first_bad_index == N


@pytest.mark.parametrize("i", INDICES)
def test_inserted_in_the_middle_is_named(make_ledger: Any, raw: RawDB, i: int) -> None:
    led = build(make_ledger)
    for j in range(N - 1, i - 1, -1):
        raw.q("UPDATE ledger_records SET idx = ? WHERE idx = ?", j + 1, j)
    forged = b'{"index":%d,"record":{"n":-1},"time":"2026-01-01T00:00:00.000000Z"}' % i
    raw.q(
        "INSERT INTO ledger_records (idx, leaf, nodes, body) VALUES (?, ?, ?, ?)",
        i,
        leaf(forged),
        b"",
        forged,
    )
    raw.q("UPDATE ledger_head SET size = size + 1")
    first = min(check(led).problems)
    assert first.index <= i <= max(first.index, first.last) and first.last - first.index <= 1


@pytest.mark.parametrize("i", INDICES)
def test_swapped_records_are_named(make_ledger: Any, raw: RawDB, i: int) -> None:
    led = build(make_ledger)
    j = (i + 5) % N
    a = raw.q("SELECT leaf, body FROM ledger_records WHERE idx = ?", i)[0]
    b = raw.q("SELECT leaf, body FROM ledger_records WHERE idx = ?", j)[0]
    raw.q("UPDATE ledger_records SET leaf = ?, body = ? WHERE idx = ?", b[0], b[1], i)
    raw.q("UPDATE ledger_records SET leaf = ?, body = ? WHERE idx = ?", a[0], a[1], j)
    assert check(led).first_bad_index == min(i, j)


def test_forged_checkpoint_and_tree_nodes(make_ledger: Any, raw: RawDB) -> None:
    led = build(make_ledger)
    note = raw.q("SELECT note FROM ledger_checkpoints WHERE size = ?", N)[0][0]
    lines = note.split("\n")
    lines[2] = "A" * 43 + "="
    raw.q("UPDATE ledger_checkpoints SET note = ? WHERE size = ?", "\n".join(lines), N)
    report = check(led)
    assert not report.ok and "bad signature" in report.problems[0].message
    raw.q("UPDATE ledger_checkpoints SET note = ? WHERE size = ?", note, N)
    nodes = raw.q("SELECT nodes FROM ledger_records WHERE idx = 15")[0][0]
    raw.q("UPDATE ledger_records SET nodes = ? WHERE idx = 15", nodes[:32] + bytes(32) + nodes[64:])
    report = check(led)
    assert not report.ok and report.first_bad_index == 12  # level-2 node over records 12..15
    assert "wrong tree nodes, first 2/3" in report.problems[0].message


def test_dropped_checkpoint_is_caught_by_the_auditors_copy(make_ledger: Any, raw: RawDB) -> None:
    """An attacker who drops the newest checkpoint and rewrites a record *and every stored
    hash* consistently leaves a log that verifies on its own (the rewritten part is just
    "not yet signed"), but not against a checkpoint an auditor kept."""
    led = build(make_ledger)
    held = led.latest_checkpoint()
    raw.q("DELETE FROM ledger_checkpoints WHERE size = ?", N)
    forged = body(raw, 30).replace(b'"n":30', b'"n":999')
    raw.q("UPDATE ledger_records SET body = ?, leaf = ? WHERE idx = 30", forged, leaf(forged))
    assert not check(led).ok  # the stored tree nodes still betray it
    fr = merkle.Frontier()
    for idx, lf in raw.q("SELECT idx, leaf FROM ledger_records ORDER BY idx"):
        raw.q("UPDATE ledger_records SET nodes = ? WHERE idx = ?", fr.append(lf), idx)
    alone = check(led)
    assert alone.ok and alone.unsigned == N - 20
    report = verify_log(led.storage, led.public_key, led.origin, trusted_checkpoint=held)
    first = min(report.problems)
    assert not report.ok and first.index >= 20 and first.index <= 30 <= max(first.index, first.last)
