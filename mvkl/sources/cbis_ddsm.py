"""CBIS-DDSM (TCIA; spec/dicom.md §3.1, method.md §2.8, bug B32): ``--format cbis-ddsm``.

::

    SOURCE/mass_case_description_train_set.csv   (and _test_set, calc_case_description_{train,test}_set)
    SOURCE/metadata.csv                          (optional: NBIA Data Retriever's series index)
    SOURCE/CBIS-DDSM/<case>/<StudyUID>/<SeriesUID>/000000.dcm                     (TCIA layout), or
    SOURCE/CBIS-DDSM/<case>/07-20-2016-DDSM-NA-74994/1.000000-full mammogram images-24515/1-1.dcm (NBIA)

(the ``CBIS-DDSM/`` level is optional). ``<case>`` is ``Mass-Training_P_00001_LEFT_CC``.

* **One record per image** (B32): the CSV rows are abnormalities; rows of the same patient, side
  and view (mass and calc tables alike) are one image. Its label is malignant if any abnormality
  is (MALIGNANT = 1; BENIGN, BENIGN_WITHOUT_CALLBACK = 0), its BI-RADS the highest ``assessment``,
  its manifestations the pooled descriptors of all rows (:mod:`mvkl.sources.mapping`).
* **Full mammogram by series**, never by walk order: the CSV path's 3rd component is the
  SeriesInstanceUID (:mod:`mvkl.sources.cbis_resolve`). Tried in order: the literal path (TCIA);
  NBIA ``metadata.csv`` (``Series UID`` -> ``File Location``); the series folder named after the
  UID under the case folder; a unique series folder described ``full mammogram images``; the
  DICOM headers of the case folder read with ``stop_before_pixels`` (SeriesInstanceUID, then
  SeriesDescription).
  A row whose image cannot be found points at its literal path: the pipeline quarantines it
  ``missing-file`` (table + row).
* **Patient key** ``P_00001`` (the DICOM PatientID is per view and is not used). View and side come
  from the table (the DICOM files lack ViewPosition and ImageLaterality).
* **Splits**: the official train/test of the file names are kept; validation is drawn from the
  official train **by patient**, stratified by patient label, seeded by ``mvkl ingest --seed``
  (:func:`draw_validation`; 10 % by default, ``--adapter-option val_fraction=F``; spec method.md
  §2.7). A patient listed in both official sets keeps only the official test images: each of
  their official-train images is left out and quarantined ``split-conflict`` (located at its
  first table row, the image's other rows named in the detail), so the official test set is
  unchanged and no patient is in two splits.
* **Lesion boxes** (:mod:`mvkl.sources.cbis_masks`): each row's ROI mask becomes a box on its
  image (the bounding box of the mask's pixels, in the full mammogram's frame; kind ``mass`` or
  ``calcification`` from the table, ``distortion``/``asymmetry`` for a mass row whose shape is
  only that). The mask is told apart from the crop by its size (the full image's) and series
  description, whichever column names it. A mask that is missing, unreadable, empty or of the
  wrong size is a warning naming the table and row; the image is kept without that box.
  ``--adapter-option roi_boxes=no`` skips reading the masks.
* No reports (empty text), no age.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from mvkl.errors import InputError, Problem
from mvkl.fsutil import display_path
from mvkl.ingest.records import AdapterResult, ImageRef, LeftOut, LumpRecord, RowRef, SourceInfo
from mvkl.quarantine import Reason
from mvkl.sources import mapping as MP
from mvkl.sources.base import (
    check_options,
    column_label,
    find_column,
    is_unknown,
    parse_birads,
    parse_density,
    parse_fraction,
    parse_label,
    read_table,
)
from mvkl.sources.cbis_masks import attach_boxes
from mvkl.sources.cbis_resolve import SeriesResolver

if TYPE_CHECKING:
    import polars as pl

__all__ = ["TABLE_NAMES", "CbisDdsmAdapter", "birads_severity", "draw_validation"]

TABLE_NAMES = ("mass_case_description_train_set.csv", "calc_case_description_train_set.csv",
               "mass_case_description_test_set.csv", "calc_case_description_test_set.csv")
_TABLE_RE = re.compile(r"(mass|calc)\w*?(train|test)", re.IGNORECASE)
_CASE_RE = re.compile(r"^(Mass|Calc)-(Training|Test)_(P_\d+)_(LEFT|RIGHT)_(CC|MLO)(?:_\d+)?$", re.IGNORECASE)

COLUMNS: dict[str, tuple[str, ...]] = {
    "patient": ("patient_id",),
    "density": ("breast_density", "breast density"),
    "side": ("left or right breast",),
    "view": ("image view",),
    "abn_id": ("abnormality id",),
    "abn_type": ("abnormality type",),
    "mass_shape": ("mass shape",),
    "mass_margins": ("mass margins",),
    "calc_type": ("calc type",),
    "calc_dist": ("calc distribution",),
    "assessment": ("assessment",),
    "pathology": ("pathology",),
    "image": ("image file path",),
    "crop": ("cropped image file path",),
    "roi": ("ROI mask file path",),
}
_ONLY_KIND = {"ARCHITECTURAL_DISTORTION": "distortion", "FOCAL_ASYMMETRIC_DENSITY": "asymmetry",
              "ASYMMETRIC_BREAST_TISSUE": "asymmetry"}
REQUIRED = ("patient", "density", "side", "view", "abn_type", "assessment", "pathology", "image")
KIND_COLUMNS = {"mass": ("mass_shape", "mass_margins"), "calc": ("calc_type", "calc_dist")}
FIELD_OF = {"mass_shape": MP.CBIS_MASS_SHAPE, "mass_margins": MP.CBIS_MASS_MARGINS,
            "calc_type": MP.CBIS_CALC_TYPE, "calc_dist": MP.CBIS_CALC_DISTRIBUTION}
_BIRADS_ORDER = ("", "0", "1", "2", "3", "4", "4A", "4B", "4C", "5", "6")


def birads_severity(b: str) -> int:
    """Order for "the highest assessment" of an image: empty < 0 < 1 < ... < 4C < 5 < 6."""
    return _BIRADS_ORDER.index(b) if b in _BIRADS_ORDER else 0


def draw_validation(patients: Mapping[str, int], fraction: float, seed: int) -> set[str]:
    """Patients (raw key -> patient label) of an official train set that go to validation.

    Uses :func:`mvkl.splits.assign_splits` with ratios ``(1 - fraction, fraction, 0)``: stratified
    by label, seeded, independent of input order; no patient is ever sent to test.
    """
    if not 0 <= fraction < 1:
        raise InputError(f"validation fraction must be in [0, 1); got {fraction}", code="usage")
    if fraction == 0 or not patients:
        return set()
    from mvkl.splits import assign_splits

    got = assign_splits(dict(patients), (1.0 - fraction, fraction, 0.0), seed)
    return {p for p, s in got.split.items() if s == 1}


@dataclass
class _Image:
    """The rows of one image (patient, side, view) within one official split."""

    patient: str
    side: str
    view: str
    split: str
    rows: list[RowRef] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    birads: list[str] = field(default_factory=list)
    density: list[int] = field(default_factory=list)
    tokens: dict[str, list[list[MP.Target]]] = field(default_factory=dict)
    ref: ImageRef | None = None
    case_folders: set[str] = field(default_factory=set)
    masks: list[tuple[RowRef, tuple[str, str], str]] = field(default_factory=list)  # row, (crop, roi) cells, kind


class CbisDdsmAdapter:
    """CBIS-DDSM case-description CSVs + DICOM (``--format cbis-ddsm``).

    Args:
        val_fraction: default share of the official-train patients drawn as validation (the
            ``val_fraction`` option of :meth:`read` overrides it). The draw is seeded by the
            ``seed`` of :meth:`read` (``mvkl ingest --seed``).
    """

    name = "cbis-ddsm"
    description = "CBIS-DDSM: the 4 case-description CSVs + TCIA or NBIA DICOM folders"
    options_help: ClassVar[Mapping[str, str]] = {
        "val_fraction": "share of the official-train patients drawn as validation, 0 < F < 1 (default 0.1)",
        "roi_boxes": "yes (default): read each row's ROI mask as a lesion box; no: skip the masks"}

    def __init__(self, val_fraction: float = 0.1) -> None:
        if not 0 <= val_fraction < 1:
            raise ValueError("val_fraction must be in [0, 1)")
        self.val_fraction = val_fraction

    def detect(self, source: Path) -> bool:
        source = Path(source)
        return source.is_dir() and any((source / n).is_file() for n in TABLE_NAMES)

    def discover(self, source: Path) -> list[Path]:
        found = [source / n for n in TABLE_NAMES if (source / n).is_file()]
        if not found:
            raise InputError("no CBIS-DDSM case-description CSV in the source (expected "
                             + ", ".join(TABLE_NAMES) + "; or name them with --table)", file=source.name,
                             code="layout")
        return found

    def read(self, source: Path, tables: Sequence[Path] | None = None, dataset: str | None = None, *,
             seed: int = 0, options: Mapping[str, str] | None = None, first_batch: int = 1) -> AdapterResult:
        """Read and validate the case-description tables (:mod:`mvkl.sources.base` contract).

        ``seed`` seeds the validation draw; ``options``: ``val_fraction`` (0 < F < 1). Tables are
        labelled by file name (``first_batch`` unused).
        """
        opts = check_options(self.name, options, self.options_help)
        val_fraction = (parse_fraction(self.name, "val_fraction", opts["val_fraction"]) if "val_fraction" in opts
                        else self.val_fraction)
        roi_boxes = str(opts.get("roi_boxes", "yes")).strip().lower()
        if roi_boxes not in ("yes", "no"):
            raise InputError("--adapter-option roi_boxes must be yes or no", code="bad-option")
        source = Path(source)
        if not source.is_dir():
            raise InputError("source folder not found", file=source.name, code="missing-file")
        paths = [Path(t) for t in tables] if tables else self.discover(source)
        dataset = dataset or self.name
        problems: list[Problem] = []
        warnings: list[str] = []
        images: dict[tuple[str, str, str, str], _Image] = {}
        resolver = SeriesResolver(source)
        unknown: dict[str, int] = {}
        n_tables = 0
        density_zero = 0
        for i, path in enumerate(paths, start=1):
            m = _TABLE_RE.search(path.stem)
            label = path.name if m else f"table {i}"  # an unpatterned name may be a patient's (issue 15)
            if m is None:
                problems.append(Problem(label, None, None, "cannot tell mass/calc and train/test from the file name "
                                        "(expected e.g. mass_case_description_train_set.csv)", "layout"))
                continue
            kind, split = m.group(1).lower(), m.group(2).lower()
            try:
                df = read_table(path)
            except InputError as exc:
                problems.append(Problem(display_path(path), None, None, exc.message, exc.code))
                continue
            n_tables += 1
            density_zero += self._read_table(df, label, kind, split, resolver, images, problems, unknown)
        if density_zero:
            warnings.append(f"{density_zero} row(s) with breast density 0: stored as unknown density")
        if roi_boxes == "yes":
            attach_boxes(images.values(), resolver.roots, warnings)
        records, w, left_out = self._records(images, dataset, val_fraction, seed)
        n_boxes = sum(len(ref.lesions) for r in records for ref in r.images.values())
        warnings += w
        if resolver.how:
            warnings.append("full mammograms resolved by " + ", ".join(f"{k} {v}" for k, v in
                                                                      sorted(resolver.how.items())))
        policies = {
            "label_policy": {"unit": "image (rows of one patient/side/view pooled)",
                             "MALIGNANT": 1, "BENIGN": 0, "BENIGN_WITHOUT_CALLBACK": 0,
                             "image": "malignant if any abnormality is malignant"},
            "birads_policy": "highest 'assessment' among the image's abnormalities",
            "split_policy": {"official": "train/test from the file names kept",
                             "val": {"from": "official train", "unit": "patient", "fraction": val_fraction,
                                     "seed": seed, "stratify": "patient label", "method": "mvkl.splits"},
                             "both_official_sets": "patient keeps only the official test images"},
            "image_resolution": "by series (literal path, series UID folder, NBIA metadata.csv, "
                                "'full mammogram images' folder, DICOM header)",
            "unknown_values": dict(sorted(unknown.items())),
            "lesions": {"source": "ROI masks (bounding box of the mask pixels)" if roi_boxes == "yes"
                        else "not read (roi_boxes=no)", "boxes": n_boxes},
        }
        src = SourceInfo("", self.name, dataset, n_tables, MP.mapping_document("cbis-ddsm", **policies))
        return AdapterResult(records, problems, self.name, dataset, [src], warnings, left_out)

    # -- one table ------------------------------------------------------------------------------
    def _read_table(self, df: pl.DataFrame, label: str, kind: str, split: str, resolver: SeriesResolver,
                    images: dict[tuple[str, str, str, str], _Image], problems: list[Problem],
                    unknown: dict[str, int]) -> int:
        """One case-description table into ``images``; cells that only mean unknown in the
        descriptor columns (``N/A``, ``NA``, blank) and density 0 are counted into ``unknown``
        (column -> count). Returns the number of rows with density 0."""
        cols = {k: find_column(df, names) for k, names in COLUMNS.items()}
        missing = [k for k in (*REQUIRED, *KIND_COLUMNS[kind]) if cols[k] is None]
        for k in missing:
            problems.append(Problem(label, None, COLUMNS[k][0], "required column missing", "column-missing"))
        if missing:
            return 0
        get = {k: df.get_column(c).to_list() for k, c in cols.items() if c is not None}
        density_zero = 0
        seen: set[tuple[str, str, str, str]] = set()
        for r in range(df.height):
            row = r + 2

            def cell(key: str, _r: int = r) -> str:
                v = get[key][_r] if key in get else None
                return "" if v is None else str(v).strip()

            if not any(cell(k) for k in REQUIRED):
                continue
            n_before = len(problems)

            def bad(key: str, msg: str, code: str = "value", _row: int = row) -> None:
                problems.append(Problem(label, _row, column_label(df, cols[key]), msg, code))  # type: ignore[arg-type]

            patient = cell("patient")
            if not re.fullmatch(r"P_\d+", patient):
                bad("patient", "patient_id must look like P_00001", "value" if patient else "empty")
            side = {"LEFT": "L", "RIGHT": "R"}.get(cell("side").upper())
            if side is None:
                bad("side", "left or right breast must be LEFT or RIGHT")
            view = cell("view").upper()
            if view not in ("CC", "MLO"):
                bad("view", "image view must be CC or MLO")
            abn = cell("abn_type").lower()
            if abn not in ("mass", "calcification"):
                bad("abn_type", "abnormality type must be mass or calcification")
            elif (abn == "mass") != (kind == "mass"):
                bad("abn_type", f"a {abn} row in a {kind} table")
            lab, ok = parse_label(cell("pathology"), allow_unknown=False)
            if not ok:
                bad("pathology", "pathology must be MALIGNANT, BENIGN or BENIGN_WITHOUT_CALLBACK", "label")
            birads, ok = parse_birads(cell("assessment"))
            if not ok:
                bad("assessment", "assessment must be a BI-RADS category 0-5", "birads")
            for key in (*KIND_COLUMNS[kind], "density"):
                v = cell(key)
                if is_unknown(v) or (key == "density" and v in ("0", "0.0")):
                    unknown[str(cols[key])] = unknown.get(str(cols[key]), 0) + 1
            dens_cell = cell("density")
            density, ok = (-1, True) if dens_cell in ("0", "0.0") else parse_density(dens_cell)
            density_zero += dens_cell in ("0", "0.0")
            if not ok:
                bad("density", "breast density must be 1-4")
            tokens: dict[str, list[MP.Target]] = {}
            for key in KIND_COLUMNS[kind]:
                fm = FIELD_OF[key]
                targets = []
                for tok in MP.split_compound(cell(key)):
                    t = fm.lookup(tok)
                    if t is None:
                        bad(key, f"unknown {fm.field} value; expected {', '.join(fm.spellings())}, "
                                 "compounds joined by '-', or N/A", "unknown-value")
                    else:
                        targets.append(t)
                if targets:
                    tokens[key] = targets
            parts = [p for p in cell("image").replace("\\", "/").split("/") if p]
            if not parts or any(p == ".." for p in parts) or cell("image").startswith("/"):
                bad("image", "image file path must be relative (<case>/<StudyUID>/<SeriesUID>/<file>)",
                    "value" if parts else "empty")
            else:
                cm = _CASE_RE.match(parts[0])
                if cm and side and view in ("CC", "MLO") and (
                        cm.group(3) != patient or cm.group(4).upper()[0] != side or cm.group(5).upper() != view):
                    bad("image", "image file path names another patient, side or view than the row")
            if len(problems) > n_before:
                continue
            key = (patient, side or "", view, split)
            dup = (patient, side or "", view, cell("abn_id"))
            if dup in seen and cell("abn_id"):
                bad("abn_id", "abnormality listed twice for the same image", "duplicate-id")
                continue
            seen.add(dup)
            img = images.get(key)
            if img is None:
                img = images[key] = _Image(patient, side or "", view, split)
            img.rows.append(RowRef(label, row))
            img.labels.append(lab)
            img.birads.append(birads)
            img.density.append(density)
            img.case_folders.add(parts[0])
            mkind = "mass" if kind == "mass" else "calcification"
            only = {_ONLY_KIND.get(tok.strip().upper()) for tok in MP.split_compound(cell("mass_shape"))}
            if kind == "mass" and len(only) == 1 and None not in only:
                mkind = str(next(iter(only)))
            img.masks.append((RowRef(label, row), (cell("crop"), cell("roi")), mkind))
            for k, t in tokens.items():
                img.tokens.setdefault(k, []).append(t)
            if img.ref is None:
                found = resolver.resolve(parts)
                ref_path = found if found is not None else resolver.roots[0].joinpath(*parts)
                rel = ref_path.relative_to(resolver.source).as_posix() if ref_path.is_relative_to(
                    resolver.source) else "/".join(parts)
                img.ref = ImageRef(ref_path, rel, view)
        return density_zero

    # -- images -> records ------------------------------------------------------------------------
    def _records(self, images: dict[tuple[str, str, str, str], _Image], dataset: str, val_fraction: float,
                 seed: int) -> tuple[list[LumpRecord], list[str], list[LeftOut]]:
        warnings: list[str] = []
        test_patients = {k[0] for k in images if k[3] == "test"}
        dropped = [img for k, img in images.items() if k[3] == "train" and k[0] in test_patients]
        left_out = []
        for img in dropped:
            others = ("; other rows of the image: " + ", ".join(str(r) for r in img.rows[1:])
                      if len(img.rows) > 1 else "")
            left_out.append(LeftOut(img.rows[0], img.view, Reason.SPLIT_CONFLICT,
                                    "official-train image of a patient also in the official test set; the test "
                                    "images are kept" + others))
        kept = [img for k, img in images.items() if not (k[3] == "train" and k[0] in test_patients)]
        from mvkl.splits import patient_labels

        labels = patient_labels((img.patient, max(img.labels)) for img in kept if img.split == "train")
        val = draw_validation(labels, val_fraction, seed)
        density_conflicts = 0
        records: list[LumpRecord] = []
        for img in kept:
            pm = MP.PartialManifest()
            for key, rows in img.tokens.items():
                for targets in rows:
                    pm.add(FIELD_OF[key], targets)
            vec, known = pm.result()
            dens = [d for d in img.density if d > 0]
            density_conflicts += len(set(dens)) > 1
            split = "val" if img.split == "train" and img.patient in val else img.split
            assert img.ref is not None
            records.append(LumpRecord(
                dataset=dataset, batch="", patient_key=img.patient, exam_key=img.patient,
                lump_key=f"{img.side}\x1f{img.view}", images={img.view: img.ref}, laterality=img.side,
                label=max(img.labels), birads=max(img.birads, key=birads_severity), density=dens[0] if dens else -1,
                age=None, report="", manifest=vec, known=known, split=split, row=img.rows[0],
                identifiers=[img.patient, *sorted(img.case_folders)]))
        if density_conflicts:
            warnings.append(f"{density_conflicts} image(s) whose rows disagree on breast density: the first is kept")
        return records, warnings, left_out
