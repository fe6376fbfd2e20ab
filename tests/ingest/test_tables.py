"""Issue 18 item 6: tables as sites really have them (encodings, control characters, merged cells,
unsaved formulas, another sheet, a FIFO, shifted positional columns)."""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import polars as pl
import pytest

from tests.ingest.dicomfiles import make_mvkl_source, phantom, write_mg

Run = Callable[..., Any]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tables") / "src"
    for i in range(6):
        write_mg(root / f"p{i}" / "cc.dcm", phantom(seed=i), PatientID=f"PID{i}")
    return root


def _rows(n: int = 6) -> list[dict[str, str]]:
    return [{"patient_id": f"患者{i}", "study_id": "s1", "cc_path": f"p{i}/cc.dcm", "mlo_path": "",
             "label": "恶性" if i % 2 else "良性", "report": f"左乳肿块{i}"} for i in range(n)]


def _csv_text(rows: list[dict[str, str]]) -> str:
    head = list(rows[0])
    return "\n".join([",".join(head), *(",".join(r[h] for h in head) for r in rows)]) + "\n"


def _ingest(run_cli: Run, src: Path, table: Path, out: Path, *extra: Any) -> Any:
    return run_cli("ingest", src, "--format", "csv", "--table", table, "--out", out, "--image-size", "32",
                   "--key-file", out.parent / "k.key", "--workers", "1", "--quiet", "--json", *extra)


def _labels(out: Path) -> list[int]:
    with h5py.File(out) as f:
        return [int(x) for x in f["lumps/label"][()]]


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-16", "utf-16-le", "utf-8"])
def test_encodings_sites_write_are_detected(encoding: str, images: Path, tmp_path: Path, run_cli: Run) -> None:
    table = tmp_path / "manifest.csv"
    table.write_bytes(_csv_text(_rows()).encode(encoding))
    res = _ingest(run_cli, images, table, tmp_path / "s.h5")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert sorted(_labels(tmp_path / "s.h5")) == [0, 0, 0, 1, 1, 1]


def test_an_unknown_encoding_is_refused_naming_it(images: Path, tmp_path: Path, run_cli: Run) -> None:
    rows = [dict(r, patient_id=f"p{i}", label="benign", report="nódulo sólido à direita")
            for i, r in enumerate(_rows())]
    table = tmp_path / "manifest.csv"
    table.write_bytes(_csv_text(rows).encode("latin-1"))
    res = _ingest(run_cli, images, table, tmp_path / "s.h5")
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    assert "not UTF-8, UTF-16 or GB18030" in res.stderr and "Latin-1" in res.stderr
    assert not (tmp_path / "s.h5").exists()


def test_control_characters_are_removed_before_validation(images: Path, tmp_path: Path, run_cli: Run) -> None:
    rows = _rows()
    rows[0]["label"] = "良\x00性"
    rows[1]["label"] = "恶性\x1b"
    rows[2]["report"] = "左乳\x00\x07肿块\x7f"
    rows[3]["patient_id"] = "患者\x013"
    table = tmp_path / "manifest.csv"
    table.write_bytes(_csv_text(rows).encode("utf-8"))
    res = _ingest(run_cli, images, table, tmp_path / "s.h5")
    assert res.exit_code == 0, res.stdout + res.stderr
    assert sorted(_labels(tmp_path / "s.h5")) == [0, 0, 0, 1, 1, 1]
    with h5py.File(tmp_path / "s.h5") as f:
        reports = [x.decode() if isinstance(x, bytes) else str(x) for x in f["lumps/report"][()]]
    assert reports and not any(re.search(r"[\x00-\x08\x0b-\x1f\x7f]", r) for r in reports)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_not_called_a_missing_file(images: Path, tmp_path: Path, run_cli: Run) -> None:
    fifo = tmp_path / "manifest.csv"
    os.mkfifo(fifo)
    res = _ingest(run_cli, images, fifo, tmp_path / "s.h5")
    assert res.exit_code == 2 and "named pipe (FIFO)" in res.stderr and "not found" not in res.stderr


