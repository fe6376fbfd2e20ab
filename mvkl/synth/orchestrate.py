"""Orchestration of ``mvkl synth``: cases -> pixels -> DICOM files -> tables -> manifest.

Output layout (MVKL release, spec/method.md §2.1)::

    OUT_DIR/
      annotation/{train,valid,test}_<batch>.xlsx
      <batch>/<patient_id>/<study_id>/<file>.dcm      four views per exam (sometimes a repeat)
      synth_manifest.json                              seed, counts, hostile files, identifiers, lumps

Everything is built in a hidden staging folder next to ``OUT_DIR`` and renamed into place at the
end, so a failure or a kill never leaves a half-written data set at the final path. Exams are
rendered independently from their own seeds, in worker processes when asked, so the bytes written
do not depend on the number of workers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.errors import InputError
from mvkl.fsutil import display_path
from mvkl.sources.lesion_columns import BOX_EDGES
from mvkl.sources.mvkl_release import LESIONS_FILE
from mvkl.synth.cases import SPLITS, CaseSet, Exam, draw_cases
from mvkl.synth.identity import Identity, Institution

__all__ = ["MANIFEST_NAME", "generate"]

log = logging.getLogger(__name__)
MANIFEST_NAME = "synth_manifest.json"
MANIFEST_VERSION = 1


@dataclass
class _ExamJob:
    exam: Exam
    ident: Identity
    inst: Institution
    image_size: int
    lang: str
    seed: int
    hostile: dict[str, str]      # file name -> kind
    folder: str                  # <batch>/<patient_id>/<study_id>


def _write_exam(job: _ExamJob, root: str) -> dict[str, Any]:
    """Render and write every image of one exam. Returns per-file lump boxes and byte counts."""
    from mvkl.synth.dicom_writer import build_dataset, to_stored
    from mvkl.synth.hostile import write_hostile
    from mvkl.synth.scene import mm_per_px, render_view

    exam = job.exam
    folder = Path(root) / job.folder
    folder.mkdir(parents=True, exist_ok=True)
    boxes: dict[str, list[list[float]]] = {}
    nbytes = 0
    spacing = mm_per_px(job.image_size, exam.vendor.pitch_mm)
    for image in exam.images:
        view = render_view(exam, image, job.image_size)
        stored, window = to_stored(view.image, exam.vendor, np.random.default_rng([exam.seed, 42, image.instance]))
        ds = build_dataset(exam, image, job.ident, job.inst, stored, window, spacing, job.lang, job.seed)
        path = folder / image.file
        kind = job.hostile.get(image.file)
        if kind is None:
            ds.save_as(path, enforce_file_format=True)
        else:
            name = job.ident.dicom_name.split("=")[0].replace("^", " ")
            write_hostile(kind, ds, stored, path, f"{name}\n{exam.date:%Y-%m-%d}  {image.laterality}{image.view}")
        if path.exists():
            nbytes += path.stat().st_size
        boxes[image.file] = [[b.lump, round(b.cy, 1), round(b.cx, 1), round(b.radius, 1)] for b in view.boxes]
    return {"exam": exam.index, "boxes": boxes, "bytes": nbytes}


def _check(exams: int, lang: str, image_size: int, layout: str) -> None:
    if exams < 1:
        raise InputError("--exams must be at least 1")
    if lang not in ("en", "zh"):
        raise InputError(f"--lang must be en or zh; got {lang!r}")
    if not 64 <= image_size <= 8192:
        raise InputError(f"--image-size must be between 64 and 8192 px; got {image_size}")
    if layout != "mvkl":
        raise InputError(f"--layout must be mvkl (the MVKL release layout); got {layout!r}")


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError("output path exists and is not a folder", file=display_path(out))
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise InputError("output folder is not empty (use --force to replace a previous synth output)",
                             file=display_path(out))
        if not (out / MANIFEST_NAME).is_file():
            raise InputError(f"refusing to replace a folder without {MANIFEST_NAME} (not a synth output)",
                             file=display_path(out))


def generate(
    out_dir: str | os.PathLike[str],
    exams: int = 60,
    seed: int = 0,
    lang: str = "en",
    image_size: int = 1024,
    hostile: bool = False,
    layout: str = "mvkl",
    workers: int | None = None,
    force: bool = False,
    on_exam: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Write a synthetic MVKL-like data set to ``out_dir`` and return a summary.

    Args:
        out_dir: output folder (must not exist or be empty; ``force`` replaces a previous output).
        exams: number of exams (MVKL: 2,671).
        seed: every random choice derives from it; same options give byte-identical files.
        lang: report language, ``"en"`` or ``"zh"``.
        image_size: long side of the images in pixels (width = 0.8125 of it).
        hostile: also plant the bad files of :mod:`mvkl.synth.hostile`.
        layout: ``"mvkl"`` (the MVKL release layout).
        workers: processes for rendering (default: up to 4, one per CPU; 1 renders inline).
        on_exam: progress callback ``(done, total)``.

    Returns:
        ``{"exams", "lumps", "images", "files", "bytes", "labels": {"malignant", "benign"},
        "splits": {...}, "batches", "tables", "hostile": {kind: n}, "lumps_expected_in_store",
        "seconds", "out_dir"}``.
    """
    t0 = time.perf_counter()
    _check(exams, lang, image_size, layout)
    out = Path(out_dir)
    _prepare_out(out, force)
    cases = draw_cases(exams, seed=seed, lang=lang)
    hostile_map: dict[tuple[int, str], str] = {}
    if hostile:
        from mvkl.synth.hostile import choose_hostile

        hostile_map = choose_hostile(cases, seed)
    stage = out.parent / f".{out.name}.synth-{os.getpid()}.tmp"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    try:
        results = _render_all(cases, stage, image_size, lang, seed, hostile_map, workers, on_exam)
        _manifest, summary = _finish(cases, stage, results, hostile_map, image_size, layout)
        if out.exists():
            shutil.rmtree(out)
        os.replace(stage, out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    summary["out_dir"] = display_path(out)
    log.info("wrote %d exams, %d lumps, %d images in %.1f s", summary["exams"], summary["lumps"],
             summary["images"], summary["seconds"])
    return summary


def _folder(cases: CaseSet, exam: Exam) -> str:
    return f"{exam.batch}/{cases.patients[exam.patient].identity.patient_id}/{exam.study_id}"


def _start_method() -> str:
    """``fork`` where it is the safe default (Linux, Python < 3.12: workers start in milliseconds
    without re-importing numpy/scipy/pydicom), else ``forkserver``, else ``spawn``."""
    import multiprocessing as mp
    import sys

    methods = mp.get_all_start_methods()
    if sys.platform.startswith("linux") and sys.version_info < (3, 12) and "fork" in methods:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def _render_all(cases: CaseSet, stage: Path, image_size: int, lang: str, seed: int,
                hostile_map: dict[tuple[int, str], str], workers: int | None,
                on_exam: Callable[[int, int], None] | None) -> list[dict[str, Any]]:
    jobs = []
    for exam in cases.exams:
        pat = cases.patients[exam.patient]
        jobs.append(_ExamJob(exam, pat.identity, cases.institutions[pat.institution], image_size, lang, seed,
                             {f: k for (e, f), k in hostile_map.items() if e == exam.index}, _folder(cases, exam)))
    n = len(jobs)
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    workers = max(1, min(workers, n))
    if workers == 1 or n < 16:
        out = []
        for i, job in enumerate(jobs):
            out.append(_write_exam(job, str(stage)))
            if on_exam:
                on_exam(i + 1, n)
        return out
    import multiprocessing as mp

    results: list[dict[str, Any]] = []
    with ProcessPoolExecutor(workers, mp_context=mp.get_context(_start_method())) as pool:
        for i, res in enumerate(pool.map(_write_exam, jobs, [str(stage)] * n, chunksize=1)):
            results.append(res)
            if on_exam:
                on_exam(i + 1, n)
    return results


_KIND = {"mass": "mass", "calc": "calcification", "mass+calc": "mass", "signs": "other"}
LESION_COLUMNS = ("table", "row", "lesion_kind", *(f"{v}_{e}" for v in ("cc", "mlo") for e in BOX_EDGES))


def _lump_box(boxes: dict[str, list[list[float]]], file: str, lump: int) -> list[float] | None:
    """``[cy, cx, r]`` of ``lump`` on the rendered ``file`` (pixel indices), or None."""
    return next((b[1:] for b in boxes.get(file, []) if b[0] == lump), None)


def write_lesion_table(stage: Path, rows: list[Any], boxes: dict[int, dict[str, list[list[float]]]]) -> None:
    """``annotation/lesions.csv``: per lump row, the lesion box on the first file of its CC and
    MLO groups in source pixel-edge coordinates (the rendered centre is a pixel index, so its edge
    coordinate is ``c + 0.5``; the box is the centre ± the lesion radius, clipped at 0). Read by the MVKL
    adapter (:func:`mvkl.sources.mvkl_release.side_boxes`) for ``--views lesion``."""
    lines = [",".join(LESION_COLUMNS)]
    for r in rows:
        cells: list[str] = [r.table.rsplit("/", 1)[-1], str(r.row), _KIND.get(r.lump.kind, "unknown")]
        for grp in r.view_groups[:2]:
            hit = _lump_box(boxes[r.exam.index], grp[0], r.lump.index) if grp else None
            if hit:
                cy, cx, rad = hit
                # a lesion at the skin line may reach past the image edge: the box stops at it
                cells += [f"{max(0.0, v):.1f}" for v in (cx + 0.5 - rad, cy + 0.5 - rad, cx + 0.5 + rad,
                                                          cy + 0.5 + rad)]
            else:
                cells += [""] * 4
        cells += [""] * (len(LESION_COLUMNS) - len(cells))
        lines.append(",".join(cells))
    (stage / "annotation" / LESIONS_FILE).write_text("\n".join(lines) + "\n", encoding="utf-8")


def _finish(cases: CaseSet, stage: Path, results: list[dict[str, Any]], hostile_map: dict[tuple[int, str], str],
            image_size: int, layout: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the tables and the manifest; return (manifest, summary)."""
    from mvkl.synth.hostile import EXPECTED
    from mvkl.synth.tables import table_rows, write_tables

    rows = table_rows(cases)
    tables = write_tables(stage, cases, rows)
    boxes = {r["exam"]: r["boxes"] for r in results}
    bad: set[tuple[int, str]] = {key for key, kind in hostile_map.items() if EXPECTED[kind] != "ok"}
    hostile_entries = []
    for (e, name), kind in sorted(hostile_map.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        exam = cases.exams[e]
        refs = [{"table": r.table, "row": r.row} for r in rows
                if r.exam.index == e and any(name in grp for grp in r.view_groups)]
        hostile_entries.append({"path": f"{_folder(cases, exam)}/{name}", "kind": kind, "expected": EXPECTED[kind],
                                "rows": refs})
    write_lesion_table(stage, rows, boxes)
    lumps_detail = []
    expected_in_store = 0
    for r in rows:
        good = [f for grp in r.view_groups for f in grp if (r.exam.index, f) not in bad]
        expected_in_store += bool(good)
        views = {}
        for grp, vname in zip(r.view_groups, ("CC", "MLO"), strict=False):
            for f in grp:
                hit = _lump_box(boxes[r.exam.index], f, r.lump.index)
                if hit:
                    views.setdefault(vname, []).append({"file": f, "cy": hit[0], "cx": hit[1], "r": hit[2]})
        lumps_detail.append({"table": r.table, "row": r.row, "laterality": r.lump.laterality, "kind": r.lump.kind,
                             "label": int(r.lump.label), "birads": r.lump.birads,
                             "size_mm": list(r.lump.size_mm), "views": views})
    labels = Counter(int(r.lump.label) for r in rows)
    n_images = sum(len(e.images) for e in cases.exams)
    split_lumps = Counter(r.split for r in rows)
    split_patients = Counter(p.split for p in cases.patients)
    manifest = {
        "version": 1,
        "generator": "mvkl synth",
        "seed": cases.seed,
        "lang": cases.lang,
        "layout": layout,
        "image_size": image_size,
        "exams": len(cases.exams),
        "patients": len(cases.patients),
        "lumps": len(rows),
        "images": n_images,
        "batches": cases.batches,
        "tables": tables,
        "splits": {s: {"patients": split_patients.get(s, 0), "lumps": split_lumps.get(s, 0)} for s in SPLITS},
        "labels": {"malignant": labels.get(1, 0), "benign": labels.get(0, 0)},
        "hostile": hostile_entries,
        "lumps_expected_in_store": expected_in_store,
        "identifiers": sorted(cases.identifiers),
        "lumps_detail": lumps_detail,
    }
    with open(stage / MANIFEST_NAME, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1)
        fh.write("\n")
    files = sum(1 for _ in stage.rglob("*.dcm"))
    summary = {
        "exams": manifest["exams"], "patients": manifest["patients"], "lumps": manifest["lumps"],
        "images": n_images, "files": files, "bytes": sum(r["bytes"] for r in results),
        "labels": manifest["labels"], "splits": manifest["splits"], "batches": cases.batches, "tables": tables,
        "hostile": dict(Counter(k for k in hostile_map.values())), "lumps_expected_in_store": expected_in_store,
        "lang": cases.lang, "image_size": image_size, "seed": cases.seed,
    }
    return manifest, summary
