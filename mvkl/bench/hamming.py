"""Benchmark: Hamming distances from one manifestation vector to N others (packed popcount)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mvkl.bench import machine_info, timeit
from mvkl.manifest import DIM, hamming, pack


def run(n: int = 1_000_000, seed: int = 0, repeat: int = 7) -> dict[str, Any]:
    """Time ``hamming(q, packed)`` for ``n`` random vectors, against a plain numpy
    ``(vectors != q).sum(1)`` on the unpacked 0/1 matrix (the straightforward approach)."""
    rng = np.random.default_rng(seed)
    vectors = (rng.random((n, DIM)) < 0.15).astype(np.uint8)
    t_pack = timeit(lambda: pack(vectors), repeat=3)
    packed = pack(vectors)
    q = packed[0]
    t_pop = timeit(lambda: hamming(q, packed), repeat=repeat)
    t_naive = timeit(lambda: (vectors != vectors[0]).sum(axis=1), repeat=3)
    assert np.array_equal(hamming(q, packed), (vectors != vectors[0]).sum(axis=1))
    return {
        "bench": "hamming",
        "n": n,
        "dim": DIM,
        "one_to_n_popcount_ms": t_pop["median_s"] * 1e3,
        "one_to_n_unpacked_numpy_ms": t_naive["median_s"] * 1e3,
        "speedup": t_naive["median_s"] / t_pop["median_s"],
        "pack_ms": t_pack["median_s"] * 1e3,
        "machine": machine_info(),
    }
