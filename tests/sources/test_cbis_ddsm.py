"""CBIS-DDSM adapter: image-level records, series resolution, splits, malformed tables."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mvkl.sources import ADAPTERS, detect_format
from mvkl.sources.cbis_ddsm import CbisDdsmAdapter, birads_severity, draw_validation
from tests.sources import _layouts as L


@pytest.fixture(scope="module", params=["tcia", "nbia"])
def cbis(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp(f"cbis-{request.param}")
    return root, L.make_cbis(root, request.param)


def doc_boxes(res: Any) -> int:
    return int(res.sources[0].manifest_mapping["lesions"]["boxes"])


def _key(rec: Any) -> tuple[str, str, str]:
    return rec.patient_key, rec.laterality, next(iter(rec.images))


def test_records_match_fixture_definition(cbis: tuple[Path, dict[str, Any]]) -> None:
    root, fx = cbis
    assert detect_format(root) is ADAPTERS["cbis-ddsm"]
    res = CbisDdsmAdapter(val_fraction=0.0).read(root)
    assert res.problems == []
    expect = fx["expect"]
    got = {_key(r): r for r in res.records}
    # One record per image; P_00011's official-train image is left out (patient also in the official test).
    assert set(got) == {k for k, e in expect.items() if e.stored or k in L.CBIS_MISSING}
    for k, rec in got.items():
        e = expect[k]
        vec, known = e.vectors()
        assert (rec.label, rec.split, rec.birads, rec.density) == (e.label, e.split, e.birads, e.density), k
        assert rec.laterality == e.side and list(rec.images) == [e.view]
        assert np.array_equal(rec.known, known), k
        assert np.array_equal(rec.manifest * rec.known, vec), k
        assert rec.report == "" and rec.age is None and rec.patient_key.startswith("P_")
        ref = rec.images[e.view]
        if k in L.CBIS_MISSING:
            assert not ref.path.exists()  # the pipeline quarantines it (missing-file)
        else:
            assert ref.rel == e.path, k  # the full mammogram, chosen by series (never the crop or mask)
            assert (root / ref.rel).is_file()
        assert tuple(sorted((les.kind, les.box) for les in ref.lesions)) == e.boxes, k
    assert not any("lesion box" in w for w in res.warnings)
    assert doc_boxes(res) == sum(len(e.boxes) for e in expect.values() if e.stored)
    # P_00011's official-train image: quarantined split-conflict at its (only) table row.
    mass_train = [r for r in L.CBIS_ROWS if r[0] == "mass_train"]
    i = next(i for i, r in enumerate(mass_train) if r[1] == "P_00011")
    assert [(x.row.table, x.row.row, x.view, x.reason.value) for x in res.left_out] == [
        ("mass_case_description_train_set.csv", i + 2, mass_train[i][3], "split-conflict")]
    assert not any("official test" in w for w in res.warnings)  # a quarantine entry, no longer a warning
    assert any("breast density 0" in w for w in res.warnings)
    doc = res.sources[0].manifest_mapping
    assert doc["layout"] == "cbis-ddsm" and doc["split_policy"]["val"]["fraction"] == 0.0  # type: ignore[index]


def test_nbia_resolution_paths(tmp_path: Path) -> None:
    fx = L.make_cbis(tmp_path, "nbia")
    res = CbisDdsmAdapter().read(tmp_path)
    how = next(w for w in res.warnings if w.startswith("full mammograms resolved by"))
    for kind in ("metadata.csv", "series description (folder)", "SeriesInstanceUID (header)"):
        assert kind in how
    # Without metadata.csv and with non-descriptive folder names everywhere, headers still decide.
    (tmp_path / "metadata.csv").unlink()
    for d in sorted((tmp_path / "CBIS-DDSM").glob("*/*/1.000000-*"), reverse=True):
        d.rename(d.with_name(d.name.replace("full mammogram images", "NA").replace("ROI mask images", "NA")))
    res = CbisDdsmAdapter().read(tmp_path)
    for rec in res.records:
        k = _key(rec)
        if k not in L.CBIS_MISSING:
            ref = rec.images[k[2]]
            import pydicom

            ds = pydicom.dcmread(ref.path, stop_before_pixels=True)
            assert ds.SeriesDescription == "full mammogram images", k
            assert Path(fx["expect"][k].path).parts[:3] == Path(ref.rel).parts[:3]


def test_headers_only_never_pixels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter contract (mvkl.sources.base): an adapter may read headers to resolve files,
    with stop_before_pixels and specific_tags, and never decodes pixels."""
    import pydicom

    L.make_cbis(tmp_path, "nbia")
    (tmp_path / "metadata.csv").unlink()
    for d in sorted((tmp_path / "CBIS-DDSM").glob("*/*/1.000000-*"), reverse=True):
        d.rename(d.with_name(d.name.replace("full mammogram images", "NA").replace("ROI mask images", "NA")))
    calls: list[dict[str, Any]] = []
    real = pydicom.dcmread

    def spy(*args: Any, **kw: Any) -> Any:
        calls.append(kw)
        return real(*args, **kw)

    monkeypatch.setattr(pydicom, "dcmread", spy)
    monkeypatch.setattr(pydicom.Dataset, "pixel_array", property(lambda self: pytest.fail("pixels decoded")))
    res = CbisDdsmAdapter().read(tmp_path, options={"roi_boxes": "no"})  # masks need their pixels
    assert res.problems == [] and calls  # the headers decided
    assert all(kw.get("stop_before_pixels") is True and kw.get("specific_tags") for kw in calls)


