"""Digital Mammography X-Ray Image "For Presentation" datasets (spec/dicom.md §5 recipe).

Display mapping: attenuation ``I`` (0 air .. ~1.2 calcium) becomes 12-bit stored values
``offset + gain * I`` with signal-dependent noise; MONOCHROME1 units store ``4095 - value`` and
declare ``PresentationLUTShape INVERSE`` so that both display alike. The VOI LUT window is set from
the breast's intensity percentiles and varied per image; some vendors write a second, harder
window or ``VOILUTFunction SIGMOID``. ``ImagerPixelSpacing`` is the spacing of the written pixels
(detector pitch times the down-sampling to ``--image-size``); ``DetectorElementSpacing`` is the
detector pitch itself (0.07-0.1 mm).

Identifying attributes are filled with fake values (patient, study, institution, device, staff,
OtherPatientIDsSequence, RequestAttributesSequence and a private block with PHI-like strings) so
that de-identification is exercised on every run (spec/dicom.md §1).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt

from mvkl.synth.cases import Exam, Vendor, ViewImage, frame_of_reference_uid
from mvkl.synth.identity import Identity, Institution

__all__ = ["MG_FOR_PRESENTATION", "MG_FOR_PROCESSING", "PRIVATE_CREATOR", "Window", "build_dataset", "to_stored"]

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
MG_FOR_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.2.1"
PRIVATE_CREATOR = "MVKLSYNTH PHI 1.0"
BITS = 12
MAXV = (1 << BITS) - 1
_VIEW_CODES = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique")}


class Window:
    """VOI LUT settings in stored-value units (one or two windows)."""

    def __init__(self, centers: list[float], widths: list[float], explanations: list[str], function: str) -> None:
        self.centers, self.widths, self.explanations, self.function = centers, widths, explanations, function


def to_stored(
    img: npt.NDArray[np.float32], vendor: Vendor, rng: np.random.Generator
) -> tuple[npt.NDArray[np.uint16], Window]:
    """Map attenuation to 12-bit stored values and choose the window (see module docstring)."""
    gain = float(rng.uniform(2700, 3300))
    offset = float(rng.uniform(30, 140))
    val = offset + gain * img
    # Quantum-like noise, std 3 + 0.4 % of the signal; triangular (difference of two uniforms,
    # std 1/sqrt(6)), several times cheaper to draw than normal noise.
    tri = rng.random(img.shape, dtype=np.float32) - rng.random(img.shape, dtype=np.float32)
    val += tri * np.float32(np.sqrt(6.0)) * (np.float32(3.0) + np.float32(0.004) * val)
    stored = np.clip(np.rint(val), 0, MAXV).astype(np.uint16)
    breast = stored[::3, ::3][img[::3, ::3] > 0.12]
    if breast.size < 16:
        breast = stored.ravel()
    lo, hi = np.percentile(breast, [1.0, 99.7])
    center = float((lo + hi) / 2 * rng.uniform(0.97, 1.03))
    width = float(max(64.0, (hi - lo) * rng.uniform(1.1, 1.35)))
    centers, widths, expl = [center], [width], ["NORMAL"]
    if vendor.two_windows:
        centers.append(center * float(rng.uniform(1.02, 1.08)))
        widths.append(width * float(rng.uniform(0.6, 0.75)))
        expl.append("HARDER")
    if vendor.mono1:
        stored = (MAXV - stored).astype(np.uint16)
        centers = [MAXV - c for c in centers]
    return stored, Window(
        [round(c, 1) for c in centers], [round(w, 1) for w in widths], expl, "SIGMOID" if vendor.sigmoid else "LINEAR"
    )


def _code(value: str, scheme: str, meaning: str) -> Any:
    from pydicom.dataset import Dataset

    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def build_dataset(
    exam: Exam,
    image: ViewImage,
    ident: Identity,
    inst: Institution,
    stored: npt.NDArray[np.uint16],
    window: Window | None,
    spacing: float,
    lang: str,
    seed: int,
) -> Any:
    """A complete MG dataset for one image (pixel data included), ready for ``save_as``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

    v: Vendor = exam.vendor
    rng = np.random.default_rng([exam.seed, 41, image.instance])
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MG_FOR_PRESENTATION
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = image.sop_uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SpecificCharacterSet = "ISO_IR 192" if lang == "zh" else "ISO_IR 100"
    date = exam.date.strftime("%Y%m%d")
    t = exam.time
    created = dt.datetime.combine(exam.date, dt.time(int(t[:2]), int(t[2:4]), int(t[4:]))) + dt.timedelta(
        seconds=40 * image.instance
    )
    # Patient
    ds.PatientName = ident.dicom_name
    ds.PatientID = ident.patient_id
    ds.IssuerOfPatientID = inst.name
    ds.PatientBirthDate = ident.birth_date_str
    ds.PatientSex = "F"
    ds.PatientAge = f"{exam.age:03d}Y"
    ds.PatientAddress = ident.address
    ds.PatientTelephoneNumbers = ident.phone
    others = []
    for oid in ident.other_ids:
        item = Dataset()
        item.PatientID, item.IssuerOfPatientID, item.TypeOfPatientID = oid, inst.name, "TEXT"
        others.append(item)
    ds.OtherPatientIDsSequence = Sequence(others)
    # Study / series / equipment
    ds.StudyInstanceUID = exam.study_uid
    ds.SeriesInstanceUID = image.series_uid
    ds.FrameOfReferenceUID = frame_of_reference_uid(seed, exam.index, image.laterality)
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = ds.InstanceCreationDate = date
    ds.StudyTime = t
    ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = ds.InstanceCreationTime = created.strftime("%H%M%S")
    ds.AcquisitionDateTime = created.strftime("%Y%m%d%H%M%S.000000")
    ds.AccessionNumber = exam.study_id
    ds.StudyID = exam.study_number
    ds.StudyDescription = "乳腺钼靶 双侧" if lang == "zh" else "MAMMOGRAM SCREENING BILATERAL"
    ds.SeriesDescription = f"{image.laterality} {image.view}"
    ds.ReferringPhysicianName = inst.doctors[int(rng.integers(len(inst.doctors)))]
    ds.NameOfPhysiciansReadingStudy = inst.doctors[int(rng.integers(len(inst.doctors)))]
    ds.OperatorsName = inst.operators[int(rng.integers(len(inst.operators)))]
    ds.InstitutionName = inst.name
    ds.InstitutionAddress = inst.address
    ds.InstitutionalDepartmentName = "放射科" if lang == "zh" else "Breast Imaging"
    ds.StationName = inst.station_names[exam.station]
    ds.DeviceSerialNumber = inst.device_serials[exam.station]
    ds.DetectorID = inst.detector_ids[exam.station]
    ds.Manufacturer = v.manufacturer
    ds.ManufacturerModelName = v.model
    ds.SoftwareVersions = "1.10.2"
    req = Dataset()
    req.RequestedProcedureID = f"RP{exam.study_id}"
    req.ScheduledProcedureStepID = f"SPS{exam.study_id}"
    req.AccessionNumber = exam.study_id
    ds.RequestAttributesSequence = Sequence([req])
    ds.Modality = "MG"
    ds.SeriesNumber = image.instance
    ds.InstanceNumber = 1 + image.repeat
    ds.PresentationIntentType = "FOR PRESENTATION"
    row, col = ("A", "R") if image.laterality == "L" else ("P", "L")
    ds.PatientOrientation = [row, ("F" + col) if image.view == "MLO" else col]
    ds.ImageType = ["ORIGINAL", "PRIMARY", ""]
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    # Image pixel / DX image
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if v.mono1 else "MONOCHROME2"
    ds.Rows, ds.Columns = int(stored.shape[0]), int(stored.shape[1])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, BITS, BITS - 1, 0
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = -1 if v.mono1 else 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.PresentationLUTShape = "INVERSE" if v.mono1 else "IDENTITY"
    if window is not None:
        ds.WindowCenter = window.centers if len(window.centers) > 1 else window.centers[0]
        ds.WindowWidth = window.widths if len(window.widths) > 1 else window.widths[0]
        ds.WindowCenterWidthExplanation = (
            window.explanations if len(window.explanations) > 1 else window.explanations[0]
        )
        ds.VOILUTFunction = window.function
    # DX anatomy / detector / positioning / mammography image
    ds.ImageLaterality = image.laterality
    ds.BodyPartExamined = "BREAST"
    ds.AnatomicRegionSequence = Sequence([_code("76752008", "SCT", "Breast")])
    ds.DetectorType = "DIRECT"
    ds.DetectorElementSpacing = [v.pitch_mm, v.pitch_mm]
    ds.ImagerPixelSpacing = [round(spacing, 6), round(spacing, 6)]
    if v.pixel_spacing_too:
        ds.PixelSpacing = [round(spacing, 6), round(spacing, 6)]
    ds.EstimatedRadiographicMagnificationFactor = 1.0
    ds.ViewPosition = image.view
    ds.PositionerType = "MAMMOGRAPHIC"
    code, meaning = _VIEW_CODES[image.view]
    item = _code(code, "SCT", meaning)
    item.ViewModifierCodeSequence = Sequence()
    ds.ViewCodeSequence = Sequence([item])
    ds.PositionerPrimaryAngle = 0 if image.view == "CC" else (45 if image.laterality == "R" else -45)
    ds.OrganExposed = "BREAST"
    ds.BreastImplantPresent = "NO"
    ds.PartialView = "NO"
    ds.BodyPartThickness = int(rng.integers(30, 70))
    ds.CompressionForce = int(rng.integers(60, 160))
    ds.KVP = int(rng.integers(26, 34))
    ds.AnodeTargetMaterial = "TUNGSTEN"
    ds.FilterMaterial = "RHODIUM" if rng.random() < 0.5 else "SILVER"
    ds.AcquisitionContextSequence = Sequence()
    # A private block with PHI-like strings (vendors do this; de-identification must drop it).
    block = ds.private_block(0x0009, PRIVATE_CREATOR, create=True)
    block.add_new(0x01, "LO", ident.display_name)
    block.add_new(0x02, "SH", ident.phone[:16])
    block.add_new(0x03, "LO", ident.address[:64])
    block.add_new(0x04, "LO", f"MRN {ident.patient_id}")
    block.add_new(0x05, "LO", f"{inst.name[:40]} {exam.study_id}")
    ds.PixelData = stored.astype("<u2").tobytes()
    return ds
