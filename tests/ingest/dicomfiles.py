"""Small synthetic mammography DICOM files for ingest tests (spec/dicom.md §5 recipe)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
VIEW_CODES = {"CC": ("399162004", "cranio-caudal", 0), "MLO": ("399368009", "medio-lateral oblique", 45)}


def phantom(rows: int = 96, cols: int = 80, laterality: str = "L", seed: int = 0, bits: int = 12) -> np.ndarray:
    """A half-ellipse 'breast' against the chest-wall edge of its laterality, with texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float64)
    cy = rows / 2
    x0 = 0 if laterality == "L" else cols - 1
    inside = ((yy - cy) / (rows * 0.45)) ** 2 + ((xx - x0) / (cols * 0.8)) ** 2 < 1
    img = np.zeros((rows, cols))
    img[inside] = 0.5 + 0.3 * rng.random(int(inside.sum()))
    return (img * ((1 << bits) - 1)).astype(np.uint16)


def _code(v: str, s: str, m: str) -> Any:
    from pydicom.dataset import Dataset

    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = v, s, m
    return c


def write_mg(path: Path, pixels: np.ndarray | None = None, laterality: str = "L", view: str = "CC",
             bits: int = 12, mutate: Any = None, **attrs: Any) -> Path:
    """Write a valid MG For Presentation file; ``attrs`` set/override any keyword; ``mutate(ds)``
    may add anything else (sequences, private blocks) before the file is saved."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    if pixels is None:
        pixels = phantom(laterality=laterality, bits=bits)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MG_FOR_PRESENTATION
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "SYNTHETIC^PATIENT"
    ds.PatientID = "SYN0001"
    ds.PatientBirthDate = ""
    ds.PatientSex = "F"
    ds.PatientAge = "052Y"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyDate = ds.ContentDate = ds.AcquisitionDate = "20200102"
    ds.StudyTime = ds.ContentTime = ds.AcquisitionTime = "103000"
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.Modality = "MG"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.Manufacturer = "SYNTHETIC"
    row, col = ("A", "R") if laterality == "L" else ("P", "L")
    ds.PatientOrientation = [row, ("F" + col) if view == "MLO" else col]
    ds.ImageType = ["ORIGINAL", "PRIMARY", ""]
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, bits, bits - 1, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.PresentationLUTShape = "IDENTITY"
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = 1 << (bits - 1), 1 << bits, "LINEAR"
    ds.ImageLaterality = laterality
    ds.BodyPartExamined = "BREAST"
    ds.AnatomicRegionSequence = Sequence([_code("76752008", "SCT", "Breast")])
    ds.ImagerPixelSpacing = [0.1, 0.1]
    ds.ViewPosition = view
    v, meaning, angle = VIEW_CODES.get(view, VIEW_CODES["CC"])
    item = _code(v, "SCT", meaning)
    item.ViewModifierCodeSequence = Sequence()
    ds.ViewCodeSequence = Sequence([item])
    ds.PositionerPrimaryAngle = angle
    ds.OrganExposed = "BREAST"
    ds.BreastImplantPresent = "NO"
    for k, val in attrs.items():
        setattr(ds, k, val)
    if mutate is not None:
        mutate(ds)
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


MANIFEST_HEADERS = [f"m{i:02d}" for i in range(35)]  # positional layout (columns 8:-1)


def _manifest(rng: np.random.Generator) -> np.ndarray:
    from mvkl.manifest import schema as S

    m = np.zeros(S.DIM, np.uint8)
    for g in S.exclusive_groups():
        c = rng.integers(-1, len(g.options))
        if c >= 0:
            m[g.options[c].index] = 1
    m[S.MISC_GROUP.slice] = rng.random(9) < 0.2
    return m


HOSTILE = {  # patient index -> {view: expected quarantine reason}
    1: {"MLO": "missing-file"},
    2: {"CC": "not-dicom", "MLO": "truncated"},
    3: {"CC": "burned-in-annotation"},
    4: {"MLO": "for-processing"},
}


def make_mvkl_source(root: Path, n_patients: int = 10, batch: str = "20220901", seed: int = 0,
                     hostile: bool = True, shape: tuple[int, int] = (96, 80), prefix: str = "P",
                     stages: tuple[str, ...] = ("train", "train", "train", "train", "train", "train", "train",
                                                "valid", "test", "test")) -> dict[str, Any]:
    """An MVKL release layout (annotation tables + <batch>/<patient>/<study>/<file>) with real
    DICOM files; with ``hostile`` the patients of :data:`HOSTILE` get bad files. Returns the
    expectations: rows per table and the quarantine reasons expected per (table, row, view)."""
    import polars as pl

    rng = np.random.default_rng(seed)
    rows: dict[str, list[dict[str, str]]] = {"train": [], "valid": [], "test": []}
    expect: dict[tuple[str, int, str | None], str] = {}
    n_stored = 0
    for p in range(n_patients):
        pid, sid = f"{prefix}{batch[-4:]}{p:03d}", f"S{seed}{p:03d}"
        lat = "L" if p % 2 == 0 else "R"
        folder = root / batch / pid / sid
        names = {"CC": f"{lat}CC_{p}.dcm", "MLO": f"{lat}MLO_{p}.dcm"}
        bad = HOSTILE.get(p, {}) if hostile else {}
        for view, name in names.items():
            reason = bad.get(view)
            px = phantom(*shape, laterality=lat, seed=seed * 1000 + p * 2 + (view == "MLO"))
            if reason == "missing-file":
                continue
            if reason == "not-dicom":
                folder.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text("this is not a DICOM file\n" * 20)
                continue
            kw: dict[str, Any] = {"PatientID": pid, "PatientName": f"DOE^{pid}"}
            if reason == "burned-in-annotation":
                kw["BurnedInAnnotation"] = "YES"
            if reason == "for-processing":
                kw["PresentationIntentType"] = "FOR PROCESSING"
            f = write_mg(folder / name, px, laterality=lat, view=view, **kw)
            if reason == "truncated":
                data = f.read_bytes()
                f.write_bytes(data[: len(data) - 2000])
        stage = stages[p % len(stages)]
        table_label = {"train": "train", "valid": "val", "test": "test"}[stage]
        row_no = len(rows[stage]) + 2
        for view, reason in bad.items():
            expect[(table_label, row_no, view)] = reason
        if len(bad) == 2:
            expect[(table_label, row_no, None)] = "no-images"
        else:
            n_stored += 1
        man = _manifest(rng)
        row = {"序号": str(p + 1), "patient_id": pid, "study_id": sid,
               "view_id": f"{names['CC']}/||{names['MLO']}/||", "label": "恶性" if p % 3 else "良性",
               "BI-RADS": "4B" if p % 3 else "3", "诊断结果": f"左乳外上象限肿块，\n大小约1.{p}cm。", "位置": ""}
        row.update({h: str(int(v)) for h, v in zip(MANIFEST_HEADERS, man, strict=True)})
        row["备注"] = ""
        rows[stage].append(row)
    (root / "annotation").mkdir(parents=True, exist_ok=True)
    for stage, rs in rows.items():
        if rs:
            pl.DataFrame(rs).write_excel(root / "annotation" / f"{stage}_{batch}.xlsx")
    return {"rows": {k: len(v) for k, v in rows.items()}, "quarantine": expect, "lumps_stored": n_stored}
