"""Source paths of the public layouts (issue 15 item 4): the folder and file names of CBIS-DDSM, INbreast
and VinDr-Mammo carry patient, study and image ids (and TCIA dates); none of them, nor the DICOM
files' patient ids and names, reaches the store or anything printed. The csv and MVKL layouts are
covered by tests/deid/test_around_pixels.py and tests/ingest/test_leak.py."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.ingest.test_leak import find_leaks, hdf5_strings
from tests.sources import _layouts as L

LAYOUTS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "cbis": ("cbis-ddsm", lambda p: L.make_cbis(p, "nbia")),
    "inbreast": ("inbreast", L.make_inbreast),
    "vindr": ("vindr", L.make_vindr),
}


def _path_ids(root: Path) -> set[str]:
    """Every folder or file-name part under ``root`` that holds an id: 8+ characters with a digit."""
    out: set[str] = set()
    for p in root.rglob("*"):
        for part in p.relative_to(root).parts:
            stem = part.rsplit(".", 1)[0] if "." in part else part
            for piece in {stem, *re.split(r"[_\s]", stem)}:
                if len(piece) >= 8 and re.search(r"\d", piece):
                    out.add(piece)
    return out


def _header_ids(root: Path) -> set[str]:
    import pydicom

    out: set[str] = set()
    for p in root.rglob("*"):
        if p.suffix.lower() not in (".dcm", ".dicom"):
            continue
        with warnings.catch_warnings():  # VinDr's md5-hex UIDs are invalid UI values, by design
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(p, stop_before_pixels=True, force=True)
            values = {kw: str(ds.get(kw, "") or "") for kw in
                      ("PatientID", "PatientName", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")}
        for v in values.values():
            if len(v) >= 6:
                out.add(v)
    return out


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_ids_in_public_layout_paths_reach_no_output(layout: str, tmp_path: Path,
                                                    run_cli: Callable[..., Any]) -> None:
    fmt, make = LAYOUTS[layout]
    src = tmp_path / "src"
    make(src)
    needles = sorted(_path_ids(src) | _header_ids(src))
    assert len(needles) >= 8  # the fixture's names do hold ids (the test can fail)
    out = tmp_path / "o" / "s.h5"
    printed = []
    for extra in ((), ("--json",)):
        target = out if not extra else out.with_name("j.h5")
        res = run_cli("ingest", src, "--format", fmt, "--out", target, "--image-size", "32", "--key-file",
                      tmp_path / "k.key", "--workers", "1", *extra)
        assert res.exit_code == 0, res.stdout + res.stderr
        printed.append(res.stdout + res.stderr)
    res = run_cli("info", out, "--json")
    printed.append(res.stdout + res.stderr)
    blobs: dict[str, bytes | str] = {"store": out.read_bytes(), "json store": out.with_name("j.h5").read_bytes(),
                                     "hdf5 strings": hdf5_strings(out), "printed": "\n".join(printed)}
    assert find_leaks(blobs, needles) == []
    # positive control: the search sees what is in the source tree
    assert find_leaks({"paths": "\n".join(str(p) for p in src.rglob("*"))}, needles[:3])


def test_an_unpatterned_cbis_table_name_is_not_printed(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    src = tmp_path / "src"
    L.make_cbis(src, "nbia")
    table = next(src.rglob("mass_case_description_train_set.csv"))
    named = table.with_name("Zqxcbisname_13700002222.csv")
    named.write_bytes(table.read_bytes())
    res = run_cli("ingest", src, "--format", "cbis-ddsm", "--table", named, "--out", tmp_path / "s.h5",
                  "--key-file", tmp_path / "k.key", "--json")
    assert res.exit_code == 2
    printed = res.stdout + res.stderr
    assert "table 1" in printed and "cannot tell mass/calc" in printed
    assert find_leaks({"printed": printed}, ["Zqxcbisname", "13700002222"]) == []
