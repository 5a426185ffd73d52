"""RFC 9162 section 2.1 Merkle tree: hashing, proof plans and proof verification.

Everything here is pure computation on hashes; storage lives elsewhere. A *node key*
`(level, index)` names the complete subtree over leaves `[index * 2**level,
(index + 1) * 2**level)`. Complete subtrees never change once their last leaf exists,
so the store keeps them and a proof is a handful of key lookups (O(log n)), never a
rebuild. Ranges that are not complete (the right edge of a tree whose size is not a
power of two) are the right fold of their complete pieces, which is exactly the RFC's
recursive MTH split at the largest power of two below the size.

Verification follows RFC 9162 2.1.3.2 (inclusion) and 2.1.4.2 (consistency) step by
step; a failed check raises `VerificationError`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from distillguard.errors import VerificationError

HASH_SIZE = 32
NodeKey = tuple[int, int]


def node_location(key: NodeKey) -> tuple[int, int]:
    """Where a complete subtree is stored: (record index, byte offset in its `nodes`).

    Appending leaf i completes the nodes at levels 1..k (k = trailing one bits of i), all
    ending at leaf i; the record row of leaf i stores them, level 1 first. Level 0 is the
    leaf hash itself (offset -1).
    """
    level, index = key
    if level == 0:
        return index, -1
    return ((index + 1) << level) - 1, (level - 1) * HASH_SIZE


EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256
LEAF_PREFIX = hashlib.sha256(b"\x00")  # copy() it and update with an entry: its leaf hash


def leaf_hash(data: bytes) -> bytes:
    """MTH of one entry: SHA-256(0x00 || entry)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Interior node: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def largest_pow2_below(n: int) -> int:
    """The largest power of two strictly smaller than n (n > 1): the RFC's split point k."""
    return 1 << ((n - 1).bit_length() - 1)


