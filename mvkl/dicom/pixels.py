"""Stored values -> display values: modality LUT, VOI LUT or window, MONOCHROME1, padding.

spec/dicom.md §2.3 and bugs B29-B31 of the original code (fixed 0-4095 or per-image min-max,
no MONOCHROME1, VOI LUT or rescale). The grayscale pipeline of PS3.3 C.11 / PS3.4 N.2.1.1:

1. **Modality LUT** (C.11.1): the Modality LUT Sequence when present, otherwise Rescale Slope /
   Intercept (default 1 / 0).
2. **VOI** (C.11.2): the VOI LUT Sequence when present (it wins over a window, as in pydicom),
   otherwise Window Center / Width with the VOI LUT Function LINEAR (default), LINEAR_EXACT or
   SIGMOID. ``voi_index`` picks one of several LUTs / window pairs (clamped to the last one).
   Output is normalised by the *theoretical* output range: [0, 1] for a window, ``2**bits - 1``
   for a LUT (with one repair: a LUT declaring 16 bits whose largest entry is below
   ``2**12`` is normalised by the next power of two of its maximum; a known vendor fault).
3. Without any usable VOI, and always for FOR PROCESSING images (raw log detector data; they are
   only processed when the policy allows them), a **robust percentile window**: Otsu's threshold
   on the histogram splits background from foreground, then the 0.5 % and 99.5 % percentiles of
   the foreground become black and white.
4. **Inversion, exactly once**: MONOCHROME1 *or* Presentation LUT Shape INVERSE inverts (the
   DX/MG IODs pair MONOCHROME1 with INVERSE: that INVERSE *is* the MONOCHROME1 inversion, so the
   two never stack).
5. **Pixel Padding Value** (and Range Limit), compared with the stored values, map to 0.

For 8/16-bit integer data the whole chain is evaluated once over every possible stored bit
pattern and kept as one ``uint16`` lookup table (65536 entries; 0..65535 means 0..1), applied
with ``np.take``. The table also clears the bits above BitsStored and sign-extends, so native
pixel data is used without a copy. Other data (32-bit) goes through the same functions in
floating point.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from mvkl.dicom.read import RawPixels, element_value

__all__ = [
    "DISPLAY_MAX",
    "DisplayMap",
    "build_display_map",
    "otsu_threshold",
    "percentile_window",
    "stored_domain",
    "window",
]

DISPLAY_MAX = 65535  # display values are uint16; 65535 = white
PERCENTILES = (0.5, 99.5)
_MIN_FOREGROUND = 0.05  # below this Otsu foreground fraction, the percentiles use every pixel


def _float(v: object) -> float | None:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _pick(value: object, index: int) -> float | None:
    """One value of a possibly multi-valued DS element (index clamped to the last value)."""
    if value is None or value == "":
        return None
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        vals = list(value)  # type: ignore[call-overload]
        if not vals:
            return None
        return _float(vals[min(index, len(vals) - 1)])
    return _float(value)


def window(x: np.ndarray, center: float, width: float, function: str = "LINEAR") -> np.ndarray:
    """PS3.3 C.11.2.1.2 windowing to [0, 1] (float64). ``width`` must be valid for ``function``
    (>= 1 for LINEAR, > 0 otherwise)."""
    x = np.asarray(x, dtype=np.float64)
    if function == "SIGMOID":
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-4.0 * (x - center) / width))
    if function == "LINEAR_EXACT":
        c, w = center, width
    else:  # LINEAR (C.11.2.1.2.1)
        c, w = center - 0.5, width - 1.0
    if w <= 0:
        return (x > c).astype(np.float64)
    y = (x - c) / w + 0.5
    y[x <= c - w / 2] = 0.0
    y[x > c + w / 2] = 1.0
    return np.clip(y, 0.0, 1.0)


def _lut_item(ds: Dataset, item: Dataset) -> tuple[np.ndarray, int, int] | None:
    """(entries, first mapped value, bits) of a Modality/VOI LUT Sequence item, or None."""
    try:
        desc = [int(v) for v in item.LUTDescriptor]
        elem = item["LUTData"]
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if len(desc) != 3:
        return None
    n, first, bits = desc
    n = n or 65536
    signed = int(element_value(ds, "PixelRepresentation", 0) or 0) == 1
    if signed and first >= 32768:
        first -= 65536
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        ts = str(getattr(ds, "file_meta", {}).get("TransferSyntaxUID", "") or "")
        order = ">" if ts == "1.2.840.10008.1.2.2" else "<"
        if len(value) >= 2 * n:
            data = np.frombuffer(bytes(value[: 2 * n]), dtype=f"{order}u2").astype(np.int64)
        elif len(value) >= n:
            data = np.frombuffer(bytes(value[:n]), dtype=np.uint8).astype(np.int64)
        else:
            return None
    else:
        vals = [value] if isinstance(value, int) else list(value)
        if len(vals) < n:
            return None
        data = np.asarray(vals[:n], dtype=np.int64)
    if bits <= 0 or bits > 16:
        bits = 16 if int(data.max(initial=0)) > 255 else 8
    return data, first, bits


def _apply_lut(x: np.ndarray, data: np.ndarray, first: int) -> np.ndarray:
    idx = np.clip(np.rint(x).astype(np.int64) - first, 0, len(data) - 1)
    return data[idx]


def modality(x: np.ndarray, ds: Dataset) -> tuple[np.ndarray, str]:
    """Stored values -> modality values (float64) and the name of the transform used."""
    seq = element_value(ds, "ModalityLUTSequence")
    if seq:
        lut = _lut_item(ds, seq[0])
        if lut is not None:
            return _apply_lut(x, lut[0], lut[1]).astype(np.float64), "modality-lut-sequence"
    slope = _float(element_value(ds, "RescaleSlope", 1.0))
    intercept = _float(element_value(ds, "RescaleIntercept", 0.0))
    slope = 1.0 if slope is None or slope == 0 else slope
    intercept = 0.0 if intercept is None else intercept
    y = np.asarray(x, dtype=np.float64)
    if slope != 1.0 or intercept != 0.0:
        return y * slope + intercept, "rescale"
    return y, "identity"


def voi(m: np.ndarray, ds: Dataset, index: int) -> tuple[np.ndarray, str] | None:
    """Modality values -> [0, 1] by the file's VOI LUT Sequence or window; None if it has none."""
    seq = element_value(ds, "VOILUTSequence")
    if seq:
        lut = _lut_item(ds, seq[min(index, len(seq) - 1)])
        if lut is not None:
            data, first, bits = lut
            top = 2**bits - 1
            peak = int(data.max(initial=0))
            if bits > 12 and 0 < peak < 2**12:
                top = 2 ** int(peak).bit_length() - 1
            return _apply_lut(m, data, first) / float(top), "voi-lut-sequence"
    center = _pick(element_value(ds, "WindowCenter"), index)
    width = _pick(element_value(ds, "WindowWidth"), index)
    if center is None or width is None:
        return None
    function = str(element_value(ds, "VOILUTFunction", "") or "LINEAR").strip().upper()
    if function not in ("LINEAR", "LINEAR_EXACT", "SIGMOID"):
        function = "LINEAR"
    if (function == "LINEAR" and width < 1) or width <= 0:
        return None
    return window(m, center, width, function), f"window-{function.lower().replace('_', '-')}"


