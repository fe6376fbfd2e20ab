"""Open, validate and decode one DICOM file; every failure becomes a :class:`QuarantineError`.

spec/dicom.md §4.4 (ingest robustness set). The rules:

* ``dcmread`` **without** ``force`` first. A file without preamble/meta is retried with
  ``force=True``, but a forced parse only counts as DICOM when it produced at least
  :data:`MIN_KNOWN_ELEMENTS` public dictionary elements (``zipMR.gz`` "reads" as one unknown
  element); it must then pass the same required-tag check as any other file, which includes a
  Transfer Syntax UID, so a meta-less file with pixel data is ``missing-attribute``.
* A valid SOP Class UID is **not** required (VinDr-Mammo has none) and hex "UIDs" are tolerated.
* Required for an image: PixelData, Rows, Columns, BitsAllocated, BitsStored, PixelRepresentation,
  PhotometricInterpretation, SamplesPerPixel == 1 and a TransferSyntaxUID.
* Multi-frame images (NumberOfFrames > 1) are quarantined (policy: a tomosynthesis or cine series
  is not a mammogram); a NumberOfFrames that is not an integer (``badVR.dcm``) is ``undecodable``.
* The declared frame size (Rows x Columns x NumberOfFrames) over ``max_pixels`` (default
  :data:`DEFAULT_MAX_PIXELS`, 1 Gpx) is ``too-large``, checked before any pixel is decoded. A
  deflated data set (pydicom inflates it whole while reading the header) is first inflated as a
  stream, discarding the output, and is ``too-large`` when it inflates to more than the limit
  allows (4 bytes per pixel + 16 MiB); its header is parsed from the first inflated MiBs and
  its declared frame size checked before the rest is inflated, so that a small file claiming a
  huge frame never takes memory.
* Native pixel data shorter than Rows x Columns x BitsAllocated/8 is ``truncated``; a read that
  hit the end of the file (pydicom's "End of file reached" warning, or an exception while parsing)
  is ``truncated`` as well.

pydicom's warnings and log records (it logs a traceback for every failing decoder plugin) are
silenced while a file is read and decoded, and the C stderr of the JPEG 2000 decoders is
discarded during compressed decodes. Quarantine details never contain a path or a header value.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import Tag

from mvkl.quarantine import QuarantineError, Reason

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "MIN_KNOWN_ELEMENTS",
    "NATIVE_SYNTAXES",
    "REQUIRED_IMAGE_TAGS",
    "RawPixels",
    "decode_pixels",
    "quiet_pydicom",
    "read_dataset",
]

#: Elements the image-pixel check requires (besides PixelData and a Transfer Syntax UID).
REQUIRED_IMAGE_TAGS: tuple[str, ...] = (
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "PixelRepresentation",
    "PhotometricInterpretation",
    "SamplesPerPixel",
)
#: Default limit of the declared frame size, Rows x Columns x NumberOfFrames (1 Gpx).
DEFAULT_MAX_PIXELS = 1_000_000_000
_DEFLATED = "1.2.840.10008.1.2.1.99"
#: Public dictionary elements a forced (meta-less) parse must yield to count as DICOM.
MIN_KNOWN_ELEMENTS = 3
#: Uncompressed transfer syntaxes, with the byte order of their pixel data.
NATIVE_SYNTAXES: dict[str, str] = {
    "1.2.840.10008.1.2": "<",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1": "<",  # Explicit VR Little Endian
    "1.2.840.10008.1.2.1.99": "<",  # Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.2": ">",  # Explicit VR Big Endian (retired)
}
_DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
_GRAYSCALE = ("MONOCHROME1", "MONOCHROME2")
# the defined terms of PS3.3 C.7.6.3.1.2: the only header values a quarantine detail may quote (issue 15)
_COLOUR_TERMS = frozenset(["RGB", "PALETTE COLOR", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_422", "YBR_PARTIAL_420",
                           "YBR_ICT", "YBR_RCT", "HSV", "ARGB", "CMYK", "XYB"])
_EOF_HINTS = ("end of file", "unexpected end", "fewer bytes")

_quiet_lock = threading.RLock()
_quiet_depth = 0
_saved_level = logging.NOTSET


@contextlib.contextmanager
def quiet_pydicom(*, stderr: bool = False) -> Iterator[list[str]]:
    """Silence pydicom while reading/decoding: warnings are captured (yielded as messages, which
    may contain header values and must not be printed), the ``pydicom`` logger and its children
    are muted, and with ``stderr=True`` file descriptor 2 is sent to ``/dev/null`` (the C
    decoders print there). Process-global, guarded by a lock; nested use is fine."""
    global _quiet_depth, _saved_level
    logger = logging.getLogger("pydicom")
    with _quiet_lock:
        if _quiet_depth == 0:
            _saved_level = logger.level
            logger.setLevel(logging.CRITICAL + 1)
        _quiet_depth += 1
    saved_fd = None
    try:
        if stderr:
            with contextlib.suppress(OSError):
                saved_fd = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            messages: list[str] = []
            try:
                yield messages
            finally:
                messages.extend(str(w.message) for w in caught)
    finally:
        if saved_fd is not None:
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                logger.setLevel(_saved_level)


def _has_eof_hint(messages: list[str]) -> bool:
    return any(h in m.lower() for m in messages for h in _EOF_HINTS)


def _known_elements(ds: Dataset) -> int:
    from pydicom.datadict import dictionary_has_tag

    n = 0
    tags = list(ds.keys())
    for tag in tags:
        t = Tag(tag)
        if not t.is_private and dictionary_has_tag(t):
            n += 1
    return n


@dataclass
class _Opened:
    ds: Dataset
    eof: bool  # the parse hit the end of the file (warning, or an element longer than the file)
    forced: bool
    short_by: int = 0  # bytes missing at the end, when the last element declares more than the file has


def _declared_end(ds: Dataset) -> int | None:
    """File offset where the last top-level element's value ends, as declared by its length;
    None when unknown (undefined length, converted element, deflated stream)."""
    keys = list(ds.keys())
    if not keys:
        return None
    raw = ds.get_item(max(keys))
    tell, length = getattr(raw, "value_tell", None), getattr(raw, "length", None)
    if tell is None or length is None or length == 0xFFFFFFFF:
        return None
    return int(tell) + int(length)


def _deflated_header_pixels(head: bytes) -> int | None:
    """Rows x Columns x NumberOfFrames declared in the first inflated bytes of a deflated data set
    (Explicit VR Little Endian), or None when they cannot be parsed from them."""
    import io

    from pydicom.filereader import read_dataset as _read_raw

    try:
        hds = _read_raw(io.BytesIO(head), False, True, stop_when=lambda tag, vr, length: tag >= 0x7FE00000)
        frames = _int_attr(hds, "NumberOfFrames") or 1
        rows, cols = _int_attr(hds, "Rows"), _int_attr(hds, "Columns")
    except Exception:  # a header larger than the sample, or a broken one: the regular read decides
        return None
    return rows * cols * max(1, frames) if rows and cols else None


def _check_deflated(path: str | os.PathLike[str], max_pixels: int) -> None:
    """A deflated data set must not declare, nor inflate to, more than ``max_pixels`` allows
    (module docstring): its header is parsed from the first inflated MiBs, then the rest is
    inflated as a stream and discarded, so memory stays bounded whatever the file claims."""
    import zlib

    from pydicom.filereader import _read_file_meta_info, read_preamble

    try:
        with open(path, "rb") as fp:
            read_preamble(fp, False)
            meta = _read_file_meta_info(fp)
            if str(meta.get("TransferSyntaxUID", "")).strip() != _DEFLATED:
                return
            cap = int(max_pixels) * 4 + (16 << 20)
            d = zlib.decompressobj(-zlib.MAX_WBITS)
            head = b""
            total = 0
            checked = False
            while not d.eof:
                buf = d.unconsumed_tail or fp.read(1 << 20)
                if not buf:
                    break
                out = d.decompress(buf, 4 << 20)
                total += len(out)
                if not checked:
                    head += out
                    if len(head) >= (4 << 20) or d.eof:
                        checked = True
                        declared = _deflated_header_pixels(head)
                        head = b""
                        if declared is not None and declared > max_pixels:
                            raise QuarantineError(Reason.TOO_LARGE, f"declared frame size {declared / 1e6:.0f} Mpx "
                                                                    f"over the limit of {max_pixels / 1e6:g} Mpx "
                                                                    "(--max-megapixels)")
                del out
                if total > cap:
                    raise QuarantineError(Reason.TOO_LARGE, f"the deflated data set inflates to more than "
                                                            f"{cap >> 20} MiB (limit {max_pixels / 1e6:g} Mpx)")
    except QuarantineError:
        raise
    except Exception:  # not a (readable) deflated file: the regular read classifies it
        return


def _open(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> _Opened:
    """dcmread with the force fallback; classifies open/parse failures."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise QuarantineError(Reason.MISSING_FILE, "file does not exist") from None
    except OSError as e:
        raise QuarantineError(Reason.UNREADABLE, f"cannot stat file ({type(e).__name__})") from None
    if not os.path.isfile(path):
        raise QuarantineError(Reason.UNREADABLE, "not a regular file")
    if st.st_size == 0:
        raise QuarantineError(Reason.UNREADABLE, "empty file")
    with quiet_pydicom():
        _check_deflated(path, max_pixels)
    forced = False
    with quiet_pydicom() as msgs:
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError:
            forced = True
        except OSError as e:
            if isinstance(e, (PermissionError, IsADirectoryError)) or e.errno is not None:
                raise QuarantineError(Reason.UNREADABLE, f"cannot read file ({type(e).__name__})") from None
            raise QuarantineError(Reason.TRUNCATED, f"header ends early ({type(e).__name__})") from None
        except Exception as e:  # preamble and meta present but the parse broke down: a cut file
            raise QuarantineError(Reason.TRUNCATED, f"header could not be parsed ({type(e).__name__})") from None
        if forced:
            try:
                ds = pydicom.dcmread(path, force=True)
            except Exception as e:  # a forced parse of a non-DICOM file can fail in any way
                raise QuarantineError(Reason.NOT_DICOM, f"no DICOM header ({type(e).__name__})") from None
            if _known_elements(ds) < MIN_KNOWN_ELEMENTS:
                raise QuarantineError(Reason.NOT_DICOM, "no DICOM preamble and no parseable data set")
        end = None
        ts = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", "") or "")
        if ts != "1.2.840.10008.1.2.1.99":
            end = _declared_end(ds)
    # a value longer than the file, or (without pixel data) bytes left after the last complete
    # element, i.e. a partial element header that pydicom silently dropped
    cut = end is not None and (end > st.st_size or (end < st.st_size and "PixelData" not in ds))
    eof = _has_eof_hint(msgs) or cut
    short_by = end - st.st_size if end is not None and end > st.st_size else 0
    return _Opened(ds, eof, forced, short_by)


