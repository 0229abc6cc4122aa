"""RFC 9162 section 2.1 Merkle tree (SHA-256) over a store of perfect subtree hashes.

The server never holds all leaves in memory. It keeps the hashes of *perfect* aligned subtrees:
node ``(level, index)`` covers leaves ``[index * 2**level, (index + 1) * 2**level)``, level 0 being the
leaf hashes. A perfect node never changes once it is complete, so a database can store it forever.

Every subtree that the RFC 9162 definitions (MTH, PATH, SUBPROOF) ever hash is a range ``[start, end)``
whose start is a multiple of the smallest power of two >= its length. Such a range splits into at most
log2(n) perfect nodes of strictly decreasing size (the binary digits of its length), and its RFC hash is
those node hashes folded right to left. So a proof is computed in two steps: a pure *plan* (which
ranges, hence which perfect nodes) and one batched read of O(log n) nodes from a :class:`NodeStore`.

The verifiers follow RFC 9162 sections 2.1.3.2 and 2.1.4.2 step by step. They return a
:class:`ProofVerdict`; :class:`MerkleError` (a ``ValueError``) is raised only for malformed input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, TypeAlias

HASH_SIZE: Final = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256 of the empty string: the root of the empty tree."""

NodeKey: TypeAlias = tuple[int, int]
"""``(level, index)`` of a perfect subtree."""

Range: TypeAlias = tuple[int, int]
"""``(start, end)``: the leaves ``[start, end)`` of an RFC 9162 subtree."""

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"


class MerkleError(ValueError):
    """Malformed input: a hash of the wrong length, a negative size, an index outside the tree."""


class MissingNodeError(MerkleError):
    """The node store lacks a perfect node that a plan needs (the tree is smaller than asked)."""


@dataclass(frozen=True, slots=True)
class ProofVerdict:
    """Outcome of a proof verification: ``ok``, and the reason when it is not (empty when ok)."""

    ok: bool
    reason: str = ""


class NodeStore(Protocol):
    """Read access to the hashes of perfect subtrees."""

    def get_nodes(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, bytes]:
        """Return the hashes of those of ``keys`` that the store holds (absent keys are left out)."""
        ...


# --- hashing -----------------------------------------------------------------------------------


