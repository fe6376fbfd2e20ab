from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.errors import InvalidDicomError

from mvkl.errors import InputError
from mvkl.manifest.table import read_table
from mvkl.quarantine import Reason
from mvkl.synth import generate
from mvkl.synth.hostile import EXPECTED, PLAN
from mvkl.synth.tables import parse_view_id

BRIEF = {"truncated": "truncated", "not-dicom": "not-dicom", "no-pixel-data": "no-pixel-data",
         "colour": "not-grayscale", "burned-in": "burned-in-annotation", "for-processing": "for-processing",
         "missing-file": "missing-file", "jpeg2000-lossless": "ok", "jpeg-ls-lossless": "ok", "rle-lossless": "ok"}


def test_expected_reasons_are_the_quarantine_codes() -> None:
    assert EXPECTED == BRIEF
    values = {r.value for r in Reason}
    assert all(v == "ok" or v in values for v in EXPECTED.values())


def test_every_kind_is_planted_once_and_is_what_it_claims(hostile_set, clean_set) -> None:  # type: ignore[no-untyped-def]
    root, summary, manifest = hostile_set
    clean_root = clean_set[0]
    entries = manifest["hostile"]
    assert sorted(e["kind"] for e in entries) == sorted(k for _, _, k in PLAN)
    assert summary["hostile"] == {k: 1 for _, _, k in PLAN}
    for e in entries:
        p = root / e["path"]
        kind = e["kind"]
        assert e["expected"] == EXPECTED[kind]
        good = pydicom.dcmread(clean_root / e["path"])
        if kind == "missing-file":
            assert not p.exists()
            continue
        if kind == "not-dicom":
            with pytest.raises(InvalidDicomError):
                pydicom.dcmread(p)
            continue
        ds = pydicom.dcmread(p)
        assert ds.Modality == "MG" and ds.ImageLaterality == good.ImageLaterality
        if kind == "truncated":
            assert p.stat().st_size < (clean_root / e["path"]).stat().st_size
            with pytest.raises(Exception):  # noqa: B017 - pydicom raises ValueError or EOFError
                ds.pixel_array  # noqa: B018
        elif kind == "no-pixel-data":
            assert "PixelData" not in ds
        elif kind == "colour":
            assert ds.SamplesPerPixel == 3 and ds.PhotometricInterpretation == "RGB"
            assert ds.pixel_array.shape == (*good.pixel_array.shape, 3)
        elif kind == "burned-in":
            assert ds.BurnedInAnnotation == "YES"
            changed = ds.pixel_array != good.pixel_array
            assert 20 < changed.sum() < changed.size // 10
        elif kind == "for-processing":
            assert ds.PresentationIntentType == "FOR PROCESSING" and ds.SOPClassUID.endswith(".1.1.1.2.1")
            assert "WindowCenter" not in ds and "VOILUTFunction" not in ds
        else:
            syntax = {"jpeg2000-lossless": "1.2.840.10008.1.2.4.90", "jpeg-ls-lossless": "1.2.840.10008.1.2.4.80",
                      "rle-lossless": "1.2.840.10008.1.2.5"}[kind]
            assert ds.file_meta.TransferSyntaxUID == syntax
            assert np.array_equal(ds.pixel_array, good.pixel_array)  # lossless: decodes to the same pixels


def test_rows_and_lumps_expected_in_store(hostile_set) -> None:  # type: ignore[no-untyped-def]
    root, _, manifest = hostile_set
    bad = {e["path"] for e in manifest["hostile"] if e["expected"] != "ok"}
    refs: dict[str, set[tuple[str, int]]] = {}
    in_store = 0
    lost_both = kept_one = 0
    for table in manifest["tables"]:
        df = read_table(root / table)
        batch = Path(table).stem.split("_", 1)[1]
        for i, rec in enumerate(df.iter_rows(named=True)):
            folder = f"{batch}/{rec['patient_id']}/{rec['study_id']}"
            paths = [f"{folder}/{f}" for grp in parse_view_id(rec["view_id"]) for f in grp]
            for p in paths:
                refs.setdefault(p, set()).add((table, i + 2))
            n_bad = sum(p in bad for p in paths)
            in_store += n_bad < len(paths)
            lost_both += n_bad == len(paths)
            kept_one += 0 < n_bad < len(paths)
    for e in manifest["hostile"]:
        assert {(r["table"], r["row"]) for r in e["rows"]} == refs[e["path"]] != set()
    assert manifest["lumps_expected_in_store"] == in_store == manifest["lumps"] - lost_both
    assert lost_both >= 1 and kept_one >= 1


def test_hostile_needs_enough_exams(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        generate(tmp_path / "x", exams=3, image_size=64, hostile=True)
    assert not (tmp_path / "x").exists()
