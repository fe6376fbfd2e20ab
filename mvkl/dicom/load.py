"""``load_image``: one DICOM file -> a de-identified, display-ready, square stored image.

read + validate (:mod:`mvkl.dicom.read`) -> the modality rule (:mod:`mvkl.dicom.modality`: only
mammograms) -> policy checks (burned-in, FOR PROCESSING) ->
allow-listed header (:mod:`mvkl.dicom.header`) -> decode -> display LUT
(:mod:`mvkl.dicom.pixels`) -> mask, side, crop, pad, resize (:mod:`mvkl.dicom.geometry`) ->
uint8/uint16. Bad files raise :class:`~mvkl.quarantine.QuarantineError`; nothing else escapes
for a bad file (an unexpected error in a file is reported as ``undecodable``).

Speed (the issue target is <= ~65 ms per 3328x4096 12-bit image on one core): the pixel data of
uncompressed files is used in place, the display chain is one 64k-entry table applied with
``np.take`` to the breast crop only, the mask is computed on a strided copy, and the downsample is
an integer block sum (``np.add.reduceat``) followed by a small box resize. :func:`bench_load`
measures it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mvkl.dicom import geometry as G
from mvkl.dicom.header import SafeHeader, collect_identifiers, safe_header
from mvkl.dicom.lesionview import LesionCrop, lesion_square, render_square
from mvkl.dicom.modality import check_image_looks_like_mammogram, modality_basis
from mvkl.dicom.pixels import build_display_map
from mvkl.dicom.read import DEFAULT_MAX_PIXELS, decode_pixels, element_value, read_dataset
from mvkl.errors import InputError
from mvkl.quarantine import QuarantineError, Reason

__all__ = ["PixelPolicy", "ProcessedImage", "bench_load", "load_image"]


@dataclass(frozen=True)
class PixelPolicy:
    """How :func:`load_image` treats pixels.

    Attributes:
        image_size: side S of the stored square image.
        pixel_dtype: ``"uint8"`` or ``"uint16"`` (full 0..65535 range).
        allow_burned_in: keep images with BurnedInAnnotation YES (default: quarantine).
        allow_for_processing: keep FOR PROCESSING images, displayed with the robust percentile
            window (default: quarantine; raw detector data needs vendor processing).
        voi_index: which VOI LUT / window pair when several (clamped to the last one).
        crop: crop to the breast and zero the off-breast pixels; False keeps the whole image
            (still mirrored to the canonical side, padded and resized).
        canonical_side: ``"left"`` (default) or ``"right"``: where the chest wall ends up.
        mammograms_only: apply the modality rule of :mod:`mvkl.dicom.modality` (default; False
            reads any single-frame grayscale image, e.g. a library user's own test files).
        allow_modalities: modality codes accepted besides MG (``--allow-modality``).
        max_pixels: limit of the declared frame size, rows x columns x frames (``too-large``
            above it, checked before decoding; ``--max-megapixels``).
    """

    image_size: int = 256
    pixel_dtype: str = "uint8"
    allow_burned_in: bool = False
    allow_for_processing: bool = False
    voi_index: int = 0
    crop: bool = True
    canonical_side: str = "left"
    mammograms_only: bool = True
    allow_modalities: tuple[str, ...] = ()
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if not isinstance(self.image_size, int) or not 8 <= self.image_size <= 8192:
            raise InputError(f"image size must be an integer in 8..8192, got {self.image_size!r}", code="bad-option")
        if self.pixel_dtype not in ("uint8", "uint16"):
            raise InputError(f"pixel dtype must be uint8 or uint16, got {self.pixel_dtype!r}", code="bad-option")
        if self.canonical_side not in ("left", "right"):
            raise InputError(f"canonical side must be left or right, got {self.canonical_side!r}",
                             code="bad-option")
        if not isinstance(self.voi_index, int) or self.voi_index < 0:
            raise InputError(f"VOI index must be a non-negative integer, got {self.voi_index!r}", code="bad-option")


@dataclass
class ProcessedImage:
    """One stored image and what is needed to map source coordinates into it.

    Attributes:
        pixels: (S, S) uint8/uint16, MONOCHROME2 (bright = dense), chest wall on the canonical side.
        header: the allow-listed :class:`SafeHeader`.
        flipped: mirrored left-right to put the chest wall on the canonical side.
        source_shape: (rows, columns) of the source image.
        crop_box: (y0, x0, y1, x1) of the crop in source pixels (end exclusive).
        scale: source pixels per stored pixel.
        identifiers: identifying strings of this file's header; ONLY for scrubbing reports, never
            stored or printed (hidden from ``repr``).
        canonical_side: the side the chest wall is on.
        display: how intensities were mapped (e.g. ``"rescale+window-linear+inverse"``).
        source_uid: the file's SOP Instance UID, only to recognise the same source image on
            ``--append`` (the pipeline stores a keyed pseudonym of it; hidden from ``repr``).
        modality_basis: what made it a mammogram (:func:`mvkl.dicom.modality.modality_basis`:
            ``modality``, ``allowed``, ``sop-class`` or ``image``; ``""`` when not checked).
    """

    pixels: np.ndarray = field(repr=False)
    header: SafeHeader
    flipped: bool
    source_shape: tuple[int, int]
    crop_box: tuple[int, int, int, int]
    scale: float
    identifiers: list[str] = field(repr=False, default_factory=list)
    canonical_side: str = "left"
    display: str = ""
    modality_basis: str = ""
    source_uid: str = field(repr=False, default="")

    def source_to_stored(self, y: Any, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Map source pixel-centre coordinates (index + 0.5) to stored-image coordinates."""
        lay = G.layout(self.crop_box, self.flipped, int(self.pixels.shape[0]), self.canonical_side)
        return lay.to_stored(np.asarray(y), np.asarray(x))


def _quantise(img: np.ndarray, dtype: str) -> np.ndarray:
    top = 255.0 if dtype == "uint8" else 65535.0
    return np.rint(np.clip(img, 0.0, 1.0) * top).astype(dtype)


def _process(path: str | os.PathLike[str], policy: PixelPolicy, lesion: LesionCrop | None = None) -> ProcessedImage:
    ds = read_dataset(path, policy.max_pixels)
    basis = modality_basis(ds, policy.allow_modalities) if policy.mammograms_only else ""
    header = safe_header(ds)
    if header.burned_in == "YES" and not policy.allow_burned_in:
        raise QuarantineError(Reason.BURNED_IN_ANNOTATION, "BurnedInAnnotation YES")
    for_processing = header.presentation_intent == "FOR PROCESSING"
    if for_processing and not policy.allow_for_processing:
        raise QuarantineError(Reason.FOR_PROCESSING, "PresentationIntentType FOR PROCESSING")
    identifiers = collect_identifiers(ds)
    source_uid = str(element_value(ds, "SOPInstanceUID", "") or "").strip()
    raw = decode_pixels(ds)
    arr = raw.array
    dmap = build_display_map(ds, raw, voi_index=policy.voi_index, percentile=for_processing)
    del ds
    h, w = arr.shape
    stride = G.mask_stride((h, w))
    small = dmap(arr[::stride, ::stride])
    mask = G.breast_mask(small)
    if basis == "image":
        check_image_looks_like_mammogram((h, w), mask)
    left = G.chest_wall_left(mask)
    flipped = left != (policy.canonical_side == "left")
    if lesion is not None:  # a lesion view (mvkl.dicom.lesionview): a square around the lesion
        box = lesion_square(lesion, header.pixel_spacing)
        img, lay = render_square(dmap, arr, box, flipped, policy.image_size)
    elif policy.crop:
        r0, c0, r1, c1 = G.bounding_box(mask)
        box = (r0 * stride, c0 * stride, min(h, r1 * stride), min(w, c1 * stride))
    else:
        box = (0, 0, h, w)
    if lesion is None:
        lay = G.layout(box, flipped, policy.image_size, policy.canonical_side)
        img = G.render(dmap, arr, lay, mask if policy.crop else None, stride)
    return ProcessedImage(
        pixels=_quantise(img, policy.pixel_dtype),
        header=header,
        flipped=flipped,
        source_shape=(h, w),
        crop_box=box,
        scale=lay.scale,
        identifiers=identifiers,
        canonical_side=policy.canonical_side,
        display=dmap.method,
        modality_basis=basis,
        source_uid=source_uid,
    )


def load_image(path: str | os.PathLike[str], policy: PixelPolicy = PixelPolicy(),
               lesion: LesionCrop | None = None) -> ProcessedImage:
    """Read, validate, de-identify and render one DICOM image (module docstring).

    ``lesion`` (:class:`mvkl.dicom.lesionview.LesionCrop`) renders a lesion view instead of the
    whole view: a square around the lesion at source resolution (that module's docstring).

    Raises :class:`~mvkl.quarantine.QuarantineError` for every bad file; its ``detail`` never
    holds identifiers or paths. Unexpected failures inside a file become ``undecodable``.
    """
    try:
        return _process(path, policy, lesion)
    except QuarantineError:
        raise
    except MemoryError:
        raise QuarantineError(Reason.UNDECODABLE, "out of memory while processing the image") from None
    except Exception as e:  # never let one bad file crash the caller
        raise QuarantineError(Reason.UNDECODABLE, f"unexpected {type(e).__name__} while processing") from None


def bench_load(path: str | os.PathLike[str], n: int = 10, policy: PixelPolicy = PixelPolicy(),
               warmup: int = 1) -> dict[str, Any]:
    """Time :func:`load_image` on one file ``n`` times (after ``warmup`` runs): ms per image
    (median, min, max) and images per second at the median. The path is not reported."""
    for _ in range(warmup):
        load_image(path, policy)
    times = []
    for _ in range(max(1, n)):
        t0 = time.perf_counter()
        out = load_image(path, policy)
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    return {
        "source_shape": list(out.source_shape),
        "image_size": policy.image_size,
        "pixel_dtype": policy.pixel_dtype,
        "transfer_syntax": out.header.transfer_syntax,
        "n": len(times),
        "ms_median": 1e3 * med,
        "ms_min": 1e3 * times[0],
        "ms_max": 1e3 * times[-1],
        "images_per_s": 1.0 / med if med > 0 else float("inf"),
    }
