"""Benchmark Merkle proof generation and verification against tree size.

Run with ``uv run python -m bench.bench_proofs``. Builds MemoryNodeStore trees of 10^3, 10^5 and
10^6 entries (each in one batch), then times inclusion and consistency proofs at many random
indices / earlier sizes. Cost should grow like log n: the 10^6 : 10^3 ratio should be about
log2(10^6) / log2(10^3) = 2, and nowhere near 1000. No assertions: this only reports.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from crypto.merkle import (
    MemoryNodeStore,
    consistency_proof,
    consistency_proof_plan,
    inclusion_proof,
    inclusion_proof_plan,
    leaf_hash,
    plan_keys,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

SIZES = (10**3, 10**5, 10**6)


@dataclass
class Row:
    size: int
    build_s: float
    incl_gen_us: float
    incl_ver_us: float
    cons_gen_us: float
    cons_ver_us: float
    incl_len: float
    cons_len: float
    incl_nodes: float
    cons_nodes: float


def build(size: int) -> tuple[MemoryNodeStore, float]:
    """Build a tree of ``size`` synthetic entries in one batch; return it and the seconds taken."""
    start = time.perf_counter()
    store = MemoryNodeStore()
    store.append_leaf_hashes([leaf_hash(b"sealbid bench entry %d" % i) for i in range(size)])
    return store, time.perf_counter() - start


def per_call_us(fn: Callable[[int], object], args: list[int], repeats: int = 5) -> float:
    """Microseconds per ``fn(arg)``: the best of ``repeats`` passes over ``args`` (least disturbed)."""
    for a in args[:50]:
        fn(a)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for a in args:
            fn(a)
        best = min(best, time.perf_counter() - start)
    return best / len(args) * 1e6


def measure(size: int, samples: int, rng: random.Random) -> Row:
    """Time proof generation and verification for one tree size."""
    store, build_s = build(size)
    root = store.root()
    indices = [rng.randrange(size) for _ in range(samples)]
    olds = [rng.randrange(1, size) for _ in range(samples)]
    leaves = {key[1]: h for key, h in store.get_nodes([(0, i) for i in set(indices)]).items()}
    roots = {m: root_hash(store, m) for m in set(olds)}
    incl = {i: inclusion_proof(store, i, size) for i in set(indices)}
    cons = {m: consistency_proof(store, m, size) for m in set(olds)}

    def incl_ver(i: int) -> object:
        v = verify_inclusion(leaves[i], i, size, incl[i], root)
        assert v.ok
        return v

    def cons_ver(m: int) -> object:
        v = verify_consistency(m, size, cons[m], roots[m], root)
        assert v.ok
        return v

    return Row(
        size=size,
        build_s=build_s,
        incl_gen_us=per_call_us(lambda i: inclusion_proof(store, i, size), indices),
        incl_ver_us=per_call_us(incl_ver, indices),
        cons_gen_us=per_call_us(lambda m: consistency_proof(store, m, size), olds),
        cons_ver_us=per_call_us(cons_ver, olds),
        incl_len=sum(len(incl[i]) for i in indices) / samples,
        cons_len=sum(len(cons[m]) for m in olds) / samples,
        incl_nodes=sum(len(plan_keys(inclusion_proof_plan(i, size))) for i in indices) / samples,
        cons_nodes=sum(len(plan_keys(consistency_proof_plan(m, size))) for m in olds) / samples,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table and the 10^6 : 10^3 ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=2000, help="random indices per tree size")
    parser.add_argument("--seed", type=int, default=9162)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    rows = []
    for size in SIZES:
        rows.append(measure(size, args.samples, rng))
        r = rows[-1]
        print(f"built {size:>9,} entries in {r.build_s:6.2f} s", flush=True)
    print()
    header = (
        f"{'entries':>10} | {'incl gen µs':>11} {'incl ver µs':>11} {'len':>5} {'nodes':>5} |"
        f" {'cons gen µs':>11} {'cons ver µs':>11} {'len':>5} {'nodes':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.size:>10,} | {r.incl_gen_us:>11.1f} {r.incl_ver_us:>11.1f} {r.incl_len:>5.1f} {r.incl_nodes:>5.1f} |"
            f" {r.cons_gen_us:>11.1f} {r.cons_ver_us:>11.1f} {r.cons_len:>5.1f} {r.cons_nodes:>5.1f}"
        )
    small, big = rows[0], rows[-1]
    print()
    print(
        f"ratio {big.size:,} : {small.size:,} (log2 ratio for reference: "
        f"{math.log2(big.size) / math.log2(small.size):.2f}; linear would be {big.size // small.size})"
    )
    for label, a, b in [
        ("inclusion generation", small.incl_gen_us, big.incl_gen_us),
        ("inclusion verification", small.incl_ver_us, big.incl_ver_us),
        ("consistency generation", small.cons_gen_us, big.cons_gen_us),
        ("consistency verification", small.cons_ver_us, big.cons_ver_us),
    ]:
        print(f"  {label:<26} {b / a:5.2f}")
    print(f"(per call: best of 5 passes over {args.samples} random indices / earlier sizes per tree)")


if __name__ == "__main__":
    main()