# -- workbooks (MVKL release layout, columns found by position) --------------------------------------
@pytest.fixture
def release(tmp_path: Path) -> tuple[Path, Path, pl.DataFrame]:
    src = tmp_path / "src"
    make_mvkl_source(src, n_patients=4, hostile=False, stages=("train",))
    table = next((src / "annotation").glob("train_*.xlsx"))
    return src, table, pl.read_excel(table, infer_schema_length=0)


def _write_book(path: Path, df: pl.DataFrame, *, merge: str | None = None, formula: str | None = None,
                first_sheet_empty: bool = False) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    if first_sheet_empty:
        wb.add_worksheet("Notes")
    ws = wb.add_worksheet("Data")
    for j, c in enumerate(df.columns):
        ws.write_string(0, j, c)
    for i, row in enumerate(df.iter_rows(), start=1):
        for j, v in enumerate(row):
            ws.write_string(i, j, "" if v is None else str(v))
    if merge:
        ws.merge_range(merge, df.row(1)[df.columns.index("patient_id")])
    if formula:
        ws.write_formula(formula, "=1-0")
    wb.close()
    if formula:  # like openpyxl and other writers that do not compute formulas: no saved value
        with zipfile.ZipFile(path) as z:
            members = {n: z.read(n) for n in z.namelist()}
        for n in members:
            if n.startswith("xl/worksheets/sheet"):
                members[n] = re.sub(rb"(</f>)<v>[^<]*</v>", rb"\1", members[n])
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for n, data in members.items():
                z.writestr(n, data)


def _release_ingest(run_cli: Run, src: Path, tmp_path: Path) -> Any:
    return run_cli("ingest", src, "--format", "mvkl", "--out", tmp_path / "s.h5", "--image-size", "32",
                   "--key-file", tmp_path / "k.key", "--workers", "1", "--quiet", "--json")


def test_merged_cells_are_refused_naming_row_and_column(release: tuple[Path, Path, pl.DataFrame], tmp_path: Path,
                                                        run_cli: Run) -> None:
    src, table, df = release
    col = chr(ord("A") + df.columns.index("patient_id"))
    _write_book(table, df, merge=f"{col}3:{col}4")
    res = _release_ingest(run_cli, src, tmp_path)
    assert res.exit_code == 2 and "Traceback" not in res.stderr, res.stderr
    assert f"row 3, column {col}: merged cells {col}3:{col}4" in res.stderr and "unmerge" in res.stderr


def test_a_formula_without_a_saved_value_is_refused(release: tuple[Path, Path, pl.DataFrame], tmp_path: Path,
                                                    run_cli: Run) -> None:
    src, table, df = release
    _write_book(table, df, formula="J2")
    res = _release_ingest(run_cli, src, tmp_path)
    assert res.exit_code == 2 and "formula without a saved value" in res.stderr, res.stderr
    assert "row 2, column J: a formula without a saved value" in res.stderr


def test_data_on_another_sheet_is_named(release: tuple[Path, Path, pl.DataFrame], tmp_path: Path,
                                        run_cli: Run) -> None:
    src, table, df = release
    _write_book(table, df, first_sheet_empty=True)
    res = _release_ingest(run_cli, src, tmp_path)
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    assert "'Data' (holds data)" in res.stderr and "first sheet" in res.stderr


@pytest.mark.parametrize("shift", ["metadata column inside", "numbered headers moved"])
def test_shifted_positional_columns_are_refused(shift: str, release: tuple[Path, Path, pl.DataFrame],
                                                tmp_path: Path, run_cli: Run) -> None:
    src, table, df = release
    cols = df.columns
    if shift == "metadata column inside":  # 备注 moved in front of the last manifestation column
        order = [*cols[:-2], cols[-1], cols[-2]]
        df = df.select(order)
    else:  # 位置 (column H) dropped and an extra column added at the end: m00 lands in H
        df = df.drop("位置").with_columns(pl.lit("").alias("extra"))
    _write_book(table, df)
    res = _release_ingest(run_cli, src, tmp_path)
    assert res.exit_code == 2 and "Traceback" not in res.stderr, res.stdout + res.stderr
    assert "columns are shifted" in res.stderr and "row 1" in res.stderr
    doc = json.loads(res.stdout) if res.stdout.strip().startswith("{") else {}
    assert not doc.get("ok")
