"""CBIS-DDSM ROI masks -> lesion boxes (used by :mod:`mvkl.sources.cbis_ddsm`).

Each case-description row names two files of its abnormality, ``cropped image file path`` and
``ROI mask file path`` (``<case>_<abnormality id>/<StudyUID>/<SeriesUID>/00000x.dcm``; some end
with a newline, and which of ``000000``/``000001`` is the crop and which the mask is inconsistent
in the release; NBIA downloads rename the folders). So neither column is trusted: every DICOM
file of the abnormality's folder (``<case>_<abnormality id>``) and the two literal paths are
candidates, and the mask is told apart by its header, read without pixels: a mask has the full
mammogram's size (Rows x Columns; the crop is smaller), preferably with ``SeriesDescription``
``ROI mask images``. Its box is the bounding box of its non-zero pixels, in the full mammogram's
pixel frame (pixel-edge coordinates).

Problems are returned as reasons (the adapter turns them into warnings naming the table and
row): no mask of the full image's size (``wrong size``), an unreadable file, an empty mask.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.ingest.records import SourceLesion

__all__ = ["MASK_DESCRIPTION", "MaskFinder", "attach_boxes", "clean_path"]

MASK_DESCRIPTION = "roi mask images"
CROP_DESCRIPTION = "cropped images"
MAX_ROW_WARNINGS = 20  # rows named one by one; the rest are counted


def clean_path(value: object) -> list[str]:
    """A CSV path cell -> its components (surrounding whitespace and the trailing newline of the
    release removed, ``\\`` read as ``/``); ``[]`` when empty."""
    text = "" if value is None else str(value).strip()
    return [p.strip() for p in text.replace("\\", "/").split("/") if p.strip()]


class MaskFinder:
    """Finds and reads the ROI mask of a CSV row (module docstring).

    Args:
        roots: the folders the CSV paths are relative to (``SOURCE/CBIS-DDSM``, ``SOURCE``).
    """

    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = list(roots)
        self._headers: dict[Path, tuple[int, int, str]] = {}
        self.found = 0

    def header(self, p: Path) -> tuple[int, int, str]:
        """``(Rows, Columns, series description lower-case)``; ``(0, 0, "")`` when unreadable."""
        if p not in self._headers:
            try:
                import pydicom

                ds = pydicom.dcmread(p, stop_before_pixels=True, force=True,
                                     specific_tags=["Rows", "Columns", "SeriesDescription"])
                self._headers[p] = (int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0),
                                    str(ds.get("SeriesDescription", "")).strip().lower())
            except Exception:  # an unreadable candidate is simply not a match
                self._headers[p] = (0, 0, "")
        return self._headers[p]

    def candidates(self, cells: Sequence[object]) -> list[Path]:
        """The literal paths of ``cells`` (crop and mask columns) and every DICOM file under their
        abnormality folders, each once, in a fixed order."""
        out: list[Path] = []
        for parts in filter(None, map(clean_path, cells)):
            if any(p == ".." for p in parts):
                continue
            for root in self.roots:
                lit = root.joinpath(*parts)
                if lit.is_file():
                    out.append(lit)
                folder = root / parts[0]
                if folder.is_dir():
                    out += sorted(f for f in folder.rglob("*") if f.is_file() and f.suffix.lower() in (".dcm",
                                                                                                       ".dicom"))
        seen: set[Path] = set()
        return [p for p in out if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]

    def lesion(self, full: Path, cells: Sequence[object], kind: str) -> tuple[SourceLesion | None, str]:
        """The row's lesion on the full mammogram ``full``, or None and why (no identifier in it)."""
        rows, cols, _ = self.header(full)
        if rows <= 0 or cols <= 0:
            return None, "its full mammogram's header has no image size"
        cands = [p for p in self.candidates(cells) if p != full]
        if not cands:
            return None, "no ROI mask file found"
        same = [p for p in cands if self.header(p)[:2] == (rows, cols)]
        if not same and any(self.header(p)[:2] == (0, 0) for p in cands):
            return None, "ROI mask unreadable (not a DICOM image)"
        if not same:
            described = [p for p in cands if self.header(p)[2] == MASK_DESCRIPTION]
            what = f"{self.header(described[0])[0]}x{self.header(described[0])[1]}" if described else "none"
            return None, f"ROI mask of the wrong size ({what}; the image is {rows}x{cols})"
        same.sort(key=lambda p: (self.header(p)[2] != MASK_DESCRIPTION, self.header(p)[2] == CROP_DESCRIPTION))
        try:
            import pydicom

            arr = np.asarray(pydicom.dcmread(same[0], force=True).pixel_array)
        except Exception as exc:  # pydicom raises many types for a bad file
            return None, f"ROI mask unreadable ({type(exc).__name__})"
        if arr.ndim != 2 or arr.shape != (rows, cols):
            return None, f"ROI mask of the wrong size ({'x'.join(map(str, arr.shape))}; the image is {rows}x{cols})"
        ys, xs = np.nonzero(arr > (arr.max() / 2 if arr.max() > 0 else 0))
        if ys.size == 0:
            return None, "ROI mask is empty"
        self.found += 1
        return SourceLesion(kind, (float(xs.min()), float(ys.min()), float(xs.max()) + 1.0,
                                   float(ys.max()) + 1.0)), ""


def attach_boxes(images: Iterable[Any], roots: Sequence[Path], warnings: list[str]) -> None:
    """Read every row's ROI mask into its image's lesions (``img.ref`` gets them).

    ``images`` are the CBIS adapter's per-image groups: ``ref`` (an
    :class:`~mvkl.ingest.records.ImageRef` of the full mammogram) and ``masks``, a list of
    ``(RowRef, (crop cell, ROI cell), kind)``. A row without a usable mask is a warning naming its
    table and row (the first :data:`MAX_ROW_WARNINGS`, then a count); an image whose file is
    missing is skipped (the pipeline quarantines it).
    """
    finder = MaskFinder(roots)
    failed = 0
    for img in images:
        if img.ref is None or not img.ref.path.is_file():
            continue
        got = []
        for row, cells, kind in img.masks:
            les, why = finder.lesion(img.ref.path, cells, kind)
            if les is None:
                failed += 1
                if failed <= MAX_ROW_WARNINGS:
                    warnings.append(f"{row}: {why}; no lesion box for this abnormality")
            else:
                got.append(les)
        img.ref = replace(img.ref, lesions=tuple(got))
    if failed > MAX_ROW_WARNINGS:
        warnings.append(f"... and {failed - MAX_ROW_WARNINGS} more row(s) without a usable ROI mask "
                        f"({failed} in all): no lesion box for them")