def leaf_hash(entry: bytes) -> bytes:
    """Return the leaf hash SHA-256(0x00 || entry) of a log entry."""
    return hashlib.sha256(_LEAF_PREFIX + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash SHA-256(0x01 || left || right) of two 32-byte child hashes."""
    _check_hash("left", left)
    _check_hash("right", right)
    return _hash_children(left, right)


def _hash_children(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def range_hash(node_hashes: Sequence[bytes]) -> bytes:
    """Fold the perfect-node hashes of a range, left to right in the list, into its RFC 9162 hash.

    The fold goes right to left: ``h0 | (h1 | (h2 | ...))`` where ``|`` is :func:`node_hash`.
    """
    if not node_hashes:
        raise MerkleError("a range needs at least one node hash")
    acc = node_hashes[-1]
    _check_hash("node hash", acc)
    for h in reversed(node_hashes[:-1]):
        _check_hash("node hash", h)
        acc = _hash_children(h, acc)
    return acc


# --- plans: which perfect nodes a root or proof needs -----------------------------------------


def perfect_nodes(start: int, end: int) -> list[NodeKey]:
    """Decompose the leaf range ``[start, end)`` into maximal aligned perfect nodes, left to right.

    For the ranges used by RFC 9162 the node sizes strictly decrease, and :func:`range_hash` of their
    hashes is the range's MTH.
    """
    _check_count("start", start)
    _check_count("end", end)
    if start > end:
        raise MerkleError(f"range start {start} is after its end {end}")
    keys: list[NodeKey] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def root_plan(size: int) -> list[Range]:
    """Return the ranges whose hash is the root of a tree of ``size`` leaves (none when empty)."""
    _check_count("size", size)
    return [(0, size)] if size else []


def inclusion_proof_plan(index: int, size: int) -> list[Range]:
    """Return the ranges of PATH(index, D[size]) (RFC 9162 2.1.3.1), in proof order (leaf upwards)."""
    _check_count("index", index)
    _check_count("size", size)
    if index >= size:
        raise MerkleError(f"leaf index {index} is not below tree size {size}")
    ranges: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_proof_plan(size1: int, size2: int) -> list[Range]:
    """Return the ranges of PROOF(size1, D[size2]) (RFC 9162 2.1.4.1), in proof order.

    Empty when the sizes are equal. A proof from the empty tree is not defined and raises.
    """
    _check_count("size1", size1)
    _check_count("size2", size2)
    if size1 > size2:
        raise MerkleError(f"size1 {size1} is larger than size2 {size2}")
    if size1 == size2:
        return []
    if size1 == 0:
        raise MerkleError("a consistency proof from the empty tree is not defined")
    ranges: list[Range] = []
    lo, hi, whole = 0, size2, True  # SUBPROOF(size1 - lo, D[lo:hi], whole)
    while hi != size1:
        k = _split(hi - lo)
        if size1 - lo <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            whole = False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def plan_keys(*plans: Sequence[Range]) -> list[NodeKey]:
    """Return the distinct perfect nodes that the given plans need, in first-use order."""
    seen: dict[NodeKey, None] = {}
    for plan in plans:
        for start, end in plan:
            for key in perfect_nodes(start, end):
                seen.setdefault(key)
    return list(seen)


def resolve_plans(store: NodeStore, *plans: Sequence[Range]) -> list[list[bytes]]:
    """Compute the range hashes of each plan with one batched ``get_nodes`` read.

    Returns one list of hashes per plan (a proof, or ``[root]`` for a :func:`root_plan`).
    """
    keys = plan_keys(*plans)
    nodes = store.get_nodes(keys) if keys else {}
    missing = [key for key in keys if key not in nodes]
    if missing:
        raise MissingNodeError(f"node store lacks {len(missing)} node(s), first {missing[0]}")
    return [[range_hash([nodes[key] for key in perfect_nodes(s, e)]) for s, e in plan] for plan in plans]


def inclusion_proof(store: NodeStore, index: int, size: int) -> list[bytes]:
    """Return the RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    return resolve_plans(store, inclusion_proof_plan(index, size))[0]


def consistency_proof(store: NodeStore, size1: int, size2: int) -> list[bytes]:
    """Return the RFC 9162 consistency proof from the tree of ``size1`` leaves to ``size2`` leaves."""
    return resolve_plans(store, consistency_proof_plan(size1, size2))[0]


def root_hash(store: NodeStore, size: int) -> bytes:
    """Return MTH of the first ``size`` leaves (:data:`EMPTY_ROOT` for size 0)."""
    hashes = resolve_plans(store, root_plan(size))[0]
    return hashes[0] if hashes else EMPTY_ROOT


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- appending ----------------------------------------------------------------------------------


def frontier_keys(size: int) -> list[NodeKey]:
    """Return the perfect nodes on the right edge of a tree of ``size`` leaves.

    These are the only existing nodes that appending leaves needs (the left siblings of new nodes).
    """
    return perfect_nodes(0, size)


def compute_new_nodes(
    size_before: int, new_leaf_hashes: Sequence[bytes], frontier: Mapping[NodeKey, bytes]
) -> list[tuple[NodeKey, bytes]]:
    """Return every perfect node completed by appending ``new_leaf_hashes`` to a tree of ``size_before``.

    ``frontier`` maps (at least) :func:`frontier_keys` of ``size_before`` to their hashes. The result
    includes the new leaves (level 0) and is ordered by level, then index.
    """
    _check_count("size_before", size_before)
    for h in new_leaf_hashes:
        _check_hash("leaf hash", h)
    size_after = size_before + len(new_leaf_hashes)
    out: list[tuple[NodeKey, bytes]] = [((0, size_before + j), h) for j, h in enumerate(new_leaf_hashes)]
    prev: Sequence[bytes] = new_leaf_hashes
    prev_start = size_before
    level = 1
    while (start := size_before >> level) < (end := size_after >> level):
        current: list[bytes] = []
        for i in range(start, end):
            left_index = 2 * i
            if left_index >= prev_start:
                left = prev[left_index - prev_start]
            else:
                left = _frontier_node(frontier, (level - 1, left_index))
            current.append(_hash_children(left, prev[left_index + 1 - prev_start]))
        out.extend(((level, start + j), h) for j, h in enumerate(current))
        prev, prev_start = current, start
        level += 1
    return out


def _frontier_node(frontier: Mapping[NodeKey, bytes], key: NodeKey) -> bytes:
    try:
        h = frontier[key]
    except KeyError:
        raise MissingNodeError(f"frontier lacks node {key}") from None
    _check_hash(f"node {key}", h)
    return h


def nodes_to_add(
    size_before: int, new_leaf_hashes: Sequence[bytes], store: NodeStore
) -> list[tuple[NodeKey, bytes]]:
    """Like :func:`compute_new_nodes`, reading the frontier from ``store`` in one batched call."""
    keys = frontier_keys(size_before)
    frontier = store.get_nodes(keys) if keys and new_leaf_hashes else {}
    return compute_new_nodes(size_before, new_leaf_hashes, frontier)


class MemoryNodeStore:
    """An in-memory :class:`NodeStore`: one packed ``bytearray`` of 32-byte hashes per level.

    Perfect nodes of a level are always a prefix ``0..count-1``, so a tree of n leaves costs about
    2n * 32 bytes. Used by tests, benchmarks and clients that rebuild a tree from its entries.
    """

    def __init__(self) -> None:
        self._levels: list[bytearray] = []

    @property
    def size(self) -> int:
        """Number of leaves held."""
        return len(self._levels[0]) // HASH_SIZE if self._levels else 0

    def node_count(self) -> int:
        """Total number of perfect nodes held."""
        return sum(len(level) for level in self._levels) // HASH_SIZE

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """Return the hashes of those of ``keys`` that are held."""
        out: dict[NodeKey, bytes] = {}
        levels = self._levels
        for key in keys:
            level, index = key
            if 0 <= level < len(levels) and index >= 0:
                h = bytes(levels[level][index * HASH_SIZE : (index + 1) * HASH_SIZE])
                if h:
                    out[key] = h
        return out

    def add_nodes(self, nodes: Iterable[tuple[NodeKey, bytes]]) -> None:
        """Store new perfect nodes; each must be the next index on its level."""
        for (level, index), h in nodes:
            _check_hash("node hash", h)
            if level < 0:
                raise MerkleError(f"negative level {level}")
            while len(self._levels) <= level:
                self._levels.append(bytearray())
            row = self._levels[level]
            if index != len(row) // HASH_SIZE:
                raise MerkleError(f"node {(level, index)} is not the next node of level {level}")
            row += h

    def append_leaf_hashes(self, leaf_hashes: Sequence[bytes]) -> list[tuple[NodeKey, bytes]]:
        """Append leaf hashes as one batch; return the perfect nodes it created."""
        new = nodes_to_add(self.size, leaf_hashes, self)
        self.add_nodes(new)
        return new

    def append_entries(self, entries: Iterable[bytes]) -> list[tuple[NodeKey, bytes]]:
        """Append raw log entries (hashed with :func:`leaf_hash`) as one batch."""
        return self.append_leaf_hashes([leaf_hash(e) for e in entries])

    def root(self) -> bytes:
        """Return the root hash of the whole tree held."""
        return root_hash(self, self.size)


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) -----------------------------------------------


