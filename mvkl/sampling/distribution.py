"""The truncated Gaussian of ManiNeg over integer Hamming distances (paper Eq. 7).

Eq. 7 is a density on the real line truncated to [a, b]; distances are integers. As in the
released code, the integer distance ``k`` carries the Gaussian mass of ``[k − ½, k + ½)``, and the
continuous truncation interval is ``[a − ½, b + ½]`` (the code's ``[0.5, 18.499]`` for a = 1,
b = 18 is available as ``interval=(0.5, 18.499)``, which makes the last bin slightly lighter):

    p(k) = (Φ(min(k + ½, hi)) − Φ(max(k − ½, lo))) / (Φ(hi) − Φ(lo)),   Φ of N(μ, σ²).

Two ways to make p fit one anchor, whose candidates exist at some distances only:

* ``renormalise`` (mvkl default, fixes B11): q(k) ∝ p(k)·[anchor has a candidate at k].
* ``snap`` (the released code): a draw k goes to the nearest distance with candidates
  (argmin |k − k'| over every k' ≥ 1, also beyond b); ties go to the *smaller* distance here
  (the code's tie-break is the insertion order of a Python dict, i.e. arbitrary).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

from mvkl.manifest.schema import DIM

__all__ = ["fill_order", "log_truncated_gaussian", "renormalise", "snap", "snap_targets", "truncated_gaussian"]

#: Largest possible Hamming distance between two manifestation vectors.
MAX_DISTANCE = DIM


def _log_bin_mass(zl: npt.NDArray[np.float64], zr: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """log(Φ(zr) − Φ(zl)) for standard-normal edges zl ≤ zr, accurate in both tails (bins right of
    the mean use the survival function). Zero-width bins give −inf."""
    from scipy.special import log_ndtr

    out = np.full(zl.shape, -np.inf)
    right = zl > 0
    width = zr > zl
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = log_ndtr(zr), log_ndtr(zl)  # lower tail: log Φ(zr) + log(1 − Φ(zl)/Φ(zr))
        low = a + np.log1p(-np.exp(b - a))
        a2, b2 = log_ndtr(-zl), log_ndtr(-zr)  # upper tail: log Q(zl) + log(1 − Q(zr)/Q(zl))
        up = a2 + np.log1p(-np.exp(b2 - a2))
    out[width & ~right] = low[width & ~right]
    out[width & right] = up[width & right]
    return out


@lru_cache(maxsize=4096)
def _log_truncated_gaussian(
    mu: float, sigma: float, lo: float, hi: float, max_distance: int
) -> npt.NDArray[np.float64]:
    k = np.arange(max_distance + 1, dtype=np.float64)
    left = (np.clip(k - 0.5, lo, hi) - mu) / sigma
    right = (np.clip(k + 0.5, lo, hi) - mu) / sigma
    logp = _log_bin_mass(left, right)
    if not np.isfinite(logp).any():
        raise ValueError(f"the interval [{lo}, {hi}] covers no distance in 0..{max_distance}")
    logp = logp - (logp.max() + np.log(np.exp(logp - logp.max()).sum()))
    logp.setflags(write=False)
    return logp


def _check(sigma: float, lo: float, hi: float) -> None:
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    if not lo < hi:
        raise ValueError(f"empty truncation interval [{lo}, {hi}]")


def log_truncated_gaussian(
    mu: float, sigma: float, interval: tuple[float, float], max_distance: int = MAX_DISTANCE
) -> npt.NDArray[np.float64]:
    """log p(k) of :func:`truncated_gaussian` (−inf outside the interval); exact far in the tails."""
    lo, hi = float(interval[0]), float(interval[1])
    _check(sigma, lo, hi)
    return _log_truncated_gaussian(float(mu), float(sigma), lo, hi, int(max_distance))


@lru_cache(maxsize=4096)
def _truncated_gaussian(mu: float, sigma: float, lo: float, hi: float, max_distance: int) -> npt.NDArray[np.float64]:
    p = np.exp(_log_truncated_gaussian(mu, sigma, lo, hi, max_distance))
    p = p / p.sum()
    p.setflags(write=False)
    return p


def truncated_gaussian(
    mu: float, sigma: float, interval: tuple[float, float], max_distance: int = MAX_DISTANCE
) -> npt.NDArray[np.float64]:
    """p(k) for k = 0..max_distance: the mass of [k − ½, k + ½) ∩ interval under N(μ, σ²)
    truncated to ``interval`` (paper Eq. 7 discretised). Read-only, cached per argument set.

    Example: at μ = 0, σ = 3, interval (0.5, 18.499): p(1) ≈ 0.289, p(2) ≈ 0.245.
    """
    lo, hi = float(interval[0]), float(interval[1])
    _check(sigma, lo, hi)
    return _truncated_gaussian(float(mu), float(sigma), lo, hi, int(max_distance))


def renormalise(logp: npt.NDArray[np.float64], available: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """q(k) ∝ p(k) over the distances this anchor has (``available[k]``), mvkl's default (B11).

    Takes log p (:func:`log_truncated_gaussian`) so that q stays exact when every available
    distance lies far in a tail (a small σ far from μ): the mass then goes to the available
    distance nearest to μ, the σ → 0 limit. All zeros when no distance of the interval is available.
    """
    lq = np.where(available, logp, -np.inf)
    top = lq.max()
    if not np.isfinite(top):
        return np.zeros(logp.shape)
    q = np.exp(lq - top)
    return q / q.sum()


def snap_targets(available: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """For every k, the nearest distance k' ≥ 1 with ``available[k']`` (ties: the smaller one);
    -1 everywhere when nothing is available. The released code's snapping."""
    n = available.size
    avail = available.copy()
    avail[0] = False
    out = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(avail)
    if idx.size == 0:
        return out
    k = np.arange(n)
    gaps = np.abs(k[:, None] - idx[None, :])
    out[:] = idx[np.argmin(gaps, axis=1)]  # argmin takes the first (= smaller) on ties
    return out


def snap(p: npt.NDArray[np.float64], available: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Distance distribution after snapping every draw k ~ p to the nearest available distance
    (compat mode): q(k') = Σ_{k: snap(k) = k'} p(k). All zeros when nothing is available."""
    tgt = snap_targets(available)
    q = np.zeros_like(p)
    if (tgt < 0).all():
        return q
    np.add.at(q, tgt, p)
    return q


def fill_order(available: npt.NDArray[np.bool_], q: npt.NDArray[np.float64], bounds: tuple[int, int]) -> list[int]:
    """Distances to fill from once the target pool is exhausted: available distances ≥ 1 with
    q = 0, nearest to the bounds [a, b] first (ties: smaller distance first)."""
    a, b = bounds
    ks = [k for k in range(1, available.size) if available[k] and q[k] == 0]
    return sorted(ks, key=lambda k: (max(a - k, k - b, 0), k))
