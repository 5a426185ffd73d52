"""The ledger: append records, issue signed checkpoints, serve proofs.

One `Ledger` wraps a storage backend and (optionally) the signing key. Appends go
through `_append_encoded`, which allocates indices, extends the Merkle frontier and
writes the records with the tree nodes they complete in one transaction: when it returns, the
records are durable. The frontier is cached and reloaded (O(log n) reads) whenever
another process has appended in between, so several processes may share one ledger.
"""

from __future__ import annotations

import binascii
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from distillguard.errors import DistillguardError, VerificationError

from . import merkle, note
from .canonical import canonical_json
from .keys import public_pem
from .nodecache import NodeCache
from .records import COMMIT_ALG, ENVELOPE, commit, now_stamp, parse_envelope, random_bytes
from .storage import Batch, PayloadRow, RecordRow, Storage, StoredCheckpoint

if TYPE_CHECKING:
    from .writer import LedgerWriter

FORMAT = "distillguard-ledger/1"
INCLUSION_TYPE = "distillguard.ledger.inclusion/v1"
CONSISTENCY_TYPE = "distillguard.ledger.consistency/v1"
DEFAULT_RETENTION_DAYS = 365.0


def _b64(b: bytes) -> str:
    return binascii.b2a_base64(b, newline=False).decode("ascii")


