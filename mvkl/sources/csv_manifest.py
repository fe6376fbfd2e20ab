"""Generic CSV/TSV/XLSX/Parquet manifest (``--format csv``): one row per lump.

SOURCE is a folder holding ``manifest.{csv,tsv,xlsx,parquet}`` (or name the table with
``--table``), or the manifest file itself (its folder is then the root). Image paths are relative
to the root.

============== ======== =========================================================================
column         required meaning
============== ======== =========================================================================
patient_id     yes      patient key (the split unit; pseudonymised)
study_id       yes      exam key (pseudonymised)
laterality     no       L/R (left/right, 左/右); empty -> from the DICOM header
cc_path        yes*     CC image, relative to the root (*one of cc_path/mlo_path may be empty)
mlo_path       yes*     MLO image, relative to the root
report         no       report text (scrubbed before storing)
label          no       malignant/benign/1/0 (恶性/良性); empty = unknown (-1)
birads         no       0-6, 4A-4C; empty -> parsed from the report
split          no       train/val(valid)/test: kept after a leakage check; empty -> assigned
lump_id        no       lump key (default: patient_id + study_id + laterality + paths)
density        no       1-4 or A-D
age            no       years (stored as a 5-year bucket); empty -> DICOM PatientAge
name           no       patient name (used only to scrub reports; never stored)
xmin .. ymax   no       lesion box in source pixels for the row's image(s); ``cc_xmin .. mlo_ymax``
                        per view (:mod:`mvkl.sources.lesion_columns`); ``lesion_kind`` its kind
============== ======== =========================================================================

Manifestation columns, in either layout of :mod:`mvkl.manifest.table`: wide (one 0/1 column per
dimension, named by key, ``group.option`` or option name) or readable (one column per exclusive
group holding an option name + one 0/1 column per sign). Groups or signs without a column are
*unknown*; a table without any manifestation column has every dimension unknown. Any other column
is ignored (and never stored).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from mvkl.errors import InputError, Problem
from mvkl.fsutil import display_path
from mvkl.ingest.records import AdapterResult, ImageRef, LumpRecord, RowRef, SourceInfo
from mvkl.sources.base import (
    birads_from_report,
    check_options,
    column_label,
    find_column,
    normalize_report,
    parse_age,
    parse_birads,
    parse_density,
    parse_label,
    parse_laterality,
    read_manifest,
    read_table,
)
from mvkl.sources.lesion_columns import LesionColumns

if TYPE_CHECKING:
    import polars as pl

__all__ = ["CsvManifestAdapter"]

MANIFEST_NAMES = ("manifest.csv", "manifest.tsv", "manifest.xlsx", "manifest.parquet", "lumps.csv")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet", ".pq")

COLUMNS: dict[str, tuple[str, ...]] = {
    "patient": ("patient_id", "patient id", "patientid", "患者id"),
    "study": ("study_id", "study id", "exam_id", "studyid", "检查号"),
    "laterality": ("laterality", "side", "left or right breast", "侧别"),
    "cc": ("cc_path", "cc", "cc_file", "cc path"),
    "mlo": ("mlo_path", "mlo", "mlo_file", "mlo path"),
    "report": ("report", "诊断结果", "findings", "报告"),
    "label": ("label", "pathology", "标签", "良恶性"),
    "birads": ("birads", "bi-rads", "bi_rads", "assessment"),
    "split": ("split", "subset", "fold"),
    "lump_id": ("lump_id", "lump id"),
    "density": ("density", "breast_density", "breast density", "acr"),
    "age": ("age", "patient_age", "patient age", "年龄"),
}
COL_IDENTIFYING = ("name", "patient_name", "patient name", "姓名", "患者姓名", "accession_number",
                   "accession number", "phone")


class CsvManifestAdapter:
    """A generic manifest table, one row per lump (``--format csv``)."""

    name = "csv"
    description = "generic manifest table: patient_id, study_id, cc_path, mlo_path, report, label, ..."
    options_help: ClassVar[Mapping[str, str]] = {}

    def detect(self, source: Path) -> bool:
        source = Path(source)
        if source.is_file():
            return source.suffix.lower() in TABLE_SUFFIXES
        return any((source / n).is_file() for n in MANIFEST_NAMES)

    def read(self, source: Path, tables: Sequence[Path] | None = None, dataset: str | None = None, *,
             seed: int = 0, options: Mapping[str, str] | None = None, first_batch: int = 1) -> AdapterResult:
        """Read and validate the manifest (:mod:`mvkl.sources.base` contract). Splits the table does
        not give are assigned by the pipeline (``--split``, ``--seed``), so ``seed`` is unused here;
        no ``options`` are accepted. Tables are labelled by file name, so ``first_batch`` is unused."""
        check_options(self.name, options, self.options_help)
        source = Path(source)
        if source.is_file():
            root, paths = source.parent, [source]
        elif source.is_dir():
            root = source
            paths = [Path(t) for t in tables] if tables else [source / n for n in MANIFEST_NAMES
                                                              if (source / n).is_file()][:1]
            if not paths:
                raise InputError(f"no manifest table in the source (expected one of {', '.join(MANIFEST_NAMES)},"
                                 " or name it with --table)", file=source.name, code="layout")
        else:
            raise InputError("source not found", file=source.name, code="missing-file")
        if tables and source.is_file():
            paths = [Path(t) for t in tables]
        dataset = dataset or self.name
        records: list[LumpRecord] = []
        problems: list[Problem] = []
        warnings: list[str] = []
        src = SourceInfo("", self.name, dataset)
        seen: dict[tuple[str, str, str], RowRef] = {}
        for path in paths:
            label = display_path(path, root) if path.is_absolute() or path.exists() else path.name
            try:
                df = read_table(path)
            except InputError as exc:
                problems.append(Problem(label, None, None, exc.message, exc.code))
                continue
            src.tables += 1
            recs, probs, warns, mapping = self._read_table(df, label, root, dataset)
            src.manifest_mapping = src.manifest_mapping or mapping
            for r in recs:
                key = (r.patient_key, r.exam_key, r.lump_key)
                if key in seen:
                    problems.append(Problem(r.row.table, r.row.row, None,
                                            f"duplicated lump (same key as {seen[key]})", "duplicate-id"))
                    continue
                seen[key] = r.row
                records.append(r)
            problems += probs
            warnings += warns
        return AdapterResult(records, problems, self.name, dataset, [src], warnings)

    def _read_table(self, df: pl.DataFrame, label: str, root: Path,
                    dataset: str) -> tuple[list[LumpRecord], list[Problem], list[str], dict[str, object]]:
        from mvkl.store.schema import split_index

        problems: list[Problem] = []
        cols = {k: find_column(df, names) for k, names in COLUMNS.items()}
        for key in ("patient", "study"):
            if cols[key] is None:
                problems.append(Problem(label, None, COLUMNS[key][0], "required column missing", "column-missing"))
        if cols["cc"] is None and cols["mlo"] is None:
            problems.append(Problem(label, None, "cc_path", "required column missing (cc_path and/or mlo_path)",
                                    "column-missing"))
        man = read_manifest(df, label, positional=False, partial=True)
        problems += man.problems
        boxes = LesionColumns.find(df, label)
        problems += boxes.problems()
        if any(p.code == "column-missing" for p in problems):
            return [], problems, [], man.mapping
        ident_cols = [c for c in (find_column(df, [n]) for n in COL_IDENTIFYING) if c is not None]
        get = {k: (df.get_column(c).to_list() if c else [None] * df.height) for k, c in cols.items()}

        def cell(key: str, r: int) -> str:
            v = get[key][r]
            return "" if v is None else str(v).strip()

        records: list[LumpRecord] = []
        for r in range(df.height):
            row = r + 2
            if not any(cell(k, r) for k in ("patient", "study", "cc", "mlo")):
                continue
            bad = False

            def problem(key: str, msg: str, code: str = "value", _row: int = row) -> None:
                nonlocal bad
                problems.append(Problem(label, _row, column_label(df, cols[key]), msg, code))
                bad = True

            pid, sid = cell("patient", r), cell("study", r)
            if not pid:
                problem("patient", "empty cell", "empty")
            if not sid:
                problem("study", "empty cell", "empty")
            lat, ok = parse_laterality(cell("laterality", r))
            if not ok:
                problem("laterality", "laterality must be L or R (left/right) or empty")
            lab, ok = parse_label(cell("label", r))
            if not ok:
                problem("label", "label must be malignant/benign/1/0 or empty (unknown)", "label")
            birads, ok = parse_birads(cell("birads", r))
            if not ok:
                problem("birads", "not a BI-RADS category (0-6, 4A-4C)", "birads")
            density, ok = parse_density(cell("density", r))
            if not ok:
                problem("density", "density must be 1-4 or A-D")
            age, ok = parse_age(cell("age", r))
            if not ok:
                problem("age", "age must be a number of years")
            split = cell("split", r) or None
            if split is not None:
                try:
                    split = ("train", "val", "test")[split_index(split.replace("training", "train"))]
                except ValueError:
                    problem("split", "split must be train, val (valid) or test")
            les, les_problems = boxes.row(r, row, lambda c, i: "" if c is None or df.get_column(c)[i] is None
                                          else str(df.get_column(c)[i]).strip())
            problems.extend(les_problems)
            bad = bad or bool(les_problems)
            images: dict[str, ImageRef] = {}
            for view, key in (("CC", "cc"), ("MLO", "mlo")):
                rel = cell(key, r).replace("\\", "/")
                if rel:
                    if rel.startswith("/") or ".." in rel.split("/"):
                        problem(key, "image paths must be relative to the source folder")
                        continue
                    images[view] = ImageRef(root / rel, rel, view, (les[view],) if view in les else ())
            if not images and not bad:
                problem("cc" if cols["cc"] else "mlo", "no image path (cc_path and mlo_path are both empty)", "empty")
            if bad:
                continue
            report = normalize_report(get["report"][r])
            paths = [images[v].rel if v in images else "" for v in ("CC", "MLO")]
            lump_key = cell("lump_id", r) or "\x1f".join((lat or "", *paths))
            ids = [pid, sid, cell("lump_id", r), *(str(df.get_column(c)[r] or "").strip() for c in ident_cols)]
            records.append(LumpRecord(
                dataset=dataset, batch="", patient_key=pid, exam_key=f"{pid}\x1f{sid}", lump_key=lump_key,
                images=images, laterality=lat, label=lab, birads=birads or birads_from_report(report),
                density=density, age=age, report=report, manifest=man.vectors[r], known=man.known[r],
                split=split, row=RowRef(label, row), identifiers=[i for i in ids if i]))
        return records, problems, [], man.mapping
