"""Checking a ledger: the whole stored log, or one proof offline.

`verify_log` recomputes every leaf from the stored record bytes, rebuilds the tree in
batches (hashlib, level by level) and checks it against every stored signed checkpoint,
the stored leaf hashes and interior nodes. It names the first bad index: from the
records themselves (a gap, a record whose embedded index is not its position, content
that does not match its leaf hash), or, when someone rewrote records *and* hashes
consistently, by descending from the signed root through stored nodes that are first
authenticated against it. If the stored nodes cannot be authenticated either, it names
the range between the last checkpoint that still verifies and the first that does not.

The offline functions need only the public key, a checkpoint and the proof: what an
auditor runs without access to our database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from distillguard.errors import DistillguardError, VerificationError

from . import merkle, note
from .canonical import canonical_json
from .keys import load_public_key
from .storage import Storage

Progress = Callable[[int], None]


@dataclass(order=True)
class Problem:
    """A finding; `index`..`last` is the record range it concerns (one record if equal)."""

    index: int
    message: str = field(compare=False)
    last: int = field(default=-1, compare=False)
    likely: int | None = field(default=None, compare=False)

    def where(self) -> str:
        return f"index {self.index}" if self.last <= self.index else f"{self.index}..{self.last}"


@dataclass
class VerifyReport:
    """The outcome of a full verification."""

    origin: str
    head_size: int
    records: int
    checkpoint_size: int
    checkpoints: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_index(self) -> int | None:
        return min(self.problems).index if self.problems else None

    @property
    def unsigned(self) -> int:
        return max(0, self.records - self.checkpoint_size)


def _locate(storage: Storage, levels: list[bytes], size: int, root: bytes) -> tuple[int, int]:
    """The smallest leaf range [lo, hi) known to hold the first record that differs from
    the signed tree (a single record unless the stored hashes were rewritten too).

    Walks down from the signed root. At each step the two children are taken from the
    stored nodes or from the recomputed tree, whichever pair hashes to the (already
    authenticated) parent, so a stored hash is trusted only once it is proven against
    the signature. Partial tampering of the stored hashes is thus seen through.
    """

    def stored(lo: int, hi: int) -> bytes | None:
        keys = merkle.range_keys(lo, hi)
        got = storage.get_nodes(keys)
        return merkle.fold([got[k] for k in keys]) if all(k in got for k in keys) else None

    def recomputed(lo: int, hi: int) -> bytes:
        return merkle.fold([merkle.node_from_levels(levels, k) for k in merkle.range_keys(lo, hi)])

    lo, hi, expect = 0, size, root
    while hi - lo > 1:
        k = merkle.largest_pow2_below(hi - lo)
        sl, sr = stored(lo, lo + k), stored(lo + k, hi)
        rl, rr = recomputed(lo, lo + k), recomputed(lo + k, hi)
        if sl is not None and sr is not None and merkle.node_hash(sl, sr) == expect:
            if rl != sl:
                hi, expect = lo + k, sl
            else:
                lo, expect = lo + k, sr
        elif sr is not None and merkle.node_hash(rl, sr) == expect:
            lo, expect = lo + k, sr
        elif sl is not None and merkle.node_hash(sl, rr) == expect:
            hi, expect = lo + k, sl
        else:
            break
    return lo, hi


def _claimed_index(body: bytes) -> int | None:
    try:
        value = orjson.loads(body).get("index")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if type(value) is int else None


def verify_log(
    storage: Storage,
    pub: Ed25519PublicKey,
    origin: str,
    *,
    trusted_checkpoint: str | None = None,
    progress: Progress | None = None,
    chunk: int = 65536,
    max_problems: int = 50,
) -> VerifyReport:
    """Re-verify the whole stored log; problems are listed, not raised."""
    problems: list[Problem] = []

    def problem(index: int, message: str, last: int = -1) -> None:
        if len(problems) < max_problems:
            problems.append(Problem(index, message, last))

    signed: list[note.Checkpoint] = []
    for row in storage.checkpoints():
        try:
            parsed = note.open_checkpoint(row.note, pub, origin)
        except VerificationError as exc:
            problem(row.size, f"stored checkpoint of size {row.size}: {exc}")
            continue
        if (parsed.size, parsed.root) != (row.size, row.root):
            problem(row.size, f"stored checkpoint row of size {row.size} differs from its note")
        signed.append(parsed)
    if trusted_checkpoint is not None:
        signed.append(note.open_checkpoint(trusted_checkpoint, pub, origin))
    signed.sort(key=lambda c: c.size)
    head = storage.head_size()

    # One pass over the records: recompute each leaf and, with a frontier, every node it
    # completes (compared with the nodes stored in its row) and the root at every
    # checkpoint size. Leaf hashes are kept (32 bytes a record) for locating a mismatch.
    sha = hashlib.sha256
    leaves = bytearray()
    frontier: list[bytes] = []
    push, pop = frontier.append, frontier.pop
    want_roots = {cp.size for cp in signed}
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    low_bad: list[merkle.NodeKey] = []
    bad_nodes = 0
    pos = 0
    extend = leaves.extend

    def add_filler(at: int) -> None:  # a missing record: keep later positions aligned
        extend(b"\0" * 32)
        n, x = at, b"\0" * 32
        while n & 1:
            x = sha(b"\x01" + pop() + x).digest()
            n >>= 1
        push(x)
        if at + 1 in want_roots:
            roots[at + 1] = merkle.fold(frontier)

    for rows in storage.iter_records(0, chunk):
        leaf_hashes = [sha(b"\x00" + r[3]).digest() for r in rows]  # one C-speed pass
        for (idx, leaf, nodes, body), h in zip(rows, leaf_hashes, strict=True):
            if idx != pos:
                if idx >= head:
                    problem(idx, f"record {idx} lies beyond the head size {head} (inserted)")
                    continue
                problem(pos, f"records {pos}..{idx - 1} are missing (deleted)", idx - 1)
                while pos < idx:
                    add_filler(pos)
                    pos += 1
            if h != leaf:
                problem(idx, f"record {idx} does not match its leaf hash (modified)")
            if not body.startswith(b'{"index":%d,' % idx):
                claimed = _claimed_index(body)
                if claimed is not None and claimed < idx:
                    problem(claimed, f"records {claimed} and {idx} both claim index {claimed} "
                            "(one was inserted or moved)", idx)  # fmt: skip
                else:
                    problem(idx, f"record at position {idx} carries index {claimed} (moved)")
            if idx >= head:
                problem(idx, f"record {idx} lies beyond the head size {head} (inserted)")
                continue
            # the frontier append, inlined: this loop runs once per record
            extend(h)
            n, x, done = idx, h, b""
            while n & 1:
                x = sha(b"\x01" + pop() + x).digest()
                done += x
                n >>= 1
            push(x)
            pos = idx + 1
            if pos in want_roots:
                roots[pos] = merkle.fold(frontier)
            if done != nodes:
                bad_nodes += 1
                level = 1
                while done[(level - 1) * 32 : level * 32] == nodes[(level - 1) * 32 : level * 32]:
                    level += 1
                if len(low_bad) < 4096:
                    low_bad.append((level, idx >> level))
        if progress is not None:
            progress(pos)
    if pos < head:
        problem(pos, f"records {pos}..{head - 1} are missing (deleted)", head - 1)
    n = pos
    low_bad.sort()

    def narrow(lo: int, hi: int) -> tuple[int, int, str, int | None]:
        """Narrow [lo, hi) with the stored nodes when the signed tree alone cannot."""
        inside = [(lv, i) for lv, i in low_bad if lo <= i << lv < hi]
        if inside:
            lv, i = min(inside)
            a = i << lv
            return a, min(a + (1 << lv), hi), "its stored hash was rewritten too", None
        if n % 2 and lo <= n - 1 < hi:  # the one leaf no stored node covers yet
            why = f"most likely record {n - 1}, the only one no stored tree node covers"
            return lo, hi, why, n - 1
        return lo, hi, "stored hashes were rewritten too", None

    good = 0
    for cp in signed:
        if cp.size > n:
            problem(n, f"signed checkpoint of size {cp.size} but only {n} records are stored")
            continue
        if roots[cp.size] == cp.root:
            good = max(good, cp.size)
            continue
        levels = merkle.build_levels(leaves)
        lo, hi = _locate(storage, levels, cp.size, cp.root)
        if hi - lo == 1:
            if not any(p.index == lo for p in problems):
                problem(lo, f"record {lo} differs from the one signed in checkpoint {cp.size}")
            break
        lo, hi, why, likely = narrow(max(lo, good), hi)
        if any(lo <= p.index < hi for p in problems):
            break  # a record-level finding in the range already explains the mismatch
        if hi - lo == 1:
            problem(lo, f"record {lo} differs from checkpoint {cp.size} ({why})")
        else:
            problem(lo, f"a record in {lo}..{hi - 1} differs from checkpoint {cp.size} "
                    f"({why})", hi - 1)  # fmt: skip
            problems[-1].likely = likely
        break

    # Stored nodes serve proofs, so they must equal the tree of the records. When records
    # are already reported bad, differing nodes are a consequence, not news.
    if not problems and low_bad:
        level, i = low_bad[0]
        lo = i << level
        problem(
            lo,
            f"{bad_nodes} record row(s) hold wrong tree nodes, first {level}/{i} over records "
            f"{lo}..{lo + (1 << level) - 1} (proofs there would fail)",
        )
    problems.sort()
    return VerifyReport(origin, head, n, signed[-1].size if signed else 0, len(signed), problems)


# ---- offline checks (public key + files) ---------------------------------------------
def load_verifier(data: bytes) -> tuple[str | None, Ed25519PublicKey]:
    """A public key from PEM, or from a note verifier key `<name>+<id>+<key>`."""
    text = data.decode("utf-8", "replace").strip()
    if text.startswith("-----BEGIN"):
        return None, load_public_key(data)
    return note.parse_verifier_key(text)


def _b64_hash(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise VerificationError(f"malformed proof: {what} is not a base64 string")
    try:
        raw = base64.b64decode(value, validate=True)
    except binascii.Error:
        raise VerificationError(f"malformed proof: {what} is not base64") from None
    if len(raw) != 32:
        raise VerificationError(f"malformed proof: {what} is not a 32-byte hash")
    return raw


def _int(proof: dict[str, Any], key: str) -> int:
    v = proof.get(key)
    if type(v) is not int or v < 0:
        raise VerificationError(f"malformed proof: {key!r} must be a non-negative integer")
    return v


def _hashes(proof: dict[str, Any]) -> list[bytes]:
    hs = proof.get("hashes")
    if not isinstance(hs, list):
        raise VerificationError("malformed proof: 'hashes' must be a list")
    return [_b64_hash(h, f"hash {i}") for i, h in enumerate(hs)]


def verify_inclusion_proof(
    proof: dict[str, Any],
    record: dict[str, Any],
    checkpoint: str,
    pub: Ed25519PublicKey,
    origin: str | None = None,
) -> note.Checkpoint:
    """Check that `record` (an envelope {index, record, time}) is in the signed tree."""
    from .ledger import INCLUSION_TYPE

    if not isinstance(proof, dict) or proof.get("type") != INCLUSION_TYPE:
        raise VerificationError(f"not an inclusion proof (expected type {INCLUSION_TYPE})")
    cp = note.open_checkpoint(checkpoint, pub, origin)
    if proof.get("origin") != cp.origin:
        raise VerificationError(f"proof is for log {proof.get('origin')!r}, not {cp.origin!r}")
    index, size = _int(proof, "index"), _int(proof, "tree_size")
    if size != cp.size:
        raise VerificationError(f"proof is for tree size {size}, the checkpoint has {cp.size}")
    if not isinstance(record, dict) or record.get("index") != index:
        raise VerificationError(f"record is not the envelope of record {index}")
    try:
        leaf = merkle.leaf_hash(canonical_json(record))
    except DistillguardError as exc:
        raise VerificationError(str(exc)) from None
    if "leaf_hash" in proof and _b64_hash(proof["leaf_hash"], "leaf_hash") != leaf:
        raise VerificationError("record does not match the leaf hash in the proof")
    merkle.verify_inclusion(index, size, leaf, _hashes(proof), cp.root)
    return cp


def verify_consistency_proof(
    proof: dict[str, Any], old: str, new: str, pub: Ed25519PublicKey, origin: str | None = None
) -> tuple[note.Checkpoint, note.Checkpoint]:
    """Check that signed checkpoint `new` extends signed checkpoint `old`."""
    from .ledger import CONSISTENCY_TYPE

    a = note.open_checkpoint(old, pub, origin)
    b = note.open_checkpoint(new, pub, a.origin)
    if not isinstance(proof, dict) or proof.get("type") != CONSISTENCY_TYPE:
        raise VerificationError(f"not a consistency proof (expected type {CONSISTENCY_TYPE})")
    if (_int(proof, "old_size"), _int(proof, "new_size")) != (a.size, b.size):
        raise VerificationError(
            f"proof is for sizes {proof['old_size']} -> {proof['new_size']}, "
            f"the checkpoints have {a.size} -> {b.size}"
        )
    merkle.verify_consistency(a.size, b.size, a.root, b.root, _hashes(proof))
    return a, b
