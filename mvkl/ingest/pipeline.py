"""`mvkl ingest`: validation -> plan -> parallel decode -> journal -> finalize (DESIGN.md data flow).

1. **Validate** every table with the adapter (manifestations, labels, view ids, required
   columns) before touching a pixel: any problem -> :class:`~mvkl.errors.ValidationFailed`
   (exit 2) listing all of them.
2. **Plan** (:mod:`.plan`): pseudonyms, image de-duplication, missing files, patient splits.
3. **Decode** images in plan order with :func:`.decode.decode_image` in a process pool
   (``forkserver`` start method where available, else ``spawn``: both are safe with the
   progress-bar thread, unlike ``fork``; the fork server imports the decoder once, so workers
   start cheaply; ``workers=1`` decodes in-process). Only the ``(S, S)`` result crosses the
   process boundary. Results are consumed in plan order, so the store does not depend on the
   number of workers.
4. **Journal** each completed unit (:mod:`.writer`): pixels, image metadata, scrubbed reports.
5. **Finalize**: lumps without any image are quarantined ``no-images``; the store (plus the
   appended-to store's content) is written, checked and renamed atomically.

De-identification (spec/dicom.md §1): the store holds only schema fields; identifiers become
keyed pseudonyms; reports are scrubbed with the lump's header identifiers and the row's
identifying cells; ages are 5-year buckets; batches are ordinal; the key never enters the store
(only its fingerprint). Nothing printed or logged names a file, a patient or a date: quarantined
items are located by table label, row and view.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.dicom.lesionview import DEFAULT_MIN_MM
from mvkl.errors import InputError, MvklError, ValidationFailed
from mvkl.fsutil import display_path
from mvkl.ingest.decode import DEFAULT_DECODER, Decoded, DecodeFailure, DecodePool, age_bucket
from mvkl.ingest.finalize import Existing, finalize, read_existing
from mvkl.ingest.lesions import parse_views, views_attr
from mvkl.ingest.lock import StoreLock
from mvkl.ingest.plan import Plan, build_plan
from mvkl.ingest.records import AdapterResult
from mvkl.ingest.writer import WorkDir, partial_dir
from mvkl.quarantine import Reason
from mvkl.splits import DEFAULT_RATIOS

__all__ = ["IngestOptions", "default_key_file", "run_ingest"]

log = logging.getLogger(__name__)


@dataclass
class IngestOptions:
    """Options of :func:`run_ingest` (the ``mvkl ingest`` flags)."""

    source: Path
    out: Path
    format: str | None = None
    tables: list[Path] | None = None
    dataset: str | None = None
    image_size: int | None = None  # None: 256, or the appended-to store's
    pixel_dtype: str | None = None  # None: uint8, or the appended-to store's
    key_file: Path | None = None
    ratios: tuple[float, float, float] = DEFAULT_RATIOS
    seed: int = 0  # split assignment and the adapters' random draws (validation patients)
    adapter_options: dict[str, str] = field(default_factory=dict)  # --adapter-option KEY=VALUE
    resume: bool = False
    append: bool = False
    overwrite: bool = False
    strict: bool = False
    workers: int = 1
    allow_burned_in: bool = False
    allow_for_processing: bool = False
    allow_modalities: tuple[str, ...] = ()  # --allow-modality: modality codes accepted besides MG
    max_megapixels: float = 1000.0  # --max-megapixels: declared frame size limit (too-large above)
    quarantine_report: Path | None = None
    quiet: bool = False
    decoder: str = DEFAULT_DECODER
    views: str = "whole"  # --views whole | lesion[:CONTEXT] (mvkl.dicom.lesionview)
    lesion_min_mm: float = DEFAULT_MIN_MM  # --lesion-min-mm: smallest side of a lesion view
    report_scrub: str = "standard"  # --report-scrub standard | strict (mvkl.deid.strict)


def default_key_file() -> Path:
    """``$MVKL_KEY_FILE``, else ``~/.config/mvkl/pseudonym.key``."""
    env = os.environ.get("MVKL_KEY_FILE")
    return Path(env) if env else Path.home() / ".config" / "mvkl" / "pseudonym.key"


def _policy(opts: IngestOptions, size: int, dtype: str) -> Any:
    from mvkl.dicom import PixelPolicy

    return PixelPolicy(image_size=size, pixel_dtype=dtype, allow_burned_in=opts.allow_burned_in,
                       allow_for_processing=opts.allow_for_processing,
                       allow_modalities=tuple(sorted(opts.allow_modalities)),
                       max_pixels=int(opts.max_megapixels * 1e6))


def _fingerprint(pseudonym: Any, opts: IngestOptions, plan: Plan, size: int, dtype: str,
                 existing: Existing | None, key_fp: str) -> str:
    """A keyed hash of everything that determines the store content (inputs + options)."""
    h = hashlib.sha256()

    def add(obj: Any) -> None:
        h.update(json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str).encode())
        h.update(b"\x1e")

    add({"size": size, "dtype": dtype, "burned": opts.allow_burned_in, "proc": opts.allow_for_processing,
         "ratios": list(opts.ratios), "seed": opts.seed, "key": key_fp, "decoder": opts.decoder,
         "append": existing.stat if existing else None,
         "adapter_options": dict(sorted(opts.adapter_options.items()))})
    if opts.report_scrub != "standard":
        add({"report_scrub": opts.report_scrub})
    if opts.allow_modalities:
        add({"allow_modalities": sorted(opts.allow_modalities)})
    if opts.max_megapixels != 1000.0:
        add({"max_megapixels": float(opts.max_megapixels)})
    context = parse_views(opts.views)
    if context is not None:
        add({"views": views_attr(context), "lesion_min_mm": float(opts.lesion_min_mm)})
    for im in plan.images:
        add([im.image_id, im.view, im.size, im.mtime_ns])
    for pl in plan.lumps:
        r = pl.rec
        add([pl.lump_id, pl.patient_id, pl.exam_id, pl.split, pl.source, sorted(pl.image.items()), r.laterality,
             r.label, r.birads, r.density, r.age, r.report, r.manifest.tolist(), r.known.tolist(),
             sorted(r.identifiers), r.row.table, r.row.row])
        boxes = [[v, [[x.kind, list(x.box)] for x in ref.lesions]] for v, ref in sorted(r.images.items())
                 if ref.lesions]
        if boxes:  # lesion boxes (stored at finalize from the plan) are part of the content
            add(boxes)
    for q in plan.quarantined:
        add(q.to_dict())
    return str(pseudonym("plan", h.hexdigest()))


def _completed(out: Path, work_path: Path) -> dict[str, Any] | None:
    """The saved summary when ``out`` is the store this work directory finished (same plan)."""
    try:
        doc = json.loads((work_path / "summary.json").read_text(encoding="utf-8"))
        import h5py

        with h5py.File(out, "r") as f:
            extra = json.loads(f.attrs.get("extra", "{}"))
        if extra.get("ingest", {}).get("plan_fingerprint") == doc.get("fingerprint"):
            return dict(doc)
    except (OSError, ValueError, TypeError, AttributeError):
        pass
    return None


def check_distinct_paths(opts: IngestOptions, key_path: Path) -> None:
    """``--out``, ``--quarantine-report``, the key file and the source must be different files
    (resolved through symlinks), so that no output ever replaces an input or another output
    (issue 18). Raises InputError (exit 2) before anything is written."""
    named = [("--out", Path(opts.out)), ("--key-file", key_path), ("SOURCE", Path(opts.source))]
    if opts.quarantine_report:
        named.insert(1, ("--quarantine-report", Path(opts.quarantine_report)))
    named += [("--table", Path(t)) for t in (opts.tables or [])]
    resolved = [(flag, p.resolve()) for flag, p in named]
    for i, (fa, pa) in enumerate(resolved):
        for fb, pb in resolved[i + 1:]:
            if pa == pb and not {fa, fb} <= {"SOURCE", "--table"}:  # two inputs may coincide
                raise InputError(f"{fa} and {fb} name the same file; outputs must never replace an input or "
                                 "another output", file=display_path(named[i][1]), code="usage")


def _report_scrubber(opts: IngestOptions, standard: Any) -> Any:
    """``scrub_report``, or its strict variant that also drops sentences with proper-noun-like tokens."""
    if opts.report_scrub == "strict":
        from mvkl.deid.strict import strict_report

        return strict_report
    if opts.report_scrub != "standard":
        raise InputError(f"--report-scrub must be standard or strict, got {opts.report_scrub!r}", code="option")
    return standard


def _stage_rate(n: int, t0: float) -> str:
    dt = time.monotonic() - t0
    return f"{n / dt:.1f} img/s" if dt > 0 and n else ""


def run_ingest(opts: IngestOptions) -> dict[str, Any]:
    """Run an ingest end to end and return the identifier-free summary document.

    The whole run holds the store's exclusive lock (:class:`mvkl.ingest.lock.StoreLock`): a
    second run on the same ``--out`` is refused before it reads or deletes anything.

    Raises:
        ValidationFailed: invalid tables or split leakage (exit 2), before any pixel is read.
        InputError: bad options, an existing output, a key mismatch on append, another run
            holding the store's lock (exit 2).
        MvklError: ``--strict`` with quarantined items, or nothing left to store (exit 1).
    """
    key_path = Path(opts.key_file) if opts.key_file else default_key_file()
    check_distinct_paths(opts, key_path)
    with StoreLock(Path(opts.out)):
        try:
            return _run_locked(opts, key_path)
        except OSError as e:
            if not _disk_full(e):
                raise
            raise MvklError("no space left on the device while writing the store or its work directory "
                            f"({os.strerror(errno.ENOSPC)}); nothing was written at --out. Free space, then "
                            f"rerun with --resume to continue ({display_path(Path(opts.out))})") from None


def _disk_full(e: OSError) -> bool:
    """A full disk or quota (h5py reports it as an OSError whose message names the errno)."""
    codes = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
    return e.errno in codes or any(os.strerror(c) in str(e) or f"errno = {c}" in str(e) for c in codes)


def _run_locked(opts: IngestOptions, key_path: Path) -> dict[str, Any]:
    """:func:`run_ingest` once the store's lock is held."""
    from mvkl.dicom import DEID_PROFILE, Pseudonymizer, key_fingerprint, load_or_create_key, scrub_report
    from mvkl.sources import detect_format, get_adapter

    scrub = _report_scrubber(opts, scrub_report)  # an unknown --report-scrub is exit 2 before anything
    t_start = time.monotonic()
    out = Path(opts.out)
    work_path = partial_dir(out)
    done = _completed(out, work_path) if opts.resume else None
    if done is not None:
        # Killed after the final rename, before the work directory was removed: already complete.
        WorkDir(work_path, "", 0, "uint8", [], 0).remove()
        log.info("the interrupted ingest had already completed; removed its work directory")
        return done
    if opts.append and opts.overwrite:
        raise InputError("--append and --overwrite exclude each other", code="usage")
    if opts.append and not out.is_file():
        raise InputError("--append: the store to extend does not exist", file=display_path(out), code="missing-file")
    if out.exists() and not opts.append and not opts.overwrite:
        raise InputError("the output store exists; pass --overwrite to replace it or --append to add a batch",
                         file=display_path(out), code="exists")
    if opts.workers < 1:
        raise InputError("--workers must be at least 1", code="usage")
    if not (math.isfinite(float(opts.max_megapixels)) and float(opts.max_megapixels) > 0):
        raise InputError("--max-megapixels must be a number > 0", code="usage")
    if opts.pixel_dtype not in (None, "uint8", "uint16") or not 16 <= (opts.image_size or 256) <= 4096:
        raise InputError("--image-size must be 16..4096 and --pixel-dtype uint8 or uint16", code="usage")
    timing: dict[str, float] = {}
    adapter = get_adapter(opts.format) if opts.format else detect_format(Path(opts.source))

    # 1. With --append, the store being extended first (same key; its sources number the new
    #    batches, so that table labels in messages match the stored source names).
    key: bytes | None = None
    existing: Existing | None = None
    if opts.append:
        key = load_or_create_key(key_path)
        existing = read_existing(out, key_fingerprint(key))
    n_sources = len(existing.attrs.get("sources") or []) if existing else 0

    # 2. Tables -> records (no pixel touched).
    t0 = time.monotonic()
    dataset = opts.dataset if opts.dataset is not None else store_dataset(existing)
    result: AdapterResult = adapter.read(Path(opts.source), opts.tables, dataset, seed=opts.seed,
                                         options=dict(opts.adapter_options), first_batch=n_sources + 1)
    if result.problems:
        raise ValidationFailed(result.problems, f"{len(result.problems)} problem(s) in the tables; nothing "
                                                "was ingested")
    if not result.records:
        raise InputError("the tables list no lump", file=Path(opts.source).name, code="empty")
    for w in result.warnings:
        log.warning(w)
    timing["tables_s"] = time.monotonic() - t0

    # 3. Key, plan.
    if key is None:
        key = load_or_create_key(key_path)
    pseudo = Pseudonymizer(key)
    key_fp = key_fingerprint(key)
    size = opts.image_size or (int(existing.attrs["image_size"]) if existing else 256)
    dtype = opts.pixel_dtype or (str(existing.attrs["pixel_dtype"]) if existing else "uint8")
    if existing and (size != int(existing.attrs["image_size"]) or dtype != str(existing.attrs["pixel_dtype"])):
        raise InputError(f"--append: the store holds {existing.attrs['image_size']} px {existing.attrs['pixel_dtype']}"
                         f" images; --image-size/--pixel-dtype must match", code="usage")
    context = parse_views(opts.views)
    if not (math.isfinite(float(opts.lesion_min_mm)) and float(opts.lesion_min_mm) >= 0):
        raise InputError("--lesion-min-mm must be a number of mm >= 0", code="bad-option")
    if existing and views_attr(context) != str(existing.attrs.get("views") or "whole"):
        raise InputError(f"--append: the store holds {existing.attrs.get('views') or 'whole'} views; --views must "
                         "match", code="usage")
    t0 = time.monotonic()
    plan = build_plan(result, pseudo, ratios=opts.ratios, seed=opts.seed,
                      existing_lumps=existing.lumps if existing else None,
                      existing_splits=existing.splits if existing else None,
                      existing_labels=existing.labels if existing else None,
                      n_existing_sources=n_sources,
                      lesion_views=None if context is None else (context, float(opts.lesion_min_mm)))
    fp = _fingerprint(pseudo, opts, plan, size, dtype, existing, key_fp)
    timing["plan_s"] = time.monotonic() - t0
    if opts.overwrite and not opts.resume and work_path.exists():
        WorkDir(work_path, fp, size, dtype, [], 0).remove()
    work = WorkDir.open(work_path, fp, size, dtype, resume=opts.resume, secret=str(pseudo("journal", "work-directory")))
    try:
        n_done_before = sum(len(plan.units[i].images) for i in range(len(work.units)))
        if work.units:
            log.info("resuming: %d of %d units already done", len(work.units), len(plan.units))
        policy = _policy(opts, size, dtype)
        t0 = time.monotonic()
        _decode_all(plan, work, opts, policy, scrub, pseudo, existing.source_keys if existing else set())
        timing["decode_s"] = time.monotonic() - t0
        t0 = time.monotonic()
        doc = finalize(plan, work, opts, existing, result, size, dtype, key_fp, DEID_PROFILE, fp)
        timing["finalize_s"] = time.monotonic() - t0
    except BaseException:
        work.close()
        raise
    doc["resumed_images"] = n_done_before
    doc["seconds"] = round(time.monotonic() - t_start, 3)
    doc["timing"] = {k: round(v, 3) for k, v in timing.items()}
    n_dec = len(plan.images) - n_done_before
    doc["decode_images_per_s"] = round(n_dec / timing["decode_s"], 2) if timing["decode_s"] > 0 and n_dec else None
    return doc


