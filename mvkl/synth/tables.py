"""Annotation tables in the MVKL release layout (spec/method.md §2.1).

``annotation/{train,valid,test}_<batch>.xlsx``, one row per lump, columns in this exact order:
8 metadata columns ``序号, patient_id, study_id, view_id, label, BI-RADS, 诊断结果, 位置``, the 35
manifestation columns (0/1 integers, headers ``组.选项`` in Chinese from
:mod:`mvkl.manifest.schema`), and a last column ``备注`` (remarks). ``label`` is 恶性/良性.
``view_id`` lists the lump's image files, group 0 the CC file(s) of its breast and group 1 the MLO
file(s): groups end with ``||``, files inside a group end with ``/`` (``a/b/||c/||``); names are
relative to ``<batch>/<patient_id>/<study_id>/``.

Workbooks are written with xlsxwriter and a fixed creation time so that the bytes depend on the
seed only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from mvkl.manifest import schema as S
from mvkl.synth.cases import SPLITS, CaseSet, Exam, Lump

__all__ = ["META_COLUMNS", "REMARK_COLUMN", "TableRow", "column_names", "format_view_id", "parse_view_id",
           "table_rows", "write_tables"]

META_COLUMNS = ("序号", "patient_id", "study_id", "view_id", "label", "BI-RADS", "诊断结果", "位置")
REMARK_COLUMN = "备注"
LABEL_TEXT = {1: "恶性", 0: "良性"}
_CREATED = dt.datetime(2023, 5, 19, 9, 0, 0)


def column_names() -> list[str]:
    """The 44 column headers in order."""
    groups = S.group_by_key()
    return [*META_COLUMNS, *(f"{groups[o.group].zh}.{o.zh}" for o in S.OPTIONS), REMARK_COLUMN]


def format_view_id(groups: list[list[str]]) -> str:
    """``[[a, b], [c]] -> "a/b/||c/||"`` (spec/method.md §2.1)."""
    return "".join("".join(f"{name}/" for name in grp) + "||" for grp in groups)


def parse_view_id(view_id: str) -> list[list[str]]:
    """Inverse of :func:`format_view_id`: split on ``||`` dropping the last (empty) piece, then
    each group on ``/`` dropping its last piece, exactly as the original loader does."""
    return [grp.split("/")[:-1] for grp in view_id.split("||")[:-1]]


@dataclass
class TableRow:
    """One lump's row and where it lives (``row`` is the spreadsheet row, header = 1)."""

    table: str            # "annotation/train_20220901.xlsx"
    row: int
    lump: Lump
    exam: Exam
    split: str
    view_groups: list[list[str]]
    values: list[object]


def table_rows(cases: CaseSet, view_groups: dict[int, list[list[str]]] | None = None) -> list[TableRow]:
    """Every lump's row, grouped by table file (split x batch), rows in exam order.

    ``view_groups`` overrides a lump's file groups (the hostile mode points a row at a missing
    file); by default they are the CC and MLO files of the lump's breast.
    """
    by_table: dict[str, list[tuple[Lump, Exam, str]]] = {}
    for exam in cases.exams:
        split = cases.patients[exam.patient].split
        for lump in exam.lumps:
            by_table.setdefault(f"annotation/{split}_{exam.batch}.xlsx", []).append((lump, exam, split))
    rows: list[TableRow] = []
    for table in sorted(by_table):
        for i, (lump, exam, split) in enumerate(by_table[table]):
            groups = (view_groups or {}).get(lump.index) or [
                [im.file for im in exam.files_for(lump.laterality, "CC")],
                [im.file for im in exam.files_for(lump.laterality, "MLO")]]
            ident = cases.patients[exam.patient].identity
            values: list[object] = [i + 1, ident.patient_id, exam.study_id, format_view_id(groups),
                                    LABEL_TEXT[lump.label], lump.birads, lump.report, lump.location,
                                    *(int(x) for x in lump.manifest), lump.remark]
            rows.append(TableRow(table, i + 2, lump, exam, split, groups, values))
    return rows


def write_tables(out_dir: Path, cases: CaseSet, rows: list[TableRow]) -> list[str]:
    """Write every ``annotation/<split>_<batch>.xlsx`` (header-only when a split has no lump in a
    batch). Returns the relative paths written."""
    import xlsxwriter

    names = column_names()
    written = []
    for split in SPLITS:
        for batch in cases.batches:
            rel = f"annotation/{split}_{batch}.xlsx"
            path = out_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                                 "strings_to_urls": False})
            wb.set_properties({"created": _CREATED, "author": "mvkl synth", "title": rel})
            ws = wb.add_worksheet("Sheet1")
            for c, name in enumerate(names):
                ws.write_string(0, c, name)
            for r in (r for r in rows if r.table == rel):
                for c, val in enumerate(r.values):
                    if isinstance(val, int):
                        ws.write_number(r.row - 1, c, val)
                    else:
                        ws.write_string(r.row - 1, c, str(val))
            wb.close()
            written.append(rel)
    return written
