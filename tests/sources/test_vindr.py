"""VinDr-Mammo adapter: list strings, official split + validation by study, label proxy, malformed rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mvkl.sources import ADAPTERS, detect_format
from mvkl.sources.vindr import VindrAdapter, parse_categories
from tests.sources import _layouts as L


@pytest.fixture(scope="module")
def vin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("vindr")
    return root, L.make_vindr(root)


@pytest.mark.parametrize("birads3", ["benign", "unknown"])
def test_records_match_fixture_definition(vin: tuple[Path, dict[str, Any]], birads3: str) -> None:
    root, _ = vin
    expect = L.vindr_expectations(birads3)
    assert detect_format(root) is ADAPTERS["vindr"]
    res = VindrAdapter(birads3=birads3, val_fraction=0.0).read(root)
    assert res.problems == []
    got = {r.lump_key: r for r in res.records}
    assert set(got) == set(expect)
    for k, rec in got.items():
        e = expect[k]
        vec, known = e.vectors()
        assert (rec.label, rec.split, rec.birads, rec.density) == (e.label, e.split, e.birads, e.density), k
        assert rec.laterality == e.side and list(rec.images) == [e.view]
        assert rec.images[e.view].rel == e.path and rec.patient_key == rec.exam_key == L.hexid(
            next(s for s in L.VINDR_STUDIES if L.hexid(s) == rec.patient_key))
        assert np.array_equal(rec.known, known) and np.array_equal(rec.manifest * rec.known, vec), k
        assert tuple(sorted((les.kind, les.box) for les in rec.images[e.view].lesions)) == e.boxes, k
    assert any(f"{L.VINDR_CLIPPED} finding box coordinate(s) outside the image clipped" in w for w in res.warnings)
    outside = [w for w in res.warnings if "wholly outside the image" in w]
    assert len(outside) == 2 and all(w.startswith("finding_annotations.csv row ") for w in outside)
    pol = res.sources[0].manifest_mapping["label_policy"]
    assert ("3" in pol["unknown"]) == (birads3 == "unknown")  # type: ignore[index]


def test_birads3_option_equals_the_constructor_default(vin: tuple[Path, dict[str, Any]]) -> None:
    root, _ = vin
    by_option = VindrAdapter().read(root, options={"birads3": "unknown"}).records
    by_default = VindrAdapter(birads3="unknown").read(root).records
    assert [(r.lump_key, r.label) for r in by_option] == [(r.lump_key, r.label) for r in by_default]
    assert {r.label for r in by_option if r.birads == "3"} == {-1}
    assert {r.label for r in VindrAdapter().read(root).records if r.birads == "3"} == {0}


def test_validation_by_study_seeded(vin: tuple[Path, dict[str, Any]]) -> None:
    root, _ = vin
    seen = set()
    for seed in range(6):
        recs = VindrAdapter().read(root, seed=seed, options={"val_fraction": "0.5"}).records
        by_study: dict[str, set[str]] = {}
        for r in recs:
            by_study.setdefault(r.patient_key, set()).add(r.split)  # type: ignore[arg-type]
        assert all(len(v) == 1 for v in by_study.values())
        assert by_study[L.hexid("s3")] == {"test"}  # official test kept
        val = frozenset(s for s, v in by_study.items() if v == {"val"})
        assert len(val) == 2 and L.hexid("s3") not in val  # one per label stratum of the 4 training studies
        seen.add(val)
    assert len(seen) > 1


def test_parse_categories() -> None:
    assert parse_categories("['Mass', 'Suspicious Calcification']") == ["Mass", "Suspicious Calcification"]
    assert parse_categories("('Mass',)") == ["Mass"]
    assert parse_categories('["No Finding"]') == ["No Finding"]
    assert parse_categories("Mass") == ["Mass"]
    assert parse_categories("") == [] and parse_categories(None) == [] and parse_categories("nan") == []
    for bad in ("['Mass'", "[1, 2]", "__import__('os')", "{'a': 1}", "Mass; DROP"):
        assert parse_categories(bad) is None, bad


def _edit(path: Path, fn: Any) -> None:
    header, rows = L.read_rows(path)
    header, rows = fn(header, rows)
    L.write_rows(path, header, rows)


@pytest.fixture
def src(tmp_path: Path) -> Path:
    L.make_vindr(tmp_path)
    return tmp_path


def test_malformed_finding_table(src: Path) -> None:
    def bad(h: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        rows[0][9] = "['Mass'"                 # not a list
        rows[1][9] = "['Calcified Lump']"      # unknown category
        rows[2][11] = "left"                   # box not a number
        return h, rows

    _edit(src / "finding_annotations.csv", bad)
    probs = VindrAdapter().read(src).problems
    got = {(p.file, p.row, p.column.split(" (")[0], p.code) for p in probs}  # type: ignore[union-attr]
    f = "finding_annotations.csv"
    assert got == {(f, 2, "finding_categories", "value"), (f, 3, "finding_categories", "unknown-value"),
                   (f, 4, "xmin", "value")}


def test_malformed_breast_table(src: Path) -> None:
    def bad(h: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        rows[0][7] = "BI-RADS X"               # unparsable BI-RADS
        rows[1][9] = "validation"              # unknown split value
        rows[15][9] = "test"                   # the last image of study s4 in another split
        rows[4][3] = "B"                       # laterality
        rows[8][2] = rows[9][2]                # image id twice
        return h, rows

    _edit(src / "breast-level_annotations.csv", bad)
    probs = VindrAdapter().read(src).problems
    got = {(p.row, p.column.split(" (")[0], p.code) for p in probs}  # type: ignore[union-attr]
    assert got == {(2, "breast_birads", "birads"), (3, "split", "value"), (17, "split", "split-leakage"),
                   (6, "laterality", "value"), (11, "image_id", "duplicate-id")}
    assert all(L.hexid(s) not in str(p) for p in probs for s in L.VINDR_STUDIES)


def test_missing_column_and_missing_finding_table(src: Path) -> None:
    (src / "finding_annotations.csv").unlink()
    res = VindrAdapter().read(src)
    assert res.problems == [] and all(not r.known.any() for r in res.records)
    assert any("finding_annotations.csv" in w for w in res.warnings)
    _edit(src / "breast-level_annotations.csv", lambda h, rows: (h[:9], [r[:9] for r in rows]))
    probs = VindrAdapter().read(src).problems
    assert [(p.file, p.column, p.code) for p in probs] == [("breast-level_annotations.csv", "split",
                                                            "column-missing")]


def test_other_views_are_left_out_as_quarantine_entries(src: Path) -> None:
    def other(h: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        rows[2][4] = "XCCL"                     # an extra view code
        rows[5][4] = "lateral view, 2nd"       # free text: never echoed
        return h, rows

    _edit(src / "breast-level_annotations.csv", other)
    res = VindrAdapter().read(src)
    assert res.problems == [] and not any("view" in w for w in res.warnings)
    t = "breast-level_annotations.csv"
    assert [(x.row.table, x.row.row, x.view, x.reason.value) for x in res.left_out] == [
        (t, 4, "XCCL", "unsupported-view"), (t, 7, "other", "unsupported-view")]
    assert all("lateral" not in x.detail for x in res.left_out)
    assert len(res.records) == 4 * len(L.VINDR_STUDIES) - 2


def test_malformed_boxes_are_reported_and_the_rest_goes_on(tmp_path: Path) -> None:
    L.make_vindr(tmp_path)
    header, rows = L.read_rows(tmp_path / "finding_annotations.csv")
    xi = header.index("xmin")
    boxed = [i for i, r in enumerate(rows) if r[xi]]
    a, b = boxed[0], boxed[1]
    rows[a][xi], rows[a][xi + 2] = "50", "40"  # xmax < xmin
    rows[b][xi + 3] = ""  # only 3 of the 4 coordinates
    L.write_rows(tmp_path / "finding_annotations.csv", header, rows)
    res = VindrAdapter(val_fraction=0.0).read(tmp_path)
    assert res.problems == []
    assert any(w.startswith(f"finding_annotations.csv row {a + 2}: finding box has xmax <= xmin") for w in res.warnings)
    assert any(w.startswith(f"finding_annotations.csv row {b + 2}: finding box with only 3") for w in res.warnings)
    n = sum(len(r.images[v].lesions) for r in res.records for v in r.images)
    want = sum(len(e.boxes) for e in L.vindr_expectations().values()) - 2
    assert n == want  # the two bad boxes dropped, every other box kept