def store_dataset(existing: Existing | None) -> str | None:
    """``--append`` without ``--dataset``: the data set name of the store's last batch (so that the
    same patients keep their pseudonyms), or None (the adapter's default) for a new store."""
    if existing is None:
        return None
    names = [str(s.get("dataset")) for s in existing.attrs.get("sources") or [] if isinstance(s, dict)
             and s.get("dataset")]
    return names[-1] if names else None


def source_key(pseudo: Any, r: Decoded) -> str:
    """Keyed identity of a decoded image's source (never the raw value): its SOP Instance UID, else
    a hash of its stored pixels. Independent of the data set name, so that the same image appended
    under another ``--dataset`` is still recognised."""
    if r.source_uid:
        return "u" + str(pseudo("source-image", r.source_uid))
    digest = hashlib.sha256(np.ascontiguousarray(r.pixels).tobytes()).hexdigest()
    return "p" + str(pseudo("source-pixels", digest))


def _decode_all(plan: Plan, work: WorkDir, opts: IngestOptions, policy: Any, scrub: Any, pseudo: Any,
                in_store: set[str]) -> None:
    from mvkl.log import progress

    start_unit = len(work.units)
    todo = [i for u in plan.units[start_unit:] for i in u.images]
    done_before = len(plan.images) - len(todo)
    pool = DecodePool(opts.workers if todo else 1, policy, opts.decoder)
    window = max(2, opts.workers * 4)
    it = iter(todo)

    def fill() -> None:
        while len(pool.pending) < window:
            i = next(it, None)
            if i is None:
                return
            pool.submit(i, str(plan.images[i].path), plan.images[i].lesion)

    t0 = time.monotonic()
    n = 0
    try:
        with progress(quiet=opts.quiet) as prog:
            task = prog.add_task("ingest", total=len(plan.images), completed=done_before, rate="")
            for ui in range(start_unit, len(plan.units)):
                unit = plan.units[ui]
                results: dict[int, Decoded | DecodeFailure] = {}
                for expect in unit.images:
                    fill()
                    i, res = pool.take()
                    if i != expect:  # pragma: no cover - plan order is the submission order
                        raise MvklError("internal error: decode results out of plan order")
                    results[i] = res
                    n += 1
                    prog.update(task, advance=1, rate=_stage_rate(n, t0))
                _commit_unit(plan, work, ui, results, scrub, pseudo, in_store)
    finally:
        pool.close()


