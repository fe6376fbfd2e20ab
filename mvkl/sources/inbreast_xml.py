"""INbreast ``AllXML`` annotations: OsiriX ROI plists -> ROI names and lesions (used by
:mod:`mvkl.sources.inbreast`; spec/dicom.md §3.2).

Each ``AllXML/<File Name>.xml`` is an Apple plist: ``Images[*].ROIs[*]`` with a ``Name``
(``Mass``, ``Calcification``, ``Cluster``, ``Spiculated Region``, ``Distortion``, ``Asymmetry``, ...)
and ``Point_px``, strings ``"(x, y)"`` with x the column and y the row, in the DICOM's pixels.
"""

from __future__ import annotations

import math
import plistlib
import re
from dataclasses import dataclass
from pathlib import Path

from mvkl.ingest.records import SourceLesion

__all__ = ["Roi", "parse_roi_names", "parse_rois", "roi_kind", "roi_lesion"]


@dataclass(frozen=True)
class Roi:
    """One OsiriX ROI: its ``Name`` (stripped) and its ``Point_px`` points ``(x, y)`` (x = column)."""

    name: str
    points: tuple[tuple[float, float], ...]


_POINT = re.compile(r"^\s*\(\s*([-+0-9.eE]+)\s*,\s*([-+0-9.eE]+)\s*(?:,\s*[-+0-9.eE]+\s*)?\)\s*$")


def parse_rois(path: Path) -> list[Roi]:
    """Every ROI of an OsiriX plist (``Images[*].ROIs[*]``: ``Name``, ``Point_px`` strings ``"(x, y)"``).

    Raises:
        ValueError: the file is not a readable plist, or an ROI's points are not ``"(x, y)"``
            numbers (the message names the ROI's position, never a value).
    """
    with open(path, "rb") as fh:
        try:
            doc = plistlib.load(fh)
        except Exception as exc:  # plistlib raises several types for bad input
            raise ValueError(type(exc).__name__) from exc
    images = doc.get("Images") if isinstance(doc, dict) else None
    out: list[Roi] = []
    for i, image in enumerate(images if isinstance(images, list) else []):
        rois = image.get("ROIs") if isinstance(image, dict) else None
        for j, roi in enumerate(rois if isinstance(rois, list) else []):
            if not isinstance(roi, dict):
                continue
            pts = []
            raw = roi.get("Point_px", [])
            for s in raw if isinstance(raw, list) else [raw]:
                m = _POINT.match(str(s))
                x, y = (float(m.group(1)), float(m.group(2))) if m else (math.nan, math.nan)
                if not (math.isfinite(x) and math.isfinite(y)):
                    raise ValueError(f"image {i} ROI {j}: Point_px is not \"(x, y)\"")
                pts.append((x, y))
            out.append(Roi(str(roi.get("Name", "")).strip(), tuple(pts)))
    return out


def parse_roi_names(path: Path) -> set[str]:
    """ROI ``Name`` values of an OsiriX plist, stripped (:func:`parse_rois`).

    Raises:
        ValueError: the file is not a readable plist.
    """
    return {r.name for r in parse_rois(path) if r.name}


def roi_kind(name: str) -> str:
    """The lesion kind of an INbreast ROI name (``Mass``, ``Calcification``, ``Cluster``,
    ``Spiculated Region``, ``Distortion``, ``Asymmetry``); anything else is ``other``."""
    n = name.lower()
    if "calc" in n or "cluster" in n:
        return "calcification"
    if "mass" in n or "spicul" in n:
        return "mass"
    if "distortion" in n:
        return "distortion"
    if "asym" in n or "assym" in n:
        return "asymmetry"
    return "other"


def roi_lesion(roi: Roi) -> SourceLesion | None:
    """The ROI as a lesion in the source pixel-edge frame: ``Point_px`` are pixel indices (the pixel
    ``int(x), int(y)`` holds a point, as the public INbreast mask readers rasterise them), so the
    box spans the pixels the outline touches, ``[floor(min x), floor(max x) + 1)``; the polygon
    keeps the points at their pixel centres. None when the ROI has no point."""
    if not roi.points:
        return None
    xs = [p[0] for p in roi.points]
    ys = [p[1] for p in roi.points]
    x0, y0 = max(0.0, math.floor(min(xs))), max(0.0, math.floor(min(ys)))
    x1, y1 = math.floor(max(xs)) + 1.0, math.floor(max(ys)) + 1.0
    if x1 <= x0 or y1 <= y0:  # wholly at negative coordinates
        return None
    poly = tuple((x + 0.5, y + 0.5) for x, y in roi.points) if len(roi.points) > 2 else ()
    return SourceLesion(roi_kind(roi.name), (x0, y0, x1, y1), poly)
