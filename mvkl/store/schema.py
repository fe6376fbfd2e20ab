"""The HDF5 store contract between ingest and everything else (README "Store schema").

One file holds a data set after de-identification and downsampling. The unit of a row is the
*lump* (MVKL: 2,764 lumps in 2,671 exams); a lump points at its CC and MLO images (-1 when
missing). Images are stored once and may be shared by several lumps of one breast.

Format version :data:`FORMAT_VERSION` (root attribute ``mvkl_format``). Layout::

    /                       attrs: mvkl_format, mvkl_version, image_size, pixel_dtype,
                                   manifest_keys (JSON), view_codes, laterality_codes,
                                   split_names, label_names (JSON), deid (JSON),
                                   key_fingerprint, sources (JSON), split_policy (JSON),
                                   extra (JSON)
    /images/pixels          (N_img, S, S) uint8|uint16, one chunk per image, chest wall on the left
    /images/image_id        (N_img,) S16   keyed pseudonym
    /images/patient_id      (N_img,) S16   keyed pseudonym of the patient
    /images/view            (N_img,) uint8 index into view_codes (CC, MLO, ML, LM, XCCL, XCCM, other)
    /images/laterality      (N_img,) uint8 index into laterality_codes (L, R, U)
    /images/flipped         (N_img,) uint8 1 when mirrored so that the chest wall is on the left
    /images/pixel_spacing   (N_img, 2) float32 source (row, col) spacing in mm, NaN when unknown
    /images/source_shape    (N_img, 2) int32 source (rows, cols)
    /images/crop_box        (N_img, 4) int32 (y0, x0, y1, x1) of the breast crop in source pixels
    /images/scale           (N_img,) float32 source pixels per stored pixel
    /images/split           (N_img,) int8  split of the image's patient (derived from lumps)
    /images/label           (N_img,) int8  1 if any lump on the image is malignant, 0 if all
                                           are benign, -1 unknown (derived from lumps)
    /lumps/lump_id          (N,) S16   keyed pseudonym
    /lumps/patient_id       (N,) S16   keyed pseudonym
    /lumps/exam_id          (N,) S16   keyed pseudonym
    /lumps/cc, /lumps/mlo   (N,) int64 image row or -1
    /lumps/laterality       (N,) uint8
    /lumps/label            (N,) int8  1 malignant, 0 benign, -1 unknown
    /lumps/birads           (N,) S2    "0".."6", "4A", "4B", "4C"; "" unknown
    /lumps/density          (N,) int8  breast density 1-4 (ACR a-d), -1 unknown
    /lumps/age_bucket       (N,) int16 lower bound of a 5-year age bucket, -1 unknown
    /lumps/report           (N,) variable-length UTF-8, scrubbed; "" when none
    /lumps/manifest         (N, 35) uint8 0/1, 0 where unknown
    /lumps/manifest_known   (N, 35) uint8 1 where the dimension is known
    /lumps/split            (N,) uint8 index into split_names (train, val, test)
    /lumps/source           (N,) uint16 index into the ``sources`` attribute

Coordinates: a source pixel centre (y, x) (index + 0.5) maps into the stored frame as
``((y - y0 + pad_top) / scale, x_or / scale)`` with ``(y0, x0, y1, x1) = crop_box``,
``h = y1 - y0``, ``w = x1 - x0``, ``L = max(h, w)``, ``pad_top = (L - h) // 2`` and
``x_or = x - x0`` (or ``x1 - x`` when ``flipped``), so annotation boxes and masks can be mapped
from the store alone (``mvkl.dicom.ProcessedImage.source_to_stored`` implements it).

The store holds no direct identifier, no date, no path of the source machine and not the
pseudonym key (only its fingerprint).
"""

from __future__ import annotations

FORMAT_VERSION = 1

VIEW_CODES: tuple[str, ...] = ("CC", "MLO", "ML", "LM", "XCCL", "XCCM", "other")
LATERALITY_CODES: tuple[str, ...] = ("L", "R", "U")
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
LABEL_NAMES: dict[int, str] = {1: "malignant", 0: "benign", -1: "unknown"}
BIRADS_VALUES: tuple[str, ...] = ("0", "1", "2", "3", "4", "4A", "4B", "4C", "5", "6")
PSEUDONYM_BYTES = 16  # hex characters of the HMAC kept as id

LUMP_FIELDS: dict[str, tuple[str, tuple[int, ...]]] = {
    # name: (numpy dtype string or "str" for variable-length UTF-8, trailing shape)
    "lump_id": ("S16", ()),
    "patient_id": ("S16", ()),
    "exam_id": ("S16", ()),
    "cc": ("int64", ()),
    "mlo": ("int64", ()),
    "laterality": ("uint8", ()),
    "label": ("int8", ()),
    "birads": ("S2", ()),
    "density": ("int8", ()),
    "age_bucket": ("int16", ()),
    "report": ("str", ()),
    "manifest": ("uint8", (35,)),
    "manifest_known": ("uint8", (35,)),
    "split": ("uint8", ()),
    "source": ("uint16", ()),
}

IMAGE_FIELDS: dict[str, tuple[str, tuple[int, ...]]] = {
    "image_id": ("S16", ()),
    "patient_id": ("S16", ()),
    "view": ("uint8", ()),
    "laterality": ("uint8", ()),
    "flipped": ("uint8", ()),
    "pixel_spacing": ("float32", (2,)),
    "source_shape": ("int32", (2,)),
    "crop_box": ("int32", (4,)),
    "scale": ("float32", ()),
    "split": ("int8", ()),
    "label": ("int8", ()),
}

ROOT_JSON_ATTRS = ("manifest_keys", "view_codes", "laterality_codes", "split_names", "label_names",
                   "deid", "sources", "split_policy", "extra", "lesion_kinds")

#: The optional ``/lesions`` group: one row per lesion box on a stored image. ``image`` is the
#: stored image row, ``lump`` the stored lump row (-1 unknown), ``box`` = xmin, ymin, xmax, ymax
#: in stored pixels (pixel-edge coordinates), ``kind`` an index into the root attribute
#: ``lesion_kinds``. A store without the group knows no lesions. Root attribute ``views`` says
#: what the images are: ``"whole"`` (whole views) or ``"lesion:<context>"`` (lesion-centred crops).
LESION_FIELDS: dict[str, tuple[str, tuple[int, ...]]] = {
    "image": ("int64", ()),
    "lump": ("int64", ()),
    "box": ("float32", (4,)),
    "kind": ("uint8", ()),
}


def split_index(name: str) -> int:
    """``"train"`` -> 0, ``"val"``/``"valid"``/``"validation"`` -> 1, ``"test"`` -> 2."""
    n = name.strip().lower()
    if n in ("valid", "validation", "dev"):
        n = "val"
    if n not in SPLIT_NAMES:
        raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLIT_NAMES)}")
    return SPLIT_NAMES.index(n)
