"""The per-image work of the pixel pipeline, run in worker processes (or in-process).

:func:`decode_image` calls the DICOM reader (:func:`mvkl.dicom.load_image`: read, LUTs,
MONOCHROME1, crop, pad, resize to ``(S, S)``) and returns a compact, picklable result: only the
``(S, S)`` pixel array crosses the process boundary, never the full-size source. Reader failures
become :class:`DecodeFailure` with the quarantine reason; unexpected exceptions are quarantined
``undecodable`` with only the exception type as detail (messages may quote file content).

Results depend only on the file and the policy, so they are the same for any number of workers.
"""

from __future__ import annotations

import collections
import importlib
import logging
import math
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mvkl.quarantine import QuarantineError, Reason
from mvkl.store.schema import LATERALITY_CODES, VIEW_CODES

__all__ = ["DEFAULT_DECODER", "DecodeFailure", "DecodePool", "Decoded", "age_bucket", "decode_image"]

log = logging.getLogger(__name__)

DEFAULT_DECODER = "mvkl.dicom:load_image"


@dataclass
class Decoded:
    """A decoded image: pixels and the non-identifying header fields the store keeps.

    ``identifiers`` are header values used only to scrub the lump's report (never stored or
    printed; they stay in memory).
    """

    pixels: np.ndarray
    view: str | None
    laterality: str | None
    flipped: bool
    pixel_spacing: tuple[float, float]
    source_shape: tuple[int, int]
    crop_box: tuple[int, int, int, int]
    scale: float
    age_years: float | None
    identifiers: list[str] = field(default_factory=list)
    modality_basis: str = ""  # mvkl.dicom.modality.modality_basis ("image": decided by the pixels)
    source_uid: str = field(default="", repr=False)  # SOP Instance UID: only for the duplicate check


@dataclass
class DecodeFailure:
    reason: Reason
    detail: str