class Ledger:
    """A tamper-evident log (see the package docstring for the API)."""

    def __init__(
        self,
        storage: Storage,
        *,
        origin: str,
        public_key: Ed25519PublicKey,
        private_key: Ed25519PrivateKey | None,
        retention_days: float = DEFAULT_RETENTION_DAYS,
    ) -> None:
        self.storage = storage
        self.origin = origin
        self._pub = public_key
        self._key = private_key
        self.retention_days = retention_days
        self._lock = threading.Lock()
        self._frontier = merkle.Frontier()
        self._writer: LedgerWriter | None = None
        self._node_cache = NodeCache()
        self._edges: dict[tuple[int, int], bytes] = {}  # folded right-edge proof entries
        self._cp_cache: StoredCheckpoint | None = None

    # ---- appending -------------------------------------------------------------------
    @property
    def size(self) -> int:
        """The number of durable records."""
        return self.storage.head_size()

    def append(self, record: dict[str, Any]) -> int:
        """Append one record synchronously; return its index once it is durable."""
        if not isinstance(record, dict):
            raise DistillguardError("a ledger record must be a JSON object")
        return self._append_encoded([(canonical_json(record), now_stamp())])[0]

    def append_many(self, records: Iterable[dict[str, Any]]) -> list[int]:
        """Append several records in one transaction; return their indices."""
        items = []
        for r in records:
            if not isinstance(r, dict):
                raise DistillguardError("a ledger record must be a JSON object")
            items.append((canonical_json(r), now_stamp()))
        return self._append_encoded(items)

    def _load_frontier(self, size: int) -> merkle.Frontier:
        keys = merkle.Frontier.keys_for(size)
        found = self._nodes(keys)[0]
        missing = [k for k in keys if k not in found]
        if missing:
            raise DistillguardError(
                f"ledger storage is damaged: node {missing[0]} of the tree of size {size} "
                "is missing (run `distillguard ledger verify`)"
            )
        return merkle.Frontier(size, [found[k] for k in keys])

    def _append_encoded(
        self, items: Sequence[tuple[bytes, bytes]], payloads: Sequence[PayloadRow] = ()
    ) -> list[int]:
        """Write (canonical record, time) pairs in one transaction; return their indices."""
        result: list[int] = []
        new_frontier: list[merkle.Frontier] = []

        def build(size: int) -> Batch:
            fr = self._frontier if self._frontier.size == size else self._load_frontier(size)
            fr = fr.copy()
            recs: list[RecordRow] = []
            # Frontier.append inlined: this loop is the ledger's hot path.
            sha, env, hashes = merkle._sha256, ENVELOPE, fr.hashes
            add, push, pop = recs.append, hashes.append, hashes.pop
            leaf_state = merkle.LEAF_PREFIX.copy  # SHA-256 already fed the 0x00 prefix
            for i, (rec, ts) in enumerate(items, start=size):
                body = env % (i, rec, ts)
                x = leaf_state()
                x.update(body)
                leaf = h = x.digest()
                done = b""
                n = i
                while n & 1:
                    h = sha(b"\x01" + pop() + h).digest()
                    done += h
                    n >>= 1
                push(h)
                add((i, leaf, done, body))
            fr.size = size + len(items)
            result[:] = range(size, size + len(items))
            new_frontier[:] = [fr]
            return Batch(recs, list(payloads))

        with self._lock:
            self.storage.append(build)
            self._frontier = new_frontier[0]
        return result

    def writer(
        self,
        *,
        batch_size: int = 4096,
        linger_s: float = 0.02,
        checkpoint_every: int = 10_000,
        checkpoint_interval_s: float = 10.0,
        max_queue: int = 1_000_000,
    ) -> LedgerWriter:
        """The background batch writer of this ledger (created on first call)."""
        from .writer import LedgerWriter

        with self._lock:
            if self._writer is None or self._writer.closed:
                self._writer = LedgerWriter(
                    self,
                    batch_size=batch_size,
                    linger_s=linger_s,
                    checkpoint_every=checkpoint_every,
                    checkpoint_interval_s=checkpoint_interval_s,
                    max_queue=max_queue,
                )
            return self._writer

    # ---- payloads ----------------------------------------------------------------------
    def commit_payload(
        self, kind: str, payload: str | bytes, *, retention_days: float | None = None
    ) -> dict[str, str]:
        """Store a sensitive payload under retention; return its salted commitment.

        Put the returned dict in a record instead of the payload. With a writer open,
        the payload is written with the writer's next batch.
        """
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        rand = random_bytes(40)  # os.urandom bytes: a 32-byte salt and 8 bytes of the id
        salt = rand[:32]
        # Time-ordered id (nanosecond clock, then 64 random bits): new rows land at the
        # end of the payload_id index instead of at random places in it, which halves the
        # cost of storing a payload. The record carries its time anyway.
        now_ns = time.time_ns()
        pid = f"{now_ns:016x}{rand[32:].hex()}"
        now = now_ns / 1e9
        days = self.retention_days if retention_days is None else retention_days
        expires = None if days == float("inf") else now + days * 86400.0  # inf: keep
        row: PayloadRow = (pid, kind, salt, data, now, expires)
        w = self._writer
        if w is not None and not w.closed:
            w.enqueue_payload(row)
        else:
            self.storage.add_payloads([row])
        return {"alg": COMMIT_ALG, "digest": commit(data, salt), "payload_id": pid, "kind": kind}

    def open_payload(self, payload_id: str) -> tuple[str, bytes, bytes] | None:
        """(kind, salt, payload) of a stored payload, or None once deleted or expired."""
        return self.storage.get_payload(payload_id)

    def delete_payload(self, payload_id: str) -> bool:
        return self.storage.delete_payloads(payload_id, None) > 0

    def purge_expired_payloads(self, now: float | None = None) -> int:
        """Delete payloads whose retention has ended; return how many."""
        return self.storage.delete_payloads(None, time.time() if now is None else now)

    # ---- checkpoints -----------------------------------------------------------------
    def public_key_pem(self) -> bytes:
        return public_pem(self._pub)

    def verifier_key(self) -> str:
        """The signed-note verifier key (`<origin>+<id>+<key>`) for auditors' tools."""
        return note.verifier_key(self.origin, self._pub)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._pub

    def root(self, size: int) -> bytes:
        """MTH of the first `size` records, from stored nodes."""
        if size > self.size:
            raise DistillguardError(f"tree size {size} exceeds the log size {self.size}")
        return self._load_frontier(size).root()

    def checkpoint(self) -> str:
        """Sign and store a checkpoint of the current tree; return the signed note."""
        if self._key is None:
            raise DistillguardError("no signing key loaded: cannot issue a checkpoint")
        size = self.size
        latest = self.storage.latest_checkpoint()
        if latest is not None and latest.size == size:
            return latest.note
        if latest is not None and latest.size > size:
            raise VerificationError(
                f"stored checkpoint of size {latest.size} is ahead of the log ({size} records)"
            )
        root = self.root(size)
        text = note.sign_checkpoint(note.Checkpoint(self.origin, size, root), self._key)
        self.storage.add_checkpoint(StoredCheckpoint(size, root, text, time.time()))
        return text

    def latest_checkpoint(self) -> str | None:
        cp = self.storage.latest_checkpoint()
        return None if cp is None else cp.note

    def _checkpoint_for(self, size: int | None, covering: int) -> StoredCheckpoint:
        if size is None:
            cp = self._cp_cache
            if cp is None or cp.size < covering:
                cp = self.storage.latest_checkpoint()
            if cp is None or cp.size < covering:
                if self._key is None:
                    raise DistillguardError(
                        f"no checkpoint covers size {covering} yet and no signing key is loaded"
                    )
                self.checkpoint()
                cp = self.storage.latest_checkpoint()
            assert cp is not None
            self._cp_cache = cp
            return cp
        for cp in self.storage.checkpoints():
            if cp.size == size:
                return cp
        raise DistillguardError(f"no checkpoint of tree size {size} is stored")

    def _nodes(
        self, keys: Sequence[merkle.NodeKey], record: int = -1
    ) -> tuple[dict[merkle.NodeKey, bytes], tuple[bytes, bytes] | None]:
        """Stored node hashes (and optionally one record's leaf and body), with the upper
        levels served from memory (`NodeCache`): a complete subtree never changes, so only
        nodes not yet cached cost a database read, all of them in one query."""
        cache = self._node_cache
        found = {}
        missing = []
        for k, h in zip(keys, cache.get_many(list(keys)), strict=True):
            if h is None:
                missing.append(k)
            else:
                found[k] = h
        rec = None
        if missing or record >= 0:
            fetched, rec = self.storage.nodes_and_record(missing, record)
            put = cache.put
            for k, h in fetched.items():
                put(k, h)
            found.update(fetched)
        return found, rec

    def _hashes(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        return self._fold_plan([merkle.range_keys(lo, hi) for lo, hi in ranges])[0]

    def _fold_plan(
        self, plans: Sequence[Sequence[merkle.NodeKey]], record: int = -1
    ) -> tuple[list[bytes], tuple[bytes, bytes] | None]:
        """The proof hashes for a plan (and, in the same read, one record's leaf and body)."""
        found, rec = self._nodes([k for p in plans for k in p], record)
        out = []
        for plan in plans:
            try:
                out.append(merkle.fold([found[k] for k in plan]))
            except KeyError as exc:
                raise DistillguardError(
                    f"ledger storage is damaged: node {exc.args[0]} is missing"
                ) from None
        return out, rec

    def warm_proof_cache(self, chunk: int = 65536) -> float:
        """Load the cached tree levels for the latest checkpoint in one scan; return seconds.

        A service that serves many proofs calls this once (1-2 s per million
        records); without it the cache fills lazily, proof by proof.
        """
        t = time.perf_counter()
        cp = self.storage.latest_checkpoint()
        size = cp.size if cp is not None else self.size
        cache = self._node_cache
        cache.grow(size)
        for start in range(0, size, chunk):
            cache.load_rows(self.storage.node_rows(start, min(start + chunk, size)))
        return time.perf_counter() - t

    def _proof_hashes(
        self, index: int, size: int
    ) -> tuple[list[bytes], tuple[bytes, bytes] | None]:
        """PATH(index, D[size]) (leaf first) and the record's (leaf, body), in one read.

        The same proof as folding `merkle.inclusion_plan`, with the plan computed inline
        and the right-edge entry (a fold that only depends on the fork and the tree size)
        memoised: siblings below the fork, the right edge, then the complete subtrees left
        of the fork, smallest first.
        """
        self._node_cache.grow(size)
        inner = (index ^ size).bit_length() - 1
        keys: list[merkle.NodeKey] = [(lv, (index >> lv) ^ 1) for lv in range(inner)]
        begin = (index >> inner) << inner
        end = begin + (1 << inner)
        edge_at = -1
        edge: bytes | None = None
        edge_keys: list[merkle.NodeKey] = []
        if end < size:
            edge_at = len(keys)
            edge = self._edges.get((end, size))
            if edge is None:
                edge_keys = merkle.range_keys(end, size)
        b = begin
        while b:  # range_keys(0, begin) reversed: peel the lowest set bit
            lv = (b & -b).bit_length() - 1
            keys.append((lv, (b >> lv) - 1))
            b &= b - 1
        found, rec = self._nodes(keys + edge_keys, index)
        try:
            hashes = [found[k] for k in keys]
            if edge_at >= 0:
                if edge is None:
                    edge = merkle.fold([found[k] for k in edge_keys])
                    if len(self._edges) > 4096:
                        self._edges.clear()
                    self._edges[(end, size)] = edge
                hashes.insert(edge_at, edge)
        except KeyError as exc:
            raise DistillguardError(
                f"ledger storage is damaged: node {exc.args[0]} is missing"
            ) from None
        return hashes, rec

    def prove_inclusion(self, index: int, tree_size: int | None = None) -> dict[str, Any]:
        """An inclusion proof of record `index` against a signed checkpoint (JSON-able).

        Without `tree_size` the latest checkpoint is used, and one is issued first when
        none covers the record yet.
        """
        if index < 0:
            raise DistillguardError(f"no record {index}")
        cached = self._cp_cache
        if tree_size is not None or cached is None or cached.size <= index:
            size = self.size  # a cached checkpoint covering the index proves it exists
            if index >= size:
                raise DistillguardError(f"no record {index}: the log has {size} records")
        cp = self._checkpoint_for(tree_size, index + 1)
        if index >= cp.size:
            raise DistillguardError(f"record {index} is not in the tree of size {cp.size}")
        hashes, got = self._proof_hashes(index, cp.size)
        if got is None:
            raise VerificationError(f"record {index} is missing from the ledger storage")
        leaf, body = got
        return {
            "type": INCLUSION_TYPE,
            "origin": self.origin,
            "index": index,
            "tree_size": cp.size,
            "leaf_hash": _b64(leaf),
            "hashes": [_b64(h) for h in hashes],
            "checkpoint": cp.note,
            "record": parse_envelope(body),
        }

    def prove_consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        """A consistency proof from tree `old_size` to `new_size` (default: latest checkpoint)."""
        new = self.storage.latest_checkpoint() if new_size is None else None
        n = new.size if new is not None else (new_size if new_size is not None else self.size)
        if not 0 <= old_size <= n <= self.size:
            raise DistillguardError(
                f"cannot prove size {old_size} against size {n} (log has {self.size} records)"
            )
        hashes = self._hashes(merkle.consistency_ranges(old_size, n))
        return {
            "type": CONSISTENCY_TYPE,
            "origin": self.origin,
            "old_size": old_size,
            "new_size": n,
            "hashes": [_b64(h) for h in hashes],
        }

    def get_record(self, index: int) -> dict[str, Any]:
        """The stored envelope {index, record, time} of one record."""
        got = self.storage.get_record(index)
        if got is None:
            raise DistillguardError(f"no record {index} in the ledger")
        return parse_envelope(got[1])

    def close(self) -> None:
        """Close the writer (flush + checkpoint) and the storage."""
        w = self._writer
        if w is not None and not w.closed:
            w.close()
        self.storage.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_origin() -> str:
    """A unique origin for a new log: `distillguard.local/ledger-<random>` (a valid key name)."""
    return f"distillguard.local/ledger-{secrets.token_hex(8)}"
