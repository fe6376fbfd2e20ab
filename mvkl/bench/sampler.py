"""Benchmark `mvkl bench sampler`: ManiNeg batch construction time and set-up at 2.7k, 100k and 1M lumps.

Manifestations come from the structured model of :mod:`mvkl.sampling.synthetic` (schema-valid,
clustered; ~10⁵ distinct manifestations at 10⁶ lumps). For each size it times the sampler's
set-up (grouping, packing) and the construction of batches over the first ``batches`` steps (μ
annealed 11 → 0 over 50 steps, then 0), in the default ``paper`` mode and in ``compat`` mode,
and, where it still runs (≤ ``reference_max`` lumps), the straightforward implementation of the
original algorithm (:mod:`mvkl.sampling.reference`: all-pairs pools, Python loops) on the same
data, with the speed-up. Targets: median batch ≤ 5 ms and set-up ≤ 5 s at 1,000,000 lumps.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mvkl.bench import machine_info, timeit

TARGET_BATCH_MS = 5.0
TARGET_SETUP_S = 5.0


def _batch_times(sampler: Any, steps: int) -> np.ndarray:
    sampler.sample(0)  # warm-up (scipy import, caches)
    out = np.empty(steps)
    for t in range(steps):
        t0 = time.perf_counter()
        sampler.sample(t)
        out[t] = time.perf_counter() - t0
    return out


def _index_bytes(sampler: Any) -> int:
    idx = sampler.index
    arrays = [idx.vec, idx.mask, idx.uid, idx.u_vec, idx.u_mask, idx.sizes, idx.members, idx.starts,
              idx.anchorable, sampler._anchor_rows, sampler._used.buf, sampler.indices]
    return int(sum(a.nbytes for a in arrays))


def run_size(n: int, *, batch_size: int = 64, batches: int = 200, seed: int = 0, reference_max: int = 10_000,
             reference_batches: int = 50) -> dict[str, Any]:
    """Figures for one data size."""
    from mvkl.sampling.maninegsampler import ManiNegBatchSampler
    from mvkl.sampling.reference import ReferenceManiNegSampler
    from mvkl.sampling.synthetic import structured_manifests

    m, known = structured_manifests(n, seed=seed)
    t_setup = timeit(lambda: ManiNegBatchSampler(m, known, batch_size, seed=seed), repeat=3, warmup=0)
    paper = ManiNegBatchSampler(m, known, batch_size, seed=seed)
    compat = ManiNegBatchSampler.from_preset("compat", m, known, batch_size, seed=seed)
    tp = _batch_times(paper, batches)
    tc = _batch_times(compat, batches)
    row: dict[str, Any] = {
        "n_lumps": n,
        "n_unique": paper.index.n_unique,
        "setup_s": t_setup["median_s"],
        "batch_median_ms": float(np.median(tp) * 1e3),
        "batch_p95_ms": float(np.percentile(tp, 95) * 1e3),
        "batch_max_ms": float(tp.max() * 1e3),
        "compat_batch_median_ms": float(np.median(tc) * 1e3),
        "index_mb": _index_bytes(paper) / 2**20,
        "index_bytes_per_lump": _index_bytes(paper) / n,
    }
    if n <= reference_max:
        t0 = time.perf_counter()
        ref = ReferenceManiNegSampler(m, batch_size, seed=seed)
        row["reference_setup_s"] = time.perf_counter() - t0
        rng = np.random.default_rng(seed)
        anchors = rng.integers(0, n, reference_batches)
        ref.batch_for(int(anchors[0]))
        tr = np.empty(reference_batches)
        for i, a in enumerate(anchors):
            ref.set_mu(compat.mu_at(i))
            t0 = time.perf_counter()
            ref.batch_for(int(a))
            tr[i] = time.perf_counter() - t0
        row["reference_batch_median_ms"] = float(np.median(tr) * 1e3)
        row["speedup_setup"] = row["reference_setup_s"] / row["setup_s"]
        row["speedup_batch_vs_compat"] = row["reference_batch_median_ms"] / row["compat_batch_median_ms"]
        row["speedup_batch_vs_paper"] = row["reference_batch_median_ms"] / row["batch_median_ms"]
    return row


def run(sizes: tuple[int, ...] = (2_700, 100_000, 1_000_000), batch_size: int = 64, batches: int = 200,
        seed: int = 0, reference_max: int = 10_000) -> dict[str, Any]:
    """The benchmark document: one row per size, the targets and the machine."""
    rows = [run_size(n, batch_size=batch_size, batches=batches, seed=seed, reference_max=reference_max)
            for n in sizes]
    big = max(rows, key=lambda r: r["n_lumps"])
    return {
        "bench": "sampler",
        "batch_size": batch_size,
        "batches": batches,
        "largest_n": big["n_lumps"],
        "largest_batch_median_ms": big["batch_median_ms"],
        "largest_setup_s": big["setup_s"],
        "target_batch_ms": TARGET_BATCH_MS,
        "target_setup_s": TARGET_SETUP_S,
        "meets_targets": bool(big["batch_median_ms"] <= TARGET_BATCH_MS and big["setup_s"] <= TARGET_SETUP_S),
        "sizes": rows,
        "machine": machine_info(),
    }
