"""Drawing synthetic MVKL-like cases without pixels: patients, exams, lumps, labels and reports.

:func:`draw_cases` is the cheap half of the generator: everything a table holds (manifestation
vectors, pathology, BI-RADS, reports, locations, splits, identifiers) is decided here from the
seed, so the "modality glance" of paper Table 3 can be checked on thousands of lumps in seconds.
Rendering (:mod:`mvkl.synth.phantom`, :mod:`mvkl.synth.lesions`) then only reads these records.

MVKL statistics mimicked (paper Sec. 3, Table 2): 2,764 lumps in 2,671 exams (about 3.4 % of
exams have two lumps), four views per exam (LCC, LMLO, RCC, RMLO), malignant:benign about 2:1,
patient-level split 7:1:2, annotation batches named by date.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from mvkl.synth.clinical import LumpClinical, draw_clinical
from mvkl.synth.identity import Identity, Institution, draw_identity, draw_institution
from mvkl.synth.narratives import ReportFacts, location_phrases, write_report

__all__ = ["VENDORS", "CaseSet", "Exam", "Lump", "Patient", "Vendor", "ViewImage", "draw_cases", "make_uid"]

BATCH_NAMES = ("20220901", "20221123", "20230301", "20230519", "20230901", "20231201")
SPLITS = ("train", "valid", "test")
UID_ROOT = "1.2.826.0.1.3680043.8.498."  # pydicom's registered root for generated UIDs


@dataclass(frozen=True)
class Vendor:
    """A mammography unit model: how its images are encoded (spec/dicom.md §5)."""

    manufacturer: str
    model: str
    pitch_mm: float  # detector element pitch (DetectorElementSpacing)
    mono1: bool  # MONOCHROME1 + PresentationLUTShape INVERSE
    sigmoid: bool  # VOILUTFunction SIGMOID
    two_windows: bool  # a second (harder) window in WindowCenter/WindowWidth
    pixel_spacing_too: bool  # also writes PixelSpacing next to ImagerPixelSpacing


VENDORS: tuple[Vendor, ...] = (
    Vendor("HOLOGIC, Inc.", "Selenia Dimensions", 0.07, False, False, True, True),
    Vendor("GE MEDICAL SYSTEMS", "Senographe Pristina", 0.1, False, True, False, False),
    Vendor("SIEMENS", "Mammomat Inspiration", 0.085, False, False, False, True),
    Vendor("FUJIFILM Corporation", "AMULET Innovality", 0.1, True, False, True, False),
    Vendor("IMS s.r.l.", "GIOTTO CLASS", 0.083, True, False, False, True),
)


# Vendors of the three stations of the first and second institution: each institution has
# MONOCHROME1 and MONOCHROME2 units and a SIGMOID VOI LUT; the first also a two-window unit.
_STATION_VENDORS = ((0, 1, 3), (2, 4, 1))


def make_uid(*parts: object) -> str:
    """A deterministic DICOM UID (root + decimal digest of ``parts``), at most 64 characters."""
    digest = int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:20], "big")
    return (UID_ROOT + str(digest))[:64].rstrip(".")


def frame_of_reference_uid(seed: int, exam: int, laterality: str) -> str:
    """FrameOfReferenceUID shared by the views of one breast in one exam."""
    return make_uid(seed, "for", exam, laterality)


@dataclass
class Lump:
    """One annotated lump (one table row). ``index`` is its position in exam order."""

    index: int
    exam: int
    laterality: str
    clinical: LumpClinical
    clock: int
    depth: str
    depth_frac: float  # 0 at the nipple, 1 at the chest wall
    radial: float  # 0 on the nipple axis, 1 at the skin
    size_mm: tuple[float, float]
    angle: float  # long-axis orientation (radians)
    report: str
    location: str
    remark: str
    seed: int

    @property
    def manifest(self) -> npt.NDArray[np.uint8]:
        return self.clinical.manifest

    @property
    def label(self) -> int:
        return self.clinical.label

    @property
    def birads(self) -> str:
        return self.clinical.birads

    @property
    def kind(self) -> str:
        return self.clinical.kind


@dataclass
class ViewImage:
    """One image file of an exam."""

    view: str  # "CC" | "MLO"
    laterality: str  # "L" | "R"
    file: str  # file name inside <batch>/<patient_id>/<study_id>/
    instance: int
    repeat: int  # 0 for the standard view, 1 for a repeated exposure
    sop_uid: str
    series_uid: str


@dataclass
class Patient:
    index: int
    identity: Identity
    institution: int
    split: str = "train"


@dataclass
class Exam:
    index: int
    patient: int
    batch: str
    study_id: str  # accession number (the table's study_id)
    study_number: str  # DICOM StudyID
    date: dt.date
    time: str
    age: int
    composition: int  # ACR a..d = 0..3
    vendor: Vendor
    station: int
    study_uid: str
    seed: int
    images: list[ViewImage] = field(default_factory=list)
    lumps: list[Lump] = field(default_factory=list)

    def files_for(self, laterality: str, view: str) -> list[ViewImage]:
        return [im for im in self.images if im.laterality == laterality and im.view == view]


@dataclass
class CaseSet:
    """Everything :func:`draw_cases` decided. ``identifiers`` lists every planted identifier."""

    seed: int
    lang: str
    institutions: list[Institution]
    patients: list[Patient]
    exams: list[Exam]
    batches: list[str]
    identifiers: set[str] = field(default_factory=set)

    @property
    def lumps(self) -> list[Lump]:
        return [lump for e in self.exams for lump in e.lumps]

    def manifests(self) -> npt.NDArray[np.uint8]:
        return np.array([lump.manifest for lump in self.lumps], dtype=np.uint8).reshape(-1, 35)

    def labels(self) -> npt.NDArray[np.int8]:
        return np.array([lump.label for lump in self.lumps], dtype=np.int8)

    def reports(self) -> list[str]:
        return [lump.report for lump in self.lumps]

    def splits(self) -> list[str]:
        return [self.patients[self.exams[lump.exam].patient].split for lump in self.lumps]


def _size(rng: np.random.Generator, c: LumpClinical) -> tuple[float, float]:
    from mvkl.manifest import schema as S

    m = c.manifest
    ok = S.option_by_key()
    if "mass" in c.kind:
        if m[ok["mass_size.gt_5cm"].index]:
            d1 = rng.uniform(50.5, 68)
        elif m[ok["mass_size.2_5cm"].index]:
            d1 = min(20.5 + rng.gamma(2.0, 4.0), 48.0)
        elif m[ok["mass_size.le_2cm"].index] or rng.random() < 0.6:
            d1 = float(np.clip(rng.normal(13, 3.5), 6, 20))
        else:
            d1 = min(20.5 + rng.gamma(2.0, 4.0), 48.0)
        aspect = {
            "mass_shape.round": (0.88, 1.0),
            "mass_shape.ovoid": (0.55, 0.8),
            "mass_shape.lobulated": (0.7, 0.9),
            "mass_shape.irregular": (0.65, 0.95),
        }
        shape = next((k for k in aspect if m[ok[k].index]), "mass_shape.lobulated")
        return round(d1, 1), round(d1 * rng.uniform(*aspect[shape]), 1)
    if "calc" in c.kind:
        if m[ok["calc_distribution.scattered"].index]:
            d1 = rng.uniform(20, 45)
        elif m[ok["calc_distribution.linear_segmental"].index]:
            d1 = rng.uniform(15, 40)
        else:
            d1 = rng.uniform(5, 15)
        return round(d1, 1), round(d1 * rng.uniform(0.4, 0.9), 1)
    d1 = rng.uniform(12, 30)
    return round(d1, 1), round(d1 * rng.uniform(0.6, 0.9), 1)


# Clock-face frequencies: the upper outer quadrant holds about half of all lumps.
_CLOCK_W = {
    "L": np.array([6, 6, 4, 2, 2, 2, 1.5, 1.5, 2, 2, 2.5, 3.5]),
    "R": np.array([2.5, 2, 2, 2, 1.5, 1.5, 2, 2, 4, 6, 6, 3.5]),
}


def _place(rng: np.random.Generator, laterality: str) -> tuple[int, str, float, float]:
    """(clock 0..12, depth name, depth fraction, radial fraction); 0 o'clock = retroareolar."""
    if rng.random() < 0.05:
        return 0, "anterior", float(rng.uniform(0.12, 0.3)), 0.0
    w = _CLOCK_W[laterality]
    clock = int(rng.choice(12, p=w / w.sum())) + 1
    depth = ("anterior", "middle", "posterior")[int(rng.choice(3, p=[0.25, 0.45, 0.3]))]
    lo, hi = {"anterior": (0.12, 0.33), "middle": (0.34, 0.64), "posterior": (0.65, 0.85)}[depth]
    return clock, depth, float(rng.uniform(lo, hi)), float(rng.uniform(0.25, 0.72))


