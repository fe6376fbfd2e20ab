"""Masses and miscellaneous signs whose appearance follows the 35-dim manifestation (Table 1).

Every exclusive group changes the rendering of a mass:

* shape: the contour radius ``R(phi)`` of an ellipse (semi-axes from the size in mm through the
  pixel spacing) times harmonics: round/ovoid almost none, lobulated two to three big lobes,
  irregular many random harmonics;
* margin: well-circumscribed = a sharp sigmoid edge; microlobulated = fine high-harmonic ripples;
  obscured = a soft edge partly hidden by overlapping fibroglandular patches; spiculated = thin
  tapering lines radiating from the border;
* density: the contrast of the dome profile (low < equal < high);
* size: semi-axes in mm, ≤2 cm, 2-5 cm, >5 cm.

Signs: architectural distortion (converging lines and a local pull of the texture), focal
asymmetric density (a soft, concave-bordered density), duct sign (a dense duct towards the
nipple), comet tail (a tapering tail), halo (a thin lucent ring), skin thickening/retraction
(contour event plus a tethering strand), nipple retraction (contour event plus subareolar
density), abnormal vessels (thick tortuous vessels), abnormal lymph node (a dense oval node in the
axilla, on the MLO view and sometimes at the lateral edge of the CC view). Calcifications live in
:mod:`mvkl.synth.calcs`. All drawing is vectorised over local windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from mvkl.manifest import schema as S
from mvkl.synth.phantom import Geometry, power_noise
from mvkl.synth.raster import draw_polylines, random_walk, sigmoid, window

__all__ = [
    "LesionSpec",
    "has",
    "option_of",
    "render_lymph_node",
    "render_mass",
    "render_normal_anatomy",
    "render_signs",
]

F32 = npt.NDArray[np.float32]
# Attenuation level of the mass tissue (fat ~0.3, fibroglandular tissue up to ~0.62): a mass adds
# k * (level - background), k = its thickness fraction, so a low-density mass darkens dense tissue,
# an equal-density one merges with it and a high-density one stands out everywhere.
_LEVEL = {"mass_density.low": 0.45, "mass_density.median": 0.55, "mass_density.high": 0.64}


def has(m: npt.NDArray[np.uint8], key: str) -> bool:
    """True when option ``key`` (e.g. ``"mass_edge.spiculated"``) is set in ``m``."""
    return bool(m[S.option_by_key()[key].index])


def option_of(m: npt.NDArray[np.uint8], group: str) -> str | None:
    g = S.group_by_key()[group]
    hit = [o.key for o in g.options if m[o.index]]
    return hit[0] if hit else None


@dataclass
class LesionSpec:
    """One lump as it appears in one view (canonical orientation, pixels)."""

    cy: float
    cx: float
    a: float  # semi-axes (px) along / across ``angle``
    b: float
    angle: float
    manifest: npt.NDArray[np.uint8]
    kind: str
    seed: int  # per lump: shape harmonics and calcification layout agree across views
    view_seed: int  # per lump and view: projection jitter
    grade: float = 0.0  # latent aggressiveness z (clinical.py): how far within its options the lump looks

    @property
    def severity(self) -> float:
        """Multiplier of the graded cues, ``clip(1 + 0.45 z, 0.4, 2.2)``: within one manifestation option an
        aggressive lump is more irregular, more spiculated and denser, with more calcifications (what the
        categorical table cannot record; the image carries part of the hidden term)."""
        return float(np.clip(1.0 + 0.45 * self.grade, 0.4, 2.2))

    @property
    def radius(self) -> float:
        return 0.5 * (self.a + self.b)


def _harmonics(rng: np.random.Generator, m: npt.NDArray[np.uint8], sev: float = 1.0) -> list[tuple[int, float, float]]:
    shape = option_of(m, "mass_shape")
    out: list[tuple[int, float, float]] = []
    if shape == "mass_shape.lobulated":
        k = int(rng.integers(3, 6))
        out += [
            (k, float(rng.uniform(0.11, 0.17)) * min(1.4, sev), float(rng.uniform(0, 6.3))),
            (k + int(rng.integers(1, 3)), float(rng.uniform(0.03, 0.06)), float(rng.uniform(0, 6.3))),
        ]
    elif shape == "mass_shape.irregular":
        out += [(k, float(rng.normal(0, 0.2 / k**0.75)) * sev, float(rng.uniform(0, 6.3))) for k in range(2, 10)]
    else:
        out += [(k, float(rng.normal(0, 0.012)), float(rng.uniform(0, 6.3))) for k in (2, 3)]
    if has(m, "mass_edge.microlobulated"):
        for k in rng.choice(np.arange(12, 41), size=5, replace=False):
            out.append((int(k), float(rng.uniform(0.006, 0.013)), float(rng.uniform(0, 6.3))))
    return out


def _polar(spec: LesionSpec, dy: F32, dx: F32) -> tuple[F32, F32, F32]:
    """(r, cos phi, sin phi) in the lesion frame (rotated by ``angle``)."""
    c, s = np.float32(np.cos(spec.angle)), np.float32(np.sin(spec.angle))
    xr = dx * c + dy * s
    yr = -dx * s + dy * c
    r = np.sqrt(xr * xr + yr * yr) + np.float32(1e-3)
    return r, xr / r, yr / r


def _contour(spec: LesionSpec, cphi: F32, sphi: F32, harm: list[tuple[int, float, float]]) -> F32:
    """Contour radius R(phi): ellipse times (1 + sum_k a_k cos(k phi + p_k))."""
    re = 1.0 / np.sqrt((cphi / np.float32(spec.a)) ** 2 + (sphi / np.float32(spec.b)) ** 2)
    pert = np.ones_like(cphi)
    kmax = max((k for k, _, _ in harm), default=1)
    ck, sk = cphi, sphi
    wanted = {k: (amp, ph) for k, amp, ph in harm}
    for k in range(2, kmax + 1):
        ck, sk = ck * cphi - sk * sphi, sk * cphi + ck * sphi
        if k in wanted:
            amp, ph = wanted[k]
            pert += np.float32(amp * np.cos(ph)) * ck - np.float32(amp * np.sin(ph)) * sk
    return (re * np.maximum(pert, np.float32(0.2))).astype(np.float32)  # strong harmonics never fold the contour


def render_mass(img: F32, g: Geometry, spec: LesionSpec) -> None:
    """Add the mass of ``spec`` to ``img`` (in place): shape, margin, density, halo, comet tail."""
    m = spec.manifest
    srng = np.random.default_rng([spec.seed, 11])
    vrng = np.random.default_rng([spec.view_seed, 12])
    sev = spec.severity
    harm = _harmonics(srng, m, sev)
    spic = has(m, "mass_edge.spiculated")
    margin = option_of(m, "mass_edge")
    grow = 1.6 + (1.6 * max(1.0, sev) if spic else 0.0) + (1.0 if margin == "mass_edge.obscured" else 0.0)
    extent = max(spec.a, spec.b) * (grow + (1.6 if has(m, "misc.comet_tail_sign") else 0.0))
    win = window(g.shape, spec.cy, spec.cx, extent + g.px(3.0))
    if win.empty:
        return
    dy, dx = win.grid()
    r, cphi, sphi = _polar(spec, dy, dx)
    R = _contour(spec, cphi, sphi, harm)
    density = option_of(m, "mass_density")
    level = np.float32(_LEVEL.get(density or "", 0.55) * float(vrng.uniform(0.96, 1.04)) + 0.02 * (sev - 1.0))
    edge_mm = {"mass_edge.well_circumscribed": 0.15, "mass_edge.microlobulated": 0.25,
               "mass_edge.spiculated": 0.6, "mass_edge.obscured": 1.8}.get(margin or "", 0.8)
    edge = np.float32(max(0.45, g.px(edge_mm)))
    core = sigmoid((R - r) / edge)
    dome = core * (np.float32(0.4) + np.float32(0.6) * np.sqrt(np.clip(1.0 - (r / R) ** 2, 0.0, 1.0)))
    tex = power_noise(vrng, dome.shape, 2.5) if min(dome.shape) > 8 else np.zeros_like(dome)
    local = img[win.slices]
    k = np.float32(0.85) * dome
    contrast = np.float32(max(0.05, float(level) - 0.35))   # for the signs drawn with the mass
    # The mass displaces part of the tissue in its path (k) and adds a little attenuation of its own.
    local += k * (level * (np.float32(1.0) + np.float32(0.1) * tex) - local) + np.float32(0.015) * dome
    if margin == "mass_edge.obscured":
        # Overlapping fibroglandular patches hide 40-70 % of the border.
        for _ in range(int(vrng.integers(2, 5))):
            th = float(vrng.uniform(0, 2 * np.pi))
            py, px_ = np.float32(spec.radius * 0.95 * np.sin(th)), np.float32(spec.radius * 0.95 * np.cos(th))
            size = np.float32(spec.radius * vrng.uniform(0.35, 0.6))
            blob = np.exp(-((dy - py) ** 2 + (dx - px_) ** 2) / (2 * size * size))
            local += np.float32(0.11) * blob * np.clip(np.float32(0.8) + np.float32(0.4) * tex, 0, None)
    if has(m, "misc.halo_sign"):
        hw = np.float32(max(0.7, g.px(0.7)))
        local -= np.float32(0.055) * np.exp(-(((r - R - hw * 1.5) / hw) ** 2))
    if has(m, "misc.comet_tail_sign"):
        _comet_tail(local, spec, dy, dx, vrng, contrast)
    if spic:
        n = max(6, round(int(srng.integers(12, 30)) * sev))
        lines, amps = [], []
        for _ in range(n):
            th = float(srng.uniform(0, 2 * np.pi))
            rb = spec.radius * float(srng.uniform(0.9, 1.05))
            start = (spec.cy + rb * np.sin(th), spec.cx + rb * np.cos(th))
            length = spec.radius * float(srng.uniform(0.3, 1.8)) * max(0.6, sev)
            lines.append(random_walk(srng, start, th + float(srng.normal(0, 0.2)), length, max(1.0, length / 12),
                                     0.1))
            amps.append(float(contrast) * float(srng.uniform(0.2, 0.5)))
        draw_polylines(img, lines, max(0.45, g.px(0.15)), 0.0, taper=0.95, amplitudes=amps)


def _comet_tail(local: F32, spec: LesionSpec, dy: F32, dx: F32, rng: np.random.Generator, contrast: float) -> None:
    th = float(np.pi + rng.normal(0, 0.5)) if rng.random() < 0.6 else float(rng.normal(0, 0.5))
    ux, uy = np.float32(np.cos(th)), np.float32(np.sin(th))
    # The tail starts inside the mass and fades in over 0.5 radius, so its base has no edge.
    t = dx * ux + dy * uy - np.float32(spec.radius * 0.4)
    c = -dx * uy + dy * ux
    length = np.float32(spec.radius * rng.uniform(1.4, 2.4))
    frac = np.clip(t / length, 0.0, 1.0)
    width = np.float32(spec.radius * 0.45) * (1.0 - np.float32(0.75) * frac)
    tail = sigmoid(t / np.float32(0.15 * spec.radius + 1.0)) * (1.0 - frac) * np.exp(-((c / width) ** 2))
    local += np.float32(contrast * 0.8) * tail


def _pull(img: F32, cy: float, cx: float, radius: float, strength: float) -> None:
    """Architectural distortion: pull the texture towards (cy, cx) within ~2 radii (in place)."""
    win = window(img.shape, cy, cx, radius * 2.5)
    if win.empty or min(win.y1 - win.y0, win.x1 - win.x0) < 4:
        return
    dy, dx = win.grid()
    r = np.sqrt(dy * dy + dx * dx)
    k = 1.0 + np.float32(strength) * np.exp(-r / np.float32(radius))
    src_y = np.float32(cy - win.y0) + dy * k
    src_x = np.float32(cx - win.x0) + dx * k
    local = img[win.slices]
    local[...] = ndimage.map_coordinates(local, [src_y, src_x], order=1, mode="nearest")


def render_signs(img: F32, g: Geometry, spec: LesionSpec, skin_point: tuple[float, float] | None) -> None:
    """The miscellaneous signs of ``spec`` except the halo and comet tail (drawn with the mass) and
    the lymph node (:func:`render_lymph_node`). Architectural distortion must be drawn first."""
    m = spec.manifest
    rng = np.random.default_rng([spec.view_seed, 13])
    R = spec.radius
    if has(m, "misc.architectural_distortion"):
        _pull(img, spec.cy, spec.cx, R * 1.2, 0.35)
        n = int(rng.integers(14, 24))
        lines = []
        for i in range(n):
            th = 2 * np.pi * (i + rng.uniform(-0.4, 0.4)) / n
            ln = R * float(rng.uniform(1.0, 2.4))
            r0 = R * float(rng.uniform(0.25, 0.6))
            start = (spec.cy + r0 * np.sin(th), spec.cx + r0 * np.cos(th))
            lines.append(random_walk(rng, start, th + float(rng.normal(0, 0.15)), ln, max(1.0, ln / 10), 0.08))
        draw_polylines(img, lines, max(0.5, g.px(0.2)), 0.06, taper=0.85)
    if has(m, "misc.focal_asymmetric_density"):
        win = window(img.shape, spec.cy, spec.cx, R * 3.2)
        if not win.empty:
            dy, dx = win.grid()
            c, s = np.float32(np.cos(spec.angle)), np.float32(np.sin(spec.angle))
            xr, yr = dx * c + dy * s, -dx * s + dy * c
            env = np.exp(-((xr / np.float32(1.5 * spec.a + 1)) ** 2) - (yr / np.float32(1.1 * spec.b + 1)) ** 2)
            tex = power_noise(rng, env.shape, 3.0) if min(env.shape) > 8 else np.zeros_like(env)
            img[win.slices] += np.float32(0.09) * env * np.clip(np.float32(0.7) + np.float32(0.45) * tex, 0, None)
    if has(m, "misc.duct_sign"):
        ny, nx = g.nipple
        th = float(np.arctan2(ny - spec.cy, nx - spec.cx))
        dist = float(np.hypot(ny - spec.cy, nx - spec.cx))
        main = random_walk(rng, (spec.cy, spec.cx), th, dist * float(rng.uniform(0.6, 0.95)), max(1.0, dist / 25), 0.08)
        lines = [main]
        for _ in range(int(rng.integers(1, 3))):
            j = int(rng.integers(len(main) // 3, max(len(main) // 3 + 1, len(main) - 1)))
            lines.append(
                random_walk(
                    rng, tuple(main[j]), th + float(rng.choice([-0.6, 0.6])), dist * 0.25, max(1.0, dist / 30), 0.1
                )
            )
        draw_polylines(img, lines, max(0.8, g.px(0.9)), 0.09, taper=0.3)
    if has(m, "misc.abnormal_vessel"):
        lines = []
        for _ in range(int(rng.integers(2, 5))):
            th = float(np.pi + rng.normal(0, 0.7))
            ln = max(R * 2, spec.cx * float(rng.uniform(0.5, 1.0)))
            start = (spec.cy + R * np.sin(th), spec.cx + R * np.cos(th))
            lines.append(random_walk(rng, start, th, ln, max(1.0, ln / 30), 0.25))
        draw_polylines(img, lines, max(0.7, g.px(0.75)), 0.1)
    if skin_point is not None and has(m, "misc.skin_thickening_retraction"):
        sy, sx = skin_point
        th = float(np.arctan2(sy - spec.cy, sx - spec.cx))
        ln = float(np.hypot(sy - spec.cy, sx - spec.cx))
        strands = [
            random_walk(rng, (spec.cy, spec.cx), th + float(rng.normal(0, 0.08)), ln, max(1.0, ln / 15), 0.04)
            for _ in range(2)
        ]
        draw_polylines(img, strands, max(0.6, g.px(0.4)), 0.07)
    if has(m, "misc.nipple_retraction"):
        ny, nx = g.nipple
        win = window(img.shape, ny, nx - g.px(12), g.px(22))
        if not win.empty:
            dy, dx = win.grid()
            img[win.slices] += np.float32(0.08) * np.exp(-(dy * dy + dx * dx) / np.float32(2 * g.px(9) ** 2))


def render_lymph_node(img: F32, g: Geometry, rng: np.random.Generator, abnormal: bool) -> None:
    """An axillary lymph node: on MLO at the lower border of the pectoral muscle, on CC near the
    lateral (upper) posterior edge. Normal nodes are small with a lucent fatty hilum; abnormal
    ones are enlarged, dense and round, without a hilum."""
    if g.pectoral is not None:
        pw, ph, _ = g.pectoral
        f = float(rng.uniform(0.35, 0.7))
        cy, cx = f * ph, (1 - f) * pw
    else:
        cx = g.a * float(rng.uniform(0.06, 0.18))
        cy = g.yc - g.half_extent(cx, up=True) * float(rng.uniform(0.7, 0.85))
    size = g.px(float(rng.uniform(12, 22) if abnormal else rng.uniform(5, 10)))
    cy += size * 0.8
    cx += size * 0.8
    win = window(img.shape, cy, cx, size * 1.5)
    if win.empty:
        return
    dy, dx = win.grid()
    ang = float(rng.uniform(0, np.pi))
    c, s = np.float32(np.cos(ang)), np.float32(np.sin(ang))
    xr, yr = dx * c + dy * s, -dx * s + dy * c
    ratio = 0.85 if abnormal else 0.55
    r = np.sqrt((xr / np.float32(size / 2)) ** 2 + (yr / np.float32(size * ratio / 2)) ** 2)
    node = sigmoid((1.0 - r) / np.float32(0.06))
    amp = np.float32(0.15 if abnormal else 0.1)
    local = img[win.slices]
    local += amp * node
    if not abnormal:
        hil = np.exp(
            -(((xr - np.float32(size * 0.35)) / np.float32(size * 0.2)) ** 2 + (yr / np.float32(size * 0.12)) ** 2)
        )
        local -= amp * np.float32(0.8) * hil * node


def render_normal_anatomy(img: F32, g: Geometry, rng: np.random.Generator) -> None:
    """Normal vessels running from the chest wall towards the nipple, and sometimes a normal node."""
    lines = []
    for _ in range(int(rng.integers(2, 5))):
        y0 = g.yc + float(rng.uniform(-0.6, 0.6)) * (g.b_up if rng.random() < 0.5 else g.b_low)
        th = float(np.arctan2(g.yc - y0, g.a)) * float(rng.uniform(0.5, 1.0))
        lines.append(random_walk(rng, (y0, g.px(2)), th, g.a * float(rng.uniform(0.4, 0.85)), g.px(4), 0.12))
    draw_polylines(img, lines, max(0.6, g.px(0.35)), 0.04)
    if g.pectoral is not None and rng.random() < 0.4:
        render_lymph_node(img, g, rng, abnormal=False)
