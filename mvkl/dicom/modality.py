"""Only mammograms in: the modality rule of ingest (issue 18).

The decision, in order (:func:`modality_basis`, then :func:`check_image_looks_like_mammogram`):

1. ``RecognizableVisualFeatures`` (0028,0302) ``YES``: the pixels show a face or another
   recognisable feature; quarantined ``not-mammogram`` whatever the modality (not overridable).
2. **Modality** (0008,0060), where present, decides: ``MG`` is accepted whatever the SOP class
   (CBIS-DDSM ships Secondary Capture files with Modality MG; VinDr-Mammo files have no valid SOP
   class). Any other modality (CT, OT, XC, US, MR, ...) is ``not-mammogram`` unless it is listed in
   ``--allow-modality`` (basis ``allowed``).
3. Without a Modality, the **SOP class** (SOPClassUID, else MediaStorageSOPClassUID): the digital
   mammography classes (For Presentation / For Processing) and the breast classes (Breast
   Tomosynthesis, which is multi-frame and so quarantined ``multi-frame`` anyway, and Breast
   Projection X-Ray For Presentation / For Processing) are accepted; any other storage class in
   the DICOM dictionary (CT, MR, US, VL photographs, ...) is ``not-mammogram``. Secondary Capture,
   CR, DX and unknown or invalid UIDs say nothing.
4. When neither says anything, the **image** decides (basis ``image``, reported in the ingest
   summary): one channel (already required by the reader), a mammography-like size (shorter
   side >= :data:`MIN_SIDE` px) and aspect (longer / shorter side <= :data:`MAX_ASPECT`), and a
   breast-shaped foreground (between :data:`MIN_FG` and :data:`MAX_FG` of the image, lying
   against one side edge, the chest wall, and much less against the other).

Quarantine details quote only the defined terms of the standard (modality codes), never a header
value that could identify anyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
from pydicom.dataset import Dataset

from mvkl.quarantine import QuarantineError, Reason

__all__ = [
    "BREAST_SOP_CLASSES",
    "MAX_ASPECT",
    "MIN_SIDE",
    "NEUTRAL_SOP_CLASSES",
    "check_image_looks_like_mammogram",
    "modality_basis",
    "parse_modalities",
]

#: SOP classes that say "breast image" (digital mammography, breast tomosynthesis, breast projection).
BREAST_SOP_CLASSES: frozenset[str] = frozenset({
    "1.2.840.10008.5.1.4.1.1.1.2",      # Digital Mammography X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.2.1",    # ... - For Processing
    "1.2.840.10008.5.1.4.1.1.13.1.3",   # Breast Tomosynthesis Image Storage (multi-frame)
    "1.2.840.10008.5.1.4.1.1.13.1.4",   # Breast Projection X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.13.1.5",   # ... - For Processing
})
#: SOP classes that can hold a mammogram but do not say so (then the image decides).
NEUTRAL_SOP_CLASSES: frozenset[str] = frozenset({
    "1.2.840.10008.5.1.4.1.1.7",        # Secondary Capture (CBIS-DDSM scanned film)
    "1.2.840.10008.5.1.4.1.1.7.1",      # Multi-frame Single Bit Secondary Capture
    "1.2.840.10008.5.1.4.1.1.7.2",      # Multi-frame Grayscale Byte Secondary Capture
    "1.2.840.10008.5.1.4.1.1.7.3",      # Multi-frame Grayscale Word Secondary Capture
    "1.2.840.10008.5.1.4.1.1.1",        # Computed Radiography
    "1.2.840.10008.5.1.4.1.1.1.1",      # Digital X-Ray - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",    # Digital X-Ray - For Processing
})
MIN_SIDE = 1000
MAX_ASPECT = 2.2
MIN_FG, MAX_FG = 0.05, 0.95
_EDGE = 0.02  # fraction of the width that counts as a side edge
_MODALITY = re.compile(r"^[A-Z0-9]{2,4}$")


def parse_modalities(items: Iterable[str] | None) -> tuple[str, ...]:
    """``["CT,MR", "xc"]`` -> ``("CT", "MR", "XC")`` (sorted, unique).

    Raises:
        InputError: (exit 2) an item that is not a DICOM modality code (2-4 letters or digits).
    """
    from mvkl.errors import InputError

    out: set[str] = set()
    for item in items or ():
        for part in str(item).split(","):
            code = part.strip().upper()
            if not code:
                continue
            if not _MODALITY.match(code):
                raise InputError(f"--allow-modality: {part.strip()!r} is not a DICOM modality code (CT, DX, ...)",
                                 code="usage")
            out.add(code)
    return tuple(sorted(out))


def _text(ds: Dataset, keyword: str) -> str:
    try:
        v = ds.get(keyword, "")
    except Exception:  # an invalid stored value says nothing
        return ""
    if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
        v = "\\".join(str(x) for x in v)
    return re.sub(r"[^A-Za-z0-9.]", "", str(v or "")).upper()


def _sop_class(ds: Dataset) -> str:
    uid = _text(ds, "SOPClassUID")
    if not uid:
        meta = getattr(ds, "file_meta", None)
        uid = _text(meta, "MediaStorageSOPClassUID") if meta is not None else ""
    return uid


def _known_storage_class(uid: str) -> bool:
    from pydicom.uid import UID_dictionary

    entry = UID_dictionary.get(uid)
    return entry is not None and entry[1] == "SOP Class" and "Storage" in entry[0]


def modality_basis(ds: Dataset, allow: Iterable[str] = ()) -> str:
    """What makes this data set a mammogram: ``"modality"`` (Modality MG), ``"allowed"`` (a
    modality in ``allow``), ``"sop-class"`` (a breast SOP class, no Modality) or ``"image"``
    (neither says anything: :func:`check_image_looks_like_mammogram` must decide).

    Raises:
        QuarantineError: NOT_MAMMOGRAM (another modality, a non-breast SOP class, or
            RecognizableVisualFeatures YES).
    """
    if _text(ds, "RecognizableVisualFeatures") == "YES":
        raise QuarantineError(Reason.NOT_MAMMOGRAM, "RecognizableVisualFeatures YES (the pixels may identify "
                                                    "the patient)")
    modality = _text(ds, "Modality")
    if modality:
        if modality == "MG":
            return "modality"
        if modality in set(allow):
            return "allowed"
        shown = modality if _MODALITY.match(modality) else "not a defined term"
        raise QuarantineError(Reason.NOT_MAMMOGRAM, f"Modality {shown} (only MG is ingested; see "
                                                    "--allow-modality)")
    sop = _sop_class(ds)
    if sop in BREAST_SOP_CLASSES:
        return "sop-class"
    if sop and sop not in NEUTRAL_SOP_CLASSES and _known_storage_class(sop):
        from pydicom.uid import UID_dictionary

        name = UID_dictionary[sop][0].replace(" Image Storage", "").replace(" Storage", "")
        raise QuarantineError(Reason.NOT_MAMMOGRAM, f"no Modality; SOP class {name} is not a mammogram")
    return "image"


def check_image_looks_like_mammogram(shape: tuple[int, int], mask: np.ndarray) -> None:
    """The image test of rule 4 (module docstring) on the source shape and the breast mask.

    Raises:
        QuarantineError: NOT_MAMMOGRAM naming the test that failed (sizes and fractions only).
    """
    h, w = int(shape[0]), int(shape[1])
    short, long = min(h, w), max(h, w)
    why = "no Modality and no mammography SOP class, and the image does not look like a mammogram: "
    if short < MIN_SIDE:
        raise QuarantineError(Reason.NOT_MAMMOGRAM, why + f"{h}x{w} px is smaller than a mammogram "
                                                          f"({MIN_SIDE} px on the shorter side)")
    if long / short > MAX_ASPECT:
        raise QuarantineError(Reason.NOT_MAMMOGRAM, why + f"aspect {long / short:.2f} (at most {MAX_ASPECT})")
    m = np.asarray(mask, dtype=bool)
    frac = float(m.mean()) if m.size else 0.0
    if not MIN_FG <= frac <= MAX_FG:
        raise QuarantineError(Reason.NOT_MAMMOGRAM, why + f"foreground covers {frac:.0%} of the image")
    k = max(1, round(m.shape[1] * _EDGE))
    left, right = float(m[:, :k].any(axis=1).mean()), float(m[:, -k:].any(axis=1).mean())
    wall, far = max(left, right), min(left, right)
    if wall < 0.2 or far > 0.5 * wall:
        raise QuarantineError(Reason.NOT_MAMMOGRAM, why + "the foreground does not lie against one side edge "
                                                          "(no chest wall)")
