"""Vectorised drawing primitives for the phantom: point splatting, polylines and local windows.

Everything here works on float32 canvases with numpy only (``np.add.at`` for splatting and
``scipy.ndimage.gaussian_filter`` on a local crop for the line profile); there is no per-pixel
Python loop. Coordinates are (row, column) in pixels.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

__all__ = ["Window", "draw_polylines", "random_walk", "sigmoid", "splat", "window"]

F32 = npt.NDArray[np.float32]


class Window:
    """A clipped rectangle of a canvas around a centre, with local coordinate grids."""

    def __init__(self, shape: tuple[int, int], cy: float, cx: float, half: float) -> None:
        h, w = shape
        self.y0 = max(0, int(np.floor(cy - half)))
        self.y1 = min(h, int(np.ceil(cy + half)) + 1)
        self.x0 = max(0, int(np.floor(cx - half)))
        self.x1 = min(w, int(np.ceil(cx + half)) + 1)
        self.cy, self.cx = cy, cx

    @property
    def empty(self) -> bool:
        return self.y1 <= self.y0 or self.x1 <= self.x0

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    def grid(self) -> tuple[F32, F32]:
        """(dy, dx) offsets from the centre, float32, shape of the window."""
        dy = (np.arange(self.y0, self.y1, dtype=np.float32) - np.float32(self.cy))[:, None]
        dx = (np.arange(self.x0, self.x1, dtype=np.float32) - np.float32(self.cx))[None, :]
        return np.broadcast_to(dy, (self.y1 - self.y0, self.x1 - self.x0)), np.broadcast_to(
            dx, (self.y1 - self.y0, self.x1 - self.x0)
        )


def window(shape: tuple[int, int], cy: float, cx: float, half: float) -> Window:
    return Window(shape, cy, cx, half)


def splat(
    canvas: F32, ys: npt.NDArray[np.floating], xs: npt.NDArray[np.floating], weights: npt.NDArray[np.floating] | float
) -> None:
    """Add point masses at sub-pixel positions with bilinear weights (in place)."""
    h, w = canvas.shape
    ys = np.asarray(ys, np.float64)
    xs = np.asarray(xs, np.float64)
    wt = np.broadcast_to(np.asarray(weights, np.float64), ys.shape)
    y0 = np.floor(ys).astype(np.int64)
    x0 = np.floor(xs).astype(np.int64)
    fy = ys - y0
    fx = xs - x0
    for dy, dx, k in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yy = y0 + dy
        xx = x0 + dx
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        np.add.at(canvas, (yy[ok], xx[ok]), (wt[ok] * k[ok]).astype(np.float32))


def _resample(points: npt.NDArray[np.float64], step: float) -> npt.NDArray[np.float64]:
    """Points every ``step`` px along a polyline (N, 2), with the arc-length fraction as a 3rd column."""
    seg = np.diff(points, axis=0)
    seglen = np.hypot(seg[:, 0], seg[:, 1])
    total = float(seglen.sum())
    if total <= 0:
        return np.column_stack([points[:1], np.zeros(1)])
    cum = np.concatenate([[0.0], np.cumsum(seglen)])
    s = np.arange(0.0, total, step)
    y = np.interp(s, cum, points[:, 0])
    x = np.interp(s, cum, points[:, 1])
    return np.column_stack([y, x, s / total])


def draw_polylines(
    canvas: F32,
    lines: list[npt.NDArray[np.float64]],
    width: float,
    amplitude: float,
    taper: float = 0.0,
    amplitudes: list[float] | None = None,
) -> None:
    """Draw polylines with a Gaussian cross-section of std ``width`` px and peak ``amplitude``.

    ``taper`` in [0, 1] fades the amplitude linearly along each line (1 = to zero at its end).
    Lines are splatted every 0.35 px and blurred once, on the bounding box only.
    """
    if not lines:
        return
    step = 0.35
    pts = []
    for i, ln in enumerate(lines):
        r = _resample(np.asarray(ln, np.float64), step)
        amp = amplitude if amplitudes is None else amplitudes[i]
        pts.append(np.column_stack([r[:, 0], r[:, 1], amp * (1 - taper * r[:, 2])]))
    p = np.concatenate(pts)
    sigma = max(float(width), 0.5)
    pad = int(np.ceil(4 * sigma)) + 2
    h, w = canvas.shape
    y0 = max(0, int(p[:, 0].min()) - pad)
    y1 = min(h, int(p[:, 0].max()) + pad + 1)
    x0 = max(0, int(p[:, 1].min()) - pad)
    x1 = min(w, int(p[:, 1].max()) + pad + 1)
    if y1 <= y0 or x1 <= x0:
        return
    local = np.zeros((y1 - y0, x1 - x0), np.float32)
    # A line of point density 1/step blurred by a 2-D Gaussian has peak (1/step) / (sqrt(2 pi) sigma).
    splat(local, p[:, 0] - y0, p[:, 1] - x0, p[:, 2] * step * np.sqrt(2 * np.pi) * sigma)
    canvas[y0:y1, x0:x1] += ndimage.gaussian_filter(local, sigma, truncate=3.0)


def random_walk(
    rng: np.random.Generator, start: tuple[float, float], direction: float, length: float, step: float, wiggle: float
) -> npt.NDArray[np.float64]:
    """A tortuous polyline: ``length`` px from ``start`` heading ``direction`` (radians, 0 = +x),
    turning by N(0, wiggle) radians per step (vessels, ducts, Cooper's ligaments)."""
    n = max(2, int(length / step) + 1)
    turns = np.cumsum(rng.normal(0.0, wiggle, n - 1))
    ang = direction + turns - turns.mean() * 0.5
    dy = np.sin(ang) * step
    dx = np.cos(ang) * step
    y = start[0] + np.concatenate([[0.0], np.cumsum(dy)])
    x = start[1] + np.concatenate([[0.0], np.cumsum(dx)])
    return np.column_stack([y, x])


def sigmoid(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Logistic function without overflow warnings (via tanh)."""
    return (np.float32(0.5) + np.float32(0.5) * np.tanh(np.float32(0.5) * x)).astype(np.float32)
