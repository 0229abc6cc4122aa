"""Merkle tree: store-based proofs against a naive RFC 9162 reference, corruption, batching, errors."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.merkle import (
    EMPTY_ROOT,
    MemoryNodeStore,
    MerkleError,
    MissingNodeError,
    NodeKey,
    ProofVerdict,
    compute_new_nodes,
    consistency_proof,
    consistency_proof_plan,
    frontier_keys,
    inclusion_proof,
    inclusion_proof_plan,
    leaf_hash,
    node_hash,
    nodes_to_add,
    perfect_nodes,
    plan_keys,
    range_hash,
    resolve_plans,
    root_from_inclusion_proof,
    root_hash,
    root_plan,
    verify_consistency,
    verify_inclusion,
)

# --- naive reference: the recursive definitions of RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1 -----------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = _k(len(leaves))
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, leaves[:k], whole), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


ENTRIES = [f"entry {i}".encode() for i in range(5000)]
LEAVES = [leaf_hash(e) for e in ENTRIES]
SMALL = 70


@pytest.fixture(scope="module")
def big_store() -> MemoryNodeStore:
    store = MemoryNodeStore()
    store.append_entries(ENTRIES)
    return store


def _store(n: int) -> MemoryNodeStore:
    store = MemoryNodeStore()
    store.append_leaf_hashes(LEAVES[:n])
    return store


# --- known answers (RFC 6962 test tree used by transparency-dev/merkle and Certificate Transparency) --

KAT_DATA = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
KAT_ROOTS = [
    bytes.fromhex(h)
    for h in [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
KAT_INCLUSION = [  # (index, size, proof)
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
KAT_CONSISTENCY = [  # (size1, size2, proof)
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def kat_store() -> MemoryNodeStore:
    store = MemoryNodeStore()
    store.append_entries(KAT_DATA)
    return store


def test_known_roots(kat_store: MemoryNodeStore) -> None:
    assert root_hash(kat_store, 0) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    for size, want in enumerate(KAT_ROOTS, start=1):
        assert root_hash(kat_store, size) == want
    assert kat_store.root() == KAT_ROOTS[-1]


@pytest.mark.parametrize(("index", "size", "proof"), KAT_INCLUSION)
def test_known_inclusion_proofs(kat_store: MemoryNodeStore, index: int, size: int, proof: list[str]) -> None:
    want = [bytes.fromhex(h) for h in proof]
    assert inclusion_proof(kat_store, index, size) == want
    leaf = leaf_hash(KAT_DATA[index])
    assert verify_inclusion(leaf, index, size, want, KAT_ROOTS[size - 1]) == ProofVerdict(True)


@pytest.mark.parametrize(("size1", "size2", "proof"), KAT_CONSISTENCY)
def test_known_consistency_proofs(
    kat_store: MemoryNodeStore, size1: int, size2: int, proof: list[str]
) -> None:
    want = [bytes.fromhex(h) for h in proof]
    assert consistency_proof(kat_store, size1, size2) == want
    assert verify_consistency(size1, size2, want, KAT_ROOTS[size1 - 1], KAT_ROOTS[size2 - 1]).ok


# --- exhaustive small trees -------------------------------------------------------------------


def test_roots_match_naive_for_all_small_sizes(big_store: MemoryNodeStore) -> None:
    for size in range(SMALL + 1):
        assert root_hash(big_store, size) == mth(LEAVES[:size])


def test_all_inclusion_proofs_up_to_70(big_store: MemoryNodeStore) -> None:
    for size in range(1, SMALL + 1):
        root = mth(LEAVES[:size])
        for index in range(size):
            proof = inclusion_proof(big_store, index, size)
            assert proof == path(index, LEAVES[:size])
            assert verify_inclusion(LEAVES[index], index, size, proof, root) == ProofVerdict(True)
            assert root_from_inclusion_proof(LEAVES[index], index, size, proof) == root


def test_all_consistency_proofs_up_to_70(big_store: MemoryNodeStore) -> None:
    for size2 in range(1, SMALL + 1):
        root2 = mth(LEAVES[:size2])
        for size1 in range(1, size2 + 1):
            proof = consistency_proof(big_store, size1, size2)
            assert proof == subproof(size1, LEAVES[:size2], True)
            root1 = mth(LEAVES[:size1])
            assert verify_consistency(size1, size2, proof, root1, root2) == ProofVerdict(True)


def test_every_single_corruption_rejected_up_to_24(big_store: MemoryNodeStore) -> None:
    for size in range(1, 25):
        root = mth(LEAVES[:size])
        for index in range(size):
            proof = inclusion_proof(big_store, index, size)
            for i in range(len(proof)):
                for bit in (0, 77, 255):
                    bad = list(proof)
                    bad[i] = _flip(bad[i], bit)
                    assert not verify_inclusion(LEAVES[index], index, size, bad, root).ok
            for other in range(size):
                if other != index:
                    assert not verify_inclusion(LEAVES[index], other, size, proof, root).ok
        for size1 in range(1, size):
            proof = consistency_proof(big_store, size1, size)
            root1 = mth(LEAVES[:size1])
            for i in range(len(proof)):
                bad = list(proof)
                bad[i] = _flip(bad[i], 3)
                assert not verify_consistency(size1, size, bad, root1, root).ok


def _flip(h: bytes, bit: int) -> bytes:
    out = bytearray(h)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


# --- property tests on larger trees ---------------------------------------------------------------

SIZES = st.integers(min_value=1, max_value=len(LEAVES))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size=SIZES)
def test_inclusion_random_large(big_store: MemoryNodeStore, data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(0, size - 1))
    root = mth(LEAVES[:size])
    proof = inclusion_proof(big_store, index, size)
    assert verify_inclusion(LEAVES[index], index, size, proof, root).ok
    assert len(plan_keys(inclusion_proof_plan(index, size))) <= 2 * size.bit_length()
    # corruptions: bit flip, truncation, extension, wrong index, wrong size (with that size's root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        flipped = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
        assert not verify_inclusion(LEAVES[index], index, size, flipped, root).ok
        assert not verify_inclusion(LEAVES[index], index, size, proof[:-1], root).ok
        assert not verify_inclusion(LEAVES[index], index, size, proof[1:], root).ok
    assert not verify_inclusion(LEAVES[index], index, size, [*proof, root], root).ok
    assert not verify_inclusion(LEAVES[index], index, size, [root, *proof], root).ok
    other = data.draw(st.integers(0, size - 1).filter(lambda j: j != index)) if size > 1 else None
    if other is not None:
        assert not verify_inclusion(LEAVES[index], other, size, proof, root).ok
        assert not verify_inclusion(LEAVES[other], index, size, proof, root).ok
    size_b = data.draw(st.integers(index + 1, len(LEAVES)).filter(lambda n: n != size))
    assert not verify_inclusion(LEAVES[index], index, size_b, proof, mth(LEAVES[:size_b])).ok


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size2=st.integers(min_value=2, max_value=len(LEAVES)))
def test_consistency_random_large(big_store: MemoryNodeStore, data: st.DataObject, size2: int) -> None:
    size1 = data.draw(st.integers(1, size2 - 1))
    root1, root2 = mth(LEAVES[:size1]), mth(LEAVES[:size2])
    proof = consistency_proof(big_store, size1, size2)
    assert verify_consistency(size1, size2, proof, root1, root2) == ProofVerdict(True)
    assert len(plan_keys(consistency_proof_plan(size1, size2))) <= 2 * size2.bit_length()
    i = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, 255))
    flipped = [*proof[:i], _flip(proof[i], bit), *proof[i + 1 :]]
    assert not verify_consistency(size1, size2, flipped, root1, root2).ok
    assert not verify_consistency(size1, size2, proof[:-1], root1, root2).ok
    assert not verify_consistency(size1, size2, [*proof, root2], root1, root2).ok
    assert not verify_consistency(size1, size2, [root1, *proof], root1, root2).ok
    assert not verify_consistency(size1, size2, proof, root2, root1).ok
    assert not verify_consistency(size1, size2, proof, _flip(root1, bit), root2).ok
    assert not verify_consistency(size1, size2, proof, root1, _flip(root2, bit)).ok
    other1 = data.draw(st.integers(1, size2 - 1).filter(lambda m: m != size1)) if size2 > 2 else None
    if other1 is not None:
        assert not verify_consistency(other1, size2, proof, mth(LEAVES[:other1]), root2).ok


# --- appending in batches --------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(st.integers(min_value=0, max_value=40), max_size=12))
def test_batches_give_same_nodes_as_one_by_one(batches: list[int]) -> None:
    total = sum(batches)
    one_by_one = MemoryNodeStore()
    created_single: list[tuple[NodeKey, bytes]] = []
    for h in LEAVES[:total]:
        created_single.extend(one_by_one.append_leaf_hashes([h]))
    batched = MemoryNodeStore()
    created_batched: list[tuple[NodeKey, bytes]] = []
    start = 0
    for b in batches:
        created_batched.extend(batched.append_leaf_hashes(LEAVES[start : start + b]))
        start += b
    assert sorted(created_single) == sorted(created_batched)
    assert batched.size == one_by_one.size == total
    assert batched.node_count() == len(created_batched) == 2 * total - bin(total).count("1")
    keys = [key for key, _ in created_single]
    assert batched.get_nodes(keys) == one_by_one.get_nodes(keys) == dict(created_single)
    assert batched.root() == mth(LEAVES[:total])


def test_nodes_to_add_reads_only_the_frontier() -> None:
    store = _store(37)
    calls: list[list[NodeKey]] = []

    class Recording:
        def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
            calls.append(list(keys))
            return store.get_nodes(keys)

    new = nodes_to_add(37, LEAVES[37:100], Recording())
    assert calls == [frontier_keys(37)] == [[(5, 0), (2, 8), (0, 36)]]
    store.add_nodes(new)
    assert store.root() == mth(LEAVES[:100])


def test_compute_new_nodes_is_pure() -> None:
    store = _store(11)
    frontier = store.get_nodes(frontier_keys(11))
    new = compute_new_nodes(11, LEAVES[11:16], frontier)
    keys = [key for key, _ in new]
    assert keys == [(0, i) for i in range(11, 16)] + [(1, 5), (1, 6), (1, 7), (2, 2), (2, 3), (3, 1), (4, 0)]
    assert new[-1][1] == mth(LEAVES[:16])
    assert compute_new_nodes(11, [], {}) == []


def test_proof_uses_one_batched_read() -> None:
    store = _store(1000)
    calls: list[int] = []

    class Counting:
        def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
            calls.append(len(keys))
            return store.get_nodes(keys)

    inclusion_proof(Counting(), 617, 1000)
    consistency_proof(Counting(), 300, 1000)
    root_hash(Counting(), 999)
    assert len(calls) == 3
    assert all(n <= 20 for n in calls)
    proof, root = resolve_plans(Counting(), inclusion_proof_plan(5, 999), root_plan(999))
    assert len(calls) == 4
    assert verify_inclusion(LEAVES[5], 5, 999, proof, root[0]).ok


# --- plans and perfect nodes ---------------------------------------------------------------------


def test_perfect_nodes() -> None:
    assert perfect_nodes(0, 0) == []
    assert perfect_nodes(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert perfect_nodes(8, 13) == [(2, 2), (0, 12)]
    assert perfect_nodes(12, 16) == [(2, 3)]
    assert perfect_nodes(3, 8) == [(0, 3), (2, 1)]  # not an RFC range: still a valid cover
    with pytest.raises(MerkleError):
        perfect_nodes(5, 4)


def test_plans() -> None:
    assert root_plan(0) == []
    assert root_plan(7) == [(0, 7)]
    assert inclusion_proof_plan(0, 1) == []
    assert inclusion_proof_plan(2, 5) == [(3, 4), (0, 2), (4, 5)]
    assert consistency_proof_plan(3, 3) == []
    assert consistency_proof_plan(4, 8) == [(4, 8)]
    assert consistency_proof_plan(3, 7) == [(2, 3), (3, 4), (0, 2), (4, 7)]
    for bad in [(-1, 3), (3, 3), (4, 3)]:
        with pytest.raises(MerkleError):
            inclusion_proof_plan(*bad)
    for bad in [(0, 1), (5, 4), (-1, 2)]:
        with pytest.raises(MerkleError):
            consistency_proof_plan(*bad)
    assert consistency_proof_plan(0, 0) == []


def test_range_hash_folds_right_to_left() -> None:
    a, b, c = LEAVES[:3]
    assert range_hash([a]) == a
    assert range_hash([a, b, c]) == node_hash(a, node_hash(b, c))
    with pytest.raises(MerkleError):
        range_hash([])
    with pytest.raises(MerkleError):
        range_hash([a, b"short"])


# --- malformed input and store errors --------------------------------------------------------------


def test_hash_functions() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    a, b = LEAVES[:2]
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    with pytest.raises(MerkleError):
        node_hash(a, b[:31])
    with pytest.raises(MerkleError):
        node_hash("x" * 32, b)  # type: ignore[arg-type]


def test_malformed_verifier_input_raises() -> None:
    leaf, root = LEAVES[0], mth(LEAVES[:2])
    proof = [LEAVES[1]]
    assert verify_inclusion(leaf, 0, 2, proof, root).ok
    cases: list[Callable[[], object]] = [
        lambda: verify_inclusion(leaf[:31], 0, 2, proof, root),
        lambda: verify_inclusion(leaf, 0, 2, proof, root + b"\x00"),
        lambda: verify_inclusion(leaf, 0, 2, [b""], root),
        lambda: verify_inclusion(leaf, -1, 2, proof, root),
        lambda: verify_inclusion(leaf, 0, True, proof, root),
        lambda: verify_inclusion(leaf, 0, 2, LEAVES[1], root),  # type: ignore[arg-type]
        lambda: verify_inclusion(leaf, 0, 2.0, proof, root),  # type: ignore[arg-type]
        lambda: verify_consistency(1, 2, proof, root[:5], root),
        lambda: verify_consistency(1, 2, [b"x"], leaf, root),
        lambda: verify_consistency(-1, 2, proof, leaf, root),
        lambda: root_from_inclusion_proof(leaf, 0, 2, [*proof, root]),
        lambda: root_from_inclusion_proof(leaf, 2, 2, proof),
    ]
    for case in cases:
        with pytest.raises(MerkleError):
            case()


def test_verdict_reasons() -> None:
    leaf, root = LEAVES[0], mth(LEAVES[:4])
    proof = path(0, LEAVES[:4])
    assert verify_inclusion(leaf, 0, 4, proof, root) == ProofVerdict(True, "")
    assert "not below" in verify_inclusion(leaf, 4, 4, proof, root).reason
    assert "longer" in verify_inclusion(leaf, 0, 4, [*proof, leaf], root).reason
    assert "shorter" in verify_inclusion(leaf, 0, 4, proof[:1], root).reason
    assert "does not match" in verify_inclusion(LEAVES[1], 0, 4, proof, root).reason
    r1, r2 = mth(LEAVES[:3]), root
    cproof = subproof(3, LEAVES[:4], True)
    assert verify_consistency(3, 4, cproof, r1, r2).ok
    assert "larger" in verify_consistency(4, 3, cproof, r2, r1).reason
    assert "empty" in verify_consistency(3, 4, [], r1, r2).reason
    assert "longer" in verify_consistency(3, 4, [*cproof, r1], r1, r2).reason
    assert "shorter" in verify_consistency(3, 4, cproof[:-1], r1, r2).reason
    assert "root1" in verify_consistency(3, 4, cproof, r2, r2).reason
    assert "root2" in verify_consistency(3, 4, cproof, r1, r1).reason
    assert "empty tree" in verify_consistency(0, 4, [], EMPTY_ROOT, r2).reason
    assert verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT).ok
    assert not verify_consistency(0, 0, [], r1, r1).ok
    assert verify_consistency(4, 4, [], r2, r2).ok
    assert not verify_consistency(4, 4, [r2], r2, r2).ok
    assert not verify_consistency(4, 4, [], r1, r2).ok


def test_missing_nodes() -> None:
    store = _store(10)
    with pytest.raises(MissingNodeError):
        root_hash(store, 11)
    with pytest.raises(MissingNodeError):
        inclusion_proof(store, 3, 12)
    with pytest.raises(MissingNodeError):
        compute_new_nodes(10, LEAVES[10:12], {})
    with pytest.raises(MerkleError):
        compute_new_nodes(10, [b"short"], store.get_nodes(frontier_keys(10)))
    assert store.get_nodes([(0, 10), (9, 0), (-1, 0), (0, -1)]) == {}


def test_memory_store_rejects_gaps() -> None:
    store = MemoryNodeStore()
    with pytest.raises(MerkleError):
        store.add_nodes([((0, 1), LEAVES[0])])
    with pytest.raises(MerkleError):
        store.add_nodes([((-1, 0), LEAVES[0])])
    with pytest.raises(MerkleError):
        store.add_nodes([((0, 0), b"short")])
    assert store.size == 0
    assert store.root() == EMPTY_ROOT
