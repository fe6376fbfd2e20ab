from __future__ import annotations

import numpy as np
import pytest

from mvkl.manifest import hamming_matrix, pack
from mvkl.sampling.analysis import distance_profile, hamming_report, histogram_quantiles, manifest_summary
from mvkl.sampling.index import ManifestIndex
from mvkl.sampling.synthetic import structured_manifests


def _brute(m: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair histogram, and per informative lump the lumps at each distance, by brute force."""
    inf = k.sum(1) > 0
    dm = hamming_matrix(pack(m * k)[inf], pack(k)[inf]).astype(int)
    n = dm.shape[0]
    iu = np.triu_indices(n, 1)
    hist = np.bincount(dm[iu], minlength=36)
    per = np.stack([np.bincount(dm[i], minlength=36) for i in range(n)])
    per[:, 0] -= 1  # itself
    return hist, per, dm


def test_exact_profile_matches_brute_force() -> None:
    m, k = structured_manifests(500, seed=3, partial=0.3, unknown=0.02)
    idx = ManifestIndex(m, k)
    prof = distance_profile(idx, bounds=(2, 9))
    hist, per, _ = _brute(m, k)
    assert prof["exact"]
    np.testing.assert_array_equal(prof["pair_hist"], hist)
    av = prof["availability"]
    np.testing.assert_array_equal(av["with_candidate_at"], (per > 0).sum(0))
    assert av["anchors"] == per.shape[0]
    assert av["with_candidate_in_bounds"] == int((per[:, 2:10].sum(1) > 0).sum())
    assert av["isolated"] == int((per[:, 1:].sum(1) == 0).sum())
    assert prof["max_distance"] == int(np.flatnonzero(hist)[-1])
    frac = (per > 0).mean(0)
    assert prof["suggested_upper_bound"]["b"] == int(np.flatnonzero(frac[1:] >= 0.05)[-1] + 1)
    values = np.repeat(np.arange(36), hist)
    assert prof["pair_quantiles"]["p50"] == int(np.quantile(values, 0.5, method="inverted_cdf"))
    assert prof["pair_quantiles"]["p99"] == int(np.quantile(values, 0.99, method="inverted_cdf"))


def test_sampled_profile_estimates_the_exact_one() -> None:
    m, k = structured_manifests(1500, seed=4)
    idx = ManifestIndex(m, k)
    exact = distance_profile(idx)
    est = distance_profile(idx, exact_limit=10, anchors=400, seed=1)
    assert not est["exact"] and "estimated" in est["method"]
    pe = np.asarray(exact["pair_hist"], float)
    ps = np.asarray(est["pair_hist"], float)
    assert np.abs(pe / pe.sum() - ps / ps.sum()).max() < 0.02
    fe = np.asarray(exact["availability"]["fraction_with_candidate_at"])
    fs = np.asarray(est["availability"]["fraction_with_candidate_at"])
    assert np.abs(fe - fs).max() < 0.1


def test_summary_counts_duplicates() -> None:
    m, k = structured_manifests(800, seed=5, unknown=0.05)
    s = manifest_summary(ManifestIndex(m, k))
    keys, counts = np.unique(np.hstack([m, k]), axis=0, return_counts=True)
    assert s["n_unique"] == len(keys) and s["n_lumps"] == 800
    assert s["n_duplicate_groups"] == int((counts > 1).sum())
    assert s["n_lumps_in_duplicate_groups"] == int(counts[counts > 1].sum())
    assert s["duplicate_group_sizes"] == {int(c): int((counts == c).sum()) for c in set(counts.tolist()) if c > 1}
    assert s["masks"]["n_no_known"] == int((k.sum(1) == 0).sum())


def test_quantiles_helper() -> None:
    h = np.array([0, 2, 0, 5, 3])
    vals = np.repeat(np.arange(5), h)
    q = histogram_quantiles(h)
    for key, p in (("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p95", 0.95)):
        assert q[key] == int(np.quantile(vals, p, method="inverted_cdf"))
    assert histogram_quantiles(np.zeros(5)) == {}


def test_report_simulation() -> None:
    m, k = structured_manifests(400, seed=6)
    doc = hamming_report(m, k, mus=(0.0, 11.0), batch_size=32, batches=20)
    sims = doc["simulation"]
    assert [s["mu"] for s in sims] == [0.0, 11.0]
    for s in sims:
        assert sum(s["anchor_negative_hist"]) == 20 * 31
        assert sum(s["in_batch_pair_hist"]) == 20 * 32 * 31 // 2
        assert s["batch_size_refill"]["min"] == 32
        assert 2 <= s["batch_size_no_refill"]["min"] <= s["batch_size_no_refill"]["mean"] <= 32
        assert sum(s["target_mean_renormalised"]) == pytest.approx(1.0, abs=1e-4)
    med = [s["anchor_negative_quantiles"]["p50"] for s in sims]
    assert med[0] < med[1]  # harder negatives at small μ