def _plant(rng: np.random.Generator, lang: str, ident: Identity, date: dt.date) -> tuple[tuple[str, str], ...]:
    kinds = list(rng.choice(["name", "id", "date", "phone"], size=int(rng.integers(1, 3)), replace=False))
    prior = date - dt.timedelta(days=int(rng.integers(200, 900)))
    date_s = f"{prior.year}年{prior.month}月{prior.day}日" if lang == "zh" else prior.strftime("%m/%d/%Y")
    if rng.random() < 0.4:
        date_s = prior.isoformat()
    values = {
        "name": ident.display_name,
        "id": ident.patient_id if rng.random() < 0.5 else ident.other_ids[0],
        "date": date_s,
        "phone": ident.phone,
    }
    return tuple((k, values[k]) for k in ("name", "id", "date", "phone") if k in kinds)


_REMARKS = {
    "zh": ["复查", "外院会诊", "术后改变", "二次活检", "追加点压"],
    "en": ["follow-up", "second opinion", "post-surgical", "repeat biopsy", "spot compression added"],
}


def _assign_splits(rng: np.random.Generator, patients: list[Patient], malignant: set[int]) -> None:
    """Patient-level 7:1:2 split (paper Sec. 5.1), stratified by the patient's label (malignant if
    any of their lumps is), so that validation and test hold both classes whenever each class has
    at least three patients (evaluation needs both classes in every split)."""
    for stratum in (sorted(malignant), [p.index for p in patients if p.index not in malignant]):
        n = len(stratum)
        order = rng.permutation(n)
        n_val = max(1, round(0.1 * n)) if n >= 3 else 0
        n_test = max(1, round(0.2 * n)) if n >= 3 else 0
        for rank, i in enumerate(order):
            patients[stratum[int(i)]].split = ("valid" if rank < n_val else "test" if rank < n_val + n_test
                                               else "train")


