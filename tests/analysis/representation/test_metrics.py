"""Alignment / uniformity against the direct formulas; circular densities."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from mvkl.analysis.representation.metrics import (
    alignment,
    angles,
    angular_peaks,
    gaussian_kde_2d,
    pair_distances,
    uniformity,
    vonmises_kde,
)
from mvkl.errors import InputError


def _unit(n: int, d: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_alignment_direct() -> None:
    x, y = _unit(20, 5, 0), _unit(20, 5, 1)
    for alpha in (1.0, 2.0, 3.0):
        want = sum(np.sum((x[i] - y[i]) ** 2) ** (alpha / 2) for i in range(20)) / 20
        assert alignment(x, y, alpha) == pytest.approx(want)
    assert alignment(x, x) == 0.0
    with pytest.raises(InputError):
        alignment(x, y[:3])


@pytest.mark.parametrize("chunk", [1, 3, 7, 2048])
def test_uniformity_direct(chunk: int) -> None:
    x = _unit(23, 4, 2)
    for t in (1.0, 2.0):
        terms = [math.exp(-t * float(np.sum((x[i] - x[j]) ** 2))) for i, j in itertools.combinations(range(23), 2)]
        assert uniformity(x, t, chunk_size=chunk) == pytest.approx(math.log(sum(terms) / len(terms)))


def test_uniformity_extremes() -> None:
    same = np.tile([[1.0, 0.0]], (5, 1))
    assert uniformity(same) == pytest.approx(0.0)  # all at one point: log 1
    antipodal = np.array([[1.0, 0.0], [-1.0, 0.0]])
    assert uniformity(antipodal) == pytest.approx(-8.0)  # distance² 4, t 2
    # no underflow for a large t: log-sum-exp keeps it finite
    assert uniformity(_unit(50, 3, 3), t=500.0) > -2001
    with pytest.raises(InputError):
        uniformity(same[:1])


def test_pair_distances_and_angles() -> None:
    x = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    y = np.array([[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert pair_distances(x, y) == pytest.approx([2.0, 0.0, 1 - 1 / math.sqrt(2)])
    assert pair_distances(x, y, "euclidean") == pytest.approx([2.0, 1.0, 1.0])
    assert angles(np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])) == pytest.approx(
        [0.0, math.pi / 2, math.pi, -math.pi / 2]
    )
    with pytest.raises(InputError):
        angles(np.zeros((2, 3)))


def test_vonmises_kde_direct_and_normalised() -> None:
    from scipy.special import i0

    theta = np.array([0.1, 0.3, -2.0, 3.0])
    grid, dens = vonmises_kde(theta, kappa=4.0)
    direct = np.mean([np.exp(4.0 * np.cos(grid - t)) for t in theta], axis=0) / (2 * np.pi * i0(4.0))
    np.testing.assert_allclose(dens, direct, rtol=1e-10)
    assert dens.sum() * (2 * np.pi / grid.size) == pytest.approx(1.0, rel=1e-6)
    _, big = vonmises_kde(theta, kappa=2000.0)  # no overflow
    assert np.isfinite(big).all()


def test_angular_peaks_wrap() -> None:
    rng = np.random.default_rng(4)
    theta = np.r_[rng.normal(3.0, 0.15, 200), rng.normal(-1.0, 0.15, 80)]
    theta = np.angle(np.exp(1j * theta))
    grid, dens = vonmises_kde(theta, kappa=20.0)
    peaks = angular_peaks(grid, dens, n=2)
    assert peaks[0] == pytest.approx(3.0, abs=0.08) and peaks[1] == pytest.approx(-1.0, abs=0.08)
    # a peak at the seam (pi ~ -pi) is found once, not twice
    grid, dens = vonmises_kde(np.full(10, math.pi), kappa=30.0)
    assert len(angular_peaks(grid, dens, n=3)) == 1


def test_gaussian_kde_2d() -> None:
    pts = _unit(200, 2, 5)
    xx, yy, zz = gaussian_kde_2d(pts, grid_size=60, extent=3.0)
    assert xx.shape == yy.shape == zz.shape == (60, 60)
    cell = (xx[0, 1] - xx[0, 0]) * (yy[1, 0] - yy[0, 0])
    assert zz.sum() * cell == pytest.approx(1.0, abs=0.05)
    assert zz[30, 30] < zz.max()  # a ring: the centre is not the mode
    assert gaussian_kde_2d(np.tile([[1.0, 0.0]], (5, 1))) is None
    assert gaussian_kde_2d(pts[:2]) is None
