"""Issue 18 item 7: the declared frame size is checked before decoding (``too-large``), and a
small deflated file that claims a huge frame never takes the memory it claims."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from mvkl.dicom import PixelPolicy, load_image
from mvkl.dicom.read import read_dataset
from mvkl.quarantine import QuarantineError, Reason
from tests.ingest.dicomfiles import phantom, write_mg


def _deflated(path: Path, rows: int, cols: int) -> Path:
    """A deflated MG file of zeros: a few hundred kB on disk, rows x cols x 2 bytes inflated."""
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    def mutate(ds: Any) -> None:
        ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian

    return write_mg(path, np.zeros((rows, cols), np.uint16), mutate=mutate)


def test_the_declared_frame_size_is_checked_before_decoding(tmp_path: Path) -> None:
    p = write_mg(tmp_path / "a.dcm", phantom(96, 80))
    with pytest.raises(QuarantineError) as e:
        load_image(p, PixelPolicy(image_size=32, max_pixels=96 * 80 - 1))
    assert e.value.reason is Reason.TOO_LARGE and "over the limit" in e.value.detail
    assert load_image(p, PixelPolicy(image_size=32, max_pixels=96 * 80)).pixels.shape == (32, 32)


def test_a_deflated_file_claiming_a_huge_frame_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    p = _deflated(tmp_path / "big.dcm", 4000, 4000)  # 32 MB inflated
    assert p.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(QuarantineError) as e:
            read_dataset(p, max_pixels=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert e.value.reason is Reason.TOO_LARGE and "declared frame size 16 Mpx" in e.value.detail
    assert peak < 12 << 20, peak  # never inflated whole (32 MB)
    assert read_dataset(p, max_pixels=20_000_000).Rows == 4000  # under the limit it reads as before


def test_a_deflated_file_inflating_past_its_declared_size_is_refused(tmp_path: Path) -> None:
    p = _deflated(tmp_path / "lie.dcm", 4000, 4000)
    import pydicom

    ds = pydicom.dcmread(p)
    ds.Rows, ds.Columns = 100, 100  # claims 10 kpx, carries 32 MB
    ds.save_as(p, enforce_file_format=True)
    tracemalloc.start()
    try:
        with pytest.raises(QuarantineError) as e:
            read_dataset(p, max_pixels=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert e.value.reason is Reason.TOO_LARGE and "inflates to more than" in e.value.detail
    assert peak < 12 << 20, peak


def test_ingest_quarantines_too_large_and_goes_on(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    src = tmp_path / "src"
    write_mg(src / "small.dcm", phantom(96, 80))
    write_mg(src / "big.dcm", phantom(200, 160, seed=3))
    pl.DataFrame([{"patient_id": "a", "study_id": "s", "cc_path": "small.dcm", "mlo_path": "", "label": "benign"},
                  {"patient_id": "b", "study_id": "s", "cc_path": "big.dcm", "mlo_path": "", "label": "benign"}]
                 ).write_csv(src / "manifest.csv")
    res = run_cli("ingest", src, "--format", "csv", "--out", tmp_path / "s.h5", "--image-size", "32", "--key-file",
                  tmp_path / "k.key", "--workers", "1", "--quiet", "--json", "--max-megapixels", "0.01")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["images"]["ingested"] == 1 and doc["quarantined_by_reason"].get("too-large") == 1
    res = run_cli("ingest", src, "--format", "csv", "--out", tmp_path / "t.h5", "--key-file", tmp_path / "k.key",
                  "--max-megapixels", "0")
    assert res.exit_code == 2 and "--max-megapixels" in res.stderr
