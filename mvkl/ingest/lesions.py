"""Lesion boxes through the whole-view pixel pipeline: source frame -> stored frame.

The adapters give each image's lesions in the *source* pixel frame (:class:`SourceLesion`,
pixel-edge coordinates, x = column, y = row). The stored image is the source after crop, flip,
square pad and area resize (:mod:`mvkl.dicom.geometry`), so a box maps through the same affine
map :meth:`mvkl.dicom.geometry.Layout.to_stored` (it is linear, so it holds for pixel edges as for
pixel centres); a flip swaps the x edges. A box is first clipped to the breast crop (the stored
image shows nothing else; the square padding is not image); a box wholly in the cropped-away
background is dropped (and counted in a warning).

The boxes are derived at finalize time from the plan (the adapters' records) and the journal's
per-image geometry (crop box, flip), so they are as crash-safe and resumable as the rest of the
journal: nothing about them is kept anywhere else. Store layout: :data:`mvkl.store.schema.LESION_FIELDS`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mvkl.dicom.geometry import layout
from mvkl.dicom.lesionview import DEFAULT_CONTEXT
from mvkl.errors import InputError
from mvkl.ingest.records import LESION_KINDS, SourceLesion

__all__ = ["LesionTable", "parse_views", "stored_box", "union_box"]

#: The whole-view pixel pipeline puts the chest wall on the left (:class:`mvkl.dicom.PixelPolicy`).
CANONICAL_SIDE = "left"


def union_box(lesions: Sequence[SourceLesion]) -> tuple[float, float, float, float]:
    """The smallest box holding every box of ``lesions`` (one lump's lesion on one view)."""
    b = np.array([les.box for les in lesions], dtype=np.float64)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def parse_views(spec: str) -> float | None:
    """``"whole"`` -> None; ``"lesion"`` -> the default context; ``"lesion:C"`` -> C (> 1).

    Raises:
        InputError: anything else (exit 2).
    """
    s = str(spec).strip().lower()
    if s == "whole":
        return None
    kind, _, ctx = s.partition(":")
    try:
        c = float(ctx) if ctx else DEFAULT_CONTEXT
    except ValueError:
        c = math.nan
    if kind != "lesion" or not math.isfinite(c) or c < 1:
        raise InputError("--views must be whole, lesion or lesion:CONTEXT with CONTEXT >= 1 (e.g. lesion:2.5)",
                         code="bad-option")
    return c


def views_attr(context: float | None) -> str:
    """The store's ``views`` attribute: ``"whole"`` or ``"lesion:<context>"``."""
    return "whole" if context is None else f"lesion:{context:g}"


def stored_box(lesion: SourceLesion, crop: Sequence[int], flipped: bool, size: int,
               canonical_side: str = CANONICAL_SIDE) -> tuple[float, float, float, float] | None:
    """``(xmin, ymin, xmax, ymax)`` of ``lesion`` in stored pixels, clipped to the crop
    ``(y0, x0, y1, x1)``; None when nothing of it lies inside the crop."""
    lay = layout(tuple(int(v) for v in crop), bool(flipped), int(size), canonical_side)  # type: ignore[arg-type]
    cy0, cx0, cy1, cx1 = lay.crop_box
    x0, y0 = max(float(lesion.box[0]), cx0), max(float(lesion.box[1]), cy0)
    x1, y1 = min(float(lesion.box[2]), cx1), min(float(lesion.box[3]), cy1)
    if x1 <= x0 or y1 <= y0:
        return None
    ys, xs = lay.to_stored(np.array([y0, y1], dtype=np.float64), np.array([x0, x1], dtype=np.float64))
    bx = np.clip([xs.min(), ys.min(), xs.max(), ys.max()], 0.0, float(size))
    return float(bx[0]), float(bx[1]), float(bx[2]), float(bx[3])


@dataclass
class LesionTable:
    """The rows of the store's ``/lesions`` group, collected lump by lump."""

    image: list[int] = field(default_factory=list)
    lump: list[int] = field(default_factory=list)
    box: list[tuple[float, float, float, float]] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    dropped: int = 0

    def add(self, lesions: Iterable[SourceLesion], image_row: int, lump_row: int, meta: Mapping[str, Any],
            size: int) -> None:
        """Map one stored image's source lesions (``meta``: its journal entry, ``crop``/``flipped``)."""
        for les in lesions:
            b = stored_box(les, meta["crop"], bool(meta["flipped"]), size)
            if b is None:
                self.dropped += 1
                continue
            self.image.append(int(image_row))
            self.lump.append(int(lump_row))
            self.box.append(b)
            self.kind.append(LESION_KINDS.index(les.kind))

    def __len__(self) -> int:
        return len(self.image)

    def arrays(self, existing: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        """The group's datasets (``existing`` rows of an appended-to store first)."""
        new = {"image": np.asarray(self.image, dtype=np.int64), "lump": np.asarray(self.lump, dtype=np.int64),
               "box": np.asarray(self.box, dtype=np.float32).reshape(-1, 4),
               "kind": np.asarray(self.kind, dtype=np.uint8)}
        if existing is None:
            return new
        return {k: np.concatenate([np.asarray(existing[k], dtype=v.dtype).reshape((-1, *v.shape[1:])), v])
                for k, v in new.items()}
