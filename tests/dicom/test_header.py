"""Allow-listed header extraction and the identifier harvest (spec/dicom.md §1.4-1.5, §2.2)."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from mvkl.dicom import PixelPolicy, collect_identifiers, load_image, safe_header
from mvkl.dicom.header import resolve_laterality, resolve_view
from mvkl.quarantine import QuarantineError
from tests.dicom.mkdicom import code, phantom, write_mg

pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR")  # hostile values are the point


def _ds(**kw: object) -> Dataset:
    ds = Dataset()
    for k, v in kw.items():
        setattr(ds, k, v)
    return ds


def _vcs(value: str, scheme: str = "SCT", meaning: str = "") -> Sequence:
    return Sequence([code(value, scheme, meaning)])


@pytest.mark.parametrize(("kw", "view"), [
    ({"ViewCodeSequence": _vcs("399162004")}, "CC"),
    ({"ViewCodeSequence": _vcs("399368009")}, "MLO"),
    ({"ViewCodeSequence": _vcs("399260004")}, "ML"),
    ({"ViewCodeSequence": _vcs("399352003")}, "LM"),
    ({"ViewCodeSequence": _vcs("399192008")}, "XCCL"),
    ({"ViewCodeSequence": _vcs("399101009")}, "XCCM"),
    ({"ViewCodeSequence": _vcs("399196006")}, "other"),  # caudo-cranial (FB)
    ({"ViewCodeSequence": _vcs("R-10226", "SRT")}, "MLO"),  # legacy SNOMED-RT
    ({"ViewCodeSequence": _vcs("X-UNKNOWN", "99LOCAL", "Cranio-Caudal")}, "CC"),  # by meaning
    ({"ViewCodeSequence": _vcs("399162004"), "ViewPosition": "MLO"}, "CC"),  # the code wins
    ({"ViewPosition": "MLO"}, "MLO"),
    ({"ViewPosition": "cc"}, "CC"),
    ({"ViewPosition": "LMLO"}, "MLO"),
    ({"ViewPosition": "R-XCCL"}, "XCCL"),
    ({"ViewPosition": "AP"}, "other"),
    ({"SeriesDescription": "L MLO tomo-free"}, "MLO"),
    ({"ProtocolName": "RCC screening"}, "CC"),
    ({"SeriesDescription": "ACCESSION 12"}, "other"),  # CC inside a word is no hint
    ({}, "other"),
])
def test_view_resolution(kw: dict[str, object], view: str) -> None:
    assert resolve_view(_ds(**kw)) == view


def _frame_laterality(value: str) -> Sequence:
    anat = Dataset()
    anat.FrameLaterality = value
    item = Dataset()
    item.FrameAnatomySequence = Sequence([anat])
    return Sequence([item])


@pytest.mark.parametrize(("kw", "lat"), [
    ({"ImageLaterality": "L"}, "L"),
    ({"ImageLaterality": "R", "Laterality": "L"}, "R"),
    ({"ImageLaterality": "B", "Laterality": "L"}, "L"),
    ({"Laterality": "R"}, "R"),
    ({"SharedFunctionalGroupsSequence": _frame_laterality("L")}, "L"),
    ({"ViewPosition": "RMLO"}, "R"),
    ({"SeriesDescription": "L CC"}, "L"),
    ({"SeriesDescription": "RIGHT BREAST"}, "R"),
    ({"SeriesDescription": "左乳 CC"}, "L"),
    ({"ProtocolName": "双侧乳腺 右 左"}, "U"),
    ({"ViewPosition": "CC", "PatientOrientation": ["A", "R"]}, "L"),
    ({"ViewPosition": "CC", "PatientOrientation": ["P", "L"]}, "R"),
    ({"ViewPosition": "MLO", "PatientOrientation": ["A", "FR"]}, "L"),
    ({"ViewPosition": "MLO", "PatientOrientation": ["P", "FL"]}, "R"),
    ({"ViewPosition": "ML", "PatientOrientation": ["A", "F"]}, "U"),
    ({"PatientOrientation": ["A", "R"]}, "U"),  # unknown view: no orientation rule
    ({}, "U"),
])
def test_laterality_resolution(kw: dict[str, object], lat: str) -> None:
    assert resolve_laterality(_ds(**kw)) == lat


def test_spacing_age_and_modifiers() -> None:
    item = code("399162004", "SCT", "cranio-caudal")
    item.ViewModifierCodeSequence = Sequence([code("399055006", "SCT", "Spot Compression"),
                                              code("123", "99X", "secret canary meaning")])
    ds = _ds(PixelSpacing=[0.0, 0.0], ImagerPixelSpacing=[0.07, 0.0705], PatientAge="052Y",
             ViewCodeSequence=Sequence([item]))
    h = safe_header(ds)
    assert h.pixel_spacing == (0.07, 0.0705) and h.age_years == 52
    assert h.view_modifiers == ("spot compression", "other")
    assert safe_header(_ds(PixelSpacing=[0.1, 0.1], ImagerPixelSpacing=[0.2, 0.2])).pixel_spacing == (0.1, 0.1)
    nan = safe_header(_ds(PixelSpacing=[0.0, 0.0]))
    assert all(math.isnan(v) for v in nan.pixel_spacing)
    for age, want in [("006M", 0), ("45Y", 45), ("abc", None), ("", None), ("200Y", None)]:
        assert safe_header(_ds(PatientAge=age)).age_years == want
    # never from dates
    assert safe_header(_ds(PatientBirthDate="19700101", StudyDate="20200102")).age_years is None


def test_rg1_bogus_spacing() -> None:
    p = get_testdata_file("RG1_UNCR.dcm", download=False)
    if p is None:
        pytest.skip("RG1 not available offline")
    h = safe_header(pydicom.dcmread(p, stop_before_pixels=True))
    assert all(math.isnan(v) for v in h.pixel_spacing)
    assert h.photometric == "MONOCHROME1"


# ---------------------------------------------------------------------------------------------
# leak tests with planted canaries (spec/dicom.md §1.4)

CANARIES = {
    "PatientName": "Canaryfamily^Canarygiven",
    "PatientID": "CANPID777001",
    "AccessionNumber": "CANACC777002",
    "PatientBirthDate": "19010203",
    "StudyDate": "19020304",
    "StudyInstanceUID": "1.2.826.0.1.777003",
    "SOPInstanceUID": "1.2.826.0.1.777004",
    "PatientAddress": "777 Canary Street",
    "InstitutionName": "Canary Institute",
    "OperatorsName": "Canaryoperator^Olga",
    "ReferringPhysicianName": "Canaryreferrer^Rita",
    "StationName": "CANSTATION7",
    "DeviceSerialNumber": "CANSERIAL777005",
    "ImageComments": "canary image comment MRN 77700699",
    "StudyDescription": "canary study description",
    "AdditionalPatientHistory": "canary history",
    "PatientComments": "canary patient comment",
    "AcquisitionDeviceProcessingDescription": "canary processing",
    "StudyID": "CANSTUDY777007",
    "IssuerOfPatientID": "CANISSUER777008",
    "SeriesDescription": "canary series L CC",
    "ProtocolName": "canary protocol",
}
NESTED = {
    "other-id": "CANOTHER777009",
    "req-desc": "canary requested procedure",
    "req-id": "CANREQ777010",
    "private-lo": "canary private MRN 77701199",
    "private-ob": b"CANARYOB777012",
    "nested-private": "CANNESTED777013",
}


def _canary_file(tmp_path: Path) -> Path:
    p = write_mg(tmp_path / "c.dcm", phantom(96, 72), laterality="R", view="MLO")
    ds = pydicom.dcmread(p)
    for k, v in CANARIES.items():
        setattr(ds, k, v)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    other = Dataset()
    other.PatientID = NESTED["other-id"]
    ds.OtherPatientIDsSequence = Sequence([other])
    req = Dataset()
    req.RequestedProcedureDescription = NESTED["req-desc"]
    req.RequestedProcedureID = NESTED["req-id"]
    ds.RequestAttributesSequence = Sequence([req])
    block = ds.private_block(0x0029, "CANARY VENDOR", create=True)
    block.add_new(0x01, "LO", NESTED["private-lo"])
    block.add_new(0x02, "OB", NESTED["private-ob"])
    inner = ds.ViewCodeSequence[0].private_block(0x0031, "CANARY NESTED", create=True)
    inner.add_new(0x01, "LO", NESTED["nested-private"])
    ds.save_as(p, enforce_file_format=True)
    return p


def _needles() -> list[str]:
    out = [v for v in CANARIES.values()] + [v for v in NESTED.values() if isinstance(v, str)] + ["CANARYOB777012"]
    out += ["Canaryfamily", "Canarygiven", "777"]
    return out


def test_safe_header_and_result_hold_no_canary(tmp_path: Path) -> None:
    p = _canary_file(tmp_path)
    out = load_image(p, PixelPolicy(image_size=32))
    assert out.header.laterality == "R" and out.header.view == "MLO"
    texts = [repr(out), repr(out.header), str(out.header), json.dumps(dataclasses.asdict(out.header)),
             out.display, str(out.crop_box)]
    blob = "\n".join(texts).lower()
    for needle in _needles():
        assert needle.lower() not in blob, needle
    assert out.pixels.dtype == np.uint8  # pixels only


def test_quarantine_details_hold_no_canary(tmp_path: Path) -> None:
    p = _canary_file(tmp_path)
    ds = pydicom.dcmread(p)
    ds.BurnedInAnnotation = "YES"
    ds.save_as(tmp_path / "b.dcm", enforce_file_format=True)
    data = p.read_bytes()
    (tmp_path / "t.dcm").write_bytes(data[: len(data) - 100])
    for name in ("b.dcm", "t.dcm"):
        with pytest.raises(QuarantineError) as ei:
            load_image(tmp_path / name)
        msg = str(ei.value).lower()
        assert not any(n.lower() in msg for n in _needles()), msg


def test_identifiers_hold_every_identifying_canary(tmp_path: Path) -> None:
    ids = load_image(_canary_file(tmp_path), PixelPolicy(image_size=32)).identifiers
    low = {i.lower() for i in ids}
    for want in ["Canaryfamily^Canarygiven", "Canaryfamily", "Canarygiven", "CANPID777001", "CANACC777002",
                 "Canary Institute", "Canaryoperator", "Olga", "Canaryreferrer", "Rita", "CANSTUDY777007",
                 "CANISSUER777008", "CANOTHER777009", "CANREQ777010", "77700699", "77701199", "777 Canary Street"]:
        assert want.lower() in low, want
    # values that are not identifiers are not collected (UIDs, dates, view codes)
    assert not any(i.startswith("1.2.826") or i in ("19010203", "SYNTHETIC") for i in ids)


def test_ct_small_private_blocks() -> None:
    p = get_testdata_file("CT_small.dcm", download=False)
    if p is None:
        pytest.skip("CT_small not available offline")
    ds = pydicom.dcmread(p)
    h = safe_header(ds)
    blob = json.dumps(dataclasses.asdict(h))
    for private in ("GEMS", "CT01", "HiSpeed", "JFK", "CompressedSamples", "1CT1"):
        assert private not in blob
    assert h.manufacturer == "GE MEDICAL SYSTEMS" and h.modality == "CT"
    ids = collect_identifiers(ds)
    for want in ("CompressedSamples^CT1", "CompressedSamples", "CT1", "1CT1", "JFK IMAGING CENTER"):
        assert want in ids
