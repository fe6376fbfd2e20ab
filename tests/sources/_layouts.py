"""Tiny fixture trees in the exact layouts of CBIS-DDSM, INbreast and VinDr-Mammo (spec/dicom.md §3).

Each builder writes the real table files (real column names in the real order, real file-name
patterns) and small DICOM files produced by the synthetic generator's writer
(:func:`mvkl.synth.dicom_writer.build_dataset`), altered the way each data set's files are
(CBIS: per-view PatientID, no ViewPosition/ImageLaterality, Secondary Capture; VinDr: md5-hex
UIDs, no SOPClassUID, MediaStorageSOPClassUID ``1.2.3.4``). Each returns the *expectations*
written by hand from the fixture definition and the rules of :mod:`mvkl.sources.mapping`:
per image its label, official split, view, side and manifestation (``options`` set, ``unknown``
groups, ``signs`` 0/1), so tests compare the adapters and the stores row by row against them.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.manifest import schema as S
from tests.sources._xls import write_xls

SC_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture (CBIS-DDSM)


# -- DICOM via the synthetic writer --------------------------------------------------------------
def _attenuation(shape: tuple[int, int], laterality: str, seed: int, blob: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows, cols = shape
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float32)
    if blob:  # an ROI-mask/crop-like picture: a small bright blob on black
        return (((yy - rows / 2) ** 2 + (xx - cols / 2) ** 2) < (rows / 8) ** 2).astype(np.float32)
    x0 = 0 if laterality == "L" else cols - 1
    inside = ((yy - rows / 2) / (rows * 0.45)) ** 2 + ((xx - x0) / (cols * 0.8)) ** 2 < 1
    tex = rng.random(shape).astype(np.float32)
    return np.where(inside, 0.35 + 0.3 * tex, 0.0).astype(np.float32)


def write_dicom(path: Path, *, laterality: str, view: str, seed: int, style: str = "standard",
                shape: tuple[int, int] = (160, 128), patient_id: str | None = None,
                series_description: str | None = None, study_uid: str | None = None,
                series_uid: str | None = None, sop_uid: str | None = None, blob: bool = False) -> Path:
    """One small MG file by :func:`mvkl.synth.dicom_writer.build_dataset`, then dressed as
    ``style`` (``standard`` | ``cbis`` | ``vindr``)."""
    from pydicom import config

    from mvkl.synth.cases import VENDORS, Exam, ViewImage, make_uid
    from mvkl.synth.dicom_writer import build_dataset, to_stored
    from mvkl.synth.identity import draw_identity, draw_institution

    rng = np.random.default_rng(seed)
    vendor = VENDORS[seed % len(VENDORS)]
    study_uid = study_uid or make_uid("study", seed)
    exam = Exam(index=seed, patient=seed, batch="20160720", study_id=f"A{seed:06d}", study_number="1",
                date=dt.date(2016, 7, 20), time="101500", age=55, composition=1, vendor=vendor, station=0,
                study_uid=study_uid, seed=seed)
    image = ViewImage(view=view, laterality=laterality, file=path.name, instance=1, repeat=0,
                      sop_uid=sop_uid or make_uid("sop", seed, path.name),
                      series_uid=series_uid or make_uid("se", seed))
    ident = draw_identity(rng, "en", 2016, seed)
    inst = draw_institution(rng, "en")
    stored, window = to_stored(_attenuation(shape, laterality, seed, blob), vendor, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # VinDr's md5-hex "UIDs" are invalid UI on purpose
        ds = build_dataset(exam, image, ident, inst, stored, window, 0.1, "en", seed)
        _dress(ds, style, view, patient_id, series_description, study_uid, series_uid, sop_uid)
        path.parent.mkdir(parents=True, exist_ok=True)
        old = config.settings.writing_validation_mode
        config.settings.writing_validation_mode = config.IGNORE
        try:
            ds.save_as(path, enforce_file_format=style != "vindr")
        finally:
            config.settings.writing_validation_mode = old
    return path


def _dress(ds: Any, style: str, view: str, patient_id: str | None, series_description: str | None,
           study_uid: str, series_uid: str | None, sop_uid: str | None) -> None:
    """Make a synthetic MG dataset look like a CBIS-DDSM or VinDr file (module docstring)."""
    if series_description is not None:
        ds.SeriesDescription = series_description
    if style == "cbis":
        ds.PatientID = patient_id or ds.PatientID  # per view, e.g. Mass-Training_P_00001_LEFT_CC
        for kw in ("ViewPosition", "ImageLaterality", "ViewCodeSequence"):
            if kw in ds:
                delattr(ds, kw)
        ds.PatientOrientation = view  # CBIS reportedly carries CC/MLO here
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = SC_SOP_CLASS
    elif style == "vindr":
        del ds.SOPClassUID
        ds.file_meta.MediaStorageSOPClassUID = "1.2.3.4"
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid or ds.SeriesInstanceUID
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop_uid or ds.SOPInstanceUID
        ds.preamble = b"\0" * 128
    elif patient_id is not None:
        ds.PatientID = patient_id


def hexid(*parts: object) -> str:
    """A 32-hex id like VinDr's md5 UIDs."""
    return hashlib.md5("|".join(map(str, parts)).encode()).hexdigest()


