"""Tree levels in memory, one flat array per level, for fast proofs.

An inclusion proof needs about log2(n) node hashes. Reading each from the database is a
b-tree lookup, and a dict of (level, index) -> bytes costs ~150 bytes of Python objects
per 32-byte hash. Complete subtree hashes never change once their last leaf exists, so
levels >= `low` are kept in one `bytearray` per level (32 bytes a node, all-zero bytes =
not loaded yet) and filled lazily from the reads that proofs make anyway. `low` is the
lowest level whose arrays together stay under `max_bytes`: levels 1.. of a
1,000,000-record log take 32 MB, so with the default budget a warm proof reads only the
record row and its sibling leaf. A node whose true hash is all zeros (probability
2**-256) would merely be read again from the database, never answered wrongly.
"""

from __future__ import annotations

from .merkle import HASH_SIZE, NodeKey

_ZERO = bytes(HASH_SIZE)
DEFAULT_MAX_BYTES = 48 << 20


class NodeCache:
    """Lazily filled complete-subtree hashes of levels >= `low`."""

    __slots__ = ("_levels", "_size", "low", "max_bytes")

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.low = 1
        self._levels: list[bytearray] = []  # index = level; levels below `low` stay empty
        self._size = 0

    def grow(self, size: int) -> None:
        """Make room for every complete node of a tree of `size` leaves."""
        if size <= self._size:
            return
        self._size = size
        low = 1
        while (size >> (low - 1)) * HASH_SIZE > self.max_bytes:  # sum over levels >= low
            low += 1
        levels = self._levels
        if low > self.low:
            for lv in range(min(low, len(levels))):
                levels[lv] = bytearray()
        self.low = low
        top = size.bit_length()
        while len(levels) < top:
            levels.append(bytearray())
        for lv in range(low, top):
            want = (size >> lv) * HASH_SIZE
            arr = levels[lv]
            if len(arr) < want:
                arr.extend(bytes(want - len(arr)))

    def get(self, key: NodeKey) -> bytes | None:
        level, index = key
        if level < self.low or level >= len(self._levels):
            return None
        off = index * HASH_SIZE
        h = bytes(self._levels[level][off : off + HASH_SIZE])
        return h if len(h) == HASH_SIZE and h != _ZERO else None

    def get_many(self, keys: list[NodeKey]) -> list[bytes | None]:
        """`get` for each key (one call per proof instead of one per node)."""
        levels, low, top = self._levels, self.low, len(self._levels)
        out: list[bytes | None] = []
        add = out.append
        for level, index in keys:
            if low <= level < top:
                off = index * HASH_SIZE
                h = bytes(levels[level][off : off + HASH_SIZE])
                add(h if len(h) == HASH_SIZE and h != _ZERO else None)
            else:
                add(None)
        return out

    def put(self, key: NodeKey, value: bytes) -> None:
        level, index = key
        if level < self.low or level >= len(self._levels):
            return
        off = index * HASH_SIZE
        arr = self._levels[level]
        if off + HASH_SIZE <= len(arr) and len(value) == HASH_SIZE:
            arr[off : off + HASH_SIZE] = value

    def load_rows(self, rows: list[tuple[int, bytes]]) -> None:
        """Fill from (idx, nodes) record rows: row i holds levels 1..k of the nodes ending
        at leaf i (`merkle.node_location`), node (level, i >> level)."""
        levels, low, top = self._levels, self.low, len(self._levels)
        for idx, nodes in rows:
            level = low
            while level < top and (level - 1) * HASH_SIZE < len(nodes):
                arr = levels[level]
                off = (idx >> level) * HASH_SIZE
                if off + HASH_SIZE <= len(arr):
                    arr[off : off + HASH_SIZE] = nodes[(level - 1) * HASH_SIZE : level * HASH_SIZE]
                level += 1

    def nbytes(self) -> int:
        return sum(len(a) for a in self._levels)
