"""Hamming-distance structure of a training split and simulated ManiNeg batches (`mvkl hamming`).

What a user should see before training with ManiNeg (paper Sec. 4.2: "the upper bound b is
determined by analyzing the distribution of Hamming distances within the dataset"):

* duplicates: lumps, distinct (manifestation, known-mask) pairs, duplicate groups and their sizes;
* the distribution of pairwise (masked) distances between lumps, its quantiles and maximum. It is
  exact (all pairs, through the distinct manifestations) when there are at most ``exact_limit``
  distinct manifestations; otherwise it is estimated from the pairs of ``anchors`` sampled lumps
  with every lump, and the report says so;
* availability: for each distance k, how many anchors have at least one candidate at k;
* a suggested upper bound b: the largest distance at which at least 5 % of anchors still have a
  candidate. b should cover every distance that is a usable negative for a real share of anchors:
  beyond it almost no anchor has candidates, so the truncation there touches a handful of anchors
  (and the sampler renormalises over what each anchor has anyway), while a smaller b, such as the
  99th percentile of pairwise distances (also reported), would cut off easy negatives that most
  anchors do have and distort the μ = 11 end of the annealing. On MVKL-like structured data the
  rule gives 18–20, in line with the paper's b = 18;
* for each μ, simulated batches of the sampler: anchor–negative and in-batch pairwise distance
  distributions (the ManiNeg paper's figure) against the target of Eq. 7, and the
  effective batch size after de-duplication with and without refill.

Lumps without any known dimension have masked distance 0 to everything; they are counted but left
out of the distance statistics, as the sampler leaves them out of its batches.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from mvkl.config import MANINEG
from mvkl.sampling.index import ManifestIndex
from mvkl.sampling.maninegsampler import ManiNegBatchSampler
from mvkl.sampling.negatives import AnchorPool

__all__ = ["distance_profile", "hamming_report", "histogram_quantiles", "manifest_summary", "simulate_batches"]

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def histogram_quantiles(hist: npt.ArrayLike, qs: Sequence[float] = QUANTILES) -> dict[str, int]:
    """Quantiles of an integer-valued distribution given as counts per value 0..D: the
    smallest k with cumulative fraction ≥ q."""
    h = np.asarray(hist, dtype=np.float64)
    if h.sum() <= 0:
        return {}
    c = np.cumsum(h) / h.sum()
    return {f"p{round(q * 100):02d}": int(np.searchsorted(c, q - 1e-12)) for q in qs}


def manifest_summary(index: ManifestIndex) -> dict[str, Any]:
    """Counts of lumps, distinct manifestations, duplicate groups and known-mask coverage."""
    sizes = index.sizes
    dup = sizes[sizes > 1]
    size_counts = np.bincount(sizes)
    known_bits = ((index.mask[:, None] >> np.arange(index.dim, dtype=np.uint64)) & np.uint64(1)).astype(bool)
    n_known = known_bits.sum(axis=1)
    return {
        "n_lumps": index.n,
        "n_unique": index.n_unique,
        "n_duplicate_groups": int(dup.size),
        "n_lumps_in_duplicate_groups": int(dup.sum()),
        "largest_duplicate_group": int(sizes.max()),
        "duplicate_group_sizes": {int(s): int(c) for s, c in enumerate(size_counts) if s > 1 and c > 0},
        "masks": {
            "n_distinct_masks": index.n_masks,
            "n_fully_known": int((n_known == index.dim).sum()),
            "n_partially_known": int(((n_known > 0) & (n_known < index.dim)).sum()),
            "n_no_known": int((n_known == 0).sum()),
            "known_fraction_per_dim": known_bits.mean(axis=0).round(4).tolist(),
        },
    }


def _counts_rows(index: ManifestIndex, rows_u: npt.NDArray[np.int64], cols_u: npt.NDArray[np.int64],
                 chunk: int = 256) -> npt.NDArray[np.int64]:
    """``counts[i, k]``: lumps among groups ``cols_u`` at distance k from group ``rows_u[i]``."""
    dim = index.dim
    out = np.zeros((rows_u.size, dim + 1), dtype=np.int64)
    cv, cm, cs = index.u_vec[cols_u], index.u_mask[cols_u], index.sizes[cols_u].astype(np.float64)
    for s in range(0, rows_u.size, chunk):
        r = rows_u[s : s + chunk]
        x = np.bitwise_xor(index.u_vec[r][:, None], cv[None, :])
        if not index.full_masks:
            x &= index.u_mask[r][:, None] & cm[None, :]
        d = np.bitwise_count(x).astype(np.int64)
        flat = (d + (np.arange(r.size) * (dim + 1))[:, None]).ravel()
        w = np.broadcast_to(cs, d.shape).ravel()
        out[s : s + r.size] = np.bincount(flat, weights=w, minlength=r.size * (dim + 1)).reshape(r.size, dim + 1)
    return out


def distance_profile(
    index: ManifestIndex, *, bounds: tuple[int, int] = MANINEG.bounds, exact_limit: int = 20_000, anchors: int = 2_000,
    seed: int = 0,
) -> dict[str, Any]:
    """Pairwise distance histogram, quantiles, maximum, availability per distance and the
    suggested upper bound (module docstring)."""
    dim = index.dim
    informative = np.flatnonzero(index.u_mask != 0)
    n_inf = int(index.sizes[informative].sum())
    exact = informative.size <= exact_limit
    if exact:
        counts = _counts_rows(index, informative, informative)
        weight = index.sizes[informative].astype(np.float64)
        pair = (weight[:, None] * counts).sum(axis=0)
        pair[0] -= n_inf  # a lump with itself
        pair_hist = np.rint(pair / 2).astype(np.int64)
        n_anchor = n_inf
        method = f"exact (all {n_inf * (n_inf - 1) // 2} pairs)"
    else:
        rng = np.random.default_rng([seed, 0x48414D])
        rows = np.flatnonzero(index.anchorable)
        pick = rows[rng.choice(rows.size, size=min(anchors, rows.size), replace=False)]
        counts = _counts_rows(index, index.uid[pick], informative)
        weight = np.ones(pick.size)
        pair = counts.sum(axis=0).astype(np.float64)
        pair[0] -= pick.size
        pair_hist = np.rint(pair).astype(np.int64)
        n_anchor = pick.size
        method = (f"estimated: pairs of {pick.size} sampled lumps with all {n_inf} lumps "
                  f"({informative.size} distinct manifestations > exact limit {exact_limit})")
    self_dist0 = counts.copy()
    self_dist0[:, 0] -= 1
    has = self_dist0 > 0
    avail = (weight[:, None] * has).sum(axis=0)
    a, b = bounds
    in_bounds = (weight * has[:, a : b + 1].any(axis=1)).sum()
    isolated = (weight * ~has[:, 1:].any(axis=1)).sum()
    nz = np.flatnonzero(pair_hist)
    max_d = int(nz[-1]) if nz.size else 0
    quant = histogram_quantiles(pair_hist)
    frac = avail / max(n_anchor, 1)
    covered = np.flatnonzero(frac[1:] >= 0.05)
    return {
        "method": method,
        "exact": exact,
        "n_informative_lumps": n_inf,
        "pair_hist": pair_hist.tolist(),
        "pair_quantiles": quant,
        "max_distance": max_d,
        "mean_distance": float((np.arange(dim + 1) * pair_hist).sum() / max(pair_hist.sum(), 1)),
        "availability": {
            "anchors": int(n_anchor),
            "with_candidate_at": np.rint(avail).astype(np.int64).tolist(),
            "fraction_with_candidate_at": frac.round(4).tolist(),
            "with_candidate_in_bounds": int(np.rint(in_bounds)),
            "fraction_with_candidate_in_bounds": float(in_bounds / max(n_anchor, 1)),
            "isolated": int(np.rint(isolated)),
        },
        "suggested_upper_bound": {
            "b": int(covered[-1] + 1) if covered.size else max(max_d, 1),
            "rule": "largest distance at which at least 5% of anchors have a candidate",
            "pairwise_p99": int(quant.get("p99", max_d)),
        },
    }


def simulate_batches(
    index: ManifestIndex,
    mus: Sequence[float],
    *,
    sigma: float = MANINEG.sigma,
    bounds: tuple[int, int] = MANINEG.bounds,
    batch_size: int = 64,
    batches: int = 200,
    seed: int = 0,
    **options: Any,
) -> list[dict[str, Any]]:
    """Batches of the sampler at constant μ, for each μ: distance histograms, targets and
    effective batch sizes (with refill, and after de-dup without refill)."""
    dim = index.dim
    bpe = max(index.n // batch_size, 1)
    out = []
    logger = logging.getLogger("mvkl.sampling.maninegsampler")
    level = logger.level
    logger.setLevel(logging.ERROR)  # the size warning is reported once by the caller
    try:
        for mu in mus:
            kw = dict(mu_schedule=float(mu), sigma=sigma, bounds=bounds, seed=seed, batches_per_epoch=bpe, **options)
            full = ManiNegBatchSampler(index, None, batch_size, **{**kw, "refill": True})
            shrink = ManiNegBatchSampler(index, None, batch_size, **{**kw, "refill": False})
            an = np.zeros(dim + 1, dtype=np.int64)
            pw = np.zeros(dim + 1, dtype=np.int64)
            qsum = np.zeros(dim + 1)
            sz_full, sz_shrink, fills, draws = [], [], 0, 0
            for t in range(batches):
                bt = full.sample(t)
                k = bt.n_anchors
                an += np.bincount(bt.distance[k:], minlength=dim + 1)
                dm = index.rows_distance(bt.rows[:, None], bt.rows[None, :])
                pw += np.bincount(dm[np.triu_indices(bt.rows.size, 1)], minlength=dim + 1)
                qsum += full.anchor_distribution(AnchorPool(index, int(index.uid[bt.rows[0]])), float(mu))
                sz_full.append(len(bt))
                fills += bt.n_fill
                draws += bt.n_draws
                sz_shrink.append(len(shrink.sample(t)))
            sf, ss = np.asarray(sz_full), np.asarray(sz_shrink)
            out.append({
                "mu": float(mu),
                "target_eq7": full.target(float(mu)).round(6).tolist(),
                "target_mean_renormalised": (qsum / batches).round(6).tolist(),
                "anchor_negative_hist": an.tolist(),
                "anchor_negative_quantiles": histogram_quantiles(an),
                "in_batch_pair_hist": pw.tolist(),
                "in_batch_pair_quantiles": histogram_quantiles(pw),
                "batch_size_refill": {"mean": float(sf.mean()), "min": int(sf.min()), "max": int(sf.max())},
                "batch_size_no_refill": {"mean": float(ss.mean()), "min": int(ss.min()), "max": int(ss.max())},
                "negatives_outside_target": int(fills),
                "draws_per_batch": draws / batches,
            })
    finally:
        logger.setLevel(level)
    return out


def hamming_report(
    manifests: npt.ArrayLike | ManifestIndex,
    known: npt.ArrayLike | None = None,
    *,
    mus: Sequence[float] = (MANINEG.mu_min, 4.0, MANINEG.mu_max),
    sigma: float = MANINEG.sigma,
    bounds: tuple[int, int] = MANINEG.bounds,
    batch_size: int = 64,
    batches: int = 200,
    seed: int = 0,
    exact_limit: int = 20_000,
    **options: Any,
) -> dict[str, Any]:
    """Everything `mvkl hamming` shows, as one JSON-able document."""
    index = manifests if isinstance(manifests, ManifestIndex) else ManifestIndex(manifests, known)
    doc: dict[str, Any] = {"summary": manifest_summary(index)}
    doc["distances"] = distance_profile(index, bounds=bounds, exact_limit=exact_limit, seed=seed)
    doc["settings"] = {"mus": [float(m) for m in mus], "sigma": sigma, "bounds": list(bounds),
                       "batch_size": batch_size, "batches": batches, "seed": seed, **options}
    notes = []
    if not index.full_masks:
        notes.append("known-masks are partial: distances count only dimensions known in both lumps "
                     "(masked Hamming distance); lumps without any known dimension are left out")
    if index.n_unique < batch_size:
        notes.append(f"only {index.n_unique} distinct manifestations for batches of {batch_size}: "
                     "de-duplicated batches are smaller")
    anchorable = int(index.anchorable.sum())
    can_simulate = anchorable > 0 and np.unique(index.uid[index.anchorable]).size >= 1 and index.n_unique >= 2
    doc["simulation"] = simulate_batches(index, mus, sigma=sigma, bounds=bounds, batch_size=batch_size,
                                         batches=batches, seed=seed, **options) if can_simulate else []
    if not can_simulate:
        notes.append("fewer than two distinct informative manifestations: no ManiNeg batch can be built")
    doc["notes"] = notes
    return doc
