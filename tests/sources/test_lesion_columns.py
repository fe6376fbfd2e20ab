"""Lesion-box columns of the generic CSV manifest: parsed per view, bad cells located, exit 2."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from mvkl.sources.csv_manifest import CsvManifestAdapter


def _frame(**extra: list[Any]) -> dict[str, list[Any]]:
    base: dict[str, list[Any]] = {"patient_id": ["p1", "p2", "p3"], "study_id": ["s1", "s2", "s3"],
                                  "cc_path": ["a.dcm", "b.dcm", "c.dcm"], "mlo_path": ["a2.dcm", "", "c2.dcm"]}
    base.update(extra)
    return base


def test_row_box_applies_to_each_image_and_view_columns_override(tmp_path: Path) -> None:
    pl.DataFrame(_frame(xmin=[10, None, 1], ymin=[20, None, 2], xmax=[30, None, 3], ymax=[45.5, None, 4],
                        mlo_xmin=[None, None, 100], mlo_ymin=[None, None, 200], mlo_xmax=[None, None, 150],
                        mlo_ymax=[None, None, 260], lesion_kind=["Mass", "", "calcification"])
                 ).write_csv(tmp_path / "manifest.csv")
    res = CsvManifestAdapter().read(tmp_path)
    assert res.problems == []
    r = res.records
    assert [(le.kind, le.box) for le in r[0].images["CC"].lesions] == [("mass", (10.0, 20.0, 30.0, 45.5))]
    assert r[0].images["MLO"].lesions == r[0].images["CC"].lesions
    assert r[1].images["CC"].lesions == ()
    assert r[2].images["CC"].lesions[0].box == (1.0, 2.0, 3.0, 4.0)
    assert [(le.kind, le.box) for le in r[2].images["MLO"].lesions] == [("calcification", (100.0, 200.0, 150.0,
                                                                                           260.0))]


def test_no_box_columns_no_lesions(tmp_path: Path) -> None:
    pl.DataFrame(_frame()).write_csv(tmp_path / "manifest.csv")
    res = CsvManifestAdapter().read(tmp_path)
    assert res.problems == [] and all(not ref.lesions for x in res.records for ref in x.images.values())


@pytest.mark.parametrize(("column", "value"), [
    ("xmin", "left"), ("ymax", "-3"), ("xmax", "5"), ("ymin", ""), ("lesion_kind", "tumourish"),
])
def test_bad_box_cells_are_located(tmp_path: Path, column: str, value: str) -> None:
    f = _frame(xmin=["10", "10", "10"], ymin=["20", "20", "20"], xmax=["30", "30", "30"], ymax=["40", "40", "40"],
               lesion_kind=["mass", "mass", "mass"])
    f[column] = [f[column][0], value, f[column][2]]
    pl.DataFrame(f).write_csv(tmp_path / "manifest.csv")
    res = CsvManifestAdapter().read(tmp_path)
    assert len(res.problems) == 1, res.problems
    p = res.problems[0]
    assert (p.file, p.row) == ("manifest.csv", 3) and str(p.column).split()[0] == column  # "xmin (E)"
    assert (not value or value not in p.message) and len(res.records) == 2


def test_partial_box_header_is_a_problem(tmp_path: Path) -> None:
    pl.DataFrame(_frame(cc_xmin=[1, 1, 1], cc_ymin=[1, 1, 1], cc_xmax=[2, 2, 2])).write_csv(tmp_path / "manifest.csv")
    res = CsvManifestAdapter().read(tmp_path)
    assert [(p.row, p.column, p.code) for p in res.problems] == [(None, "cc_ymax", "column-missing")]


def test_cli_exits_2_naming_the_cell(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    f = _frame(xmin=["10", "x", "10"], ymin=["20", "20", "20"], xmax=["30", "30", "30"], ymax=["40", "40", "40"])
    pl.DataFrame(f).write_csv(tmp_path / "manifest.csv")
    res = run_cli("ingest", tmp_path, "--format", "csv", "--out", tmp_path / "s.h5", "--key-file", tmp_path / "k")
    assert res.exit_code == 2
    assert "manifest.csv" in res.stderr and "xmin" in res.stderr and "3" in res.stderr
    assert not (tmp_path / "s.h5").exists()