def n_batches(exams: int) -> int:
    """1 batch below 40 exams, 2 below 1,000, 4 at MVKL scale (paper: four labelling batches)."""
    return 1 if exams < 40 else 2 if exams < 1000 else 4


def _draw_patients(
    rng: np.random.Generator, seed: int, lang: str, exams: int, n_inst: int
) -> tuple[list[Patient], list[tuple[dt.date, int]]]:
    """Patients (about 3 % of exams are a patient's second visit) and the date-sorted visits."""
    n_repeat = round(0.03 * exams) if exams >= 10 else 0
    n_pat = exams - n_repeat
    start = dt.date(2018, 1, 1)
    span = (dt.date(2023, 5, 1) - start).days
    first_dates = sorted(start + dt.timedelta(days=int(d)) for d in rng.integers(0, span - 400, n_pat))
    patients: list[Patient] = []
    visits: list[tuple[dt.date, int]] = []
    for p in range(n_pat):
        prng = np.random.default_rng([seed, 2, p])
        patients.append(Patient(p, draw_identity(prng, lang, first_dates[p].year, p + 1), int(prng.integers(n_inst))))
        visits.append((first_dates[p], p))
    for p in rng.choice(n_pat, size=n_repeat, replace=False) if n_repeat else []:
        visits.append((first_dates[int(p)] + dt.timedelta(days=int(rng.integers(180, 400))), int(p)))
    visits.sort()
    return patients, visits