def test_validation_draw_by_patient_seeded(cbis: tuple[Path, dict[str, Any]]) -> None:
    root, fx = cbis
    runs = {s: CbisDdsmAdapter().read(root, seed=s, options={"val_fraction": "0.4"}).records for s in (0, 1, 2, 3)}
    train_patients = {k[0] for k, e in fx["expect"].items() if e.split == "train" and e.stored}
    test_patients = {k[0] for k, e in fx["expect"].items() if e.split == "test"}
    vals = []
    for recs in runs.values():
        split_of: dict[str, set[str]] = {}
        for r in recs:
            split_of.setdefault(r.patient_key, set()).add(r.split)  # type: ignore[arg-type]
        assert all(len(s) == 1 for s in split_of.values())  # patient-level
        val = {p for p, s in split_of.items() if s == {"val"}}
        assert val and val <= train_patients  # drawn from the official train only
        assert {p for p, s in split_of.items() if s == {"test"}} == test_patients  # official test kept
        vals.append(frozenset(val))
    again = CbisDdsmAdapter(val_fraction=0.4).read(root, seed=0).records  # constructor default = option
    assert [r.split for r in again] == [r.split for r in runs[0]]
    assert len(set(vals)) > 1  # the seed matters


def test_split_conflict_one_entry_per_image_naming_its_other_rows(tmp_path: Path) -> None:
    """A patient in both official sets: each official-train *image* is one quarantine entry at its
    first row; the image's other rows (other abnormalities, other table) are named in the detail."""
    extra = [("mass_train", "P_00002", "RIGHT", "CC", 1, "OVAL", "CIRCUMSCRIBED", "3", "BENIGN", "2"),
             ("mass_train", "P_00002", "RIGHT", "CC", 2, "ROUND", "OBSCURED", "3", "BENIGN", "2"),
             ("calc_train", "P_00002", "RIGHT", "CC", 3, "AMORPHOUS", "REGIONAL", "4", "MALIGNANT", "2"),
             ("calc_train", "P_00002", "LEFT", "MLO", 1, "AMORPHOUS", "REGIONAL", "4", "BENIGN", "2")]
    rows = [r for r in L.CBIS_ROWS if r[1] in ("P_00002", "P_00003")] + extra
    L.make_cbis(tmp_path, "tcia", rows)
    res = CbisDdsmAdapter().read(tmp_path)
    assert res.problems == []
    got = [(x.row.table, x.row.row, x.view, x.reason.value, x.detail) for x in res.left_out]
    mass, calc = "mass_case_description_train_set.csv", "calc_case_description_train_set.csv"
    assert [g[:4] for g in got] == [(mass, 2, "CC", "split-conflict"), (calc, 3, "MLO", "split-conflict")]
    assert got[0][4].endswith(f"; other rows of the image: {mass} row 3, {calc} row 2")
    assert "other rows" not in got[1][4]
    assert {r.split for r in res.records if r.patient_key == "P_00002"} == {"test"}