def _rfc_walk(fn: int, sn: int, count: int) -> list[bool] | str:
    """The RFC 9162 proof walk shared by 2.1.3.2 (step 4) and 2.1.4.2 (step 6), steps a-c.

    Starting from ``fn``/``sn``, return for each of ``count`` proof hashes whether it is a left
    sibling ("LSB(fn) is set, or fn is equal to sn"), or the reason the proof has the wrong length.
    """
    sides: list[bool] = []
    for _ in range(count):
        if sn == 0:
            return "proof is longer than the tree requires"
        left = bool(fn & 1) or fn == sn
        sides.append(left)
        if left:
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return "proof is shorter than the tree requires"
    return sides


def _inclusion_root(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | str:
    """Run RFC 9162 2.1.3.2 steps 1-4; return the computed root, or the failure reason."""
    if index >= size:
        return f"leaf index {index} is not below tree size {size}"
    sides = _rfc_walk(index, size - 1, len(proof))
    if isinstance(sides, str):
        return f"inclusion {sides}"
    r = leaf
    for left, p in zip(sides, proof, strict=True):
        r = _hash_children(p, r) if left else _hash_children(r, p)
    return r


def root_from_inclusion_proof(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Return the root that an inclusion proof implies; raise :class:`MerkleError` if it cannot."""
    _check_inclusion_input(leaf_hash, index, size, proof)
    result = _inclusion_root(leaf_hash, index, size, proof)
    if isinstance(result, str):
        raise MerkleError(result)
    return result


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> ProofVerdict:
    """Verify that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``."""
    _check_inclusion_input(leaf_hash, index, size, proof)
    _check_hash("root", root)
    result = _inclusion_root(leaf_hash, index, size, proof)
    if isinstance(result, str):
        return ProofVerdict(False, result)
    if result != root:
        return ProofVerdict(False, "computed root does not match the expected root")
    return ProofVerdict(True)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> ProofVerdict:
    """Verify that the tree of ``size2`` leaves with ``root2`` extends the one of ``size1`` with ``root1``.

    Equal sizes need an empty proof and equal roots (for size 0 both must be :data:`EMPTY_ROOT`);
    as no hashing happens then, the root lengths are not checked. A proof from size 0 to a larger
    size proves nothing and is rejected.
    """
    _check_count("size1", size1)
    _check_count("size2", size2)
    _check_proof(proof)
    if size1 > size2:
        return ProofVerdict(False, f"size1 {size1} is larger than size2 {size2}")
    if size1 == size2:
        if proof:
            return ProofVerdict(False, "proof must be empty when the sizes are equal")
        if size1 == 0 and not root1 == root2 == EMPTY_ROOT:
            return ProofVerdict(False, "the root of the empty tree must be SHA-256 of the empty string")
        if root1 != root2:
            return ProofVerdict(False, "roots differ although the sizes are equal")
        return ProofVerdict(True)
    if size1 == 0:
        return ProofVerdict(False, "a consistency proof from the empty tree proves nothing")
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    # RFC 9162 2.1.4.2
    if not proof:
        return ProofVerdict(False, "consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    sides = _rfc_walk(fn, sn, len(path) - 1)
    if isinstance(sides, str):
        return ProofVerdict(False, f"consistency {sides}")
    fr = sr = path[0]
    for left, c in zip(sides, path[1:], strict=True):
        if left:
            fr = _hash_children(c, fr)
            sr = _hash_children(c, sr)
        else:
            sr = _hash_children(sr, c)
    if fr != root1:
        return ProofVerdict(False, "computed first root does not match root1")
    if sr != root2:
        return ProofVerdict(False, "computed second root does not match root2")
    return ProofVerdict(True)


# --- input checks --------------------------------------------------------------------------------


def _check_hash(what: str, h: object) -> None:
    if not isinstance(h, bytes):
        raise MerkleError(f"{what} must be bytes, not {type(h).__name__}")
    if len(h) != HASH_SIZE:
        raise MerkleError(f"{what} must be {HASH_SIZE} bytes, got {len(h)}")


def _check_count(what: str, n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int):
        raise MerkleError(f"{what} must be an int, not {type(n).__name__}")
    if n < 0:
        raise MerkleError(f"{what} must not be negative, got {n}")


def _check_proof(proof: Sequence[bytes]) -> None:
    if isinstance(proof, bytes | str):
        raise MerkleError("proof must be a sequence of hashes, not a single string")
    for i, h in enumerate(proof):
        _check_hash(f"proof[{i}]", h)


def _check_inclusion_input(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> None:
    _check_count("index", index)
    _check_count("size", size)
    _check_hash("leaf hash", leaf)
    _check_proof(proof)
