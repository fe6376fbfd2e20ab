"""MVKL release adapter: table discovery, metadata columns by name, view_id, labels, problems."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mvkl.manifest import schema as S
from mvkl.sources import ADAPTERS, detect_format
from mvkl.sources.mvkl_release import MvklReleaseAdapter, parse_view_id

SECRET = "PIDSECRET77"


def _row(i: int, pid: str, man: np.ndarray, **kw: str) -> dict[str, str]:
    row = {"序号": str(i), "patient_id": pid, "study_id": f"ST{i}", "view_id": f"c{i}.dcm/||m{i}.dcm/||",
           "label": "恶性" if i % 2 else "良性", "BI-RADS": "4a", "诊断结果": f"第一行\n  第二行 {i}  ", "位置": "左乳"}
    for o in S.OPTIONS:
        row[f"col{o.index}"] = str(int(man[o.index]))
    row["备注"] = "remark"
    row.update(kw)
    return row


def _write(root: Path, name: str, rows: list[dict[str, str]]) -> Path:
    (root / "annotation").mkdir(parents=True, exist_ok=True)
    p = root / "annotation" / name
    pl.DataFrame(rows).write_excel(p)
    return p


def _man(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = np.zeros(S.DIM, np.uint8)
    for g in S.exclusive_groups():
        c = rng.integers(-1, len(g.options))
        if c >= 0:
            m[g.options[c].index] = 1
    m[S.MISC_GROUP.slice] = rng.random(9) < 0.3
    return m


@pytest.mark.parametrize(("text", "want"), [
    ("a/b/||c/||", [["a", "b"], ["c"]]),
    ("a/||", [["a"]]),
    (" a.dcm/ || b.dcm/ ||", [["a.dcm"], ["b.dcm"]]),
    ("a||b", [["a"], ["b"]]),
])
def test_parse_view_id(text: str, want: list[list[str]]) -> None:
    assert parse_view_id(text) == (want, None)


@pytest.mark.parametrize("text", ["", "||", "a//||", "../x/||", "/||"])
def test_parse_view_id_rejects(text: str) -> None:
    groups, err = parse_view_id(text)
    assert groups == [] and err


def test_reads_release_layout(tmp_path: Path) -> None:
    mans = [_man(i) for i in range(6)]
    _write(tmp_path, "train_20220901_final_onehot.xlsx", [_row(i, f"P{i}", mans[i]) for i in range(4)])
    _write(tmp_path, "test_20220901.xlsx", [_row(4, "P4", mans[4], **{"view_id": "x.dcm/y.dcm/||"})])
    _write(tmp_path, "valid_20221123.xlsx", [_row(5, "P5", mans[5], **{"BI-RADS": "", "诊断结果": "BI-RADS 3类"})])
    (tmp_path / "synth_manifest.json").write_text("{}")
    ad = ADAPTERS["mvkl"]
    assert detect_format(tmp_path) is ad
    res = ad.read(tmp_path)
    assert res.problems == []
    assert [r.row.table for r in res.records] == ["batch-1/train"] * 4 + ["batch-1/test", "batch-2/val"]
    assert [r.split for r in res.records] == ["train"] * 4 + ["test", "val"]
    assert [s.batch for s in res.sources] == ["20220901", "20221123"]
    # Appending to a store with 2 batches: the labels continue its numbering (stored source names).
    later = ad.read(tmp_path, first_batch=3)
    assert [r.row.table for r in later.records] == ["batch-3/train"] * 4 + ["batch-3/test", "batch-4/val"]
    r0 = res.records[0]
    assert r0.label == 0 and res.records[1].label == 1
    assert r0.report == "第一行  第二行 0"  # newlines removed, stripped (spec §2.1)
    assert r0.birads == "4A" and res.records[5].birads == "3"
    assert r0.laterality == "L"
    assert r0.images["CC"].path == tmp_path / "20220901" / "P0" / "ST0" / "c0.dcm"
    assert r0.images["MLO"].rel == "20220901/P0/ST0/m0.dcm"
    np.testing.assert_array_equal(np.stack([r.manifest for r in res.records]), np.stack(mans))
    assert (np.stack([r.known for r in res.records]) == 1).all()
    one = res.records[4]  # one group with two files: first file, CC only
    assert set(one.images) == {"CC"} and one.images["CC"].rel.endswith("/x.dcm") and one.view_note
    assert any("first file" in w for w in res.warnings)
    assert "P0" in r0.identifiers and "ST0" in r0.identifiers
    assert res.sources[0].manifest_mapping["layout"] == "positional"
    assert res.sources[0].manifest_mapping["columns"]["mass_shape.irregular"] == "I"


def test_every_problem_is_reported_without_values(tmp_path: Path) -> None:
    man = _man(0)
    bad_excl = man.copy()
    bad_excl[0:2] = 1  # two mass shapes
    rows = [
        _row(1, SECRET, man, label="可疑"),
        _row(2, "P2", man, view_id=""),
        _row(3, "P3", bad_excl),
        _row(4, "P4", man, **{"BI-RADS": "7"}),
        _row(5, "P5", man),
        _row(6, "P5", man, study_id="ST5", view_id="c5.dcm/||m5.dcm/||"),  # duplicate of row 6
    ]
    _write(tmp_path, "train_b1.xlsx", rows)
    res = MvklReleaseAdapter().read(tmp_path)
    where = {(p.file, p.row, p.code) for p in res.problems}
    assert ("batch-1/train", 2, "label") in where
    assert ("batch-1/train", 3, "view-id") in where
    assert ("batch-1/train", 4, "exclusive-group") in where
    assert ("batch-1/train", 5, "birads") in where
    assert ("batch-1/train", 7, "duplicate-id") in where
    label_p = next(p for p in res.problems if p.code == "label")
    assert label_p.column == "label (E)"
    text = "\n".join(str(p) for p in res.problems)
    assert SECRET not in text and "可疑" not in text and "b1" not in text


def test_missing_columns_and_wrong_manifest_width(tmp_path: Path) -> None:
    row = _row(1, "P1", _man(1))
    del row["view_id"]
    del row["col3"]
    _write(tmp_path, "test_b1.xlsx", [row])
    res = MvklReleaseAdapter().read(tmp_path)
    codes = {p.code for p in res.problems}
    assert "column-missing" in codes and "column-count" in codes
    assert not res.records


def test_named_manifest_columns_are_found_by_name(tmp_path: Path) -> None:
    man = _man(3)
    row = {k: v for k, v in _row(1, "P1", man).items() if not k.startswith("col")}
    row = {**row, **{o.key: str(int(man[o.index])) for o in S.OPTIONS}}
    row["extra1"] = "x"
    row["extra2"] = "y"  # positions no longer 8:-1
    _write(tmp_path, "train_b1.xlsx", [row])
    res = MvklReleaseAdapter().read(tmp_path)
    assert res.problems == []
    np.testing.assert_array_equal(res.records[0].manifest, man)
    assert res.sources[0].manifest_mapping["layout"] == "wide"
