from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pytest

from mvkl.synth.cases import VENDORS, draw_cases
from mvkl.synth.dicom_writer import MG_FOR_PRESENTATION, PRIVATE_CREATOR, to_stored
from mvkl.synth.scene import mm_per_px

VIEW_CODE = {"CC": "399162004", "MLO": "399368009"}
ORIENT = {("L", "CC"): ["A", "R"], ("R", "CC"): ["P", "L"], ("L", "MLO"): ["A", "FR"], ("R", "MLO"): ["P", "FL"]}


def _files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.dcm"))


def test_every_file_reads_back_as_a_valid_mg_for_presentation_image(clean_set) -> None:  # type: ignore[no-untyped-def]
    root, summary, manifest = clean_set
    files = _files(root)
    assert len(files) == summary["images"] == manifest["images"]
    per_study: dict[Path, set[str]] = {}
    for p in files:
        ds = pydicom.dcmread(p)
        assert ds.Modality == "MG" and ds.SOPClassUID == MG_FOR_PRESENTATION
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.PresentationIntentType == "FOR PRESENTATION"
        lat, view = ds.ImageLaterality, ds.ViewPosition
        assert lat in ("L", "R") and view in ("CC", "MLO")
        assert ds.ViewCodeSequence[0].CodeValue == VIEW_CODE[view]
        assert list(ds.PatientOrientation) == ORIENT[(lat, view)]
        mono1 = ds.PhotometricInterpretation == "MONOCHROME1"
        assert ds.PresentationLUTShape == ("INVERSE" if mono1 else "IDENTITY")
        assert ds.BitsStored == 12 and ds.HighBit == 11 and ds.BitsAllocated == 16
        assert ds.VOILUTFunction in ("LINEAR", "SIGMOID") and "WindowCenter" in ds and "WindowWidth" in ds
        arr = ds.pixel_array
        assert arr.shape == (256, 208) and arr.max() <= 4095
        pitch = float(ds.DetectorElementSpacing[0])
        assert 0.07 <= pitch <= 0.1
        assert float(ds.ImagerPixelSpacing[0]) == pytest.approx(mm_per_px(256, pitch), rel=1e-5)
        # The breast is on the chest-wall side given by the orientation: brighter (MONO2) there.
        disp = 4095 - arr.astype(float) if mono1 else arr.astype(float)
        left, right = disp[:, :20].mean(), disp[:, -20:].mean()
        assert (left > right) == (lat == "L")
        per_study.setdefault(p.parent, set()).add(lat + view)
    assert all(v == {"LCC", "LMLO", "RCC", "RMLO"} for v in per_study.values())


def test_display_variants_are_mixed(zh_set) -> None:  # type: ignore[no-untyped-def]
    root, _, _ = zh_set
    seen: Counter[tuple[str, str]] = Counter()
    spacings = set()
    for p in _files(root):
        ds = pydicom.dcmread(p)
        seen[("pi", ds.PhotometricInterpretation)] += 1
        # Both photometric interpretations decode, and the breast displays bright in both.
        arr = ds.pixel_array.astype(float)
        shown = 4095 - arr if ds.PhotometricInterpretation == "MONOCHROME1" else arr
        chest = shown[:, :8] if ds.ImageLaterality == "L" else shown[:, -8:]
        air = shown[:, -8:] if ds.ImageLaterality == "L" else shown[:, :8]
        assert chest.mean() > air.mean() + 200
        seen[("voi", ds.VOILUTFunction)] += 1
        seen[("windows", str(ds["WindowCenter"].VM))] += 1
        spacings.add(float(ds.DetectorElementSpacing[0]))
        assert ds.SpecificCharacterSet == "ISO_IR 192"
        assert "=" in str(ds.PatientName) and any("\u4e00" <= ch <= "\u9fff" for ch in str(ds.PatientName))
    for key in (("pi", "MONOCHROME1"), ("pi", "MONOCHROME2"), ("voi", "SIGMOID"), ("voi", "LINEAR"),
                ("windows", "1"), ("windows", "2")):
        assert seen[key] > 0, key
    assert len(spacings) >= 2


