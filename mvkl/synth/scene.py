"""One exam's four (or five) views: breast geometry, lumps projected into CC and MLO, rendering.

A lump's 3-D position (clock face, depth, radial distance) maps to both views of its breast
(:meth:`mvkl.synth.phantom.Geometry.project`): the column is the distance from the chest wall in
both, the row is the lateral offset on CC and the superolateral offset on MLO. Shape harmonics
and calcification layouts are seeded per lump, projection jitter per lump and view, so the same
lump appears at consistent but different projections.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mvkl.synth.calcs import render_calcs
from mvkl.synth.cases import Exam, Lump, ViewImage
from mvkl.synth.lesions import (
    LesionSpec,
    has,
    option_of,
    render_lymph_node,
    render_mass,
    render_normal_anatomy,
    render_signs,
)
from mvkl.synth.phantom import BreastSide, ContourEvent, Geometry, make_geometry, render_parenchyma

__all__ = ["LumpBox", "RenderedView", "image_shape", "mm_per_px", "render_view"]

#: Detector field of view along the long side (mm): a 24 cm detector, about 2,400-4,100 pixels
#: of 0.07-0.1 mm. The image is that field resampled to ``image_size`` pixels.
FIELD_MM = 240.0


def image_shape(image_size: int) -> tuple[int, int]:
    """(rows, columns): ``image_size`` on the long side, 0.8125 of it across (1024 x 832), even."""
    return image_size, max(16, round(image_size * 0.8125 / 2) * 2)


def mm_per_px(image_size: int, pitch_mm: float) -> float:
    """Pixel spacing: the detector pitch times the down-sampling from the native detector size."""
    native = round(FIELD_MM / pitch_mm)
    return pitch_mm * native / image_size


@dataclass(frozen=True)
class LumpBox:
    """Where a lump is on a written image (final orientation, pixels)."""

    lump: int
    cy: float
    cx: float
    radius: float


@dataclass
class RenderedView:
    image: npt.NDArray[np.float32]  # attenuation, final orientation (R views mirrored)
    boxes: list[LumpBox]


def _spec(lump: Lump, g: Geometry, image: ViewImage) -> LesionSpec:
    th = lump.clock * np.pi / 6.0
    sup = lump.radial * np.cos(th)
    lat = lump.radial * np.sin(th) * (1.0 if lump.laterality == "L" else -1.0)
    vrng = np.random.default_rng([lump.seed, 1 if image.view == "CC" else 2, image.repeat])
    scale = float(vrng.uniform(0.9, 1.1))
    a = lump.size_mm[0] / 2 / g.mm_per_px * scale
    b = lump.size_mm[1] / 2 / g.mm_per_px * scale
    cy, cx = g.project(lump.depth_frac, sup, lat, max(a, b))
    angle = lump.angle + (0.0 if image.view == "CC" else float(vrng.normal(0, 0.4)))
    return LesionSpec(cy, cx, a, b, angle, lump.manifest, lump.kind, lump.seed, int(vrng.integers(2**31)),
                      grade=lump.clinical.z)


def render_view(exam: Exam, image: ViewImage, image_size: int) -> RenderedView:
    """Render one image of ``exam`` (float attenuation, before display mapping)."""
    shape = image_shape(image_size)
    spacing = mm_per_px(image_size, exam.vendor.pitch_mm)
    side = BreastSide.draw(np.random.default_rng([exam.seed, 31, image.laterality == "L"]), exam.composition)
    grng = np.random.default_rng([exam.seed, 32, image.laterality == "L", image.view == "CC", image.repeat])
    g = make_geometry(side, image.view, shape, spacing, grng)
    lumps = [lump for lump in exam.lumps if lump.laterality == image.laterality]
    specs = [_spec(lump, g, image) for lump in lumps]
    skin_points: list[tuple[float, float] | None] = []
    for spec in specs:
        if has(spec.manifest, "misc.skin_thickening_retraction"):
            psi = g.psi_of(spec.cy, spec.cx)
            g.events.append(
                ContourEvent(
                    psi,
                    float(grng.uniform(0.1, 0.18)),
                    float(grng.uniform(0.015, 0.035)),
                    float(grng.uniform(2.5, 3.5)),
                )
            )
            skin_points.append(g.contour_point(psi))
        else:
            skin_points.append(None)
        if has(spec.manifest, "misc.nipple_retraction"):
            g.nipple_retracted = True
    trng = np.random.default_rng([exam.seed, 33, image.instance])
    img, inside, _ = render_parenchyma(g, exam.composition, trng)
    render_normal_anatomy(img, g, trng)
    for spec, skin in zip(specs, skin_points, strict=True):
        render_signs(img, g, spec, skin)
        if "mass" in spec.kind:
            render_mass(img, g, spec)
        if "calc" in spec.kind:
            extent = 2 * spec.radius
            if "mass" in spec.kind:  # calcifications in and around the mass: how far depends on the distribution
                spread = {"calc_distribution.scattered": (2.0, 3.0), "calc_distribution.linear_segmental": (1.3, 2.0)}
                lo, hi = spread.get(option_of(spec.manifest, "calc_distribution") or "", (0.7, 1.1))
                extent *= float(np.random.default_rng([spec.seed, 23]).uniform(lo, hi))
            render_calcs(img, g, spec, extent)
        if has(spec.manifest, "misc.abnormal_lymph_node") and (image.view == "MLO" or trng.random() < 0.35):
            render_lymph_node(img, g, np.random.default_rng([spec.seed, 24, image.view == "CC"]), abnormal=True)
    img *= inside
    boxes = [LumpBox(lump.index, s.cy, s.cx, s.radius) for lump, s in zip(lumps, specs, strict=True)]
    if image.laterality == "R":
        img = img[:, ::-1]
        boxes = [LumpBox(b.lump, b.cy, shape[1] - 1 - b.cx, b.radius) for b in boxes]
    return RenderedView(np.ascontiguousarray(img, dtype=np.float32), boxes)