def _commit_unit(plan: Plan, work: WorkDir, ui: int, results: dict[int, Decoded | DecodeFailure],
                 scrub: Any, pseudo: Any, in_store: set[str]) -> None:
    unit = plan.units[ui]
    images: list[dict[str, Any]] = []
    pixels: list[np.ndarray] = []
    for i in unit.images:
        r = results[i]
        if isinstance(r, DecodeFailure):
            images.append({"i": i, "ok": False, "reason": Reason(r.reason).value, "detail": r.detail[:200]})
            continue
        key = source_key(pseudo, r)
        if key in in_store:  # --append: this source image is already in the store
            images.append({"i": i, "ok": False, "reason": Reason.DUPLICATE.value,
                           "detail": "the same source image (SOP Instance UID, else pixels) is already in the store"})
            continue
        spacing = [None if not np.isfinite(x) else float(x) for x in r.pixel_spacing]
        images.append({"i": i, "ok": True, "view": r.view, "lat": r.laterality, "flipped": int(r.flipped),
                       "spacing": spacing, "shape": list(r.source_shape), "crop": list(r.crop_box),
                       "scale": float(r.scale), "age": age_bucket(r.age_years), "src": key})
        if r.modality_basis == "image":  # no Modality, no breast SOP class: the pixels decided
            images[-1]["by_image"] = 1
        pixels.append(r.pixels)
    lumps: list[dict[str, Any]] = []
    for li in unit.lumps:
        pl = plan.lumps[li]
        ids = list(pl.rec.identifiers)
        for i in pl.image.values():
            r = results[i]
            if isinstance(r, Decoded):
                ids += r.identifiers
        ids = sorted({x for x in ids if x})
        text, spans = scrub(pl.rec.report, ids, lang="auto") if pl.rec.report else ("", 0)
        lumps.append({"l": li, "report": text, "spans": int(spans)})
    work.commit({"u": ui, "images": images, "lumps": lumps}, pixels)