def test_monochrome1_stores_the_inverse_of_monochrome2() -> None:
    img = np.random.default_rng(0).random((64, 52), dtype=np.float32)
    mono2 = next(v for v in VENDORS if not v.mono1 and not v.two_windows)
    mono1 = next(v for v in VENDORS if v.mono1 and not v.two_windows)
    a, wa = to_stored(img, mono2, np.random.default_rng(5))
    b, wb = to_stored(img, mono1, np.random.default_rng(5))
    assert np.array_equal(b.astype(int), 4095 - a.astype(int))
    assert wb.centers[0] == pytest.approx(4095 - wa.centers[0], abs=0.11) and wb.widths == wa.widths


def test_identifiers_are_planted_in_the_headers(clean_set) -> None:  # type: ignore[no-untyped-def]
    root, _, manifest = clean_set
    ids = set(manifest["identifiers"])
    ds = pydicom.dcmread(_files(root)[0], stop_before_pixels=True)
    for kw in ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber", "StudyID", "StudyDate",
               "InstitutionName", "InstitutionAddress", "ReferringPhysicianName", "OperatorsName", "StationName",
               "DeviceSerialNumber", "DetectorID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID",
               "FrameOfReferenceUID", "IssuerOfPatientID", "NameOfPhysiciansReadingStudy",
               "PatientTelephoneNumbers", "PatientAddress"):
        assert str(ds.data_element(kw).value) in ids, kw
    assert all(item.PatientID in ids for item in ds.OtherPatientIDsSequence)
    block = ds.private_block(0x0009, PRIVATE_CREATOR)
    assert block[0x01].value in ids and block[0x04].value.endswith(str(ds.PatientID))
    assert ds.RequestAttributesSequence[0].AccessionNumber == ds.AccessionNumber


def test_uids_are_deterministic_and_unique() -> None:
    a = draw_cases(30, seed=1)
    b = draw_cases(30, seed=1)
    c = draw_cases(30, seed=2)
    ua = [im.sop_uid for e in a.exams for im in e.images]
    assert ua == [im.sop_uid for e in b.exams for im in e.images]
    assert len(set(ua)) == len(ua) and not set(ua) & {im.sop_uid for e in c.exams for im in e.images}
    assert all(len(u) <= 64 and all(part.isdigit() and (part == "0" or part[0] != "0") for part in u.split("."))
               for u in ua)


# Text attributes that carry no identifier (vendor, codes, descriptions, enumerated values).
NOT_IDENTIFYING = {
    "SOPClassUID", "MediaStorageSOPClassUID", "TransferSyntaxUID", "ImplementationClassUID",
    "ImplementationVersionName", "SpecificCharacterSet", "Manufacturer", "ManufacturerModelName",
    "SoftwareVersions", "BodyPartExamined", "CodeValue", "CodingSchemeDesignator", "CodeMeaning",
    "StudyDescription", "SeriesDescription", "InstitutionalDepartmentName", "TypeOfPatientID",
    "WindowCenterWidthExplanation", "PrivateCreator", "StudyTime", "SeriesTime", "AcquisitionTime",
    "ContentTime", "InstanceCreationTime", "RescaleType", "DetectorType", "ConversionType",
}


def test_every_identifying_text_value_is_listed(clean_set) -> None:  # type: ignore[no-untyped-def]
    root, _, manifest = clean_set
    ids = [i for i in manifest["identifiers"] if len(i) >= 6]
    checked = 0
    for p in _files(root)[:6]:
        ds = pydicom.dcmread(p, stop_before_pixels=True)
        elems = list(ds.file_meta.iterall()) + list(ds.iterall())
        for el in elems:
            if el.VR not in ("PN", "LO", "SH", "UI", "DA", "DT", "LT", "ST", "UT") or el.VM == 0:
                continue
            if el.keyword in NOT_IDENTIFYING or (el.tag.is_private and el.tag.element < 0x100):
                continue
            value = str(el.value)
            assert any(i in value for i in ids), (el.keyword or str(el.tag), value)
            checked += 1
    assert checked > 100
