"""Issue 18 item 1: only mammograms are stored (Modality, else SOP class, else the image)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from mvkl.dicom import PixelPolicy, load_image
from mvkl.dicom.modality import parse_modalities
from mvkl.errors import InputError
from mvkl.quarantine import QuarantineError, Reason
from tests.ingest.dicomfiles import phantom, write_mg

SC = "1.2.840.10008.5.1.4.1.1.7"
CT = "1.2.840.10008.5.1.4.1.1.2"
VL_PHOTO = "1.2.840.10008.5.1.4.1.1.77.1.4"


def _strip(modality: bool = True, sop: str | None = None) -> Callable[[Any], None]:
    """A ``write_mg`` mutator: drop Modality; replace (``sop``) or drop ("" ) the SOP class."""

    def mutate(ds: Any) -> None:
        if modality:
            del ds.Modality
        if sop == "":
            del ds.SOPClassUID
            ds.file_meta.MediaStorageSOPClassUID = "1.2.3.4"
        elif sop is not None:
            ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop

    return mutate


def _reason(path: Path, policy: PixelPolicy = PixelPolicy(image_size=32)) -> QuarantineError:
    with pytest.raises(QuarantineError) as e:
        load_image(path, policy)
    return e.value


# -- the rule on single files --------------------------------------------------------------------------
@pytest.mark.parametrize("modality, sop", [("CT", CT), ("OT", SC), ("XC", VL_PHOTO), ("US", SC), ("MR", CT)])
def test_any_modality_but_mg_is_not_a_mammogram(tmp_path: Path, modality: str, sop: str) -> None:
    p = write_mg(tmp_path / "x.dcm", phantom(), Modality=modality, SOPClassUID=sop)
    e = _reason(p)
    assert e.reason is Reason.NOT_MAMMOGRAM and f"Modality {modality}" in e.detail


def test_mg_is_accepted_whatever_the_sop_class(tmp_path: Path) -> None:
    cbis = write_mg(tmp_path / "cbis.dcm", phantom(), mutate=_strip(modality=False, sop=SC))
    vindr = write_mg(tmp_path / "vindr.dcm", phantom(), mutate=_strip(modality=False, sop=""))
    for p in (cbis, vindr):
        assert load_image(p, PixelPolicy(image_size=32)).modality_basis == "modality"


def test_without_modality_the_sop_class_decides(tmp_path: Path) -> None:
    mg = write_mg(tmp_path / "mg.dcm", phantom(), mutate=_strip())
    assert load_image(mg, PixelPolicy(image_size=32)).modality_basis == "sop-class"
    ct = write_mg(tmp_path / "ct.dcm", phantom(), mutate=_strip(sop=CT))
    e = _reason(ct)
    assert e.reason is Reason.NOT_MAMMOGRAM and "CT" in e.detail


def test_without_modality_and_sop_class_the_image_decides(tmp_path: Path) -> None:
    big = write_mg(tmp_path / "big.dcm", phantom(1280, 1024), mutate=_strip(sop=""))
    assert load_image(big, PixelPolicy(image_size=32)).modality_basis == "image"
    small = write_mg(tmp_path / "small.dcm", phantom(), mutate=_strip(sop=SC))
    assert "smaller than a mammogram" in _reason(small).detail
    wide = write_mg(tmp_path / "wide.dcm", phantom(1000, 3000), mutate=_strip(sop=""))
    assert "aspect" in _reason(wide).detail
    page = np.full((1300, 1000), 3000, np.uint16)  # a scanned page: bright everywhere, dark text lines
    page[100:1200:40, 100:900] = 200
    form = write_mg(tmp_path / "form.dcm", page, mutate=_strip(sop=""))
    e = _reason(form)
    assert e.reason is Reason.NOT_MAMMOGRAM and ("foreground" in e.detail or "side edge" in e.detail)
    blob = np.zeros((1200, 1000), np.uint16)  # a bright disc in the middle: no chest wall
    yy, xx = np.mgrid[0:1200, 0:1000]
    blob[(yy - 600) ** 2 + (xx - 500) ** 2 < 350 ** 2] = 3000
    assert "side edge" in _reason(write_mg(tmp_path / "disc.dcm", blob, mutate=_strip(sop=""))).detail


def test_recognizable_visual_features_and_colour_are_quarantined(tmp_path: Path) -> None:
    face = write_mg(tmp_path / "face.dcm", phantom(), RecognizableVisualFeatures="YES")
    assert _reason(face).reason is Reason.NOT_MAMMOGRAM
    allowed = PixelPolicy(image_size=32, allow_modalities=("MG", "XC"))
    assert _reason(face, allowed).reason is Reason.NOT_MAMMOGRAM  # not overridable
    pal = write_mg(tmp_path / "pal.dcm", phantom(), PhotometricInterpretation="PALETTE COLOR")
    assert _reason(pal).reason is Reason.NOT_GRAYSCALE


def test_allow_modality_and_the_library_switch(tmp_path: Path) -> None:
    p = write_mg(tmp_path / "dx.dcm", phantom(), Modality="DX")
    assert _reason(p).reason is Reason.NOT_MAMMOGRAM
    assert load_image(p, PixelPolicy(image_size=32, allow_modalities=("DX",))).modality_basis == "allowed"
    assert load_image(p, PixelPolicy(image_size=32, mammograms_only=False)).modality_basis == ""
    assert parse_modalities(["ct,Mr", " dx "]) == ("CT", "DX", "MR")
    with pytest.raises(InputError):
        parse_modalities(["C T"])


# -- through the CLI -----------------------------------------------------------------------------------
def _source(root: Path) -> Path:
    """Six patients: two mammograms, a CT slice, a secondary-capture requisition form (OT), a
    visible-light photograph (XC) and a large MG image with neither Modality nor SOP class."""
    files = {
        "p0": write_mg(root / "p0.dcm", phantom(seed=1)),
        "p1": write_mg(root / "p1.dcm", phantom(seed=2), mutate=_strip(modality=False, sop=SC)),
        "p2": write_mg(root / "p2.dcm", phantom(seed=3), Modality="CT", SOPClassUID=CT),
        "p3": write_mg(root / "p3.dcm", phantom(seed=4), Modality="OT", SOPClassUID=SC),
        "p4": write_mg(root / "p4.dcm", phantom(seed=5), Modality="XC", SOPClassUID=VL_PHOTO),
        "p5": write_mg(root / "p5.dcm", phantom(1280, 1024, seed=6), mutate=_strip(sop="")),
    }
    rows = [{"patient_id": k, "study_id": "s", "cc_path": p.name, "mlo_path": "", "label": "benign"}
            for k, p in files.items()]
    pl.DataFrame(rows).write_csv(root / "manifest.csv")
    return root


def test_ingest_quarantines_non_mammograms_and_says_when_the_image_decided(
        tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    src = _source(tmp_path / "src")
    key = tmp_path / "k.key"
    res = run_cli("ingest", src, "--format", "csv", "--out", tmp_path / "a.h5", "--image-size", "32",
                  "--key-file", key, "--workers", "1", "--json", "--quiet")
    assert res.exit_code == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["images"]["ingested"] == 3
    assert doc["quarantined_by_reason"] == {"no-images": 3, "not-mammogram": 3}
    assert sorted(q["row"] for q in doc["quarantined"] if q["reason"] == "not-mammogram") == [4, 5, 6]
    assert any("from the image itself" in k and v == 1 for k, v in doc["warnings"].items())
    res = run_cli("ingest", src, "--format", "csv", "--out", tmp_path / "b.h5", "--image-size", "32",
                  "--key-file", key, "--workers", "1", "--json", "--quiet", "--allow-modality", "CT,OT",
                  "--allow-modality", "xc")
    assert res.exit_code == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)
    assert doc["images"]["ingested"] == 6 and doc["quarantined"] == []
    import h5py

    with h5py.File(tmp_path / "b.h5") as f:
        assert json.loads(f.attrs["deid"])["ingest"]["allow_modalities"] == ["MG", "CT", "OT", "XC"]
