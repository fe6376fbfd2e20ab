"""INbreast adapter: table variants (csv/xlsx, footer or not, numeric Bi-Rads), files, XML, malformed rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from mvkl.sources import ADAPTERS, detect_format
from mvkl.sources.inbreast import InbreastAdapter, birads_label, parse_roi_names
from tests.sources import _layouts as L


@pytest.fixture(scope="module")
def inb(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("inbreast")
    return root, L.make_inbreast(root)


def _check(records: list[Any], expect: dict[str, Any], root: Path) -> None:
    got = {r.lump_key: r for r in records}
    assert set(got) == {k for k, e in expect.items() if e.view != "FB"}
    for k, rec in got.items():
        e = expect[k]
        vec, known = e.vectors()
        assert (rec.label, rec.birads, rec.density, rec.laterality) == (e.label, e.birads, e.density, e.side), k
        assert list(rec.images) == [e.view] and rec.split is None and rec.age is None
        assert np.array_equal(rec.known, known), k
        assert np.array_equal(rec.manifest * rec.known, vec), k
        if k not in L.INBREAST_MISSING:
            assert rec.images[e.view].rel == e.path
        assert bool(rec.report) == e.report, k
        got_boxes = tuple(sorted((les.kind, les.box) for les in rec.images[e.view].lesions))
        assert got_boxes == e.boxes, k
    # The 16-hex file-name field groups a patient's views.
    for fname, h, *_ in L.INBREAST_ROWS:
        if fname in got and fname not in L.INBREAST_MISSING:
            assert got[fname].patient_key == h


def test_records_match_fixture_definition(inb: tuple[Path, dict[str, Any]]) -> None:
    root, fx = inb
    assert detect_format(root) is ADAPTERS["inbreast"]
    res = InbreastAdapter().read(root)
    assert res.problems == []
    _check(res.records, fx["expect"], root)
    fb = [i + 2 for i, r in enumerate(L.INBREAST_ROWS) if r[3] == "FB"]  # spreadsheet rows of FB views
    assert fb and [(x.row.table, x.row.row, x.view, x.reason.value) for x in res.left_out] == [
        ("INbreast.csv", r, "FB", "unsupported-view") for r in fb]
    assert not any("FB" in w for w in res.warnings)  # a quarantine entry, no longer a warning
    assert any("row 7" in w and "XML" in w for w in res.warnings)
    assert not any("AllDICOMs" in w for w in res.warnings)  # README.txt is not a DICOM: silently ignored
    doc = res.sources[0].manifest_mapping
    assert doc["label_policy"]["benign"] == ["1", "2", "3"]  # type: ignore[index]
    assert doc["table"]["footer_rows_skipped"] == 2  # type: ignore[index]
    rep = next(r for r in res.records if r.report)
    assert "Nódulo espiculado" in rep.report and "\n" not in rep.report  # cp1252 decoded, lines joined


def test_real_xls_with_removed_fields_and_footer(tmp_path: Path) -> None:
    """The released INbreast.xls: BIFF8, numbers typed as numbers, ``removed`` in Patient ID and
    age, a space-padded ACR, two footer rows of totals."""
    fx = L.make_inbreast(tmp_path, table="xls")
    assert (tmp_path / "INbreast.xls").read_bytes()[:8] == bytes.fromhex("D0CF11E0A1B11AE1")  # OLE2, not xlsx
    res = InbreastAdapter().read(tmp_path)
    assert res.problems == []
    _check(res.records, fx["expect"], tmp_path)
    doc = res.sources[0].manifest_mapping
    assert doc["table"]["footer_rows_skipped"] == 2  # type: ignore[index]
    n = sum(1 for r in L.INBREAST_ROWS)
    assert doc["unknown_values"] == {"ACR": 1, "Patient ID": n, "Patient age": n}


@pytest.mark.parametrize("word", ["removed", "-", "NA", "N/A", "unknown", "", "  "])
def test_values_that_only_mean_unknown_are_unknown(src: Path, word: str) -> None:
    def edit(h: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        for r in rows[:3]:
            r[1] = r[6] = r[7] = r[4] = word  # age, ACR, Bi-Rads, Acquisition date
        return h, rows

    _rewrite(src, edit)
    res = InbreastAdapter().read(src)
    assert res.problems == []
    first = [r for r in res.records if r.row.row in (2, 3, 4)]
    assert len(first) == 3
    assert all(r.age is None and r.density == -1 and r.birads == "" and r.label == -1 for r in first)
    unknown = res.sources[0].manifest_mapping["unknown_values"]
    assert unknown["Bi-Rads"] == 3 and unknown["Acquisition date"] == 3  # type: ignore[index]


def test_lesion_boxes_and_malformed_xml(src: Path) -> None:
    res = InbreastAdapter().read(src)
    boxes = {r.lump_key: r.images[next(iter(r.images))].lesions for r in res.records}
    mass = next(les for les in boxes["20586908"] if les.kind == "mass" and len(les.polygon) == 4)
    assert mass.box == (40.0, 30.0, 61.0, 56.0) and mass.polygon[0] == (40.75, 31.0)
    assert res.sources[0].manifest_mapping["table"]["lesion_boxes"] == sum(  # type: ignore[index]
        len(e.boxes) for e in L.inbreast_expectations().values() if e.view != "FB")
    # A point that is not "(x, y)": a warning naming the row and the file; the image stays, unboxed.
    xml = src / "AllXML" / "53587663.xml"
    xml.write_text(xml.read_text(encoding="utf-8").replace("(66.000000, 15.000000)", "(66.0; 15.0)"),
                   encoding="utf-8")
    res = InbreastAdapter().read(src)
    assert res.problems == []
    row = next(i + 2 for i, r in enumerate(L.INBREAST_ROWS) if r[0] == "53587663")
    assert any(f"row {row}: its AllXML annotation is malformed" in w and "ROI 0" in w for w in res.warnings)
    assert not any("53587663" in w for w in res.warnings)  # the File Name is an identifier
    rec = next(r for r in res.records if r.lump_key == "53587663")
    assert rec.images["CC"].lesions == ()


def test_bad_acquisition_date_is_an_error(src: Path) -> None:
    _rewrite(src, lambda h, rows: (h, [r[:4] + (["2010-01"] if i == 1 else [r[4]]) + r[5:]
                                       for i, r in enumerate(rows)]))
    probs = InbreastAdapter().read(src).problems
    assert [(p.row, p.column, p.code) for p in probs] == [(3, "Acquisition date (E)", "value")]
    assert "2010-01" not in str(probs[0])


def test_xlsx_without_footer_and_numeric_birads(tmp_path: Path) -> None:
    fx = L.make_inbreast(tmp_path, table="xlsx", footer=False)
    res = InbreastAdapter().read(tmp_path)
    assert res.problems == [] and res.sources[0].manifest_mapping["table"]["footer_rows_skipped"] == 0  # type: ignore[index]
    _check(res.records, fx["expect"], tmp_path)
    # B33: a table whose Bi-Rads column holds only numbers (no 4a/4b/4c) and is typed as numbers.
    rows = [r for r in L.INBREAST_ROWS if r[5] in ("1", "2", "3", "5", "6")]
    body = L.inbreast_table_rows(rows, footer=True)
    df = pl.DataFrame(body, schema=L.INBREAST_HEADER, orient="row").with_columns(
        pl.col("Bi-Rads").cast(pl.Int64, strict=False), pl.col("File Name").cast(pl.Int64, strict=False),
        pl.col("ACR").cast(pl.Float64, strict=False))
    (tmp_path / "INbreast.xlsx").unlink()
    df.write_excel(tmp_path / "INbreast.xlsx")
    res = InbreastAdapter().read(tmp_path)
    assert res.problems == []
    assert {r.lump_key: r.label for r in res.records} == {r[0]: int(r[5] in ("5", "6")) for r in rows}


def test_birads_label_and_roi_names(tmp_path: Path) -> None:
    assert [birads_label(b) for b in ("1", "2", "3", "4", "4A", "4B", "4C", "5", "6", "0", "")] == \
        [0, 0, 0, 1, 1, 1, 1, 1, 1, -1, -1]
    p = tmp_path / "x.xml"
    p.write_text(L._plist([" Mass ", "Spiculated Region", "Cluster"]), encoding="utf-8")
    assert parse_roi_names(p) == {"Mass", "Spiculated Region", "Cluster"}
    p.write_text("<plist><dict>", encoding="utf-8")
    with pytest.raises(ValueError):
        parse_roi_names(p)


def _rewrite(root: Path, fn: Any) -> None:
    header, rows = L.read_rows(root / "INbreast.csv", ";")
    header, rows = fn(header, rows)
    L.write_rows(root / "INbreast.csv", header, rows, ";")


@pytest.fixture
def src(tmp_path: Path) -> Path:
    L.make_inbreast(tmp_path)
    return tmp_path


def test_malformed_cells(src: Path) -> None:
    def bad(h: list[str], rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
        rows[0][7] = "4d"           # unparsable Bi-Rads
        rows[1][2] = "Left-ish"     # laterality
        rows[2][9] = "yes"          # flag not X/empty
        rows[3][3] = "CC"           # the file name says ML
        rows[4][5] = rows[0][5]     # File Name listed twice
        rows[5][5] = ""             # empty File Name mid-table (not a footer)
        return h, rows

    _rewrite(src, bad)
    probs = InbreastAdapter().read(src).problems
    got = {(p.row, p.column.split(" (")[0] if p.column else None, p.code) for p in probs}
    assert got == {(2, "Bi-Rads", "birads"), (3, "Laterality", "value"), (4, "Micros", "value"),
                   (5, "File Name", "value"), (6, "File Name", "duplicate-id"), (7, "File Name", "empty")}
    assert all(p.file == "INbreast.csv" for p in probs)
    assert all(h not in str(p) for p in probs for h in L.H)  # no patient hash in any message


def test_missing_column_and_no_table(src: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    _rewrite(src, lambda h, rows: ([c for c in h if c != "Bi-Rads"], [r[:7] + r[8:] for r in rows]))
    probs = InbreastAdapter().read(src).problems
    assert [(p.column, p.code) for p in probs] == [("Bi-Rads", "column-missing")]
    empty = tmp_path_factory.mktemp("none")
    (empty / "AllDICOMs").mkdir()
    assert not InbreastAdapter().detect(empty)
    with pytest.raises(Exception, match="INbreast"):
        InbreastAdapter().read(empty)


def test_mass_column_trailing_space_is_found_and_optional_flags(src: Path) -> None:
    header, _ = L.read_rows(src / "INbreast.csv", ";")
    assert "Mass " in header
    # Without the Distortion/Asymmetry columns those signs are unknown, not zero.
    _rewrite(src, lambda h, rows: (h[:10] + h[12:], [r[:10] + r[12:] for r in rows]))
    res = InbreastAdapter().read(src)
    assert res.problems == []
    for r in res.records:
        assert not r.known[26] and not r.known[27]


@pytest.mark.parametrize("table", ["xls", "csv"])
def test_the_release_tables_ingest_with_images_labels_and_boxes(tmp_path: Path, table: str) -> None:
    """Done-when of issue 16: INbreast with ``removed`` fields ingests from the .xls and the .csv."""
    from mvkl.ingest.pipeline import IngestOptions, run_ingest
    from mvkl.store import Store, check_store

    fx = L.make_inbreast(tmp_path / "src", table=table)
    doc = run_ingest(IngestOptions(source=tmp_path / "src", out=tmp_path / "s.h5", format="inbreast",
                                   image_size=32, key_file=tmp_path / "k", quiet=True))
    stored = [e for e in fx["expect"].values() if e.stored]
    assert doc["images"]["ingested"] == len(stored)
    assert doc["quarantined_by_reason"] == {"missing-file": 1, "no-images": 1, "unsupported-view": 1}
    assert check_store(tmp_path / "s.h5") == []
    with Store(tmp_path / "s.h5") as st:
        assert sorted(int(v) for v in st.lumps["label"]) == sorted(e.label for e in stored)
        les = st.lesions()
        kinds = sorted(st.lesion_kinds[int(k)] for k in les["kind"])
        want = sorted(k for e in stored for k, _ in e.boxes)
        assert kinds == want  # every XML ROI of a stored image, none lost
        assert np.all(les["box"][:, 2] > les["box"][:, 0]) and np.all(les["box"][:, 3] > les["box"][:, 1])
        assert np.all((les["box"] >= 0) & (les["box"] <= 32))