# -- expectations ----------------------------------------------------------------------------------
@dataclass
class Expect:
    """Expected record of one image (see the module docstring)."""

    label: int
    split: str  # official split: "train" (train or val after the draw) or "test"
    view: str
    side: str
    birads: str
    density: int
    options: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()  # exclusive groups described but unknown (no slot / tie)
    signs: dict[str, int] = field(default_factory=dict)
    stored: bool = True  # False: quarantined (missing file) or left out
    path: str = ""  # the file the adapter must point at (relative to the source)
    report: bool = False
    boxes: tuple[tuple[str, tuple[float, float, float, float]], ...] = ()  # (kind, source box), sorted

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Expected ``(vector, known)``: option groups known one-hot, signs known 0/1, rest unknown."""
        vec = np.zeros(S.DIM, np.uint8)
        known = np.zeros(S.DIM, np.uint8)
        opts = S.option_by_key()
        for key in self.options:
            o = opts[key]
            known[S.group_by_key()[o.group].slice] = 1
            vec[o.index] = 1
        for key, v in self.signs.items():
            known[opts[key].index] = 1
            vec[opts[key].index] = v
        return vec, known


AD, FAD = "misc.architectural_distortion", "misc.focal_asymmetric_density"
SKIN, NIPPLE, LN = "misc.skin_thickening_retraction", "misc.nipple_retraction", "misc.abnormal_lymph_node"


# -- CBIS-DDSM -------------------------------------------------------------------------------------
MASS_HEADER = ["patient_id", "breast_density", "left or right breast", "image view", "abnormality id",
               "abnormality type", "mass shape", "mass margins", "assessment", "pathology", "subtlety",
               "image file path", "cropped image file path", "ROI mask file path"]
CALC_HEADER = ["patient_id", "breast density", "left or right breast", "image view", "abnormality id",
               "abnormality type", "calc type", "calc distribution", "assessment", "pathology", "subtlety",
               "image file path", "cropped image file path", "ROI mask file path"]

# (table, patient, side, view, abnormality id, shape|type, margins|distribution, assessment, pathology, density)
CBIS_ROWS: list[tuple[str, str, str, str, int, str, str, str, str, str]] = [
    ("mass_train", "P_00001", "LEFT", "CC", 1, "IRREGULAR-ARCHITECTURAL_DISTORTION", "SPICULATED", "4", "MALIGNANT",
     "3"),
    ("mass_train", "P_00001", "LEFT", "MLO", 1, "IRREGULAR-ARCHITECTURAL_DISTORTION", "SPICULATED", "4",
     "MALIGNANT", "3"),
    ("mass_train", "P_00004", "RIGHT", "CC", 1, "ROUND-OVAL", "CIRCUMSCRIBED-ILL_DEFINED", "3", "BENIGN", "2"),
    ("mass_train", "P_00004", "RIGHT", "CC", 2, "LOBULATED-LYMPH_NODE", "OBSCURED", "2", "BENIGN_WITHOUT_CALLBACK",
     "2"),
    ("mass_train", "P_00009", "LEFT", "MLO", 1, "ASYMMETRIC_BREAST_TISSUE", "ILL_DEFINED", "5", "MALIGNANT", "4"),
    ("mass_train", "P_00010", "RIGHT", "MLO", 1, "FOCAL_ASYMMETRIC_DENSITY", "MICROLOBULATED-SPICULATED", "4",
     "BENIGN", "1"),
    ("mass_train", "P_00011", "LEFT", "CC", 1, "OVAL", "CIRCUMSCRIBED", "2", "BENIGN", "2"),
    ("calc_train", "P_00001", "LEFT", "CC", 2, "PLEOMORPHIC-FINE_LINEAR_BRANCHING", "SEGMENTAL", "5", "MALIGNANT",
     "3"),
    ("calc_train", "P_00005", "RIGHT", "MLO", 1, "LUCENT_CENTERED", "CLUSTERED-REGIONAL", "2",
     "BENIGN_WITHOUT_CALLBACK", "0"),
    ("calc_train", "P_00005", "RIGHT", "CC", 1, "LUCENT_CENTER-COARSE", "DIFFUSELY_SCATTERED", "2", "BENIGN", "2"),
    ("calc_train", "P_00006", "LEFT", "CC", 1, "AMORPHOUS", "REGIONAL", "4", "MALIGNANT", "3"),
    ("calc_train", "P_00007", "LEFT", "MLO", 1, "COARSE-ROUND_AND_REGULAR", "N/A", "2", "BENIGN", "1"),
    ("mass_test", "P_00002", "RIGHT", "CC", 1, "LOBULATED", "MICROLOBULATED", "4", "MALIGNANT", "2"),
    ("mass_test", "P_00002", "RIGHT", "MLO", 1, "LOBULATED", "MICROLOBULATED", "4", "MALIGNANT", "2"),
    ("calc_test", "P_00003", "LEFT", "CC", 1, "MILK_OF_CALCIUM", "DIFFUSELY_SCATTERED", "2", "BENIGN", "2"),
    ("calc_test", "P_00011", "RIGHT", "MLO", 1, "VASCULAR", "LINEAR", "3", "BENIGN", "2"),
    ("calc_test", "P_00003", "LEFT", "MLO", 1, "EGGSHELL-LARGE_RODLIKE", "LINEAR-SEGMENTAL", "2", "BENIGN", "2"),
]
CBIS_MISSING = {("P_00002", "R", "MLO")}  # no DICOM written: quarantined missing-file
CBIS_SHAPE = (160, 128)  # full mammograms and their ROI masks (rows, columns); crops are 48 x 48


def cbis_mask_box(abn: int) -> tuple[int, int, int, int]:
    """The ROI mask rectangle ``(xmin, ymin, xmax, ymax)`` (pixel edges) of abnormality ``abn``."""
    return 10 + 7 * (abn - 1), 50 + 5 * (abn - 1), 40 + 7 * (abn - 1), 75 + 5 * (abn - 1)


def write_mask(path: Path, shape: tuple[int, int], box: tuple[int, int, int, int], *, patient_id: str,
               study_uid: str, series_uid: str) -> Path:
    """A CBIS-DDSM ROI mask: 8-bit MONOCHROME2 Secondary Capture of the full image's size, 255
    inside ``box``, 0 elsewhere, ``SeriesDescription`` ``ROI mask images``."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    arr = np.zeros(shape, np.uint8)
    x0, y0, x1, y1 = box
    arr[y0:y1, x0:x1] = 255
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SC_SOP_CLASS
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(path.name), patient_id])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SC_SOP_CLASS, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientID, ds.SeriesDescription = "MG", patient_id, "ROI mask images"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.Rows, ds.Columns = shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = arr.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def cbis_expectations() -> dict[tuple[str, str, str], Expect]:
    """Per image (patient, side, view), derived by hand from :data:`CBIS_ROWS`."""
    no_signs = {AD: 0, FAD: 0, LN: 0}
    e = {
        ("P_00001", "L", "CC"): Expect(1, "train", "CC", "L", "5", 3, (
            "mass_shape.irregular", "mass_edge.spiculated", "calc_shape.branching",
            "calc_distribution.linear_segmental"), signs={**no_signs, AD: 1}),
        ("P_00001", "L", "MLO"): Expect(1, "train", "MLO", "L", "4", 3, (
            "mass_shape.irregular", "mass_edge.spiculated"), signs={**no_signs, AD: 1}),
        # ROUND, OVAL, LOBULATED pooled -> lobulated; ILL_DEFINED is the most suspicious margin -> unknown.
        ("P_00004", "R", "CC"): Expect(0, "train", "CC", "R", "3", 2, ("mass_shape.lobulated",), ("mass_edge",),
                                       signs={**no_signs, LN: 1}),
        ("P_00009", "L", "MLO"): Expect(1, "train", "MLO", "L", "5", 4, (), ("mass_edge",), signs=dict(no_signs)),
        ("P_00010", "R", "MLO"): Expect(0, "train", "MLO", "R", "4", 1, ("mass_edge.spiculated",),
                                        signs={**no_signs, FAD: 1}),
        ("P_00011", "L", "CC"): Expect(0, "train", "CC", "L", "2", 2, ("mass_shape.ovoid",
                                                                       "mass_edge.well_circumscribed"),
                                       signs=dict(no_signs), stored=False),  # patient also in the official test
        ("P_00005", "R", "MLO"): Expect(0, "train", "MLO", "R", "2", -1, ("calc_shape.crescentic",
                                                                          "calc_distribution.clustered")),
        ("P_00005", "R", "CC"): Expect(0, "train", "CC", "R", "2", 2, ("calc_shape.granular",
                                                                       "calc_distribution.scattered")),
        ("P_00006", "L", "CC"): Expect(1, "train", "CC", "L", "4", 3, (), ("calc_shape", "calc_distribution")),
        ("P_00007", "L", "MLO"): Expect(0, "train", "MLO", "L", "2", 1, (), ("calc_shape",)),
        ("P_00002", "R", "CC"): Expect(1, "test", "CC", "R", "4", 2, ("mass_shape.lobulated",
                                                                      "mass_edge.microlobulated"),
                                       signs=dict(no_signs)),
        ("P_00002", "R", "MLO"): Expect(1, "test", "MLO", "R", "4", 2, ("mass_shape.lobulated",
                                                                        "mass_edge.microlobulated"),
                                        signs=dict(no_signs), stored=False),
        ("P_00003", "L", "CC"): Expect(0, "test", "CC", "L", "2", 2, ("calc_shape.crescentic",
                                                                      "calc_distribution.scattered")),
        ("P_00011", "R", "MLO"): Expect(0, "test", "MLO", "R", "3", 2, ("calc_distribution.linear_segmental",),
                                        ("calc_shape",)),
        ("P_00003", "L", "MLO"): Expect(0, "test", "MLO", "L", "2", 2, ("calc_shape.granular",
                                                                        "calc_distribution.linear_segmental")),
    }
    # One box per row (its ROI mask rectangle); a mass row whose shape is only an asymmetry is one.
    asym = {("P_00009", "L", "MLO"), ("P_00010", "R", "MLO")}
    for table, patient, side, view, abn, *_ in CBIS_ROWS:
        k = (patient, side[0], view)
        kind = "calcification" if table.startswith("calc") else ("asymmetry" if k in asym else "mass")
        if e[k].stored:
            e[k].boxes = tuple(sorted((*e[k].boxes, (kind, tuple(float(v) for v in cbis_mask_box(abn))))))  # type: ignore[arg-type]
    return e