def range_keys(lo: int, hi: int) -> list[NodeKey]:
    """Aligned complete subtrees covering [lo, hi), left to right (largest first)."""
    size = hi - lo
    if size & (size - 1) == 0 and size and lo & (size - 1) == 0:  # one complete subtree
        level = size.bit_length() - 1
        return [(level, lo >> level)]
    keys: list[NodeKey] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        while lo & ((1 << level) - 1):
            level -= 1
        keys.append((level, lo >> level))
        lo += 1 << level
    return keys


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold of adjacent subtree hashes: the MTH of their concatenated range."""
    if len(hashes) == 1:
        return hashes[0]
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = _sha256(b"\x01" + h + acc).digest()
    return acc


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PATH(index, D[size]) (RFC 9162 2.1.3.1), leaf first."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} outside tree of size {size}")
    out: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = largest_pow2_below(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
    out.reverse()
    return out


def inclusion_plan(index: int, size: int) -> list[list[NodeKey]]:
    """PATH(index, D[size]) as node keys, leaf first; each entry folds to one proof hash.

    The same proof as `inclusion_ranges`, computed with bit arithmetic (no recursion): the
    siblings inside the complete subtree where the leaf's path leaves the right edge
    (the "fork"), then the right-edge remainder as one folded entry, then the complete
    subtrees left of the fork, smallest first.
    """
    if not 0 <= index < size:
        raise ValueError(f"index {index} outside tree of size {size}")
    inner = (index ^ size).bit_length() - 1
    plan = [[(lv, (index >> lv) ^ 1)] for lv in range(inner)]
    begin = (index >> inner) << inner
    end = begin + (1 << inner)
    if end < size:
        plan.append(range_keys(end, size))
    plan.extend([k] for k in reversed(range_keys(0, begin)))
    return plan


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PROOF(old, D[new]) (RFC 9162 2.1.4.1), deepest first."""
    if not 0 <= old <= new:
        raise ValueError(f"cannot prove size {old} against size {new}")
    if old == 0 or old == new:
        return []
    out: list[tuple[int, int]] = []
    lo, hi, m, complete = 0, new, old, True
    while True:
        if m == hi - lo:
            if not complete:
                out.append((lo, hi))
            break
        k = largest_pow2_below(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo += k
            m -= k
            complete = False
    out.reverse()
    return out


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 2.1.3.2: raise VerificationError unless `proof` puts `leaf` at `index`."""
    if not 0 <= index < size:
        raise VerificationError(f"inclusion proof: index {index} is not below tree size {size}")
    if any(len(p) != HASH_SIZE for p in proof) or len(leaf) != HASH_SIZE:
        raise VerificationError("inclusion proof: a hash is not 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise VerificationError("inclusion proof: too many hashes for this tree size")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof: too few hashes for this tree size")
    if r != root:
        raise VerificationError("inclusion proof: computed root does not match the checkpoint")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2: raise VerificationError unless tree `new` extends tree `old`."""
    if not 0 <= old <= new:
        raise VerificationError(f"consistency proof: old size {old} exceeds new size {new}")
    if any(len(p) != HASH_SIZE for p in proof):
        raise VerificationError("consistency proof: a hash is not 32 bytes")
    if old == new:
        if proof or old_root != new_root:
            raise VerificationError("consistency proof: equal sizes but different roots")
        return
    if old == 0:
        if proof:
            raise VerificationError("consistency proof: must be empty for an empty old tree")
        return
    if not proof:
        raise VerificationError("consistency proof: empty")
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError("consistency proof: too many hashes")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("consistency proof: too few hashes")
    if fr != old_root:
        raise VerificationError("consistency proof: does not reproduce the old root")
    if sr != new_root:
        raise VerificationError("consistency proof: does not reproduce the new root")


class Frontier:
    """The complete subtrees covering [0, size): what an append needs to extend the tree.

    `append` returns the interior nodes (level >= 1) that the new leaf completes, so the
    caller can store them in the leaf's own row (see `node_location`).
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError("frontier hashes do not match the tree size")
        self.size = size
        self.hashes = list(hashes)

    @staticmethod
    def keys_for(size: int) -> list[NodeKey]:
        """Node keys of the frontier of a tree of `size` leaves, left to right."""
        return range_keys(0, size)

    def append(self, leaf: bytes) -> bytes:
        """Add one leaf hash; return the nodes it completes (levels 1.., concatenated)."""
        n = self.size
        hashes = self.hashes
        h = leaf
        done = b""
        while n & 1:
            h = _sha256(b"\x01" + hashes.pop() + h).digest()
            done += h
            n >>= 1
        hashes.append(h)
        self.size += 1
        return done

    def root(self) -> bytes:
        """MTH of the whole tree (SHA-256 of the empty string for an empty tree)."""
        return fold(self.hashes)

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)


def next_level(blob: bytes | bytearray) -> bytes:
    """Parents of each complete pair of concatenated 32-byte hashes (odd tail dropped)."""
    sha = _sha256
    mv = memoryview(blob)
    prefix = b"\x01"
    return b"".join([sha(prefix + mv[i : i + 64]).digest() for i in range(0, len(blob) - 63, 64)])


def build_levels(leaves: bytes | bytearray) -> list[bytes]:
    """All complete-subtree hashes, level by level, from concatenated leaf hashes."""
    levels = [bytes(leaves)]
    while len(levels[-1]) >= 2 * HASH_SIZE:
        levels.append(next_level(levels[-1]))
    return levels


def node_from_levels(levels: Sequence[bytes], key: NodeKey) -> bytes:
    level, idx = key
    return levels[level][idx * HASH_SIZE : (idx + 1) * HASH_SIZE]


def root_from_levels(levels: Sequence[bytes], size: int) -> bytes:
    """MTH of the first `size` leaves, from the output of `build_levels`."""
    return fold([node_from_levels(levels, k) for k in range_keys(0, size)])