def age_bucket(age: float | None) -> int:
    """Lower bound of the 5-year bucket; ages of 90 and over share the bucket 90 (HIPAA Safe
    Harbor aggregates ages over 89); -1 when unknown."""
    if age is None or not math.isfinite(float(age)) or age < 0:
        return -1
    return int(min(90, int(age) // 5 * 5))


def norm_view(view: object) -> str | None:
    """A header view -> one of :data:`~mvkl.store.schema.VIEW_CODES`; None when the header does
    not say (absent, or ``"other"``: then the table's view group decides)."""
    v = "" if view is None else str(view).strip().upper()
    return v if v in VIEW_CODES and v != "OTHER" else None


def norm_laterality(lat: object) -> str | None:
    v = "" if lat is None else str(lat).strip().upper()
    return v if v in LATERALITY_CODES[:2] else None


def _load(spec: str) -> Any:
    mod, _, fn = spec.partition(":")
    return getattr(importlib.import_module(mod), fn)


def _tuple(v: Any, n: int, cast: type) -> tuple[Any, ...]:
    try:
        t = tuple(cast(x) for x in v)
    except (TypeError, ValueError):
        t = ()
    return t if len(t) == n else tuple([cast("nan") if cast is float else -1] * n)


def decode_image(path: str, policy: Any, decoder: str = DEFAULT_DECODER,
                 lesion: Any = None) -> Decoded | DecodeFailure:
    """Decode one file with ``decoder`` (``"module:function"``, default :data:`DEFAULT_DECODER`);
    ``lesion`` (a :class:`mvkl.dicom.lesionview.LesionCrop`) asks for a lesion view instead."""
    try:
        load = _load(decoder)
        res = load(path, policy) if lesion is None else load(path, policy, lesion)
    except QuarantineError as exc:
        return DecodeFailure(exc.reason, exc.detail)
    except MemoryError:
        return DecodeFailure(Reason.UNDECODABLE, "out of memory while decoding")
    except Exception as exc:  # any reader failure quarantines the file; the run goes on
        return DecodeFailure(Reason.UNDECODABLE, f"unexpected {type(exc).__name__} while decoding")
    h = res.header
    pixels = np.ascontiguousarray(res.pixels)
    burned = getattr(h, "burned_in", None)
    if (burned is True or str(burned).strip().upper() == "YES") and not getattr(policy, "allow_burned_in", False):
        return DecodeFailure(Reason.BURNED_IN_ANNOTATION, "BurnedInAnnotation is YES")
    intent = str(getattr(h, "presentation_intent", "") or "").upper()
    if intent == "FOR PROCESSING" and not getattr(policy, "allow_for_processing", False):
        return DecodeFailure(Reason.FOR_PROCESSING, "PresentationIntentType is FOR PROCESSING")
    spacing = _tuple(getattr(h, "pixel_spacing", None) or (), 2, float)
    return Decoded(
        pixels=pixels,
        view=norm_view(getattr(h, "view", None)),
        laterality=norm_laterality(getattr(h, "laterality", None)),
        flipped=bool(res.flipped),
        pixel_spacing=(float(spacing[0]), float(spacing[1])),
        source_shape=_tuple(res.source_shape, 2, int),  # type: ignore[arg-type]
        crop_box=_tuple(res.crop_box, 4, int),  # type: ignore[arg-type]
        scale=float(res.scale),
        age_years=getattr(h, "age_years", None),
        identifiers=[str(x) for x in (getattr(res, "identifiers", None) or []) if str(x).strip()],
        modality_basis=str(getattr(res, "modality_basis", "") or ""),
        source_uid=str(getattr(res, "source_uid", "") or ""),
    )


def view_code(view: str | None) -> int:
    return VIEW_CODES.index(view) if view in VIEW_CODES else VIEW_CODES.index("other")


#: Modules the fork server imports once, so that each worker starts as a cheap fork.
PRELOAD = ["mvkl.ingest.decode", "mvkl.dicom.load"]


def _mp_context() -> Any:
    """``forkserver`` where available (safe with the progress thread, workers fork from a clean
    server that has imported the decoder once), else ``spawn``."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


class DecodePool:
    """Decode in plan order: in-process (1 worker) or in a process pool, with a bounded
    window of images in flight. A worker that dies (a decoder crash, the OOM killer) breaks the
    pool: the pool is restarted, the image being waited for is retried alone in a fresh process
    and quarantined ``undecodable`` if that crashes too; the other images are resubmitted."""

    def __init__(self, workers: int, policy: Any, decoder: str) -> None:
        self.workers = workers
        self.policy = policy
        self.decoder = decoder
        self.pool: ProcessPoolExecutor | None = self._new(workers) if workers > 1 else None
        self.pending: collections.deque[tuple[int, str, Future[Any] | None, Any]] = collections.deque()

    @staticmethod
    def _new(n: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=n, mp_context=_mp_context())

    def submit(self, i: int, path: str, lesion: Any = None) -> None:
        fut = self.pool.submit(decode_image, path, self.policy, self.decoder, lesion) if self.pool else None
        self.pending.append((i, path, fut, lesion))

    def take(self) -> tuple[int, Decoded | DecodeFailure]:
        from concurrent.futures.process import BrokenProcessPool

        i, path, fut, lesion = self.pending.popleft()
        if fut is None:
            return i, decode_image(path, self.policy, self.decoder, lesion)
        try:
            return i, fut.result()
        except BrokenProcessPool:
            log.warning("a decoding process died; restarting the pool and retrying the image alone")
            self.pool.shutdown(wait=False, cancel_futures=True)  # type: ignore[union-attr]
            solo = self._new(1)
            try:
                res: Decoded | DecodeFailure = solo.submit(decode_image, path, self.policy, self.decoder,
                                                           lesion).result()
            except BrokenProcessPool:
                res = DecodeFailure(Reason.UNDECODABLE, "the decoding process crashed on this file")
            finally:
                solo.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new(self.workers)
            rest = list(self.pending)
            self.pending.clear()
            for j, p, _, les in rest:
                self.submit(j, p, les)
            return i, res

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
