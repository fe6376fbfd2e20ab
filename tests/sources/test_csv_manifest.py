"""Generic CSV/Parquet manifest adapter: required columns, value parsing, manifest layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mvkl.manifest import schema as S
from mvkl.sources import ADAPTERS, detect_format
from mvkl.sources.csv_manifest import CsvManifestAdapter


def _frame(**extra: list[str]) -> dict[str, list[str]]:
    base = {
        "patient_id": ["A1", "A1", "B2"],
        "study_id": ["s1", "s1", "s2"],
        "laterality": ["L", "right", ""],
        "cc_path": ["a/cc.dcm", "a/cc2.dcm", ""],
        "mlo_path": ["a/mlo.dcm", "", "b/mlo.dcm"],
        "report": ["line1\nline2", "", "BI-RADS 4b"],
        "label": ["malignant", "0", ""],
        "name": ["Jane Roe", "Jane Roe", "John Doe"],
    }
    base.update(extra)
    return base


def test_reads_rows_and_values(tmp_path: Path) -> None:
    df = pl.DataFrame(_frame(split=["train", "train", "valid"], density=["c", "2", ""], age=["51", "", "063Y"]))
    df.write_csv(tmp_path / "manifest.csv")
    assert detect_format(tmp_path) is ADAPTERS["csv"]
    res = CsvManifestAdapter().read(tmp_path)
    assert res.problems == []
    r = res.records
    assert [x.label for x in r] == [1, 0, -1]
    assert [x.laterality for x in r] == ["L", "R", None]
    assert [sorted(x.images) for x in r] == [["CC", "MLO"], ["CC"], ["MLO"]]
    assert r[0].images["CC"].path == tmp_path / "a" / "cc.dcm"
    assert r[0].report == "line1line2" and r[2].birads == "4B"
    assert [x.split for x in r] == ["train", "train", "val"]
    assert [x.density for x in r] == [3, 2, -1]
    assert [x.age for x in r] == [51.0, None, 63.0]
    assert "Jane Roe" in r[0].identifiers and "A1" in r[0].identifiers
    assert (np.stack([x.known for x in r]) == 0).all()  # no manifestation column: all unknown
    assert res.sources[0].manifest_mapping["layout"] == "none"
    assert r[0].row.table == "manifest.csv" and r[0].row.row == 2


def test_source_may_be_the_table_itself(tmp_path: Path) -> None:
    p = tmp_path / "lumps.parquet"
    pl.DataFrame(_frame()).write_parquet(p)
    res = CsvManifestAdapter().read(p)
    assert res.problems == [] and len(res.records) == 3
    assert res.records[0].images["CC"].path == tmp_path / "a" / "cc.dcm"


def test_readable_partial_manifest_leaves_the_rest_unknown(tmp_path: Path) -> None:
    df = pl.DataFrame(_frame(**{"mass shape": ["irregular", "round", ""], "mass margins": ["spiculated", "", "?"],
                                "architectural distortion": ["1", "0", ""]}))
    df.write_csv(tmp_path / "manifest.csv")
    res = CsvManifestAdapter().read(tmp_path)
    assert res.problems == []
    m = np.stack([x.manifest for x in res.records])
    k = np.stack([x.known for x in res.records])
    shape = S.group_by_key()["mass_shape"].slice
    edge = S.group_by_key()["mass_edge"].slice
    ad = S.option_by_key()["misc.architectural_distortion"].index
    assert k[:, shape].all() and k[:2, edge].all() and not k[2, edge].any()
    assert m[0, S.option_by_key()["mass_shape.irregular"].index] == 1
    assert m[1, S.option_by_key()["mass_shape.round"].index] == 1
    assert m[0, ad] == 1 and k[:, ad].all()
    others = np.ones(S.DIM, bool)
    others[shape] = others[edge] = False
    others[ad] = False
    assert not k[:, others].any() and not m[:, others].any()


def test_wide_by_key(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    man = np.zeros((3, S.DIM), np.uint8)
    for r in range(3):
        man[r, rng.integers(0, 4)] = 1
    cols = {o.key: [str(int(v)) for v in man[:, o.index]] for o in S.OPTIONS}
    pl.DataFrame({**_frame(), **cols}).write_csv(tmp_path / "manifest.csv")
    res = CsvManifestAdapter().read(tmp_path)
    assert res.problems == []
    np.testing.assert_array_equal(np.stack([x.manifest for x in res.records]), man)
    assert (np.stack([x.known for x in res.records]) == 1).all()


@pytest.mark.parametrize(("column", "value", "code"), [
    ("label", "maybe", "label"), ("laterality", "middle", "value"), ("split", "holdout", "value"),
    ("cc_path", "/abs/cc.dcm", "value"), ("cc_path", "../up.dcm", "value"), ("birads", "9", "birads"),
])
def test_bad_cells_are_problems_with_location(tmp_path: Path, column: str, value: str, code: str) -> None:
    f = _frame(split=["train", "train", "test"], birads=["", "", ""])
    f[column] = [f[column][0], value, f[column][2]]
    pl.DataFrame(f).write_csv(tmp_path / "manifest.csv")
    res = CsvManifestAdapter().read(tmp_path)
    assert len(res.problems) == 1
    p = res.problems[0]
    assert (p.file, p.row, p.code) == ("manifest.csv", 3, code)
    assert p.column is not None and p.column.startswith(column)
    assert value not in p.message and len(res.records) == 2


def test_missing_required_columns(tmp_path: Path) -> None:
    f = _frame()
    del f["study_id"], f["cc_path"], f["mlo_path"]
    pl.DataFrame(f).write_csv(tmp_path / "manifest.csv")
    res = CsvManifestAdapter().read(tmp_path)
    assert {p.column for p in res.problems} == {"study_id", "cc_path"}


def test_no_path_and_duplicates(tmp_path: Path) -> None:
    f = _frame(lump_id=["x", "x", "y"])
    f["mlo_path"][2] = ""
    pl.DataFrame(f).write_csv(tmp_path / "manifest.csv")
    res = CsvManifestAdapter().read(tmp_path)
    codes = sorted((p.row, p.code) for p in res.problems)
    assert codes == [(3, "duplicate-id"), (4, "empty")]


@pytest.mark.parametrize("word", ["removed", "-", "NA", "N/A", "unknown", ""])
def test_values_that_only_mean_unknown_are_unknown(tmp_path: Path, word: str) -> None:
    df = pl.DataFrame(_frame(density=[word, "2", word], age=[word, "51", word], birads=[word, "3", word],
                             label=[word, "benign", word]))
    df.write_csv(tmp_path / "manifest.csv")
    res = CsvManifestAdapter().read(tmp_path)
    assert res.problems == []
    a, b = res.records[0], res.records[1]
    assert (a.label, a.density, a.age) == (-1, -1, None) and (b.label, b.density, b.age) == (0, 2, 51.0)