def test_draw_validation_properties() -> None:
    labels = {f"P_{i:05d}": i % 3 == 0 for i in range(200)}
    a = draw_validation({k: int(v) for k, v in labels.items()}, 0.1, 7)
    b = draw_validation(dict(reversed(list({k: int(v) for k, v in labels.items()}.items()))), 0.1, 7)
    assert a == b and abs(len(a) - 20) <= 2  # order-free, close to the fraction
    mal = {k for k, v in labels.items() if v}
    assert abs(len(a & mal) - 0.1 * len(mal)) <= 1  # stratified by label
    assert draw_validation({k: int(v) for k, v in labels.items()}, 0.0, 7) == set()
    with pytest.raises(Exception, match="fraction"):
        draw_validation({"P_1": 0}, 1.0, 0)


def test_birads_severity_order() -> None:
    assert sorted(["4", "", "0", "5", "3"], key=birads_severity) == ["", "0", "3", "4", "5"]


# -- malformed tables ----------------------------------------------------------------------------------
@pytest.fixture
def small(tmp_path: Path) -> Path:
    rows = [r for r in L.CBIS_ROWS if r[1] in ("P_00001", "P_00003")]
    L.make_cbis(tmp_path, "tcia", rows)
    return tmp_path


def _edit(path: Path, fn: Any) -> None:
    header, rows = L.read_rows(path)
    header, rows = fn(header, rows)
    L.write_rows(path, header, rows)


def _problems(root: Path) -> list[Any]:
    return CbisDdsmAdapter().read(root).problems


def test_missing_column(small: Path) -> None:
    p = small / "calc_case_description_train_set.csv"
    _edit(p, lambda h, rows: ([c for c in h if c != "pathology"], [r[:9] + r[10:] for r in rows]))
    probs = _problems(small)
    assert [(x.file, x.column, x.code) for x in probs] == [(p.name, "pathology", "column-missing")]


