"""The breast phantom: shape against the chest wall, skin line, pectoral muscle, parenchyma.

A view is rendered in a *canonical* orientation, chest wall on column 0 and nipple to the right,
lateral up on CC views and superior up on MLO views; right-breast images are mirrored afterwards
(spec/dicom.md §5: PatientOrientation ``A\\R`` for LCC, ``P\\L`` for RCC). Values are a
dimensionless attenuation: 0 air, ~0.3 fat, ~0.6 fibroglandular tissue, ~1 calcium.

* Shape: a half-ellipse on the chest wall (CC) or a tall half-ellipse running into the axilla
  (MLO), its contour perturbed by low harmonics, with a nipple bump at the apex.
* Parenchyma: power-law filtered noise (amplitude ``|k|^-1.5``, power spectrum ``|k|^-3``, the
  exponent measured on mammograms), part of it sampled in polar coordinates around the nipple so
  that strands converge on it, thresholded softly inside a glandular envelope whose bias follows
  the ACR composition (a fatty .. d extremely dense); level sets give Cooper's ligaments.
* Periphery: thickness falls off over the last ~10 mm, a ~1.5 mm bright skin line follows the
  contour; local skin thickening/retraction and nipple retraction are contour *events*.
* MLO: a pectoral-muscle triangle with a convex edge at the top of the chest wall.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt
from scipy import fft as sfft
from scipy import ndimage

from mvkl.synth.raster import sigmoid

__all__ = ["BreastSide", "ContourEvent", "Geometry", "make_geometry", "power_noise", "render_parenchyma", "upsample2"]

F32 = npt.NDArray[np.float32]

_COMPOSITION_BIAS = (-1.15, -0.45, 0.15, 0.8)  # ACR a..d: soft threshold offset of the glandular noise


@dataclass(frozen=True)
class BreastSide:
    """Shape parameters of one breast, shared by its CC and MLO views."""

    depth: float  # nipple distance from the chest wall, fraction of the image width (CC)
    half_height: float  # CC half-extent along the chest wall, fraction of the image height
    harmonics: tuple[tuple[float, float], ...]  # (amplitude, phase) for k = 2, 3, ...
    composition: int  # ACR a..d = 0..3

    @staticmethod
    def draw(rng: np.random.Generator, composition: int) -> BreastSide:
        harm = tuple((float(rng.normal(0, 0.018 / k)), float(rng.uniform(0, 2 * np.pi))) for k in range(2, 6))
        return BreastSide(float(rng.uniform(0.58, 0.8)), float(rng.uniform(0.34, 0.44)), harm, composition)


@dataclass(frozen=True)
class ContourEvent:
    """A local change of the contour at contour angle ``psi`` (radians, 0 = nipple)."""

    psi: float
    width: float  # angular half-width (radians)
    retraction: float  # fractional inward pull of the contour (0 = none)
    skin_factor: float  # skin-line thickness multiplier (1 = normal)


@dataclass
class Geometry:
    """Where the breast is in one canonical view (pixels; rows y, columns x)."""

    view: str
    shape: tuple[int, int]
    mm_per_px: float
    a: float  # nipple distance from the chest wall
    b_up: float  # half-extent above the centre line
    b_low: float  # half-extent below it
    yc: float  # centre line (row of the nipple axis at the chest wall)
    harmonics: tuple[tuple[float, float], ...]
    pectoral: tuple[float, float, float] | None = None  # (width at top, height on chest wall, exponent)
    events: list[ContourEvent] = field(default_factory=list)
    nipple_retracted: bool = False

    @property
    def nipple(self) -> tuple[float, float]:
        return self.yc, self.a

    def px(self, mm: float) -> float:
        return mm / self.mm_per_px

    def half_extent(self, x: float, up: bool) -> float:
        """Half-extent of the breast at distance ``x`` from the chest wall, above or below yc."""
        b = self.b_up if up else self.b_low
        return b * float(np.sqrt(max(0.0, 1.0 - (x / self.a) ** 2)))

    def contour_point(self, psi: float) -> tuple[float, float]:
        b = self.b_up if psi < 0 else self.b_low
        return self.yc + b * np.sin(psi), self.a * np.cos(psi)

    def psi_of(self, y: float, x: float) -> float:
        b = self.b_up if y < self.yc else self.b_low
        return float(np.arctan2((y - self.yc) / b, x / self.a))

    def in_pectoral(self, y: float, x: float, margin: float = 0.0) -> bool:
        if self.pectoral is None:
            return False
        pw, ph, g = self.pectoral
        return (max(x - margin, 0) / pw) ** g + (max(y - margin, 0) / ph) ** g < 1.0

    def project(self, depth_frac: float, superior: float, lateral: float, radius: float) -> tuple[float, float]:
        """Image position of a lump at ``depth_frac`` (0 nipple .. 1 chest wall) with superior and
        lateral offsets in [-1, 1]: CC shows lateral up; MLO shows (superior + lateral)/sqrt 2 up,
        so upper-outer lumps sit high on the MLO, towards the axilla."""
        x = (1.0 - depth_frac) * self.a * 0.97
        v = lateral if self.view == "CC" else (superior + lateral) / np.sqrt(2.0)
        v = float(np.clip(v, -1.0, 1.0))
        h = self.half_extent(x, up=v > 0)
        room = max(0.0, h - radius - self.px(6.0))
        y = self.yc - v * room * 0.92
        if self.pectoral is not None:
            while self.in_pectoral(y, x, radius * 0.5) and y < self.yc + self.b_low * 0.5:
                y += max(2.0, radius * 0.25)
        return float(y), float(x)

    def rho(self, Y: F32, X: F32) -> tuple[F32, F32, F32]:
        """(normalised radius with contour perturbations, sine of the contour angle psi, distance to
        the skin in px). Angles are handled through their sine and cosine (no arctan: the contour
        angle stays in (-pi/2, pi/2) where the sine is monotone)."""
        up = self.yc > Y
        b = np.where(up, np.float32(self.b_up), np.float32(self.b_low))
        u = X / np.float32(self.a)
        v = (Y - np.float32(self.yc)) / b
        r0 = np.sqrt(u * u + v * v) + np.float32(1e-6)
        c1 = u / r0
        s1 = v / r0
        pert = np.ones_like(r0)
        ck, sk = c1, s1
        for amp, ph in self.harmonics:  # k = 2, 3, ...: cos(k psi + ph) by the angle-addition recurrence
            ck, sk = ck * c1 - sk * s1, sk * c1 + ck * s1
            pert += np.float32(amp * np.cos(ph)) * ck - np.float32(amp * np.sin(ph)) * sk
        nip_w = np.float32(self.px(9.0) / self.b_low)
        pert += np.float32(0.05 if self.nipple_retracted else -0.018) * np.exp(-((s1 / nip_w) ** 2))
        for ev in self.events:
            w = np.float32(np.sin(ev.width))
            pert += np.float32(ev.retraction) * np.exp(-(((s1 - np.float32(np.sin(ev.psi))) / w) ** 2))
        rho = r0 * pert
        grad = np.sqrt((u / np.float32(self.a)) ** 2 + (v / b) ** 2) / r0
        dist = (1.0 - rho) / np.maximum(grad, np.float32(1e-6))
        return rho.astype(np.float32), s1.astype(np.float32), dist.astype(np.float32)


def make_geometry(
    side: BreastSide, view: str, shape: tuple[int, int], mm_per_px: float, rng: np.random.Generator
) -> Geometry:
    """The geometry of ``side`` in ``view`` for an image of ``shape`` (rows, cols)."""
    h, w = shape
    if view == "CC":
        return Geometry(
            "CC",
            shape,
            mm_per_px,
            side.depth * w,
            side.half_height * h,
            side.half_height * h,
            h * float(rng.uniform(0.47, 0.53)),
            side.harmonics,
        )
    a = side.depth * w * float(rng.uniform(0.98, 1.1))
    yc = h * float(rng.uniform(0.5, 0.58))
    b_up = yc * float(rng.uniform(1.12, 1.3))
    b_low = min(h - yc - h * 0.03, side.half_height * h * float(rng.uniform(0.95, 1.1)))
    x_top = a * np.sqrt(max(0.0, 1 - (yc / b_up) ** 2))
    pw = float(min(x_top * 0.85, w * rng.uniform(0.22, 0.4)))
    ph = float(h * rng.uniform(0.38, 0.62))
    return Geometry(
        "MLO", shape, mm_per_px, a, b_up, b_low, yc, side.harmonics, pectoral=(pw, ph, float(rng.uniform(1.05, 1.35)))
    )


@functools.lru_cache(maxsize=16)
def _spectral_filter(shape: tuple[int, int], beta: float) -> F32:
    h, w = shape
    ky = sfft.fftfreq(h).astype(np.float32)[:, None]
    kx = sfft.rfftfreq(w).astype(np.float32)[None, :]
    k = np.sqrt(kx * kx + ky * ky)
    k[0, 0] = 1.0
    filt = k ** np.float32(-beta / 2)
    filt[0, 0] = 0.0
    filt.setflags(write=False)
    return filt


def power_noise(rng: np.random.Generator, shape: tuple[int, int], beta: float) -> F32:
    """Zero-mean, unit-variance noise with power spectrum ``|k|^-beta`` (FFT filtered white noise).

    The white noise is uniform (5x cheaper to draw than normal); after the spectral filter each
    value is a weighted sum of many of them, hence Gaussian to the eye and to a histogram."""
    white = rng.random(shape, dtype=np.float32)
    f = sfft.rfft2(white, workers=1)
    f *= _spectral_filter(tuple(shape), float(beta))
    out = sfft.irfft2(f, s=shape, workers=1).astype(np.float32, copy=False)
    out /= np.float32(out.std() + 1e-8)
    return out


def _polar_texture(rng: np.random.Generator, g: Geometry, Y: F32, X: F32) -> F32:
    """Power-law texture sampled in polar coordinates about the nipple: strands converge on it."""
    tex = power_noise(rng, (256, 256), 3.0)
    ny, nx = g.nipple
    dy = Y - np.float32(ny)
    r = np.sqrt(dy * dy + (X - np.float32(nx)) ** 2)
    th = dy / (r + np.float32(1.0)) * np.float32(np.pi / 2)  # monotone proxy of the angle about the nipple
    scale_r = np.float32(256.0 / (2.2 * max(g.shape)))
    coords = np.stack(np.broadcast_arrays(th * np.float32(256 / np.pi * 1.6), r * scale_r))
    out = ndimage.map_coordinates(tex, coords, order=1, mode="wrap").astype(np.float32)
    # Fade the polar pattern out near the nipple, where the angular coordinate crowds into a star.
    return out * np.clip(r / np.float32(0.35 * g.a), 0.15, 1.0)


def upsample2(a: F32) -> F32:
    """Bilinear upsampling by 2 with half-pixel centres (separable, numpy only)."""
    p = np.pad(a, 1, mode="edge")
    r = np.empty((a.shape[0] * 2, a.shape[1] + 2), np.float32)
    r[0::2] = 0.75 * p[1:-1] + 0.25 * p[:-2]
    r[1::2] = 0.75 * p[1:-1] + 0.25 * p[2:]
    o = np.empty((a.shape[0] * 2, a.shape[1] * 2), np.float32)
    o[:, 0::2] = 0.75 * r[:, 1:-1] + 0.25 * r[:, :-2]
    o[:, 1::2] = 0.75 * r[:, 1:-1] + 0.25 * r[:, 2:]
    return o


def _scaled(g: Geometry, f: int) -> Geometry:
    pect = None if g.pectoral is None else (g.pectoral[0] / f, g.pectoral[1] / f, g.pectoral[2])
    return replace(
        g,
        shape=(g.shape[0] // f, g.shape[1] // f),
        mm_per_px=g.mm_per_px * f,
        a=g.a / f,
        b_up=g.b_up / f,
        b_low=g.b_low / f,
        yc=g.yc / f,
        pectoral=pect,
    )


def _tissue(g: Geometry, composition: int, rng: np.random.Generator) -> tuple[F32, F32, F32]:
    """Smooth part of the breast (parenchyma, ligaments, thickness fall-off, muscle), the
    distance to the skin (px) and the sine of the contour angle, at the resolution of ``g``."""
    h, w = g.shape
    Y = np.arange(h, dtype=np.float32)[:, None]
    X = np.arange(w, dtype=np.float32)[None, :]
    _, spsi, dist = g.rho(Y, X)
    iso = power_noise(rng, (h, w), 3.0)
    polar = _polar_texture(rng, g, Y, X)
    # Glandular envelope: central and subareolar, sparing the retroglandular fat and the skin.
    u = X / np.float32(g.a)
    vg = (Y - np.float32(g.yc - (0.04 * h if g.view == "MLO" else 0.0))) / np.float32(0.78 * (g.b_up + g.b_low) / 2)
    env = np.clip(1.0 - ((u - np.float32(0.42)) / np.float32(0.55)) ** 2 - vg * vg, 0.0, 1.0) ** np.float32(0.6)
    env *= np.clip((u - np.float32(0.04)) / np.float32(0.16), 0.0, 1.0)
    field = np.float32(0.6) * polar + np.float32(0.5) * iso + np.float32(_COMPOSITION_BIAS[composition])
    gland = env * sigmoid(field / np.float32(0.32))
    ligaments = np.exp(-((polar / np.float32(0.05)) ** 2)) * (1.0 - env) * np.float32(0.05)
    thick = np.clip(dist * np.float32(g.mm_per_px / 10.0), 0.0, 1.0) ** np.float32(0.5)
    tissue = (np.float32(0.3) + np.float32(0.32) * gland + ligaments) * (np.float32(0.5) + np.float32(0.5) * thick)
    if g.pectoral is not None:
        pw, ph, gexp = g.pectoral
        m = (np.maximum(X, 0) / np.float32(pw)) ** np.float32(gexp) + (Y / np.float32(ph)) ** np.float32(gexp)
        edge = np.float32(g.px(1.2) / min(pw, ph))
        muscle = np.clip((1.0 - m) / edge + 0.5, 0.0, 1.0)
        tissue += muscle * (np.float32(0.2) + np.float32(0.1) * np.clip(1.0 - m, 0, 1) + np.float32(0.02) * iso)
    return tissue.astype(np.float32), dist.astype(np.float32), spsi.astype(np.float32)


def render_parenchyma(g: Geometry, composition: int, rng: np.random.Generator) -> tuple[F32, F32, F32]:
    """Render the lesion-free breast. Returns (attenuation image, inside mask 0..1, distance to
    the skin in px, negative outside). Smooth fields are computed at half resolution for images of
    512 px and more and upsampled; fine texture and the skin line are drawn at full resolution."""
    h, w = g.shape
    f = 2 if h >= 512 and h % 2 == 0 and w % 2 == 0 else 1
    tissue, dist, spsi = _tissue(_scaled(g, f) if f > 1 else g, composition, rng)
    if f > 1:
        tissue, spsi = upsample2(tissue), upsample2(spsi)
        dist = upsample2(dist) * np.float32(f)
    inside = np.clip(dist + 0.5, 0.0, 1.0)
    dist_mm = dist * np.float32(g.mm_per_px)
    # Fine texture: drawn at half resolution too (the pixel-level grain is the quantum noise added
    # by the display mapping), which keeps rendering at about 50 ms per 1024-px view.
    fine = upsample2(power_noise(rng, (h // f, w // f), 2.0)) if f > 1 else power_noise(rng, (h, w), 2.0)
    # Skin line (1.5 mm), thickened around contour events.
    skin_mm = np.float32(1.5)
    for ev in g.events:
        if ev.skin_factor != 1.0:
            skin_mm = skin_mm + np.float32(1.5 * (ev.skin_factor - 1.0)) * np.exp(
                -(((spsi - np.float32(np.sin(ev.psi))) / np.float32(np.sin(ev.width))) ** 2)
            )
    skin = np.float32(0.12) * np.exp(-(((dist_mm - skin_mm * 0.5) / (skin_mm * 0.5)) ** 2))
    img = (tissue + np.float32(0.025) * fine + skin) * inside
    return img.astype(np.float32), inside.astype(np.float32), dist