def _draw_exam(
    erng: np.random.Generator, out: CaseSet, e: int, date: dt.date, pat: Patient, exams: int
) -> Exam:
    """One exam's header (vendor, station, accession, composition, UIDs) and its view images."""
    inst = out.institutions[pat.institution]
    lang, seed, batches = out.lang, out.seed, out.batches
    nb = len(batches)
    station = int(erng.integers(len(inst.station_names)))
    vendor = VENDORS[_STATION_VENDORS[pat.institution % 2][station]]
    age = (date - pat.identity.birth_date).days // 365
    acc = f"MG{date:%y%m%d}{e % 10000:04d}" if lang == "zh" else f"A{date:%Y%m%d}{int(erng.integers(10**4)):04d}"
    exam = Exam(
        e,
        pat.index,
        batches[min(nb - 1, e * nb // max(1, exams))],
        acc,
        f"ST{int(erng.integers(10**6)):06d}",
        date,
        f"{int(erng.integers(7, 18)):02d}{int(erng.integers(60)):02d}{int(erng.integers(60)):02d}",
        age,
        int(erng.choice(4, p=[0.05, 0.3, 0.5, 0.15])),
        vendor,
        station,
        make_uid(seed, "study", e),
        int(erng.integers(2**31)),
    )
    _add_images(exam, erng, seed, uid_names=(batches.index(exam.batch) % 2 == 1))
    return exam


def _draw_lumps(erng: np.random.Generator, out: CaseSet, exam: Exam, pat: Patient, lump_index: int) -> int:
    """Append the exam's lumps (clinical record, location, size, report, remark); return the next
    lump index. About 3.5 % of exams have a second lump (MVKL: 2,764 lumps in 2,671 exams), in
    the other breast: two rows never share (patient_id, study_id, view_id), the table's lump key."""
    lang = out.lang
    n_lumps = 1 + int(erng.random() < 0.035)
    first = "L" if erng.random() < 0.52 else "R"
    for k in range(n_lumps):
        lat = first if k == 0 else ("R" if first == "L" else "L")
        clin = draw_clinical(erng)
        clock, depth, dfrac, radial = _place(erng, lat)
        size = _size(erng, clin)
        planted = _plant(erng, lang, pat.identity, exam.date) if erng.random() < 0.08 else ()
        out.identifiers.update(v for _, v in planted)
        report = write_report(
            erng,
            lang,
            ReportFacts(lat, clock, depth, size, clin.kind, clin.manifest, clin.birads, exam.composition, planted),
        )
        remark = _REMARKS[lang][int(erng.integers(5))] if erng.random() < 0.1 else ""
        if erng.random() < 0.01:
            remark = (remark + " " if remark else "") + ("联系电话" if lang == "zh" else "tel ") + pat.identity.phone
            out.identifiers.add(pat.identity.phone)
        angle = float(erng.uniform(0, np.pi))
        phrase = location_phrases(lang, lat, clock, depth)[1]
        exam.lumps.append(
            Lump(lump_index, exam.index, lat, clin, clock, depth, dfrac, radial, size, angle, report, phrase,
                 remark, int(erng.integers(2**31)))
        )
        lump_index += 1
    return lump_index


def _collect_identifiers(out: CaseSet) -> None:
    """Every identifying string of patients, institutions and exams, for the de-identification
    checks (nothing of these may survive ingest)."""
    for pat in out.patients:
        ident = pat.identity
        out.identifiers.update(
            [ident.patient_id, ident.dicom_name, ident.display_name, ident.birth_date_str, ident.phone,
             ident.address, *ident.other_ids, *ident.dicom_name.split("=")]
        )
    for inst in out.institutions:
        people = [part for pn in (*inst.doctors, *inst.operators) for part in (pn, *pn.split("="))]
        out.identifiers.update(
            [inst.name, inst.address, inst.phone, *inst.station_names, *inst.device_serials,
             *inst.detector_ids, *people]
        )
    for ex in out.exams:
        out.identifiers.update(
            [ex.study_id, ex.study_number, ex.date.strftime("%Y%m%d"), ex.study_uid,
             *(im.sop_uid for im in ex.images), *(im.series_uid for im in ex.images),
             *(frame_of_reference_uid(out.seed, ex.index, lat) for lat in ("L", "R"))]
        )
    out.identifiers.discard("")


def draw_cases(exams: int, seed: int = 0, lang: str = "en", image_size: int = 1024) -> CaseSet:
    """Draw ``exams`` synthetic exams with their lumps, reports, labels and identities.

    Deterministic in ``(exams, seed, lang)``; ``image_size`` only affects nothing here but is
    accepted so callers can pass the same options everywhere.
    """
    if lang not in ("en", "zh"):
        raise ValueError(f"lang must be 'en' or 'zh', got {lang!r}")
    rng = np.random.default_rng([seed, 0x5EED])
    insts = [draw_institution(np.random.default_rng([seed, 1, k]), lang) for k in range(2 if exams >= 20 else 1)]
    patients, visits = _draw_patients(rng, seed, lang, exams, len(insts))
    out = CaseSet(seed, lang, insts, patients, [], list(BATCH_NAMES[: n_batches(exams)]))
    lump_index = 0
    for e, (date, p) in enumerate(visits):
        erng = np.random.default_rng([seed, 3, e])
        exam = _draw_exam(erng, out, e, date, patients[p], exams)
        lump_index = _draw_lumps(erng, out, exam, patients[p], lump_index)
        out.exams.append(exam)
    _assign_splits(rng, patients, {ex.patient for ex in out.exams for lump in ex.lumps if lump.label == 1})
    _collect_identifiers(out)
    return out


def _add_images(exam: Exam, rng: np.random.Generator, seed: int, uid_names: bool) -> None:
    """Four standard views (RCC, LCC, RMLO, LMLO) and, for about 3 % of exams, a repeated
    exposure of one view (then the lump's view group lists two files)."""
    views = [("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO")]
    if rng.random() < 0.03:
        views.append(views[int(rng.integers(4))])
    seen: set[tuple[str, str]] = set()
    for k, (lat, view) in enumerate(views):
        sop = make_uid(seed, "sop", exam.index, k)
        series = make_uid(seed, "series", exam.index, k)
        name = f"{sop}.dcm" if uid_names else f"IMG{k + 1:04d}.dcm"
        exam.images.append(ViewImage(view, lat, name, k + 1, int((lat, view) in seen), sop, series))
        seen.add((lat, view))