def _int_attr(ds: Dataset, keyword: str) -> int | None:
    try:
        v = ds.get(keyword)
        if v is None or v == "":
            return None
        return int(v)
    except (TypeError, ValueError, OverflowError):
        return None


def read_dataset(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> Dataset:
    """Read and validate one DICOM image file (no pixel decoding yet).

    Raises :class:`QuarantineError` with MISSING_FILE, UNREADABLE, NOT_DICOM, TRUNCATED,
    NO_PIXEL_DATA, NOT_GRAYSCALE, MISSING_ATTRIBUTE, TOO_LARGE, MULTI_FRAME, EMPTY_IMAGE or
    UNDECODABLE.
    """
    opened = _open(path, max_pixels)
    with quiet_pydicom():
        return _validate(opened.ds, opened.eof, opened.short_by, max_pixels)


def _validate(ds: Dataset, eof: bool, short_by: int = 0, max_pixels: int = DEFAULT_MAX_PIXELS) -> Dataset:
    if len(ds) == 0:
        raise QuarantineError(Reason.TRUNCATED, "no data set after the file meta header")
    meta = getattr(ds, "file_meta", None)
    sop_class = str(meta.get("MediaStorageSOPClassUID", "") if meta is not None else "")
    if sop_class == _DICOMDIR_CLASS or "DirectoryRecordSequence" in ds:
        raise QuarantineError(Reason.NO_PIXEL_DATA, "media directory file, not an image")
    if eof:
        raise QuarantineError(Reason.TRUNCATED, f"file ends {short_by} bytes early" if short_by else
                              "file ends inside an element")
    if "PixelData" not in ds:
        other = [k for k in ("FloatPixelData", "DoubleFloatPixelData") if k in ds]
        raise QuarantineError(Reason.NO_PIXEL_DATA, f"only {other[0]}" if other else "no PixelData element")
    spp = _int_attr(ds, "SamplesPerPixel")
    photometric = str(ds.get("PhotometricInterpretation", "") or "").strip().upper()
    if spp is not None and spp != 1:
        raise QuarantineError(Reason.NOT_GRAYSCALE, f"SamplesPerPixel {spp}")
    if photometric and photometric not in _GRAYSCALE:
        raise QuarantineError(Reason.NOT_GRAYSCALE, f"PhotometricInterpretation {photometric}" if photometric
                              in _COLOUR_TERMS else "PhotometricInterpretation is not a defined term")
    missing = [k for k in REQUIRED_IMAGE_TAGS if _int_attr(ds, k) is None and k != "PhotometricInterpretation"]
    if not photometric:
        missing.append("PhotometricInterpretation")
    if missing:
        raise QuarantineError(Reason.MISSING_ATTRIBUTE, "missing or invalid " + ", ".join(sorted(missing)))
    ts = str(meta.get("TransferSyntaxUID", "") if meta is not None else "").strip()
    if not ts:
        raise QuarantineError(Reason.MISSING_ATTRIBUTE, "no TransferSyntaxUID (file without DICOM meta header)")
    frames = 1
    if "NumberOfFrames" in ds:
        raw_frames = ds["NumberOfFrames"].value
        try:
            frames = int(raw_frames) if raw_frames not in (None, "") else 1
        except (TypeError, ValueError):
            raise QuarantineError(Reason.UNDECODABLE, "NumberOfFrames is not an integer") from None
    declared = (_int_attr(ds, "Rows") or 0) * (_int_attr(ds, "Columns") or 0) * max(1, frames)
    if declared > max_pixels:
        # NumberOfFrames can hold anything (a phone number): the size is quoted only for plausible counts
        size = f"{declared / 1e6:.0f} Mpx" if frames <= 9999 else "over 9999 frames"
        raise QuarantineError(Reason.TOO_LARGE, f"declared frame size ({size}, rows x columns x frames) over the "
                                                f"limit of {max_pixels / 1e6:g} Mpx (--max-megapixels)")
    if frames > 1:
        # NumberOfFrames is an integer string a writer can fill with anything: quoted only when plausible
        raise QuarantineError(Reason.MULTI_FRAME, f"{frames} frames" if frames <= 9999 else "over 9999 frames")
    rows, cols = _int_attr(ds, "Rows"), _int_attr(ds, "Columns")
    if not rows or not cols or rows < 2 or cols < 2:
        raise QuarantineError(Reason.EMPTY_IMAGE, f"{rows}x{cols} pixels")
    ba, bs = _int_attr(ds, "BitsAllocated") or 0, _int_attr(ds, "BitsStored") or 0
    if ba not in (8, 16, 32) or not 1 <= bs <= ba:
        raise QuarantineError(Reason.UNDECODABLE, f"BitsAllocated {ba} with BitsStored {bs} not supported")
    return ds


@dataclass(frozen=True)
class RawPixels:
    """Decoded stored values of one frame.

    Attributes:
        array: (rows, cols) integer array (or float for 32-bit data).
        masked: False when ``array`` holds the raw bit patterns of native data (bits above
            BitsStored not yet cleared, no sign extension): the display LUT does both. True when
            a decoder already produced pixel values.
    """

    array: np.ndarray
    masked: bool


def _native_view(ds: Dataset, ts: str) -> np.ndarray | None:
    """Zero-copy view of uncompressed 8/16-bit pixel data, or None to let pydicom decode."""
    ba = int(ds.BitsAllocated)
    if ba not in (8, 16):
        return None
    rows, cols = int(ds.Rows), int(ds.Columns)
    need = rows * cols * (ba // 8)
    data = ds.PixelData
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return None
    if len(data) < need:
        raise QuarantineError(Reason.TRUNCATED, f"pixel data {len(data)} of {need} bytes")
    dtype = np.dtype(f"{NATIVE_SYNTAXES[ts]}u{ba // 8}")
    arr = np.frombuffer(data, dtype=dtype, count=rows * cols).reshape(rows, cols)
    if dtype.byteorder == ">":
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def decode_pixels(ds: Dataset) -> RawPixels:
    """Decode the (single) frame of a data set that passed :func:`read_dataset`.

    Uncompressed 8/16-bit little-endian data is viewed in place (no copy); everything else goes
    through ``ds.pixel_array`` (pylibjpeg/pyjpegls/pydicom plugins for compressed syntaxes).
    """
    ts = str(ds.file_meta.TransferSyntaxUID)
    if ts in NATIVE_SYNTAXES:
        view = _native_view(ds, ts)
        if view is not None:
            return RawPixels(view, masked=False)
    compressed = ts not in NATIVE_SYNTAXES
    with quiet_pydicom(stderr=compressed) as msgs:
        try:
            arr = ds.pixel_array
        except QuarantineError:
            raise
        except MemoryError:
            raise QuarantineError(Reason.UNDECODABLE, "pixel data too large to decode") from None
        except Exception as e:
            text = str(e).lower()
            if "less than expected" in text or "end of file" in text or "truncat" in text:
                raise QuarantineError(Reason.TRUNCATED, "pixel data shorter than expected") from None
            detail = (
                "no decoder for the transfer syntax"
                if "no pixel data decoders" in text
                else (f"pixel data could not be decoded ({type(e).__name__})")
            )
            raise QuarantineError(Reason.UNDECODABLE, detail) from None
    del msgs
    if arr.ndim != 2:
        raise QuarantineError(Reason.UNDECODABLE, f"decoded array has {arr.ndim} dimensions")
    if arr.shape != (int(ds.Rows), int(ds.Columns)):
        raise QuarantineError(Reason.UNDECODABLE, "decoded size differs from Rows x Columns")
    return RawPixels(arr, masked=True)


def element_value(ds: Dataset, keyword: str, default: Any = None) -> Any:
    """``ds.get(keyword)`` that never raises on an invalid stored value."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ds.get(keyword, default)
    except Exception:
        return default
