"""Everything around the pixels (issue 15 item 4): source paths, other spreadsheet columns, header
values behind quarantine records, table errors, overlays, icon images and multi-frame files never
reach a store, the work files, stdout/stderr or ``--json``. Searched in every output byte, as UTF-8
and UTF-16, case-insensitively."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import polars as pl

from tests.deid.sources import (
    HEADER_CANARIES,
    ICON_CANARIES,
    OVERLAY_CANARIES,
    PATH_CANARIES,
    QUARANTINE_CANARIES,
    column_canaries,
    files,
    make_source,
)
from tests.ingest.dicomfiles import make_mvkl_source
from tests.ingest.test_leak import find_leaks, hdf5_strings

REPORTS = ["Irregular mass at 2 o'clock, 12 mm, BI-RADS 4B.", "左乳外上象限见一肿块，BI-RADS 4A。",
           "Grouped calcifications, BI-RADS 4C.", "双乳未见异常，BI-RADS 1。"]


def _canaries() -> list[str]:
    header = [p for v in HEADER_CANARIES.values() for p in v.split("^")]
    return [*PATH_CANARIES, *header, *OVERLAY_CANARIES, *ICON_CANARIES, *QUARANTINE_CANARIES,
            *column_canaries(len(REPORTS))]


def _ingest(run_cli: Callable[..., Any], src: Path, out: Path, key: Path, *extra: Any) -> Any:
    return run_cli("ingest", src, "--format", "csv", "--out", out, "--image-size", "48", "--key-file", key,
                   "--workers", "1", *extra)


def test_planted_identifiers_around_the_pixels_reach_no_output(tmp_path: Path,
                                                               run_cli: Callable[..., Any]) -> None:
    src = tmp_path / "src"
    make_source(src, REPORTS)
    canaries = _canaries()
    # the canaries are in the source, where the search finds them (the test can fail)
    planted = find_leaks(files(src), canaries)
    assert {c for _, c in planted} >= {*OVERLAY_CANARIES, *ICON_CANARIES, "ZQXPHOTOMETRIC", "ZQXREMARKCELL0"}
    outdir, key = tmp_path / "out", tmp_path / "k.key"
    outdir.mkdir()
    printed: dict[str, bytes | str] = {}
    res = _ingest(run_cli, src, outdir / "s.h5", key)
    assert res.exit_code == 0, res.stderr
    printed["ingest"] = res.stdout + res.stderr
    res = _ingest(run_cli, src, outdir / "j.h5", key, "--json")
    assert res.exit_code == 0, res.stderr
    printed["ingest --json"] = res.stdout + res.stderr
    doc = json.loads(res.stdout)
    # the frame count that holds a phone number declares a frame over the size limit (issue 18)
    assert doc["quarantined_by_reason"] == {"multi-frame": 1, "too-large": 1, "not-grayscale": 1, "no-images": 1}
    res = _ingest(run_cli, src, outdir / "st.h5", key, "--strict")  # leaves its work directory behind
    assert res.exit_code == 1
    printed["ingest --strict"] = res.stdout + res.stderr
    res = run_cli("info", outdir / "s.h5", "--json")
    printed["info --json"] = res.stdout + res.stderr
    blobs: dict[str, bytes | str] = {**files(outdir), **printed, "hdf5 strings": hdf5_strings(outdir / "s.h5")}
    assert find_leaks(blobs, [*canaries, str(tmp_path)]) == []
    # positive control: the stored reports and the quarantine details are there to be searched
    assert find_leaks(blobs, ["BI-RADS 4B", "2 frames", "over 9999 frames",
                              "PhotometricInterpretation is not a defined term"])


def test_local_quarantine_report_names_files_but_quotes_no_header_value(tmp_path: Path,
                                                                        run_cli: Callable[..., Any]) -> None:
    src = tmp_path / "src"
    make_source(src, REPORTS)
    qr = tmp_path / "q" / "quarantine.json"
    res = _ingest(run_cli, src, tmp_path / "o" / "s.h5", tmp_path / "k.key", "--quarantine-report", qr)
    assert res.exit_code == 0, res.stderr
    text = qr.read_text(encoding="utf-8")
    assert "p001/s1/cc.dcm" in text  # source-relative paths are its purpose (local, never shared)
    header_values = [p for v in HEADER_CANARIES.values() for p in v.split("^")]
    assert find_leaks({"quarantine report": qr.read_bytes()}, [*QUARANTINE_CANARIES, *header_values]) == []


def test_overlay_bits_in_pixel_data_never_reach_the_stored_image(tmp_path: Path,
                                                                 run_cli: Callable[..., Any]) -> None:
    """An overlay kept in the bits above BitsStored (60xx OverlayBitPosition 15) is cleared: the
    stored image is the one of the same file without those bits."""
    stores = {}
    for flag in (True, False):
        src = tmp_path / f"src{int(flag)}"
        make_source(src, REPORTS[:2], overlay_bits=flag, hostile=False, columns=False)
        stores[flag] = tmp_path / f"s{int(flag)}.h5"
        res = _ingest(run_cli, src, stores[flag], tmp_path / "k.key")
        assert res.exit_code == 0, res.stderr
    raw = {flag: files(tmp_path / f"src{int(flag)}") for flag in (True, False)}
    rel = f"{PATH_CANARIES[0]}/{PATH_CANARIES[1]}/{PATH_CANARIES[2]}_CC.dcm"
    assert raw[True][rel] != raw[False][rel]  # the planted bits are in the source file
    with h5py.File(stores[True], "r") as a, h5py.File(stores[False], "r") as b:
        assert np.array_equal(a["images/pixels"][()], b["images/pixels"][()])


def test_shifted_positional_columns_and_an_unpatterned_table_name_are_not_quoted(
        tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    """MVKL tables locate the manifestation columns by position: a table with one extra column
    shifts a patient name into them. The errors name the table (by an ordinal label), the row and
    the column, never the cell, and never the file name of a ``--table`` outside the pattern."""
    src = tmp_path / "src"
    make_mvkl_source(src, n_patients=3, hostile=False, stages=("train",))
    table = src / "annotation" / "train_20220901.xlsx"
    df = pl.read_excel(table, infer_schema_length=0)
    names = [f"Zqxshifted{i} Wvyname" for i in range(df.height)]
    pos = df.columns.index("m00")  # 44 columns still: the last one dropped, a name column before m00
    df = df.drop(df.columns[-1]).insert_column(pos, pl.Series("姓名x", names))
    renamed = src / "annotation" / "Zqxtablename_13700001111.xlsx"
    df.write_excel(renamed)
    table.unlink()
    res = run_cli("ingest", src, "--format", "mvkl", "--table", renamed, "--out", tmp_path / "s.h5",
                  "--key-file", tmp_path / "k.key", "--json")
    assert res.exit_code == 2
    printed = res.stdout + res.stderr
    # the problem is located and named: the header check finds the shift (issue 18) before any cell
    assert "columns are shifted" in printed and "columns J to AR" in printed
    assert find_leaks({"printed": printed}, ["Zqxshifted", "Wvyname", "Zqxtablename", "13700001111"]) == []
