"""Calcifications whose appearance follows the four calcification groups of Table 1.

* shape: branching (fine linear branching casts), crescentic/annular/gritty/thread-like (rims,
  crescents, grit, threads), granular/popcorn-like/large rod-like/eggshell-like (coarse blobs,
  popcorn clumps, thick rods, eggshell rims);
* size: tiny (x0.45), coarse (x1.8), uneven (each particle its own scale);
* density: the particle amplitude (low, high, uneven = per particle);
* distribution: scattered (a wide disc), clustered (within ~1 cm), linear/segmental (along a duct
  towards the nipple, a line or a widening wedge).

Each particle is a filled point cloud (4 samples per px², weight = amplitude / 4), splatted with
bilinear weights and blurred once (sigma 0.75 px), so sub-pixel calcifications keep their
integrated brightness (partial volume). The layout is seeded per lump, then rotated and stretched
per view, so CC and MLO show the same group at consistent but different projections.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from mvkl.synth.lesions import LesionSpec, option_of
from mvkl.synth.phantom import Geometry
from mvkl.synth.raster import splat

__all__ = ["calc_particles", "render_calcs"]

F64 = npt.NDArray[np.float64]
_DENSITY = {"calc_density.low": 0.4, "calc_density.high": 0.95}
_SIZE = {"calc_size.tiny": 0.45, "calc_size.coarse": 1.8}
_PER_PX2 = 4.0


def _disc(rng: np.random.Generator, r_out: float, r_in: float = 0.0, arc: float = 2 * np.pi) -> F64:
    """Uniform samples (y, x) in an annulus sector of radii (r_in, r_out) px."""
    area = max(0.25, 0.5 * arc * (r_out**2 - r_in**2))
    n = max(1, int(area * _PER_PX2))
    rad = np.sqrt(rng.uniform(r_in**2, r_out**2, n))
    th = rng.uniform(0, arc, n) + rng.uniform(0, 2 * np.pi)
    return np.column_stack([rad * np.sin(th), rad * np.cos(th)])


def _rod(rng: np.random.Generator, length: float, width: float, angle: float) -> F64:
    n = max(1, int(length * max(width, 0.5) * _PER_PX2))
    t = rng.uniform(-length / 2, length / 2, n)
    c = rng.uniform(-width / 2, width / 2, n)
    return np.column_stack([t * np.sin(angle) + c * np.cos(angle), t * np.cos(angle) - c * np.sin(angle)])


def _particle(rng: np.random.Generator, shape: str | None, mm: float, px_per_mm: float, duct: float) -> F64:
    """Samples of one calcification of nominal size ``mm`` (before the size modifier)."""
    p = px_per_mm
    if shape == "calc_shape.branching":
        pts = []
        ang = duct + rng.normal(0, 0.35)
        seg = mm * p * rng.uniform(0.8, 1.6)
        head = np.zeros(2)
        for _ in range(int(rng.integers(2, 4))):
            r = _rod(rng, seg, max(0.4, 0.15 * mm * p), ang)
            pts.append(r + head + 0.5 * seg * np.array([np.sin(ang), np.cos(ang)]))
            head = head + seg * np.array([np.sin(ang), np.cos(ang)])
            if rng.random() < 0.6:
                b = ang + rng.choice([-0.7, 0.7])
                pts.append(
                    _rod(rng, seg * 0.6, max(0.4, 0.12 * mm * p), b)
                    + head
                    + 0.3 * seg * np.array([np.sin(b), np.cos(b)])
                )
            ang += rng.normal(0, 0.3)
        return np.concatenate(pts)
    if shape == "calc_shape.crescentic":
        sub = rng.integers(4)
        if sub == 0:  # annular
            r = 0.45 * mm * p
            return _disc(rng, r, r * 0.55, arc=2 * np.pi * rng.uniform(0.6, 1.0))
        if sub == 1:  # crescentic
            r = 0.5 * mm * p
            return _disc(rng, r, r * 0.65, arc=np.pi * rng.uniform(0.7, 1.2))
        if sub == 2:  # gritty
            return np.concatenate(
                [_disc(rng, 0.12 * mm * p) + rng.normal(0, 0.35 * mm * p, 2) for _ in range(int(rng.integers(3, 7)))]
            )
        return _rod(rng, 1.6 * mm * p, max(0.35, 0.1 * mm * p), duct + rng.normal(0, 0.5))  # thread-like
    if shape == "calc_shape.granular":
        sub = rng.integers(4)
        if sub == 0:  # popcorn: a clump of overlapping blobs
            return np.concatenate(
                [
                    _disc(rng, 0.35 * mm * p * rng.uniform(0.7, 1.3)) + rng.normal(0, 0.3 * mm * p, 2)
                    for _ in range(int(rng.integers(3, 6)))
                ]
            )
        if sub == 1:  # large rod-like
            return _rod(rng, 3.0 * mm * p, 0.5 * mm * p, duct + rng.normal(0, 0.3))
        if sub == 2 and rng.random() < 0.5:  # eggshell rim, usually incomplete
            r = 1.6 * mm * p * rng.uniform(0.7, 1.2)
            return _disc(rng, r, r * 0.8, arc=2 * np.pi * rng.uniform(0.4, 0.85))
        return _disc(rng, 0.5 * mm * p)  # granular
    return _disc(rng, 0.25 * mm * p)  # shape not annotated: punctate


def calc_particles(spec: LesionSpec, g: Geometry, extent_px: float) -> tuple[F64, F64, F64]:
    """(ys, xs, weights) of every calcification sample of ``spec`` in image coordinates."""
    m = spec.manifest
    rng = np.random.default_rng([spec.seed, 21])
    vrng = np.random.default_rng([spec.view_seed, 22])
    shape, size = option_of(m, "calc_shape"), option_of(m, "calc_size")
    dens, dist = option_of(m, "calc_density"), option_of(m, "calc_distribution")
    ny, nx = g.nipple
    duct = float(np.arctan2(ny - spec.cy, nx - spec.cx))
    half = extent_px / 2
    if dist == "calc_distribution.linear_segmental":
        n = max(3, round(int(rng.integers(12, 36)) * spec.severity))
        t = rng.uniform(-half, half, n)
        spread = (0.05 if rng.random() < 0.5 else 0.12) * extent_px
        c = rng.normal(0, 1, n) * spread * (0.6 + 0.8 * (t + half) / (2 * half))
        pos = np.column_stack([t * np.sin(duct) + c * np.cos(duct), t * np.cos(duct) - c * np.sin(duct)])
    elif dist == "calc_distribution.scattered":
        n = max(3, round(int(rng.integers(12, 40)) * spec.severity))
        rad = half * np.sqrt(rng.uniform(0, 1, n))
        th = rng.uniform(0, 2 * np.pi, n)
        pos = np.column_stack([rad * np.sin(th), rad * np.cos(th)])
    else:  # clustered, or distribution not annotated
        n = max(3, round(int(rng.integers(6, 24)) * spec.severity))
        pos = np.clip(rng.normal(0, half / 2.2, (n, 2)), -half, half)
    # Per-view projection: rotate and stretch the layout a little.
    rot = float(vrng.normal(0, 0.2))
    stretch = float(vrng.uniform(0.8, 1.2))
    cr, sr = np.cos(rot), np.sin(rot)
    pos = np.column_stack([(pos[:, 0] * cr + pos[:, 1] * sr) * stretch, -pos[:, 0] * sr + pos[:, 1] * cr])
    ys, xs, ws = [], [], []
    px_per_mm = 1.0 / g.mm_per_px
    for i in range(n):
        scale = _SIZE.get(size or "", 1.0)
        if size == "calc_size.uneven":
            scale = float(np.exp(rng.uniform(np.log(0.35), np.log(2.2))))
        amp = _DENSITY.get(dens or "", 0.7)
        if dens == "calc_density.uneven":
            amp = float(rng.uniform(0.3, 1.1))
        pts = _particle(rng, shape, 0.6 * scale, px_per_mm, duct)
        ys.append(pts[:, 0] + pos[i, 0] + spec.cy)
        xs.append(pts[:, 1] + pos[i, 1] + spec.cx)
        ws.append(amp / _PER_PX2 * rng.uniform(0.4, 1.6, len(pts)))   # uneven thickness
    return np.concatenate(ys), np.concatenate(xs), np.concatenate(ws)


def render_calcs(img: npt.NDArray[np.float32], g: Geometry, spec: LesionSpec, extent_px: float) -> None:
    """Add the calcifications of ``spec`` to ``img`` (in place)."""
    ys, xs, ws = calc_particles(spec, g, extent_px)
    h, w = img.shape
    y0, y1 = max(0, int(ys.min()) - 4), min(h, int(ys.max()) + 5)
    x0, x1 = max(0, int(xs.min()) - 4), min(w, int(xs.max()) + 5)
    if y1 <= y0 or x1 <= x0:
        return
    local = np.zeros((y1 - y0, x1 - x0), np.float32)
    splat(local, ys - y0, xs - x0, ws)
    img[y0:y1, x0:x1] += ndimage.gaussian_filter(local, 0.75, truncate=3.0)
