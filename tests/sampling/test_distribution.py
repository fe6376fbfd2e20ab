from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import truncnorm

from mvkl.sampling.distribution import (
    fill_order,
    log_truncated_gaussian,
    renormalise,
    snap,
    snap_targets,
    truncated_gaussian,
)


def _slow_bins(mu: float, sigma: float, lo: float, hi: float, n: int = 36) -> np.ndarray:
    d = truncnorm((lo - mu) / sigma, (hi - mu) / sigma, loc=mu, scale=sigma)
    p = np.array([d.cdf(min(k + 0.5, hi)) - d.cdf(max(k - 0.5, lo)) if k + 0.5 > lo and k - 0.5 < hi else 0.0
                  for k in range(n)])
    return p / p.sum()


@pytest.mark.parametrize("mu", [0.0, 3.67, 7.33, 11.0, 17.9])
@pytest.mark.parametrize("interval", [(0.5, 18.5), (0.5, 18.499), (2.5, 9.5)])
def test_matches_scipy_truncnorm(mu: float, interval: tuple[float, float]) -> None:
    p = truncated_gaussian(mu, 3.0, interval)
    np.testing.assert_allclose(p, _slow_bins(mu, 3.0, *interval), atol=1e-12)
    assert p[0] == 0 and p.sum() == pytest.approx(1.0)


def test_spec_figures_at_sigma_3() -> None:
    # computed from the released code's [0.5, 18.499] truncation.
    p = truncated_gaussian(0.0, 3.0, (0.5, 18.499))
    np.testing.assert_allclose(p[1:9], [0.289, 0.245, 0.186, 0.126, 0.077, 0.042, 0.021, 0.009], atol=6e-4)
    p = truncated_gaussian(3.67, 3.0, (0.5, 18.499))
    np.testing.assert_allclose(p[1:7], [0.105, 0.133, 0.151, 0.154, 0.140, 0.115], atol=6e-4)
    assert truncated_gaussian(11.0, 3.0, (0.5, 18.499)).max() == pytest.approx(0.133, abs=6e-4)


def test_far_tails_do_not_underflow() -> None:
    p = truncated_gaussian(60.0, 1.0, (0.5, 18.5))
    assert np.isfinite(p).all() and p.argmax() == 18 and p.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        truncated_gaussian(1.0, 0.0, (0.5, 18.5))


def test_renormalise_over_available() -> None:
    p = truncated_gaussian(0.0, 3.0, (0.5, 18.5))
    logp = log_truncated_gaussian(0.0, 3.0, (0.5, 18.5))
    np.testing.assert_allclose(np.exp(logp), p, rtol=1e-12)
    avail = np.zeros(36, bool)
    avail[[3, 7, 20]] = True
    q = renormalise(logp, avail)
    expect = np.zeros(36)
    expect[[3, 7]] = p[[3, 7]] / p[[3, 7]].sum()
    np.testing.assert_allclose(q, expect)
    # Nothing available inside the bounds: all zero.
    only_far = np.zeros(36, bool)
    only_far[25] = True
    assert renormalise(logp, only_far).sum() == 0
    # Far tails (p underflows to 0 at 9 and 15): still the exact ratio, here ~all at 9.
    lp2 = log_truncated_gaussian(1.0, 0.05, (0.5, 18.5))
    assert truncated_gaussian(1.0, 0.05, (0.5, 18.5))[9] == 0.0
    a2 = np.zeros(36, bool)
    a2[[9, 15]] = True
    q2 = renormalise(lp2, a2)
    assert q2[9] == pytest.approx(1.0) and q2.sum() == pytest.approx(1.0)
    a3 = np.zeros(36, bool)
    a3[[2, 3]] = True  # q(2)/q(3) equals the Gaussian mass ratio, computed in log space
    q3 = renormalise(log_truncated_gaussian(11.0, 1.0, (0.5, 18.5)), a3)
    d = truncnorm(-np.inf, np.inf, loc=11.0, scale=1.0)
    ratio = np.exp(d.logcdf(2.5) + np.log1p(-np.exp(d.logcdf(1.5) - d.logcdf(2.5)))
                   - d.logcdf(3.5) - np.log1p(-np.exp(d.logcdf(2.5) - d.logcdf(3.5))))
    assert q3[2] / q3[3] == pytest.approx(ratio, rel=1e-6)


def test_snap_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        avail = rng.random(36) < rng.uniform(0.05, 0.5)
        avail[0] = rng.random() < 0.5  # distance 0 is never a target
        keys = [k for k in range(1, 36) if avail[k]]
        tgt = snap_targets(avail)
        if not keys:
            assert (tgt == -1).all()
            continue
        for k in range(36):
            assert tgt[k] == min(keys, key=lambda x: (abs(k - x), x))
        p = truncated_gaussian(rng.uniform(0, 11), 3.0, (0.5, 18.499))
        q = snap(p, avail)
        expect = np.zeros(36)
        for k in range(36):
            expect[tgt[k]] += p[k]
        np.testing.assert_allclose(q, expect)


def test_fill_order_nearest_to_bounds_first() -> None:
    avail = np.zeros(36, bool)
    avail[[1, 2, 5, 9, 12, 20]] = True
    q = np.zeros(36)
    q[[5, 9]] = 0.5
    # bounds (4, 10): outside distances 2 (gap 2), 1 (gap 3), 12 (gap 2), 20 (gap 10)
    assert fill_order(avail, q, (4, 10)) == [2, 12, 1, 20]