def test_unknown_value_unparsable_birads_and_wrong_type(small: Path) -> None:
    p = small / "mass_case_description_train_set.csv"

    def bad(h: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        rows.append(list(rows[1]))
        rows[0][6] = "IRREGULAR-STAR_SHAPED"
        rows[1][8] = "BI-RADS 7"
        rows[2][5] = "calcification"
        rows[2][4] = "9"
        return h, rows

    _edit(p, bad)
    probs = {(x.row, x.column.split(" (")[0], x.code) for x in _problems(small)}  # type: ignore[union-attr]
    assert probs == {(2, "mass shape", "unknown-value"), (3, "assessment", "birads"),
                     (4, "abnormality type", "value")}
    msg = next(str(x) for x in _problems(small) if x.row == 2)
    assert p.name in msg and "column 'mass shape (G)'" in msg and "ROUND" in msg


def test_path_naming_another_patient_and_duplicates(small: Path) -> None:
    p = small / "mass_case_description_train_set.csv"

    def bad(h: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        rows[0][11] = rows[0][11].replace("P_00001", "P_00002")
        rows.append(list(rows[1]))
        return h, rows

    _edit(p, bad)
    probs = {(x.row, x.column.split(" (")[0], x.code) for x in _problems(small)}  # type: ignore[union-attr]
    assert probs == {(2, "image file path", "value"), (4, "abnormality id", "duplicate-id")}


def test_table_names_and_layout_errors(small: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    empty = tmp_path_factory.mktemp("empty")
    assert not CbisDdsmAdapter().detect(empty)
    with pytest.raises(Exception, match="case-description CSV"):
        CbisDdsmAdapter().read(empty)
    odd = small / "descriptions.csv"
    shutil.copy(small / "mass_case_description_train_set.csv", odd)
    probs = CbisDdsmAdapter().read(small, tables=[odd]).problems
    assert probs and probs[0].code == "layout" and probs[0].file == "table 1"  # by position (issue 15)
    # Only some of the four tables: fine (mass train only).
    res = CbisDdsmAdapter().read(small, tables=[small / "mass_case_description_train_set.csv"])
    assert res.problems == [] and {r.split for r in res.records} <= {"train", "val"}


def test_bad_roi_masks_are_reported_by_row_and_the_rest_goes_on(tmp_path: Path) -> None:
    L.make_cbis(tmp_path, "tcia")
    base = tmp_path / "CBIS-DDSM"
    # Mass-Training P_00004 RIGHT CC abnormality 2: its mask replaced by one of the wrong size;
    # Calc-Training P_00005 RIGHT MLO abnormality 1: its mask is not a DICOM file.
    small = next((base / "Mass-Training_P_00004_RIGHT_CC_2").rglob("000001.dcm"))
    L.write_mask(small, (64, 48), (1, 1, 9, 9), patient_id="x", study_uid="1.2.3", series_uid="1.2.3.4")
    bad = next((base / "Calc-Training_P_00005_RIGHT_MLO_1").rglob("000001.dcm"))
    bad.write_bytes(b"not a dicom file")
    res = CbisDdsmAdapter(val_fraction=0.0).read(tmp_path)
    assert res.problems == []
    mass = [r for r in L.CBIS_ROWS if r[0] == "mass_train"]
    calc = [r for r in L.CBIS_ROWS if r[0] == "calc_train"]
    r_small = next(i for i, r in enumerate(mass) if r[1] == "P_00004" and r[4] == 2) + 2
    r_bad = next(i for i, r in enumerate(calc) if r[1] == "P_00005" and r[3] == "MLO") + 2
    msgs = [w for w in res.warnings if "lesion box" in w]
    assert len(msgs) == 2
    assert msgs[0].startswith(f"mass_case_description_train_set.csv row {r_small}: ROI mask of the wrong size")
    assert msgs[1].startswith(f"calc_case_description_train_set.csv row {r_bad}: ROI mask unreadable")
    got = {_key(r): r.images[next(iter(r.images))].lesions for r in res.records}
    assert [les.box for les in got[("P_00004", "R", "CC")]] == [tuple(float(v) for v in L.cbis_mask_box(1))]
    assert got[("P_00005", "R", "MLO")] == ()
    assert len(got[("P_00001", "L", "CC")]) == 2  # the other images keep theirs


def test_calc_type_na_and_density_spelling(tmp_path: Path) -> None:
    """The released calc tables write ``NA`` (not ``N/A``) for an absent calc type and spell the
    density column ``breast density``."""
    L.make_cbis(tmp_path, "tcia")
    header, rows = L.read_rows(tmp_path / "calc_case_description_train_set.csv")
    assert header[1] == "breast density"
    rows[0][6] = "NA"
    L.write_rows(tmp_path / "calc_case_description_train_set.csv", header, rows)
    res = CbisDdsmAdapter(val_fraction=0.0).read(tmp_path)
    assert res.problems == []


def test_many_bad_masks_are_named_up_to_a_cap_then_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mvkl.sources.cbis_masks as CM

    L.make_cbis(tmp_path, "tcia")
    for p in (tmp_path / "CBIS-DDSM").glob("*_[0-9]/*/*/000001.dcm"):
        p.write_bytes(b"broken")
    monkeypatch.setattr(CM, "MAX_ROW_WARNINGS", 2)
    res = CbisDdsmAdapter(val_fraction=0.0).read(tmp_path)
    named = [w for w in res.warnings if "no lesion box for this abnormality" in w]
    assert len(named) == 2
    total = sum(1 for r in L.CBIS_ROWS if (r[1], r[2][0], r[3]) not in L.CBIS_MISSING)
    assert any(w.startswith(f"... and {total - 2} more row(s)") and f"({total} in all)" in w for w in res.warnings)