def otsu_threshold(hist: np.ndarray) -> int:
    """Otsu's threshold over a histogram: the bin index t maximising the between-class
    variance of {bins <= t} vs {bins > t}."""
    h = np.asarray(hist, dtype=np.float64)
    w0 = np.cumsum(h)
    total = w0[-1]
    if total <= 0:
        return 0
    m0 = np.cumsum(h * np.arange(len(h)))
    w1 = total - w0
    mu_t = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_t * w0 / total - m0) ** 2 / (w0 * w1 / total)
    between[~np.isfinite(between)] = -1.0
    return int(np.argmax(between))


def percentile_window(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """(black, white) display-ordered values: 0.5/99.5 % percentiles of the Otsu foreground.

    ``values`` are display-ordered (higher = brighter), ``weights`` their pixel counts.
    """
    keep = weights > 0
    v, w = values[keep], weights[keep].astype(np.float64)
    if v.size == 0:
        return 0.0, 1.0
    lo_v, hi_v = float(v.min()), float(v.max())
    if hi_v <= lo_v:
        return lo_v, lo_v
    bins = np.clip(((v - lo_v) / (hi_v - lo_v) * 255).astype(np.int64), 0, 255)
    hist = np.bincount(bins, weights=w, minlength=256)
    t = otsu_threshold(hist)
    fg = bins > t
    if w[fg].sum() < _MIN_FOREGROUND * w.sum():
        fg = np.ones_like(fg)
    order = np.argsort(v[fg], kind="stable")
    sv, cw = v[fg][order], np.cumsum(w[fg][order])
    total = cw[-1]
    lo = float(sv[min(np.searchsorted(cw, total * PERCENTILES[0] / 100), len(sv) - 1)])
    hi = float(sv[min(np.searchsorted(cw, total * PERCENTILES[1] / 100), len(sv) - 1)])
    return lo, hi


def stored_domain(nbits: int, bits_stored: int, signed: bool, raw_patterns: bool) -> np.ndarray:
    """Stored value of every ``nbits``-bit pattern (int64). ``raw_patterns``: the array holds
    native bit patterns (clear bits above BitsStored, sign-extend from BitsStored); otherwise it
    holds decoded values of an ``int``/``uint`` array of that width."""
    idx = np.arange(2**nbits, dtype=np.int64)
    if raw_patterns:
        bs = min(bits_stored, nbits)
        v = idx & ((1 << bs) - 1)
        if signed:
            v = np.where(v >= 1 << (bs - 1), v - (1 << bs), v)
        return v
    if signed:
        return np.where(idx >= 1 << (nbits - 1), idx - (1 << nbits), idx)
    return idx


@dataclass(frozen=True)
class DisplayMap:
    """Stored pixels -> display values (``uint16``, 0..65535 = black..white, MONOCHROME2).

    Attributes:
        lut: table indexed by the unsigned view of an 8/16-bit array, or None (float path).
        transfer: the same chain as a function of stored values (float64 -> [0, 1]).
        method: e.g. ``"rescale+window-linear"``, ``"identity+percentile"``.
        inverted: whether the chain inverts (MONOCHROME1 or Presentation LUT Shape INVERSE).
    """

    lut: np.ndarray | None
    transfer: Callable[[np.ndarray], np.ndarray]
    method: str
    inverted: bool

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Display values of ``raw`` (any 2-D view of the decoded array), uint16."""
        if self.lut is not None:
            view = raw.view(np.uint8 if raw.dtype.itemsize == 1 else np.uint16) if raw.dtype.kind == "i" else raw
            return np.take(self.lut, view)
        y = self.transfer(raw.astype(np.float64))
        return np.rint(np.clip(y, 0.0, 1.0) * DISPLAY_MAX).astype(np.uint16)


def _is_inverse(ds: Dataset) -> bool:
    photometric = str(element_value(ds, "PhotometricInterpretation", "") or "").strip().upper()
    shape = str(element_value(ds, "PresentationLUTShape", "") or "").strip().upper()
    return photometric == "MONOCHROME1" or shape == "INVERSE"


def _padding(ds: Dataset, signed: bool) -> tuple[int, int] | None:
    pad = element_value(ds, "PixelPaddingValue")
    if pad is None or pad == "":
        return None
    limit = element_value(ds, "PixelPaddingRangeLimit", pad)
    try:
        a, b = int(pad), int(limit if limit not in (None, "") else pad)
    except (TypeError, ValueError):
        return None
    if signed:
        a, b = (v - 65536 if v >= 32768 else v for v in (a, b))
    return min(a, b), max(a, b)


def build_display_map(ds: Dataset, raw: RawPixels, *, voi_index: int = 0, percentile: bool = False,
                      sample_stride: int = 4) -> DisplayMap:
    """The display chain of this data set (module docstring). ``percentile`` forces the robust
    percentile window (FOR PROCESSING); it is also used when the file has no usable VOI. The
    percentile statistics come from every ``sample_stride``-th row and column."""
    arr = raw.array
    signed = int(element_value(ds, "PixelRepresentation", 0) or 0) == 1
    bits_stored = int(element_value(ds, "BitsStored", 16) or 16)
    inverted = _is_inverse(ds)
    padding = _padding(ds, signed)
    lut_path = arr.dtype.kind in "iu" and arr.dtype.itemsize in (1, 2)
    sample = arr[::sample_stride, ::sample_stride]

    if lut_path:
        nbits = 8 * arr.dtype.itemsize
        domain_signed = arr.dtype.kind == "i" if raw.masked else signed
        values = stored_domain(nbits, bits_stored, domain_signed, raw_patterns=not raw.masked)
    else:
        values, inv_idx = np.unique(sample.astype(np.float64), return_inverse=True)

    m, mod_name = modality(values, ds)
    chosen = None if percentile else voi(m, ds, voi_index)
    if chosen is not None:
        y, voi_name = chosen
        lo = hi = None
    else:
        if lut_path:
            view = sample.view(np.uint8 if nbits == 8 else np.uint16) if sample.dtype.kind == "i" else sample
            counts = np.bincount(view.ravel(), minlength=2**nbits)
        else:
            counts = np.bincount(inv_idx.ravel(), minlength=len(values))
        d = -m if inverted else m
        w = counts
        if padding is not None:
            w[(values >= padding[0]) & (values <= padding[1])] = 0
        lo, hi = percentile_window(d, w)
        voi_name = "percentile"
        y = None

    def transfer(x: np.ndarray) -> np.ndarray:
        mx, _ = modality(x, ds)
        if lo is not None and hi is not None:
            dx = -mx if inverted else mx
            out = np.clip((dx - lo) / (hi - lo), 0.0, 1.0) if hi > lo else (dx > lo).astype(np.float64)
        else:
            vx = voi(mx, ds, voi_index)
            out = vx[0] if vx is not None else np.zeros_like(mx)
            if inverted:
                out = 1.0 - out
        if padding is not None:
            out = np.where((x >= padding[0]) & (x <= padding[1]), 0.0, out)
        return out

    method = f"{mod_name}+{voi_name}" + ("+inverse" if inverted and voi_name != "percentile" else "")
    if not lut_path:
        return DisplayMap(None, transfer, method, inverted)
    if y is None:
        y = transfer(values)
    else:
        if inverted:
            y = 1.0 - y
        if padding is not None:
            y = np.where((values >= padding[0]) & (values <= padding[1]), 0.0, y)
    lut = np.rint(np.clip(y, 0.0, 1.0) * DISPLAY_MAX).astype(np.uint16)
    return DisplayMap(lut, transfer, method, inverted)
