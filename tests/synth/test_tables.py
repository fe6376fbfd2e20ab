from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mvkl.manifest import schema as S
from mvkl.manifest.table import parse_manifest_frame, read_table
from mvkl.synth.cases import draw_cases
from mvkl.synth.tables import META_COLUMNS, column_names, format_view_id, parse_view_id, table_rows

from .conftest import SEED

names = st.text(st.sampled_from("abcXYZ0123456789._-"), min_size=1, max_size=12)


@given(st.lists(st.lists(names, min_size=1, max_size=3), min_size=1, max_size=3))
def test_view_id_round_trip(groups: list[list[str]]) -> None:
    s = format_view_id(groups)
    assert s.endswith("||")
    assert parse_view_id(s) == groups


def test_view_id_matches_the_spec_example() -> None:
    assert format_view_id([["a", "b"], ["c"]]) == "a/b/||c/||"
    assert parse_view_id("a/b/||c/||") == [["a", "b"], ["c"]]


def test_headers_follow_the_schema() -> None:
    cols = column_names()
    assert len(cols) == 8 + S.DIM + 1 and tuple(cols[:8]) == META_COLUMNS and cols[-1] == "备注"
    for j, col in enumerate(cols[8:-1]):
        g, o = col.split(".", 1)
        opt = S.OPTIONS[j]
        assert g == S.group_by_key()[opt.group].zh and o == opt.zh
        assert S.find_column_option(col) is opt


def _tables(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    return {t: read_table(root / t) for t in manifest["tables"]}


def test_tables_parse_as_valid_positional_mvkl_tables(hostile_set) -> None:  # type: ignore[no-untyped-def]
    root, _, manifest = hostile_set
    cases = draw_cases(14, seed=SEED)
    expected = {(r.table, r.row): r for r in table_rows(cases)}
    assert sum(1 for _ in expected) == manifest["lumps"]
    seen = 0
    for name, df in _tables(root, manifest).items():
        assert df.columns == column_names()
        for layout in ("positional", "auto"):
            mt = parse_manifest_frame(df, name, layout=layout)  # type: ignore[arg-type]
            assert mt.ok, mt.problems
        mt = parse_manifest_frame(df, name, layout="positional")
        for i, rec in enumerate(df.iter_rows(named=True)):
            r = expected[(name, i + 2)]
            seen += 1
            assert rec["序号"] == str(i + 1)
            assert np.array_equal(mt.vectors[i], r.lump.manifest)
            assert rec["label"] == {1: "恶性", 0: "良性"}[r.lump.label]
            assert rec["BI-RADS"] == r.lump.birads and rec["诊断结果"] == r.lump.report
            assert rec["patient_id"] and rec["study_id"] and rec["位置"]
    assert seen == manifest["lumps"]


def test_view_ids_point_at_the_cc_and_mlo_files_of_the_lump_breast(clean_set) -> None:  # type: ignore[no-untyped-def]
    root, _, manifest = clean_set
    for name, df in _tables(root, manifest).items():
        batch = Path(name).stem.split("_", 1)[1]
        for rec in df.iter_rows(named=True):
            groups = parse_view_id(rec["view_id"])
            assert len(groups) == 2
            lats = set()
            for grp, view in zip(groups, ("CC", "MLO"), strict=True):
                assert grp
                for f in grp:
                    path = root / batch / rec["patient_id"] / rec["study_id"] / f
                    ds = pydicom.dcmread(path, stop_before_pixels=True)
                    assert ds.ViewPosition == view
                    lats.add(ds.ImageLaterality)
            assert len(lats) == 1


def test_split_is_patient_level_across_tables(zh_set) -> None:  # type: ignore[no-untyped-def]
    root, summary, manifest = zh_set
    assert len(manifest["batches"]) == 2 and len(manifest["tables"]) == 6
    owner: dict[str, str] = {}
    for name, df in _tables(root, manifest).items():
        split = Path(name).stem.split("_", 1)[0]
        for pid in df.get_column("patient_id").to_list():
            assert owner.setdefault(pid, split) == split
    assert set(owner.values()) == {"train", "valid", "test"}
    assert summary["splits"]["train"]["patients"] > summary["splits"]["test"]["patients"]


def test_patient_level_split_proportions_and_repeat_patients() -> None:
    cases = draw_cases(600, seed=4)
    by_patient: dict[int, set[str]] = {}
    for e in cases.exams:
        by_patient.setdefault(e.patient, set()).add(cases.patients[e.patient].split)
    assert all(len(v) == 1 for v in by_patient.values())
    assert any(sum(1 for e in cases.exams if e.patient == p) > 1 for p in by_patient)  # follow-up exams exist
    frac = {s: sum(p.split == s for p in cases.patients) / len(cases.patients) for s in ("train", "valid", "test")}
    assert abs(frac["train"] - 0.7) < 0.02 and abs(frac["valid"] - 0.1) < 0.02 and abs(frac["test"] - 0.2) < 0.02


@pytest.mark.parametrize("exams", [24, 40, 60])
def test_split_is_stratified_so_val_and_test_hold_both_classes(exams: int) -> None:
    for seed in range(8):
        cases = draw_cases(exams, seed=seed)
        labels, splits = cases.labels(), cases.splits()
        for split in ("valid", "test"):
            got = {int(lab) for lab, s in zip(labels, splits, strict=True) if s == split}
            assert got == {0, 1}, (exams, seed, split)


def test_tiny_sets_write_header_only_tables_that_parse(tmp_path: Path) -> None:
    from mvkl.synth import generate

    summary = generate(tmp_path / "one", exams=1, image_size=64)
    sizes = {}
    for t in summary["tables"]:
        df = read_table(tmp_path / "one" / t)
        assert df.columns == column_names()
        assert parse_manifest_frame(df, t, layout="positional").ok
        sizes[t] = df.height
    assert sum(sizes.values()) == summary["lumps"] and sorted(sizes.values())[0] == 0
