"""Lesion views: a square crop centred on a lesion, at source resolution (issue 14).

The square has side ``L = max(context * max(box width, box height), min_mm / spacing)`` source
pixels (``spacing`` the smaller of the row/column PixelSpacing, else ImagerPixelSpacing; without a
spacing the mm floor is not applied), centred on the box centre. It is cut from the display image
(the same modality/VOI LUT and MONOCHROME1 handling as whole views), mirrored to the canonical side
like whole views, padded with background (0) where it runs past the image edge, and area-resized
to ``size`` by :func:`mvkl.dicom.geometry.render`. No breast mask is applied (the crop is local).

The stored ``crop_box`` of a lesion view is the *unclipped* square ``(y0, x0, y0 + L, x0 + L)`` in
source pixels (it may reach past the image), so the source->stored map of
:meth:`mvkl.dicom.geometry.Layout.to_stored` holds with ``pad_top = col_off = 0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mvkl.dicom import geometry as G

__all__ = ["DEFAULT_CONTEXT", "DEFAULT_MIN_MM", "LesionCrop", "lesion_square", "render_square"]

DEFAULT_CONTEXT = 2.5
DEFAULT_MIN_MM = 10.0


@dataclass(frozen=True)
class LesionCrop:
    """Where to cut a lesion view: the lesion's source box ``(xmin, ymin, xmax, ymax)`` (pixel
    edges), the context factor and the minimum side in mm."""

    box: tuple[float, float, float, float]
    context: float = DEFAULT_CONTEXT
    min_mm: float = DEFAULT_MIN_MM


def lesion_square(crop: LesionCrop, spacing: tuple[float, float] | None) -> tuple[int, int, int, int]:
    """``(y0, x0, y1, x1)`` of the square (end exclusive, may lie partly outside the image)."""
    x0, y0, x1, y1 = (float(v) for v in crop.box)
    side = crop.context * max(x1 - x0, y1 - y0)
    sp = [float(s) for s in (spacing or ()) if s is not None and math.isfinite(float(s)) and float(s) > 0]
    if sp and crop.min_mm > 0:
        side = max(side, crop.min_mm / min(sp))
    n = max(1, math.ceil(side - 1e-9))
    top = math.floor((y0 + y1) / 2 - n / 2 + 0.5)
    left = math.floor((x0 + x1) / 2 - n / 2 + 0.5)
    return top, left, top + n, left + n


def render_square(display: Callable[[np.ndarray], np.ndarray], arr: np.ndarray, square: tuple[int, int, int, int],
                  flipped: bool, size: int) -> tuple[np.ndarray, G.Layout]:
    """The ``(size, size)`` float image of ``square`` (background where it leaves ``arr``), mirrored
    when ``flipped``, and the layout that maps source points into it (chest wall canonical left)."""
    sy0, sx0, sy1, sx1 = square
    h, w = arr.shape
    cy0, cx0, cy1, cx1 = max(0, sy0), max(0, sx0), min(h, sy1), min(w, sx1)
    side = sy1 - sy0
    if cy1 <= cy0 or cx1 <= cx0:
        return np.zeros((size, size), dtype=np.float32), G.Layout(square, flipped, side, 0, 0, size)
    col_off = (sx1 - cx1) if flipped else (cx0 - sx0)
    clipped = G.Layout((cy0, cx0, cy1, cx1), flipped, side, cy0 - sy0, col_off, size)
    return G.render(display, arr, clipped, None, 1), G.Layout(square, flipped, side, 0, 0, size)
