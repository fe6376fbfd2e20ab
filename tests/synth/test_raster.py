from __future__ import annotations

import numpy as np
from scipy import ndimage

from mvkl.synth.phantom import upsample2
from mvkl.synth.raster import draw_polylines, random_walk, sigmoid, splat


def test_splat_conserves_mass_and_is_bilinear() -> None:
    canvas = np.zeros((20, 20), np.float32)
    splat(canvas, np.array([5.25]), np.array([7.5]), np.array([2.0]))
    assert np.isclose(canvas.sum(), 2.0)
    assert np.isclose(canvas[5, 7], 2 * 0.75 * 0.5) and np.isclose(canvas[6, 8], 2 * 0.25 * 0.5)
    splat(canvas, np.array([-3.0, 30.0]), np.array([1.0, 1.0]), 1.0)  # outside: dropped
    assert np.isclose(canvas.sum(), 2.0)


def test_polyline_peak_equals_the_amplitude() -> None:
    canvas = np.zeros((60, 200), np.float32)
    draw_polylines(canvas, [np.array([[30.0, 20.0], [30.0, 180.0]])], width=1.5, amplitude=0.4)
    profile = canvas[:, 100]
    assert abs(profile.max() - 0.4) < 0.02 and profile.argmax() == 30
    assert profile[30 + 6] < 0.01  # 4 sigma away


def test_random_walk_length_and_start() -> None:
    w = random_walk(np.random.default_rng(0), (10.0, 20.0), 0.0, 50.0, 2.0, 0.1)
    assert np.allclose(w[0], [10, 20])
    assert np.isclose(np.hypot(*np.diff(w, axis=0).T).sum(), 50.0, atol=2.0)


def test_upsample2_matches_a_half_pixel_bilinear_zoom() -> None:
    a = np.random.default_rng(1).random((12, 10)).astype(np.float32)
    out = upsample2(a)
    # Output pixel i sits at input coordinate (i + 0.5) / 2 - 0.5, edges clamped.
    yy = np.clip((np.arange(24) + 0.5) / 2 - 0.5, 0, 11)
    xx = np.clip((np.arange(20) + 0.5) / 2 - 0.5, 0, 9)
    ref = ndimage.map_coordinates(a, np.meshgrid(yy, xx, indexing="ij"), order=1)
    assert np.allclose(out, ref, atol=1e-6)


def test_sigmoid_is_the_logistic_function_without_overflow() -> None:
    x = np.array([-1e4, -3.0, 0.0, 2.0, 1e4], np.float32)
    ref = 1 / (1 + np.exp(-x.astype(np.float64).clip(-700, 700)))
    assert np.allclose(sigmoid(x), ref, atol=1e-6)
