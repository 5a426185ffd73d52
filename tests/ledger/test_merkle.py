"""RFC 9162 Merkle tree: known answers, exhaustive small trees, hypothesis properties."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distillguard.errors import VerificationError
from distillguard.ledger import merkle


def H(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def mth(entries: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, transcribed literally (recursive, on entries)."""
    n = len(entries)
    if n == 0:
        return H(b"")
    if n == 1:
        return H(b"\x00" + entries[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return H(b"\x01" + mth(entries[:k]) + mth(entries[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n]), literally."""
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b), literally."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


class MemTree:
    """Proofs through the production code path: ranges -> node keys -> folded hashes."""

    def __init__(self, entries: list[bytes]) -> None:
        self.levels = merkle.build_levels(b"".join(merkle.leaf_hash(e) for e in entries))
        self.size = len(entries)

    def hash(self, lo: int, hi: int) -> bytes:
        keys = merkle.range_keys(lo, hi)
        return merkle.fold([merkle.node_from_levels(self.levels, k) for k in keys])

    def inclusion(self, i: int, n: int | None = None) -> list[bytes]:
        size = self.size if n is None else n
        return [self.hash(lo, hi) for lo, hi in merkle.inclusion_ranges(i, size)]

    def consistency(self, m: int, n: int) -> list[bytes]:
        return [self.hash(lo, hi) for lo, hi in merkle.consistency_ranges(m, n)]

    def root(self, n: int | None = None) -> bytes:
        return merkle.root_from_levels(self.levels, self.size if n is None else n)


def entries(n: int) -> list[bytes]:
    return [b"entry-%d" % i for i in range(n)]


# ---- known answers ---------------------------------------------------------------------
# Certificate Transparency reference leaves and roots (RFC 6962 test data, as used by
# transparency-dev/merkle and others): independent of our code.
CT_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
             "5051525354555657", "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_ct_reference_roots_for_every_size() -> None:
    for n in range(len(CT_LEAVES) + 1):
        fr = merkle.Frontier()
        for e in CT_LEAVES[:n]:
            fr.append(merkle.leaf_hash(e))
        assert fr.root().hex() == CT_ROOTS[n]
        assert mth(CT_LEAVES[:n]).hex() == CT_ROOTS[n]
        if n:
            assert MemTree(CT_LEAVES[:n]).root().hex() == CT_ROOTS[n]


def test_ct_reference_proofs() -> None:
    t = MemTree(CT_LEAVES)
    assert [h.hex() for h in t.inclusion(0)] == [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ]
    assert [h.hex() for h in t.inclusion(5)] == [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ]
    assert [h.hex() for h in MemTree(CT_LEAVES[:5]).consistency(2, 5)] == [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ]


def test_rfc9162_example_tree_by_hand() -> None:
    """RFC 9162 2.1.5: the 7-leaf example, every hash written out from the definitions."""
    d = [b"d%d" % i for i in range(7)]
    a, b, c, dd, e, f, j = (H(b"\x00" + x) for x in d)
    g, h, i = H(b"\x01" + a + b), H(b"\x01" + c + dd), H(b"\x01" + e + f)
    k, ll = H(b"\x01" + g + h), H(b"\x01" + i + j)
    root = H(b"\x01" + k + ll)
    t = MemTree(d)
    assert t.root() == root
    # "The inclusion proof for d0 is [b, h, ll]", d3: [c, g, ll], d4: [f, j, k], d6: [i, k].
    assert t.inclusion(0) == [b, h, ll]
    assert t.inclusion(3) == [c, g, ll]
    assert t.inclusion(4) == [f, j, k]
    assert t.inclusion(6) == [i, k]
    # Consistency: 3 -> 7 is [c, d, g, l]; 4 -> 7 is [l]; 6 -> 7 is [i, j, k].
    assert t.consistency(3, 7) == [c, dd, g, ll]
    assert t.consistency(4, 7) == [ll]
    assert t.consistency(6, 7) == [i, j, k]
    merkle.verify_consistency(3, 7, t.root(3), root, [c, dd, g, ll])
    merkle.verify_consistency(4, 7, k, root, [ll])
    merkle.verify_inclusion(6, 7, j, [i, k], root)


def test_small_tree_three_leaves_by_hand() -> None:
    l0, l1, l2 = (H(b"\x00" + x) for x in (b"x", b"y", b"z"))
    root = H(b"\x01" + H(b"\x01" + l0 + l1) + l2)
    assert MemTree([b"x", b"y", b"z"]).root() == root
    assert merkle.leaf_hash(b"x") == l0 and merkle.node_hash(l0, l1) == H(b"\x01" + l0 + l1)


# ---- exhaustive for small sizes, against the literal RFC recursion --------------------
def test_inclusion_plan_equals_rfc_path_for_every_index_up_to_300() -> None:
    for n in range(1, 301):
        for m in range(n):
            plan = [BIG.hash(lo, hi) for lo, hi in merkle.inclusion_ranges(m, n)]
            fast = [
                merkle.fold([merkle.node_from_levels(BIG.levels, k) for k in keys])
                for keys in merkle.inclusion_plan(m, n)
            ]
            assert fast == plan, (m, n)


def test_all_proofs_match_rfc_recursion_up_to_64() -> None:
    d = entries(64)
    for n in range(1, 65):
        t = MemTree(d[:n])
        assert t.root() == mth(d[:n])
        for m in range(n):
            assert t.inclusion(m) == path(m, d[:n])
            merkle.verify_inclusion(m, n, merkle.leaf_hash(d[m]), t.inclusion(m), t.root())
        for m in range(1, n + 1):
            expect = subproof(m, d[:n], True) if m < n else []
            assert t.consistency(m, n) == expect
            merkle.verify_consistency(m, n, t.root(m), t.root(n), expect)


# ---- properties up to a few hundred ----------------------------------------------------
BIG = MemTree(entries(400))


def _flip(h: bytes, bit: int) -> bytes:
    b = bytearray(h)
    b[(bit // 8) % 32] ^= 1 << (bit % 8)
    return bytes(b)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))),
       st.integers(0, 255), st.integers(0, 30))  # fmt: skip
def test_inclusion_verifies_and_any_alteration_fails(
    nm: tuple[int, int], bit: int, which: int
) -> None:
    n, m = nm
    root, leaf = BIG.root(n), merkle.leaf_hash(b"entry-%d" % m)
    proof = BIG.inclusion(m, n)  # complete subtrees of a prefix tree are the big tree's
    merkle.verify_inclusion(m, n, leaf, proof, root)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(m, n, _flip(leaf, bit), proof, root)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(m, n, leaf, proof, _flip(root, bit))
    if proof:
        bad = list(proof)
        bad[which % len(bad)] = _flip(bad[which % len(bad)], bit)
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(m, n, leaf, bad, root)
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(m, n, leaf, proof[:-1], root)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(m, n, leaf, [*proof, root], root)
    other = (m + 1 + which) % n
    if other != m:
        with pytest.raises(VerificationError):
            merkle.verify_inclusion(other, n, leaf, proof, root)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))),
       st.integers(0, 255), st.integers(0, 30))  # fmt: skip
def test_consistency_verifies_and_any_alteration_fails(
    mn: tuple[int, int], bit: int, which: int
) -> None:
    m, n = mn
    t = BIG
    proof = t.consistency(m, n)
    merkle.verify_consistency(m, n, t.root(m), t.root(n), proof)
    if m == n:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(m, n, t.root(m), _flip(t.root(n), bit), proof)
        return
    with pytest.raises(VerificationError):
        merkle.verify_consistency(m, n, _flip(t.root(m), bit), t.root(n), proof)
    with pytest.raises(VerificationError):
        merkle.verify_consistency(m, n, t.root(m), _flip(t.root(n), bit), proof)
    bad = list(proof)
    bad[which % len(bad)] = _flip(bad[which % len(bad)], bit)
    with pytest.raises(VerificationError):
        merkle.verify_consistency(m, n, t.root(m), t.root(n), bad)
    with pytest.raises(VerificationError):
        merkle.verify_consistency(m, n, t.root(m), t.root(n), proof[:-1])
    if n < t.size:
        with pytest.raises(VerificationError):
            merkle.verify_consistency(m, n + 1, t.root(m), t.root(n + 1), proof)


def test_frontier_stores_every_complete_node_once_in_its_last_leaf() -> None:
    fr = merkle.Frontier()
    rows = [fr.append(merkle.leaf_hash(e)) for e in entries(300)]
    assert sum(len(r) // 32 for r in rows) == sum(300 >> lv for lv in range(1, 10))
    for level in range(1, 9):
        for idx in range(300 >> level):
            row, off = merkle.node_location((level, idx))
            want = merkle.node_from_levels(BIG.levels, (level, idx))
            assert rows[row][off : off + 32] == want


def test_malformed_inputs_fail_closed() -> None:
    root = BIG.root(5)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(5, 5, b"\0" * 32, [], root)
    with pytest.raises(VerificationError):
        merkle.verify_inclusion(0, 5, b"\0" * 31, [], root)
    with pytest.raises(VerificationError):
        merkle.verify_consistency(6, 5, root, root, [])
    with pytest.raises(VerificationError):
        merkle.verify_consistency(3, 5, BIG.root(3), root, [])
