"""MVKL release layout (spec/method.md §2.1): annotation tables + per-batch image folders.

::

    <root>/annotation/{train,valid,test}_<batch>.xlsx          (also <stage>_<batch>_final_onehot.xlsx)
    <root>/<batch>/<patient_id>/<study_id>/<file>              (DICOM)
    <root>/synth_manifest.json                                 (synthetic data only; ignored)

Table columns: 8 metadata columns (``序号``, ``patient_id``, ``study_id``, ``view_id``, ``label``,
``BI-RADS``, ``诊断结果``, ``位置``; found by name, so real tables may order them differently),
then the 35 manifestation columns (by schema name, or by position ``8:-1``), then one last column.

* ``label``: 恶性 -> 1, 良性 -> 0 (also malignant/benign/1/0); anything else, empty included, is a
  table problem (the original code raised a KeyError).
* ``view_id``: groups separated by ``||`` with a trailing ``||``; files of a group separated by
  ``/`` with a trailing ``/``. Group 0 is the CC view, group 1 the MLO view (the DICOM header's
  view is what the store records; a disagreement is a warning). Groups beyond the second are
  ignored (warning). When a group lists several files the **first** is taken, deterministically
  (the original code drew one at random, unseeded, once per run: bug B34).
* ``诊断结果``: the report; newlines removed, whitespace stripped.
* ``BI-RADS``: optional; otherwise parsed from the report.
* The split comes from the file name (train/valid/test) and is kept after a leakage check.
* Optional lesion boxes (needed by ``--views lesion``) come from the side file
  ``annotation/lesions.csv`` (``table, row, lesion_kind, cc_xmin .. mlo_ymax`` in source pixels of
  the group's first file) that ``mvkl synth`` writes, so that the tables keep the release's 44
  columns.
* Batches are numbered ``batch-1``, ``batch-2``, ... in sorted folder-name order (with
  ``--append``, on from the store's last batch: ``first_batch``); folder names (dates) are never
  stored or printed, and tables are named ``batch-k/<stage>`` in messages, as stored.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from mvkl.errors import InputError, Problem
from mvkl.ingest.records import VIEWS, AdapterResult, ImageRef, LumpRecord, RowRef, SourceInfo, SourceLesion
from mvkl.sources.base import (
    birads_from_report,
    check_options,
    column_label,
    find_column,
    laterality_from_text,
    normalize_report,
    parse_birads,
    parse_label,
    read_manifest,
    read_table,
)
from mvkl.sources.lesion_columns import LesionColumns

if TYPE_CHECKING:
    import polars as pl

__all__ = ["MvklReleaseAdapter", "parse_view_id"]

TABLE_RE = re.compile(r"^(train|valid|val|validation|test)_(.+?)(?:_final_onehot)?\.(xlsx|xls|csv|tsv|parquet)$",
                      re.IGNORECASE)
STAGE = {"train": "train", "valid": "val", "val": "val", "validation": "val", "test": "test"}

COL_PATIENT = ("patient_id", "patient id", "patientid", "病人id", "患者id", "病历号")
COL_STUDY = ("study_id", "study id", "studyid", "检查号", "检查id")
COL_VIEW = ("view_id", "view id", "viewid")
COL_LABEL = ("label", "标签", "良恶性", "病理结果", "pathology")
COL_BIRADS = ("BI-RADS", "birads", "bi_rads", "BI-RADS分级", "BI-RADS分类")
COL_REPORT = ("诊断结果", "report", "报告", "诊断", "findings")
COL_POSITION = ("位置", "position", "location")
#: Columns whose cells identify a person: used to scrub reports, never stored.
COL_IDENTIFYING = ("姓名", "name", "patient_name", "patient name", "患者姓名", "病人姓名", "accession_number",
                   "accession number", "住院号", "门诊号", "身份证号", "phone", "电话")


def parse_view_id(value: str) -> tuple[list[list[str]], str | None]:
    """``"a/b/||c/||"`` -> ``[["a", "b"], ["c"]]`` (spec §2.1), or ``([], message)`` when malformed.

    Tolerant of a missing trailing ``||`` or ``/`` and of surrounding spaces; empty groups and
    empty file names are errors.
    """
    v = (value or "").strip()
    if not v:
        return [], "empty view_id"
    parts = v.split("||")
    if parts and parts[-1].strip() == "":
        parts = parts[:-1]
    groups: list[list[str]] = []
    for part in parts:
        files = part.strip().split("/")
        if files and files[-1].strip() == "":
            files = files[:-1]
        files = [f.strip() for f in files]
        if not files or any(f == "" for f in files):
            return [], "malformed view_id (an empty group or file name)"
        if any(f in (".", "..") or "\\" in f for f in files):
            return [], "malformed view_id (a file name that is not a plain name)"
        groups.append(files)
    if not groups:
        return [], "malformed view_id (no group)"
    return groups, None


LESIONS_FILE = "lesions.csv"


def side_boxes(path: Path) -> tuple[dict[tuple[str, int], dict[str, SourceLesion]], list[Problem]]:
    """``annotation/lesions.csv`` (written by ``mvkl synth``): one row per lump with columns
    ``table`` (the table's file name), ``row`` (its spreadsheet row), ``lesion_kind`` and the box
    columns of :mod:`mvkl.sources.lesion_columns` (``cc_xmin .. mlo_ymax``). Kept beside the
    tables so that these keep the release's 44 columns and positional layout. Returns
    ``(table, row) -> view -> lesion``."""
    if not path.is_file():
        return {}, []
    label = f"annotation/{path.name}"
    try:
        df = read_table(path)
    except InputError as exc:
        return {}, [Problem(label, None, None, exc.message, exc.code)]
    t_col, r_col = find_column(df, ["table"]), find_column(df, ["row"])
    cols = LesionColumns.find(df, label)
    problems = cols.problems()
    if t_col is None or r_col is None:
        problems.append(Problem(label, None, "table" if t_col is None else "row", "required column missing",
                                "column-missing"))
    if problems:
        return {}, problems
    data = {c: df.get_column(c).to_list() for c in df.columns}

    def cell(col: str | None, r: int) -> str:
        v = data[col][r] if col else None
        return "" if v is None else str(v).strip()

    out: dict[tuple[str, int], dict[str, SourceLesion]] = {}
    for r in range(df.height):
        try:
            key = (cell(t_col, r), int(float(cell(r_col, r))))
        except ValueError:
            problems.append(Problem(label, r + 2, column_label(df, str(r_col)), "row must be a row number", "value"))
            continue
        found, probs = cols.row(r, r + 2, cell)
        problems += probs
        out[key] = found
    return out, problems


def _with_side_boxes(rec: LumpRecord, boxes: Mapping[str, SourceLesion]) -> LumpRecord:
    """``rec`` with the side file's lesion on each of its images."""
    if not boxes:
        return rec
    images = {v: (dataclasses.replace(ref, lesions=(boxes[v],)) if v in boxes else ref)
              for v, ref in rec.images.items()}
    return dataclasses.replace(rec, images=images)


class MvklReleaseAdapter:
    """The MVKL release layout (``--format mvkl``)."""

    name = "mvkl"
    description = "MVKL release: annotation/{train,valid,test}_<batch>.xlsx + <batch>/<patient>/<study>/<file>"
    options_help: ClassVar[Mapping[str, str]] = {}

    def detect(self, source: Path) -> bool:
        ann = Path(source) / "annotation"
        return ann.is_dir() and any(TABLE_RE.match(p.name) for p in ann.iterdir())

    # -- discovery --------------------------------------------------------------------------
    def discover(self, source: Path) -> list[Path]:
        ann = source / "annotation"
        if not ann.is_dir():
            raise InputError("no annotation/ folder in the source (MVKL layout expected; see --format)",
                             file=source.name, code="layout")
        found = sorted(p for p in ann.iterdir() if p.is_file() and TABLE_RE.match(p.name)
                       and not p.name.startswith((".", "~$")))
        if not found:
            raise InputError("annotation/ holds no {train,valid,test}_<batch>.xlsx table",
                             file=source.name, code="layout")
        return found

    def read(self, source: Path, tables: Sequence[Path] | None = None, dataset: str | None = None, *,
             seed: int = 0, options: Mapping[str, str] | None = None, first_batch: int = 1) -> AdapterResult:
        """Read and validate every table (:mod:`mvkl.sources.base` contract). The splits come from the
        table names, so ``seed`` is unused; no ``options`` are accepted. Tables are labelled
        ``batch-k/<stage>`` with k counted from ``first_batch`` in sorted batch-folder order."""
        check_options(self.name, options, self.options_help)
        if first_batch < 1:
            raise ValueError("first_batch must be at least 1")
        source = Path(source)
        if not source.is_dir():
            raise InputError("source folder not found", file=source.name, code="missing-file")
        paths = [Path(t) for t in tables] if tables else self.discover(source)
        dataset = dataset or self.name
        # Batch of each table: from its name; tables whose name does not follow the pattern get
        # no batch folder (images directly under <root>/<patient>/<study>/).
        info: list[tuple[Path, str | None, str]] = []
        for p in paths:
            m = TABLE_RE.match(p.name)
            info.append((p, STAGE[m.group(1).lower()] if m else None, m.group(2) if m else ""))
        order = {"train": 0, "val": 1, "test": 2}
        info.sort(key=lambda t: (t[2], order.get(t[1] or "", 3), t[0].name))
        batches = sorted({b for _, _, b in info})
        ordinal = {b: f"batch-{first_batch + i}" for i, b in enumerate(batches)}
        records: list[LumpRecord] = []
        problems: list[Problem] = []
        warnings: list[str] = []
        sources: dict[str, SourceInfo] = {b: SourceInfo(b, self.name, dataset) for b in batches}
        seen: dict[tuple[str, str, str], RowRef] = {}
        side, side_problems = side_boxes(source / "annotation" / LESIONS_FILE)
        problems += side_problems
        for path, stage, batch in info:
            # a table named outside the pattern gets an ordinal, never its file name (issue 15)
            label = f"{ordinal[batch]}/{stage or f'table-{info.index((path, stage, batch)) + 1}'}"
            try:
                df = read_table(path)
            except InputError as exc:
                problems.append(Problem(label, None, None, exc.message, exc.code))
                continue
            sources[batch].tables += 1
            recs, probs, warns, mapping = self._read_table(df, label, source, batch, stage, dataset)
            recs = [_with_side_boxes(r, side.get((path.name, r.row.row), {})) for r in recs]
            if not sources[batch].manifest_mapping:
                sources[batch].manifest_mapping = mapping
            for r in recs:
                key = (r.patient_key, r.exam_key, r.lump_key)
                if key in seen:
                    problems.append(Problem(r.row.table, r.row.row, None,
                                            f"duplicated lump (same patient_id, study_id and view_id as "
                                            f"{seen[key]})", "duplicate-id"))
                    continue
                seen[key] = r.row
                records.append(r)
            problems += probs
            warnings += warns
        return AdapterResult(records, problems, self.name, dataset, [sources[b] for b in batches], warnings)

    # -- one table --------------------------------------------------------------------------
    def _read_table(self, df: pl.DataFrame, label: str, root: Path, batch: str, stage: str | None,
                    dataset: str) -> tuple[list[LumpRecord], list[Problem], list[str], dict[str, object]]:
        problems: list[Problem] = []
        warnings: list[str] = []
        cols = {k: find_column(df, c) for k, c in (("patient", COL_PATIENT), ("study", COL_STUDY),
                                                   ("view", COL_VIEW), ("label", COL_LABEL),
                                                   ("birads", COL_BIRADS), ("report", COL_REPORT),
                                                   ("position", COL_POSITION))}
        for key, names in (("patient", COL_PATIENT), ("study", COL_STUDY), ("view", COL_VIEW),
                           ("label", COL_LABEL)):
            if cols[key] is None:
                problems.append(Problem(label, None, names[0], "required column missing", "column-missing"))
        if cols["report"] is None:
            warnings.append(f"{label}: no report column (诊断结果); reports will be empty")
        man = read_manifest(df, label, positional=True)
        problems += man.problems
        if problems and any(p.code == "column-missing" for p in problems):
            return [], problems, warnings, man.mapping
        ident_cols = [c for c in (find_column(df, [n]) for n in COL_IDENTIFYING) if c is not None]
        get = {k: (df.get_column(c).to_list() if c else [None] * df.height) for k, c in cols.items()}
        records: list[LumpRecord] = []
        multi = extra = 0
        for r in range(df.height):
            row = r + 2
            pid = str(get["patient"][r] or "").strip()
            sid = str(get["study"][r] or "").strip()
            vid = str(get["view"][r] or "").strip()
            if not (pid or sid or vid or str(get["label"][r] or "").strip()):
                continue  # an empty spreadsheet row
            bad = False
            for key, val in (("patient", pid), ("study", sid)):
                if not val:
                    problems.append(Problem(label, row, column_label(df, cols[key]), "empty cell", "empty"))
                    bad = True
                elif val in (".", "..") or "/" in val or "\\" in val:
                    problems.append(Problem(label, row, column_label(df, cols[key]),
                                            "not usable as a folder name", "value"))
                    bad = True
            lab, ok = parse_label(get["label"][r], allow_unknown=False)
            if not ok:
                problems.append(Problem(label, row, column_label(df, cols["label"]),
                                        "label must be 恶性 (malignant) or 良性 (benign)", "label"))
                bad = True
            groups, err = parse_view_id(vid)
            if err:
                problems.append(Problem(label, row, column_label(df, cols["view"]), err, "view-id"))
                bad = True
            birads = ""
            report = normalize_report(get["report"][r])
            if cols["birads"] is not None:
                birads, ok = parse_birads(get["birads"][r])
                if not ok:
                    problems.append(Problem(label, row, column_label(df, cols["birads"]),
                                            "not a BI-RADS category (0-6, 4A-4C)", "birads"))
                    bad = True
            if not birads:
                birads = birads_from_report(report)
            if bad:
                continue
            folder = (root / batch if batch else root) / pid / sid
            rel_folder = "/".join(x for x in (batch, pid, sid) if x)
            images: dict[str, ImageRef] = {}
            for view, files in zip(VIEWS, groups, strict=False):
                name = files[0]
                path = folder / name
                rel = f"{rel_folder}/{name}"
                if not path.exists() and (folder / f"{name}.dcm").exists():
                    path, rel = folder / f"{name}.dcm", f"{rel}.dcm"
                images[view] = ImageRef(path, rel, view)
            note = ""
            if any(len(g) > 1 for g in groups[:2]):
                multi += 1
                note = "several files in a view group; the first was taken"
            if len(groups) > 2:
                extra += 1
            ids = [pid, sid, *(str(df.get_column(c)[r] or "").strip() for c in ident_cols)]
            records.append(LumpRecord(
                dataset=dataset, batch=batch, patient_key=pid, exam_key=f"{pid}\x1f{sid}",
                lump_key=vid, images=images,
                laterality=laterality_from_text(str(get["position"][r] or "")),
                label=lab, birads=birads, density=-1, age=None, report=report,
                manifest=man.vectors[r], known=man.known[r], split=stage, row=RowRef(label, row),
                identifiers=[i for i in ids if i], view_note=note))
        if multi:
            warnings.append(f"{label}: {multi} rows list several files in a view group; the first file "
                            "of each group was taken (deterministic; spec B34)")
        if extra:
            warnings.append(f"{label}: {extra} rows list more than two view groups; groups beyond CC "
                            "and MLO were ignored")
        return records, problems, warnings, man.mapping
