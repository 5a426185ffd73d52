"""The fast proof path (inline plan, flat node cache, memoised right edge) must give
exactly the RFC 9162 proof, whatever the cache holds and however small its budget."""

from __future__ import annotations

from pathlib import Path

from distillguard.ledger import merkle, open_ledger
from distillguard.ledger.nodecache import NodeCache


def _reference_path(leaves: list[bytes], index: int, size: int) -> list[bytes]:
    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        k = merkle.largest_pow2_below(hi - lo)
        return merkle.node_hash(mth(lo, lo + k), mth(lo + k, hi))

    return [mth(lo, hi) for lo, hi in merkle.inclusion_ranges(index, size)]


def test_proof_hashes_match_the_rfc_for_every_index_and_cache_budget(tmp_path: Path) -> None:
    led = open_ledger(f"sqlite:///{tmp_path / 'l.db'}", tmp_path / "l.key")
    n = 67
    led.append_many([{"i": i} for i in range(n)])
    leaves = [led.storage.get_record(i)[0] for i in range(n)]  # type: ignore[index]
    for budget in (1 << 20, 64 * 3, 0):  # all upper levels cached, only a few, none
        led._node_cache = NodeCache(budget)
        led._edges.clear()
        for size in (1, 2, 3, 5, 8, 13, 16, 31, 33, 64, 67):
            for _ in range(2):  # cold, then served from the cache and the edge memo
                for index in range(size):
                    hashes, rec = led._proof_hashes(index, size)
                    assert hashes == _reference_path(leaves, index, size), (budget, size, index)
                    assert rec is not None and rec[0] == leaves[index]
                    root = merkle.root_from_levels(merkle.build_levels(b"".join(leaves)), size)
                    merkle.verify_inclusion(index, size, leaves[index], hashes, root)
    led.close()


def test_node_cache_budget_and_lookup() -> None:
    c = NodeCache(max_bytes=32 * 16)
    c.grow(64)  # levels >= 1 would need 64 * 32 bytes: start higher
    assert c.low == 3 and c.nbytes() <= 32 * 16
    assert c.get((3, 0)) is None
    c.put((3, 0), b"\x07" * 32)
    assert c.get((3, 0)) == b"\x07" * 32
    c.put((1, 0), b"\x07" * 32)  # below the cached levels: ignored
    assert c.get((1, 0)) is None
    c.put((3, 99), b"\x07" * 32)  # beyond the tree: ignored
    assert c.get((3, 99)) is None


def test_warmed_cache_holds_exactly_the_stored_nodes(tmp_path: Path) -> None:
    led = open_ledger(f"sqlite:///{tmp_path / 'l.db'}", tmp_path / "l.key")
    n = 45
    led.append_many([{"i": i} for i in range(n)])
    led.checkpoint()
    leaves = b"".join(led.storage.get_record(i)[0] for i in range(n))  # type: ignore[index]
    levels = merkle.build_levels(leaves)
    led._node_cache = NodeCache(32 * 16)  # too small for level 1: starts higher
    led.warm_proof_cache(chunk=7)
    cache = led._node_cache
    assert cache.low == 3
    for level in range(1, len(levels)):
        for i in range(n >> level):
            want = merkle.node_from_levels(levels, (level, i)) if level >= cache.low else None
            assert cache.get((level, i)) == want, (level, i)
    led.close()
