"""Bad files that real archives contain, planted in the synthetic set with ``--hostile``.

Each hostile file replaces a view file of a chosen lump, so that a table row points at it and
ingest meets it: a truncated file, a non-DICOM file with a ``.dcm`` name, DICOM without pixel
data, a colour (RGB) secondary capture, an image with burned-in annotation (name and date drawn
into the pixels, ``BurnedInAnnotation YES``), FOR PROCESSING data without a VOI LUT, a missing
file, and three valid compressed transfer syntaxes that must decode (JPEG 2000 lossless,
JPEG-LS lossless, RLE lossless). ``expected`` is the :class:`mvkl.quarantine.Reason` value ingest
should report, or ``"ok"``. Some lumps keep one good view; two lose both.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mvkl.errors import InputError
from mvkl.quarantine import Reason
from mvkl.synth.cases import CaseSet

__all__ = ["EXPECTED", "PLAN", "choose_hostile", "write_hostile"]

#: kind -> expected ingest outcome (a quarantine reason value, or "ok").
EXPECTED: dict[str, str] = {
    "truncated": Reason.TRUNCATED.value,
    "not-dicom": Reason.NOT_DICOM.value,
    "no-pixel-data": Reason.NO_PIXEL_DATA.value,
    "colour": Reason.NOT_GRAYSCALE.value,
    "burned-in": Reason.BURNED_IN_ANNOTATION.value,
    "for-processing": Reason.FOR_PROCESSING.value,
    "missing-file": Reason.MISSING_FILE.value,
    "jpeg2000-lossless": "ok",
    "jpeg-ls-lossless": "ok",
    "rle-lossless": "ok",
}
#: (lump slot, view, kind): slots 0 and 4 lose both views; the others keep at least one.
PLAN: tuple[tuple[int, str, str], ...] = (
    (0, "CC", "truncated"), (0, "MLO", "not-dicom"),
    (1, "CC", "no-pixel-data"),
    (2, "MLO", "colour"),
    (3, "CC", "burned-in"),
    (4, "CC", "for-processing"), (4, "MLO", "missing-file"),
    (5, "CC", "jpeg2000-lossless"), (5, "MLO", "jpeg-ls-lossless"),
    (6, "MLO", "rle-lossless"),
)
N_SLOTS = 7


def choose_hostile(cases: CaseSet, seed: int) -> dict[tuple[int, str], str]:
    """Pick lumps for :data:`PLAN`: single-lump exams whose breast has exactly one CC and one MLO
    file. Returns ``{(exam index, file name): kind}``.

    Raises:
        InputError: too few such exams (``--hostile`` needs at least about 8 exams).
    """
    cands = [e for e in cases.exams if len(e.lumps) == 1
             and len(e.files_for(e.lumps[0].laterality, "CC")) == 1
             and len(e.files_for(e.lumps[0].laterality, "MLO")) == 1]
    if len(cands) < N_SLOTS:
        raise InputError(f"--hostile needs at least {N_SLOTS} single-lump exams; use --exams {N_SLOTS + 3} or more")
    rng = np.random.default_rng([seed, 0x4057])
    chosen = [cands[int(i)] for i in sorted(rng.choice(len(cands), size=N_SLOTS, replace=False))]
    out: dict[tuple[int, str], str] = {}
    for slot, view, kind in PLAN:
        exam = chosen[slot]
        out[(exam.index, exam.files_for(exam.lumps[0].laterality, view)[0].file)] = kind
    return out


def _save(ds: Any, path: Path) -> None:
    ds.save_as(path, enforce_file_format=True)


def _to8(stored: npt.NDArray[np.uint16], ds: Any) -> npt.NDArray[np.uint8]:
    """Windowed 8-bit display of the stored image (MONOCHROME1 inverted)."""
    c = float(ds.WindowCenter[0] if ds["WindowCenter"].VM > 1 else ds.WindowCenter)
    w = float(ds.WindowWidth[0] if ds["WindowWidth"].VM > 1 else ds.WindowWidth)
    x = np.clip((stored.astype(np.float32) - (c - w / 2)) / w, 0, 1)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        x = 1 - x
    return np.rint(x * 255).astype(np.uint8)


def _burn(arr: npt.NDArray[np.uint16], text: str, value: int) -> npt.NDArray[np.uint16]:
    """Draw ``text`` into the top right corner of the image (outside the breast)."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = arr.shape
    size = max(8, h // 40)
    font = ImageFont.load_default(size=size)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).multiline_text((int(w * 0.55), int(h * 0.03)), text, fill=255, font=font,
                                        align="right", spacing=size // 3)
    out = arr.copy()
    out[np.asarray(mask) > 127] = value
    return out


def write_hostile(kind: str, ds: Any, stored: npt.NDArray[np.uint16], path: Path, burn_text: str) -> None:
    """Write the hostile variant ``kind`` of the good dataset ``ds`` to ``path`` (missing-file: nothing)."""
    from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

    if kind == "missing-file":
        return
    if kind == "truncated":
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        data = buf.getvalue()
        path.write_bytes(data[: int(len(data) * 0.6)])
        return
    if kind == "not-dicom":
        path.write_bytes(b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
                         b"<p>The PACS export service did not answer in time.</p></body></html>\n")
        return
    if kind == "no-pixel-data":
        del ds.PixelData
        _save(ds, path)
        return
    if kind == "colour":
        grey = _to8(stored, ds)
        rgb = np.stack([grey, grey, grey], axis=-1)
        h, w = grey.shape
        rgb[h // 20: h // 20 + max(2, h // 200), w // 2: w - w // 20] = (255, 40, 40)   # a red measurement bar
        for name in ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "VOILUTFunction",
                     "PresentationLUTShape", "PixelIntensityRelationship", "PixelIntensityRelationshipSign",
                     "RescaleIntercept", "RescaleSlope", "RescaleType"):
            if name in ds:
                delattr(ds, name)
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"   # Secondary Capture
        ds.ConversionType = "WSD"
        ds.SamplesPerPixel = 3
        ds.PhotometricInterpretation = "RGB"
        ds.PlanarConfiguration = 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelData = np.ascontiguousarray(rgb).tobytes()
        _save(ds, path)
        return
    if kind == "burned-in":
        top = 0 if ds.PhotometricInterpretation == "MONOCHROME1" else 4095
        ds.PixelData = _burn(stored, burn_text, top).astype("<u2").tobytes()
        ds.BurnedInAnnotation = "YES"
        _save(ds, path)
        return
    if kind == "for-processing":
        for name in ("WindowCenter", "WindowWidth", "WindowCenterWidthExplanation", "VOILUTFunction"):
            if name in ds:
                delattr(ds, name)
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2.1"
        ds.PresentationIntentType = "FOR PROCESSING"
        ds.PixelIntensityRelationship = "LIN"
        raw = stored if ds.PhotometricInterpretation == "MONOCHROME2" else 4095 - stored
        ds.PixelData = np.clip(4095 - raw.astype(np.int32) * 0.9, 0, 4095).astype("<u2").tobytes()
        _save(ds, path)
        return
    syntax = {"jpeg2000-lossless": JPEG2000Lossless, "jpeg-ls-lossless": JPEGLSLossless,
              "rle-lossless": RLELossless}[kind]
    ds.compress(syntax, stored, generate_instance_uid=False)
    _save(ds, path)