def _cbis_case(table: str, patient: str, side: str, view: str) -> str:
    kind = "Mass" if table.startswith("mass") else "Calc"
    stage = "Training" if table.endswith("train") else "Test"
    return f"{kind}-{stage}_{patient}_{side}_{view}"


def make_cbis(root: Path, layout: str = "tcia", rows: list[tuple[Any, ...]] | None = None) -> dict[str, Any]:
    """A CBIS-DDSM source in the ``tcia`` (UID folders) or ``nbia`` (descriptive folders + a
    partial ``metadata.csv``) layout; crops and ROI masks live next to every full mammogram (same
    study folder, other series) and in the ``<case>_<abnormality id>`` folders. Returns
    ``{"expect": ..., "full": {(patient, side, view): rel path of the full mammogram}}``."""
    from mvkl.synth.cases import make_uid

    rows = CBIS_ROWS if rows is None else rows
    base = root / "CBIS-DDSM"
    tables: dict[str, list[list[str]]] = {t: [] for t in ("mass_train", "calc_train", "mass_test", "calc_test")}
    full: dict[tuple[str, str, str], str] = {}
    meta: list[dict[str, str]] = []
    seed = 0
    for table, patient, side, view, abn, f1, f2, assess, patho, dens in rows:
        case = _cbis_case(table, patient, side, view)
        study, series = make_uid("cbis-study", case), make_uid("cbis-series", case)
        c_study = make_uid("cbis-crop-study", case, abn)
        c_series, m_series = make_uid("cbis-crop", case, abn), make_uid("cbis-mask", case, abn)
        key = (patient, side[0], view)
        img_path = f"{case}/{study}/{series}/000000.dcm"
        # Crop and mask are 000000/000001 of one series (TCIA); which is which varies, and the
        # columns do not say it reliably: the mass CSVs end the ROI path with "\n", the calc CSVs
        # the crop path, and a calc row's ROI column names 000000, which here is the crop
        # (harshithach999/CS-5610-100 calc_case_description_train_set.csv; docs/public-datasets.md).
        crop_path = f"{case}_{abn}/{c_study}/{c_series}/000000.dcm"
        mask_path = f"{case}_{abn}/{c_study}/{c_series}/000001.dcm\n"
        if table.startswith("calc"):
            crop_path, mask_path = f"{case}_{abn}/{c_study}/{c_series}/000001.dcm\n", crop_path
        tables[table].append([patient, dens, side, view, str(abn), "mass" if table.startswith("mass") else
                              "calcification", f1, f2, assess, patho, "3", img_path, crop_path, mask_path])
        seed += 1
        case_dir = base / case
        if (patient, side[0], view) in CBIS_MISSING:
            continue
        lat = side[0]
        first = not (case_dir.exists() and any(case_dir.rglob("*.dcm")))
        if layout == "tcia":
            full_p = case_dir / study / series / "000000.dcm"
            mask_p = case_dir / study / make_uid("cbis-mask-next", case) / "000000.dcm"
            crop_dir = base / f"{case}_{abn}" / c_study
            crop_p, roi_p = crop_dir / c_series / "000000.dcm", crop_dir / c_series / "000001.dcm"
        else:
            sdir = case_dir / f"07-20-2016-DDSM-NA-{seed:05d}"
            desc = "NA" if patient == "P_00006" else None  # non-descriptive folders: the header decides
            full_p = sdir / f"1.000000-{desc or 'full mammogram images'}-{24515 + seed}" / "1-1.dcm"
            mask_p = sdir / f"1.000000-{desc or 'ROI mask images'}-{10001 + seed}" / "1-1.dcm"
            crop_dir = base / f"{case}_{abn}" / f"07-21-2016-DDSM-NA-{seed:05d}"
            crop_p = crop_dir / f"1.000000-cropped images-{30001 + seed}" / "1-1.dcm"
            roi_p = crop_dir / f"1.000000-ROI mask images-{40001 + seed}" / "1-1.dcm"
            if patient in ("P_00001", "P_00002", "P_00003"):  # listed in metadata.csv; others by folder/header
                meta.append({"Series UID": series, "Subject ID": case, "Study UID": study,
                             "Series Description": "full mammogram images", "Modality": "MG",
                             "Number of Images": "1",
                             "File Location": ".\\" + str(full_p.parent.relative_to(root)).replace("/", "\\")})
        if first:
            write_dicom(full_p, laterality=lat, view=view, seed=seed, style="cbis", patient_id=case,
                        series_description="full mammogram images", study_uid=study, series_uid=series)
            write_dicom(mask_p, laterality=lat, view=view, seed=seed + 500, style="cbis", patient_id=case,
                        series_description="ROI mask images", study_uid=study, series_uid=make_uid("m2", case),
                        blob=True, shape=(64, 48))
        write_dicom(crop_p, laterality=lat, view=view, seed=seed + 700, style="cbis", patient_id=f"{case}_{abn}",
                    series_description="cropped images", study_uid=c_study, series_uid=c_series, blob=True,
                    shape=(48, 48))
        write_mask(roi_p, CBIS_SHAPE, cbis_mask_box(abn), patient_id=f"{case}_{abn}", study_uid=c_study,
                   series_uid=c_series if layout == "tcia" else m_series)
        full.setdefault(key, full_p.relative_to(root).as_posix())  # the mass copy comes first
    names = {"mass_train": ("mass_case_description_train_set.csv", MASS_HEADER),
             "calc_train": ("calc_case_description_train_set.csv", CALC_HEADER),
             "mass_test": ("mass_case_description_test_set.csv", MASS_HEADER),
             "calc_test": ("calc_case_description_test_set.csv", CALC_HEADER)}
    for t, (name, header) in names.items():
        with open(root / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(tables[t])
    if meta:
        with open(root / "metadata.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(meta[0]))
            w.writeheader()
            w.writerows(meta)
    expect = cbis_expectations()
    for k, e in expect.items():
        e.path = full.get(k, "")
    # The calc copy of P_00001 LEFT CC is a second file of the same film: the mass copy (first table) is used.
    return {"expect": expect, "full": full}


# -- INbreast --------------------------------------------------------------------------------------
INBREAST_HEADER = ["Patient ID", "Patient age", "Laterality", "View", "Acquisition date", "File Name", "ACR",
                   "Bi-Rads", "Mass ", "Micros", "Distortion", "Asymmetry", "Findings Notes (in Portuguese)",
                   "Other Notes", "Lesion Annotation Status", "Pectoral Muscle Annotation", "Other Annotations"]
H = ["6c613a14b80a8591", "5fb370d4c1c71974", "a1b2c3d4e5f60718", "0f1e2d3c4b5a6978", "9abcdef012345678"]
# (File Name, hash, side, view, ACR, Bi-Rads, Mass, Micros, Distortion, Asymmetry, xml)
INBREAST_ROWS: list[tuple[str, str, str, str, str, str, str, str, str, str, str]] = [
    ("20586908", H[0], "R", "CC", "2", "4a", "X", "", "", "", "spiculated"),
    ("20586960", H[0], "R", "MLO", "2", "4a", "X", "", "", "", ""),
    ("20586934", H[0], "L", "CC", "2", "1", "", "", "", "", ""),
    ("20586986", H[0], "L", "MLO", "2", "1", "", "", "", "", ""),
    ("53587663", H[1], "R", "CC", "3", "2", "", "X", "", "", "cluster"),
    ("53587690", H[1], "R", "MLO", "3", "3", "", "X", "", "X", "broken"),
    ("22678622", H[2], "L", "CC", "4", "5", "X", "X", "X", "", ""),
    ("22678646", H[2], "L", "MLO", "4", "4c", "X", "", "X", "", ""),
    ("22678694", H[2], "L", "FB", "4", "4c", "", "", "", "", ""),
    ("24055274", H[3], "R", "CC", "1", "6", "", "", "", "", "spiculated-nomass"),
    ("24055355", H[3], "R", "MLO", "1", "4b", "", "", "", "X", ""),
    ("30011674", H[4], "L", "CC", "     ", "3", "", "", "", "", ""),  # a space-padded ACR, as released
    ("30011698", H[4], "L", "MLO", "1", "2", "", "", "", "", ""),
]
INBREAST_MISSING = {"30011698"}  # no DICOM file: quarantined missing-file


def inbreast_expectations() -> dict[str, Expect]:
    """Per File Name, by hand from :data:`INBREAST_ROWS` (label 1-3 -> 0, 4a..6 -> 1)."""
    out: dict[str, Expect] = {}
    lab = {"1": ("1", 0), "2": ("2", 0), "3": ("3", 0), "4a": ("4A", 1), "4b": ("4B", 1), "4c": ("4C", 1),
           "5": ("5", 1), "6": ("6", 1)}
    for fname, h, side, view, acr, br, mass, _micros, dist, asym, xml in INBREAST_ROWS:
        b, y = lab[br]
        opts: tuple[str, ...] = ()
        if xml == "spiculated" and mass == "X":
            opts = ("mass_edge.spiculated",)
        elif xml == "cluster":
            opts = ("calc_distribution.clustered",)
        boxes = tuple(sorted((kind, box) for _name, kind, box in INBREAST_XML_ROIS.get(xml, ())))
        e = Expect(y, "", view, side, b, int(acr) if acr.strip() else -1, opts,
                   signs={AD: int(dist == "X"), FAD: int(asym == "X")},
                   stored=view != "FB" and fname not in INBREAST_MISSING, report=h == H[2], boxes=boxes)
        e.path = "" if view == "FB" else f"AllDICOMs/{fname}_{h}_MG_{side}_{'ML' if view == 'MLO' else view}_ANON.dcm"
        out[fname] = e
    return out


# XML kind -> ROIs (Name, expected lesion kind, expected source box from the points of _ROI_POINTS).
_ROI_POINTS: dict[str, list[tuple[float, float]]] = {
    "Mass": [(40.25, 30.5), (60.75, 32.0), (58.0, 55.9), (41.0, 52.0)],  # outline -> [40, 61) x [30, 56)
    "Spiculated Region": [(38.0, 28.0), (63.0, 29.0), (62.5, 58.2)],
    "Calcification": [(70.6, 20.2)],  # one point: a single pixel
    "Cluster": [(66.0, 15.0), (80.0, 15.0), (80.0, 27.0), (66.0, 27.0)],
}
_ROI_BOX = {"Mass": ("mass", (40.0, 30.0, 61.0, 56.0)), "Spiculated Region": ("mass", (38.0, 28.0, 64.0, 59.0)),
            "Calcification": ("calcification", (70.0, 20.0, 71.0, 21.0)),
            "Cluster": ("calcification", (66.0, 15.0, 81.0, 28.0))}
_XML_NAMES = {"spiculated": ["Mass", "Spiculated Region"], "cluster": ["Cluster", "Calcification"],
              "spiculated-nomass": ["Spiculated Region", "Calcification"]}
INBREAST_XML_ROIS = {k: [(n, *_ROI_BOX[n]) for n in names] for k, names in _XML_NAMES.items()}


def _plist(names: list[str], points: dict[str, list[tuple[float, float]]] | None = None) -> str:
    """An OsiriX ROI plist as in ``AllXML`` (``Images[0].ROIs[*]`` with ``Name``, ``NumberOfPoints``,
    ``Point_mm`` and ``Point_px`` strings ``"(x, y)"``; spec/dicom.md §3.2)."""
    pts = points or _ROI_POINTS

    def roi(i: int, n: str) -> str:
        p = pts.get(n.strip(), [(10.0, 12.0)])
        px = "".join(f"<string>({x:.6f}, {y:.6f})</string>" for x, y in p)
        mm = "".join(f"<string>({0.07 * x:.6f}, {0.07 * y:.6f}, 0.000000)</string>" for x, y in p)
        return (f"<dict><key>Area</key><real>{len(p) * 0.0049:.6f}</real><key>Center</key>"
                "<string>(0.000000, 0.000000, 0.000000)</string><key>Dev</key><real>0</real>"
                f"<key>IndexInImage</key><integer>{i}</integer><key>Max</key><real>0</real><key>Mean</key>"
                f"<real>0</real><key>Min</key><real>0</real><key>Name</key><string>{n}</string>"
                f"<key>NumberOfPoints</key><integer>{len(p)}</integer><key>Point_mm</key><array>{mm}</array>"
                f"<key>Point_px</key><array>{px}</array><key>Total</key><real>0</real><key>Type</key>"
                f"<integer>{15 if len(p) > 1 else 19}</integer></dict>")

    rois = "".join(roi(i, n) for i, n in enumerate(names))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
            '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0"><dict><key>Images</key><array>'
            "<dict><key>ImageHeight</key><integer>160</integer><key>ImageIndex</key><integer>0</integer>"
            "<key>ImageWidth</key><integer>128</integer>"
            f"<key>NumberOfROIs</key><integer>{len(names)}</integer>"
            f"<key>ROIs</key><array>{rois}</array></dict></array></dict></plist>\n")


def inbreast_table_rows(rows: list[tuple[str, ...]] | None = None, footer: bool = True) -> list[list[str]]:
    out = []
    for fname, _h, side, view, acr, br, mass, micros, dist, asym, _xml in (rows or INBREAST_ROWS):
        status = "NO ANNOTATION (NORMAL)" if br == "1" else "ANNOTATED"
        out.append(["removed", "removed", side, view, "201001", fname, acr, br, mass, micros, dist, asym,
                    "nódulo espiculado" if mass else "", "", status, "", ""])
    if footer:
        n = len(out)
        out.append([""] * len(INBREAST_HEADER))
        total = [""] * len(INBREAST_HEADER)
        total[0] = "Total"
        total[8] = str(sum(r[8] == "X" for r in out[:n]))
        total[9] = str(sum(r[9] == "X" for r in out[:n]))
        out.append(total)
    return out


def make_inbreast(root: Path, table: str = "csv", footer: bool = True) -> dict[str, Any]:
    """An INbreast source: ``INbreast.csv`` (``;``) or ``INbreast.xlsx``, ``AllDICOMs``, ``AllXML``
    (one broken plist), ``MedicalReports/<hash>.txt`` for one patient."""
    import polars as pl

    for i, (fname, h, side, view, *_rest) in enumerate(INBREAST_ROWS):
        xml = _rest[-1]
        if fname not in INBREAST_MISSING:
            code = "ML" if view == "MLO" else view
            write_dicom(root / "AllDICOMs" / f"{fname}_{h}_MG_{side}_{code}_ANON.dcm", laterality=side,
                        view="MLO" if view in ("MLO", "FB") else view, seed=100 + i, patient_id=h)
        if xml:
            (root / "AllXML").mkdir(parents=True, exist_ok=True)
            text = _plist(_XML_NAMES[xml]) if xml in _XML_NAMES else "<plist><dict><key>Images"
            (root / "AllXML" / f"{fname}.xml").write_text(text, encoding="utf-8")
    (root / "AllDICOMs" / "README.txt").write_text("not an image\n")
    (root / "MedicalReports").mkdir(parents=True, exist_ok=True)
    (root / "MedicalReports" / f"{H[2]}.txt").write_bytes(
        f"Mamografia bilateral.\nNódulo espiculado na mama esquerda, ref {H[2]}.\nBI-RADS 5\n".encode("cp1252"))
    body = inbreast_table_rows(footer=footer)
    if table == "csv":
        with open(root / "INbreast.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, delimiter=";")
            w.writerow(INBREAST_HEADER)
            w.writerows(body)
    elif table == "xls":
        write_xls(root / "INbreast.xls", [INBREAST_HEADER, *(xls_cells(r) for r in body)])
    else:
        pl.DataFrame(body, schema=INBREAST_HEADER, orient="row").write_excel(root / "INbreast.xlsx")
    return {"expect": inbreast_expectations()}


def xls_cells(row: list[str]) -> list[str | float]:
    """A table row as the released ``.xls`` types it: number cells for the numbers (File Name,
    Acquisition date, ACR, Bi-Rads 1/2/3/5/6 and the totals), text for the rest (``4a``,
    ``removed``, ``X``, the space-padded ACR)."""
    return [float(v) if re.fullmatch(r"\d+", v) else v for v in row]


# -- VinDr-Mammo -----------------------------------------------------------------------------------
VINDR_BREAST_HEADER = ["study_id", "series_id", "image_id", "laterality", "view_position", "height", "width",
                       "breast_birads", "breast_density", "split"]
VINDR_FINDING_HEADER = [*VINDR_BREAST_HEADER[:9], "finding_categories", "finding_birads", "xmin", "ymin", "xmax",
                        "ymax", "split"]
# study -> (split, {side: (BI-RADS, density, [findings: (categories list string, finding BI-RADS, box,
# expected stored lesion (kind, box clipped to the 128 x 160 image) or None: dropped)])}). Boxes are
# floats in the original pixel frame as released (finding_annotations.csv has xmin -6.2529702186584
# and an empty finding_birads for Skin Thickening: emrekaragh/vindr-mammo-study, docs/public-datasets.md).
_Finding = tuple[str, str, str, "tuple[str, tuple[float, float, float, float]] | None"]
VINDR_STUDIES: dict[str, tuple[str, dict[str, tuple[int, str, list[_Finding]]]]] = {
    "s1": ("training", {"L": (1, "B", []), "R": (1, "B", [])}),
    "s2": ("training", {"R": (4, "C", [
        ("['Mass', 'Architectural Distortion']", "BI-RADS 4", "70.139892578,80.640014648,100.97998046,111.75",
         ("mass", (70.139892578, 80.640014648, 100.97998046, 111.75))),
        ("['Mass']", "BI-RADS 4", "-6.2529702186584,30,60.511001586,90", ("mass", (0.0, 30.0, 60.511001586, 90.0)))]),
                        "L": (2, "C", [])}),
    "s3": ("test", {"L": (5, "D", [
        ("['Suspicious Calcification', 'Skin Retraction']", "BI-RADS 5", "1,2,3,4", ("calcification", (1, 2, 3, 4))),
        ("['Suspicious Lymph Node']", "BI-RADS 4", "5,6,7,8", ("other", (5, 6, 7, 8)))]),
                    "R": (3, "D", [("['Focal Asymmetry']", "BI-RADS 3", "10,10,40,40",
                                    ("asymmetry", (10, 10, 40, 40)))])}),
    "s4": ("training", {"L": (3, "A", [
        ("['Global Asymmetry']", "BI-RADS 3", "0,0,10,10", ("asymmetry", (0, 0, 10, 10))),
        ("['Skin Thickening']", "", "100,120,140.5,170", ("other", (100, 120, 128, 160)))]),  # clipped to the image
                        "R": (4, "A", [
                            ("['Nipple Retraction', 'Asymmetry']", "BI-RADS 4", "3,3,9,9", ("asymmetry", (3, 3, 9, 9))),
                            ("['Mass']", "BI-RADS 4", "130,10,150,20", None)])}),  # wholly right of the image
    "s5": ("training", {"L": (2, "B", []), "R": (1, "B", [])}),
}
VINDR_CLIPPED = 2 + 2 * 2  # coordinates clipped to the image, over both views
VINDR_MISSING = {("s5", "R", "MLO")}


def vindr_expectations(birads3: str = "benign") -> dict[str, Expect]:
    """Per image_id, by hand from :data:`VINDR_STUDIES`."""
    sign_of = {"Architectural Distortion": AD, "Focal Asymmetry": FAD, "Asymmetry": FAD, "Skin Retraction": SKIN,
               "Skin Thickening": SKIN, "Nipple Retraction": NIPPLE, "Suspicious Lymph Node": LN}
    out: dict[str, Expect] = {}
    for study, (split, sides) in VINDR_STUDIES.items():
        for side, (b, dens, findings) in sides.items():
            signs = {AD: 0, FAD: 0, SKIN: 0, NIPPLE: 0, LN: 0}
            boxes = tuple(sorted((k, tuple(float(v) for v in b)) for *_x, got in findings if got for k, b in [got]))
            for cats, _fb, _box, _got in findings:
                for c in re.findall(r"'([^']+)'", cats):
                    if c in sign_of:
                        signs[sign_of[c]] = 1
            label = 0 if b <= 2 or (b == 3 and birads3 == "benign") else (1 if b >= 4 else -1)
            for view in ("CC", "MLO"):
                img = hexid(study, side, view)
                out[img] = Expect(label, "train" if split == "training" else "test", view, side, str(b),
                                  "ABCD".index(dens) + 1, signs=dict(signs),
                                  stored=(study, side, view) not in VINDR_MISSING,
                                  path=f"images/{hexid(study)}/{img}.dicom", boxes=boxes)  # type: ignore[arg-type]
    return out


def make_vindr(root: Path) -> dict[str, Any]:
    """A VinDr-Mammo source: both CSVs (list strings, 'No Finding' rows, a negative box) and
    ``images/<study>/<image>.dicom`` with md5-hex UIDs and no SOP class."""
    breast, finding = [], []
    seed = 200
    for study, (split, sides) in VINDR_STUDIES.items():
        sid = hexid(study)
        for side in ("L", "R"):
            b, dens, findings = sides[side]
            for view in ("CC", "MLO"):
                img, ser = hexid(study, side, view), hexid("series", study, side, view)
                seed += 1
                base = [sid, ser, img, side, view, "160", "128", f"BI-RADS {b}", f"DENSITY {dens}"]
                breast.append([*base, split])
                if not findings:
                    finding.append([*base, "['No Finding']", "", "", "", "", "", split])
                for cats, fb, box, _got in findings:
                    finding.append([*base, cats, fb, *box.split(","), split])
                if (study, side, view) not in VINDR_MISSING:
                    write_dicom(root / "images" / sid / f"{img}.dicom", laterality=side, view=view, seed=seed,
                                style="vindr", study_uid=sid, series_uid=ser, sop_uid=img, patient_id="")
    for name, header, rows in (("breast-level_annotations.csv", VINDR_BREAST_HEADER, breast),
                               ("finding_annotations.csv", VINDR_FINDING_HEADER, finding)):
        with open(root / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)
    (root / "metadata.csv").write_text("SOP Instance UID,Manufacturer's Model Name\n")
    return {"expect": vindr_expectations()}


def write_rows(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> None:
    """Rewrite a table (for malformed-input tests)."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)


def read_rows(path: Path, delimiter: str = ",") -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    return rows[0], rows[1:]
