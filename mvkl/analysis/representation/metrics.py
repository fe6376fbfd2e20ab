"""Representation-space quality: alignment and uniformity (paper Sec. 5.11, Fig. 8; Wang & Isola,
2020) and the densities drawn for 2-D embeddings.

* alignment = E over positive pairs of ``‖f(x) − f(y)‖^α`` (α = 2 by default);
* uniformity = ``log E`` over distinct pairs ``i < j`` of ``exp(−t ‖f(x_i) − f(x_j)‖²)`` (t = 2).

Both assume L2-normalised embeddings (mvkl's projector output is); lower is better for both.
The paper reports no scalar values; mvkl adds them next to Fig. 8's panels.
:func:`uniformity` works in row chunks with a running log-sum-exp, so memory stays
O(chunk × n) and large n neither overflows nor underflows.

For 2-D embeddings (projector output dimension 2, points on the unit circle), Fig. 8 shows a
histogram of positive-pair cosine distances, a planar Gaussian KDE of the points and an angular
von Mises KDE with its peak marked, for all test images and for benign and malignant ones.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from mvkl.errors import InputError

__all__ = [
    "alignment",
    "angles",
    "angular_peaks",
    "gaussian_kde_2d",
    "pair_distances",
    "uniformity",
    "vonmises_kde",
]


def _matrix(x: Any, name: str = "embeddings") -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D (n, d) array (got shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contain NaN or infinite values", code="non-finite")
    return arr


def alignment(x: Any, y: Any, alpha: float = 2.0) -> float:
    """Wang-Isola alignment ``mean_i ‖x_i − y_i‖₂^α`` over positive pairs (rows of x and y)."""
    a, b = _matrix(x, "x"), _matrix(y, "y")
    if a.shape != b.shape or a.shape[0] == 0:
        raise InputError(f"positive pairs need equal, non-empty shapes (got {a.shape} and {b.shape})")
    if alpha <= 0:
        raise InputError(f"alpha must be positive (got {alpha})")
    return float(np.mean(np.linalg.norm(a - b, axis=1) ** alpha))


def uniformity(x: Any, t: float = 2.0, *, chunk_size: int = 2048) -> float:
    """Wang-Isola uniformity ``log mean_{i<j} exp(−t ‖x_i − x_j‖²)`` over distinct pairs."""
    a = _matrix(x)
    n = a.shape[0]
    if n < 2:
        raise InputError(f"uniformity needs at least 2 embeddings (got {n})")
    if t <= 0:
        raise InputError(f"t must be positive (got {t})")
    sq = np.einsum("ij,ij->i", a, a)
    total = -math.inf
    for s in range(0, n - 1, chunk_size):
        e = min(n, s + chunk_size)
        block = a[s:e]
        d2 = sq[s:e, None] + sq[None, s:] - 2.0 * block @ a[s:].T
        np.maximum(d2, 0.0, out=d2)
        cols = np.arange(s, n)[None, :]
        rows = np.arange(s, e)[:, None]
        vals = -t * d2[cols > rows]
        if vals.size:
            m = float(vals.max())
            total = float(np.logaddexp(total, m + math.log(float(np.exp(vals - m).sum()))))
    return total - math.log(n * (n - 1) / 2)


def pair_distances(x: Any, y: Any, metric: Literal["cosine", "euclidean"] = "cosine") -> np.ndarray:
    """Per-pair distances: ``1 − cos`` (in [0, 2], Fig. 8's x-axis) or Euclidean."""
    a, b = _matrix(x, "x"), _matrix(y, "y")
    if a.shape != b.shape:
        raise InputError(f"positive pairs need equal shapes (got {a.shape} and {b.shape})")
    if metric == "euclidean":
        return np.linalg.norm(a - b, axis=1)
    if metric != "cosine":
        raise InputError(f"unknown metric {metric!r}; expected cosine or euclidean")
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    if np.any(na == 0) or np.any(nb == 0):
        raise InputError("zero-norm embedding: cosine distance undefined", code="zero-norm")
    return 1.0 - np.einsum("ij,ij->i", a, b) / (na * nb)


def angles(x: Any) -> np.ndarray:
    """Angle in (−π, π] of each 2-D embedding (``arctan2(y, x)``)."""
    a = _matrix(x)
    if a.shape[1] != 2:
        raise InputError(f"angles need 2-D embeddings (got dimension {a.shape[1]})")
    return np.arctan2(a[:, 1], a[:, 0])


def vonmises_kde(theta: Any, grid: Any | None = None, kappa: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """Von Mises kernel density of angles on the circle.

    ``f(φ) = mean_i exp(κ cos(φ − θ_i)) / (2π I₀(κ))``, computed with the scaled Bessel function
    so large κ does not overflow. κ is the kernel concentration (8 ≈ a 20° kernel); the density
    integrates to 1 over one turn.

    Returns:
        ``(grid, density)``; the default grid is 720 points over [−π, π).
    """
    from scipy.special import i0e

    th = np.asarray(theta, dtype=np.float64).ravel()
    if th.size == 0:
        raise InputError("no angles for the density")
    if kappa <= 0:
        raise InputError(f"kappa must be positive (got {kappa})")
    g = np.linspace(-np.pi, np.pi, 720, endpoint=False) if grid is None else np.asarray(grid, dtype=np.float64)
    dens = np.zeros_like(g)
    for s in range(0, th.size, 4096):
        dens += np.exp(kappa * (np.cos(g[:, None] - th[None, s : s + 4096]) - 1.0)).sum(axis=1)
    return g, dens / (th.size * 2.0 * np.pi * i0e(kappa))


def angular_peaks(grid: Any, density: Any, n: int = 1) -> list[float]:
    """Angles of the ``n`` highest local maxima of a circular density (wrap-around neighbours)."""
    d = np.asarray(density, dtype=np.float64)
    g = np.asarray(grid, dtype=np.float64)
    is_max = (d >= np.roll(d, 1)) & (d > np.roll(d, -1))
    idx = np.flatnonzero(is_max)
    if idx.size == 0:  # flat density
        idx = np.array([int(np.argmax(d))])
    top = idx[np.argsort(-d[idx], kind="stable")][:n]
    return [float(g[i]) for i in top]


def gaussian_kde_2d(
    points: Any, *, grid_size: int = 120, extent: float = 1.25, bw_method: float | str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Planar Gaussian KDE (``scipy.stats.gaussian_kde``) of 2-D points on a square grid.

    Returns:
        ``(xx, yy, density)`` over ``[−extent, extent]²``, or None when the KDE is undefined
        (fewer than 3 points or a singular covariance, e.g. all points identical).
    """
    from scipy.stats import gaussian_kde

    pts = _matrix(points, "points")
    if pts.shape[1] != 2:
        raise InputError(f"planar KDE needs 2-D points (got dimension {pts.shape[1]})")
    if pts.shape[0] < 3:
        return None
    try:
        kde = gaussian_kde(pts.T, bw_method=bw_method)
    except (np.linalg.LinAlgError, ValueError):
        return None
    lin = np.linspace(-extent, extent, grid_size)
    xx, yy = np.meshgrid(lin, lin)
    zz = kde(np.vstack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    return xx, yy, zz
