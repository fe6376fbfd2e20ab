"""VinDr-Mammo (PhysioNet 1.0.0; spec/dicom.md §3.3): ``--format vindr``.

::

    SOURCE/breast-level_annotations.csv     one row per image: study_id, series_id, image_id,
                                            laterality, view_position, height, width,
                                            breast_birads, breast_density, split
    SOURCE/finding_annotations.csv          one row per finding (+ finding_categories,
                                            finding_birads, xmin, ymin, xmax, ymax); optional
    SOURCE/images/<study_id>/<image_id>.dicom

* **One record per image** (a breast-level row) with a CC or MLO view; rows with another
  ``view_position`` are left out, quarantined ``unsupported-view`` (table, row, view code). The
  study is the patient key (VinDr ships no patient id; one study per woman). UIDs/ids are opaque
  strings: nothing here requires valid DICOM UIDs or a SOP class.
* **Label proxy** (no pathology): breast BI-RADS 1-3 -> benign (0), 4-5 -> malignant (1), as the
  paper does for INbreast; images without finding (BI-RADS 1) are benign-normal. With
  ``--adapter-option birads3=unknown`` BI-RADS 3 (probably benign, <= 2 % malignancy) is stored
  unknown (-1) and so left out of downstream evaluation while still used for pretraining.
* **Splits**: the official ``training``/``test`` split is kept; validation is drawn from training
  by study, stratified by label, seeded by ``mvkl ingest --seed``
  (:func:`mvkl.sources.cbis_ddsm.draw_validation`; 10 %, ``--adapter-option val_fraction=F``).
* **Manifestations**: ``finding_categories`` (a Python-list string, parsed with
  ``ast.literal_eval``) -> architectural distortion, focal asymmetrical density (Focal
  Asymmetry, Asymmetry), skin thickening/retraction, nipple retraction, abnormal lymph node, known
  for every image (0 when not listed); Mass and Suspicious Calcification are presence only (their
  groups unknown). Without ``finding_annotations.csv`` every dimension is unknown.
* **Lesion boxes**: each finding row with a box (``No Finding`` rows have NaN boxes: none) is a
  lesion of its image, in the original pixel frame of the DICOM (``xmin .. ymax``, floats), of the
  kind its categories name first among mass, calcification, distortion, asymmetry (else
  ``other``). Coordinates are clipped to the image (``0 .. width/height`` of the row; the
  release has negative ones), counted in a warning; a box with xmax <= xmin or ymax <= ymin, or
  wholly outside the image, is dropped with a warning naming the table and row. A box cell that is
  not a number is a table problem.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from mvkl.errors import InputError, Problem
from mvkl.fsutil import display_path
from mvkl.ingest.records import AdapterResult, ImageRef, LeftOut, LumpRecord, RowRef, SourceInfo, SourceLesion
from mvkl.quarantine import Reason
from mvkl.sources import mapping as MP
from mvkl.sources.base import (
    check_options,
    column_label,
    find_column,
    parse_birads,
    parse_density,
    parse_fraction,
    parse_laterality,
    read_table,
)
from mvkl.sources.cbis_ddsm import draw_validation

if TYPE_CHECKING:
    import polars as pl

__all__ = ["BREAST_TABLE", "FINDING_TABLE", "VindrAdapter", "parse_categories"]

BREAST_TABLE = "breast-level_annotations.csv"
FINDING_TABLE = "finding_annotations.csv"
COLUMNS: dict[str, tuple[str, ...]] = {
    "study": ("study_id",),
    "series": ("series_id",),
    "image": ("image_id",),
    "laterality": ("laterality",),
    "view": ("view_position",),
    "birads": ("breast_birads",),
    "density": ("breast_density",),
    "split": ("split",),
}
REQUIRED = ("study", "image", "laterality", "view", "birads", "split")
FINDING_COLUMNS = {"image": ("image_id",), "categories": ("finding_categories",),
                   "xmin": ("xmin",), "ymin": ("ymin",), "xmax": ("xmax",), "ymax": ("ymax",),
                   "height": ("height",), "width": ("width",)}
BOX_KEYS = ("xmin", "ymin", "xmax", "ymax")
#: finding category -> lesion kind, in priority order (a finding names several categories).
KIND_OF = (("mass", "mass"), ("calcification", "calcification"), ("distortion", "distortion"),
           ("asymmetry", "asymmetry"))


def finding_kind(categories: Sequence[str]) -> str:
    """The lesion kind of a finding from its categories (:data:`KIND_OF` order; else ``other``)."""
    low = [c.lower() for c in categories]
    for needle, kind in KIND_OF:
        if any(needle in c for c in low):
            return kind
    return "other"
SPLITS = {"training": "train", "train": "train", "test": "test"}
_VIEW_CODE = re.compile(r"^[A-Z]{1,8}$")
_ID = re.compile(r"^(?!\.+$)[0-9A-Za-z._-]+$")  # a path component, never "." or ".."


def parse_categories(value: object) -> list[str] | None:
    """``"['Mass', 'Suspicious Calcification']"`` -> list; a bare ``"Mass"`` -> ``["Mass"]``;
    empty -> ``[]``; None when it is not a list of strings."""
    text = "" if value is None else str(value).strip()
    if text == "" or text.lower() == "nan":
        return []
    if not text.startswith(("[", "(")):
        return [text] if re.fullmatch(r"[A-Za-z][A-Za-z ]*", text) else None
    try:
        got = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(got, (list, tuple)) or not all(isinstance(x, str) for x in got):
        return None
    return [x.strip() for x in got]


def _float(value: object) -> float | None:
    """A positive number of pixels (``height``/``width``), else None."""
    try:
        x = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return x if x > 0 and x == x and x != float("inf") else None


class VindrAdapter:
    """VinDr-Mammo annotation CSVs + ``images/`` (``--format vindr``).

    Args (defaults; the ``options`` of :meth:`read` override them):
        birads3: ``"benign"`` (default: 1-3 -> 0) or ``"unknown"`` (BI-RADS 3 -> -1).
        val_fraction: share of the training studies drawn as validation (the draw is seeded by the
            ``seed`` of :meth:`read`, ``mvkl ingest --seed``).
    """

    name = "vindr"
    description = "VinDr-Mammo: breast-level + finding annotation CSVs + images/<study>/<image>.dicom"
    options_help: ClassVar[Mapping[str, str]] = {
        "val_fraction": "share of the training studies drawn as validation, 0 < F < 1 (default 0.1)",
        "birads3": "label of BI-RADS 3 breasts: benign (default) or unknown",
    }

    def __init__(self, birads3: str = "benign", val_fraction: float = 0.1) -> None:
        if birads3 not in ("benign", "unknown"):
            raise ValueError("birads3 must be 'benign' or 'unknown'")
        if not 0 <= val_fraction < 1:
            raise ValueError("val_fraction must be in [0, 1)")
        self.birads3 = birads3
        self.val_fraction = val_fraction

    def detect(self, source: Path) -> bool:
        source = Path(source)
        return (source / BREAST_TABLE).is_file() and (source / "images").is_dir()

    def label(self, birads: str, birads3: str | None = None) -> int:
        """Label proxy from the breast BI-RADS (class docstring); ``birads3`` defaults to the adapter's."""
        if birads in ("1", "2") or (birads == "3" and (birads3 or self.birads3) == "benign"):
            return 0
        if birads and birads[0] in "456":
            return 1
        return -1

    def read(self, source: Path, tables: Sequence[Path] | None = None, dataset: str | None = None, *,
             seed: int = 0, options: Mapping[str, str] | None = None, first_batch: int = 1) -> AdapterResult:
        """Read and validate the annotation tables (:mod:`mvkl.sources.base` contract).

        ``seed`` seeds the validation draw; ``options``: ``val_fraction`` (0 < F < 1) and ``birads3``
        (``benign`` | ``unknown``). Tables are labelled by file name (``first_batch`` unused).
        """
        opts = check_options(self.name, options, self.options_help)
        val_fraction = (parse_fraction(self.name, "val_fraction", opts["val_fraction"]) if "val_fraction" in opts
                        else self.val_fraction)
        birads3 = opts.get("birads3", self.birads3).strip().lower()
        if birads3 not in ("benign", "unknown"):
            raise InputError(f"--adapter-option birads3 of --format {self.name} must be benign or unknown; "
                             f"got {opts['birads3']!r}", code="usage")
        source = Path(source)
        if not source.is_dir():
            raise InputError("source folder not found", file=source.name, code="missing-file")
        breast, finding = source / BREAST_TABLE, source / FINDING_TABLE
        for t in tables or []:
            if "finding" in Path(t).name.lower():
                finding = Path(t)
            else:
                breast = Path(t)
        if not breast.is_file():
            raise InputError(f"no {BREAST_TABLE} in the source (or name it with --table)", file=source.name,
                             code="layout")
        dataset = dataset or self.name
        problems: list[Problem] = []
        warnings: list[str] = []
        try:
            df = read_table(breast)
        except InputError as exc:
            return AdapterResult([], [Problem(display_path(breast), None, None, exc.message, exc.code)],
                                 self.name, dataset)
        cats: dict[str, set[str]] | None = None
        lesions: dict[str, list[SourceLesion]] = {}
        clamped = 0
        if finding.is_file():
            try:
                fdf = read_table(finding)
            except InputError as exc:
                problems.append(Problem(display_path(finding), None, None, exc.message, exc.code))
            else:
                cats, clamped = self._findings(fdf, finding.name, problems, lesions, warnings)
        else:
            warnings.append(f"no {FINDING_TABLE}: every manifestation dimension is unknown")
        left_out: list[LeftOut] = []
        records = self._breast(df, breast.name, source, cats, dataset, birads3, problems, warnings, left_out,
                               lesions)
        if problems:
            return AdapterResult([], problems, self.name, dataset, [], warnings)
        from mvkl.splits import patient_labels

        labels = patient_labels((r.patient_key, r.label) for r in records if r.split == "train")
        val = draw_validation(labels, val_fraction, seed)
        for r in records:
            if r.split == "train" and r.patient_key in val:
                r.split = "val"
        if clamped:
            warnings.append(f"{clamped} finding box coordinate(s) outside the image clipped to it")
        policies = {
            "label_policy": {"source": "breast_birads (no pathology)", "benign": ["1", "2", "3"]
                             if birads3 == "benign" else ["1", "2"], "malignant": ["4", "5"],
                             "unknown": [] if birads3 == "benign" else ["3"],
                             "no_finding": "BI-RADS 1 images are benign-normal"},
            "split_policy": {"official": "training/test kept", "unit": "study",
                             "val": {"from": "training", "fraction": val_fraction, "seed": seed,
                                     "stratify": "study label", "method": "mvkl.splits"}},
        }
        policies["lesions"] = {"boxes": sum(len(v) for v in lesions.values()), "frame": "original DICOM pixels"}
        src = SourceInfo("", self.name, dataset, 1 + (cats is not None), MP.mapping_document("vindr", **policies))
        return AdapterResult(records, problems, self.name, dataset, [src], warnings, left_out)

    def _findings(self, df: pl.DataFrame, label: str, problems: list[Problem],
                  lesions: dict[str, list[SourceLesion]], warnings: list[str]) -> tuple[dict[str, set[str]], int]:
        """Categories per image id (and, into ``lesions``, the finding boxes; :meth:`_box`)."""
        cols = {k: find_column(df, names) for k, names in FINDING_COLUMNS.items()}
        for k in ("image", "categories"):
            if cols[k] is None:
                problems.append(Problem(label, None, FINDING_COLUMNS[k][0], "required column missing",
                                        "column-missing"))
        if cols["image"] is None or cols["categories"] is None:
            return {}, 0
        out: dict[str, set[str]] = {}
        clamped = 0
        images = df.get_column(cols["image"]).to_list()
        values = df.get_column(cols["categories"]).to_list()
        boxes = {k: df.get_column(c).to_list() for k in BOX_KEYS if (c := cols[k])}
        size = {k: df.get_column(c).to_list() for k in ("height", "width") if (c := cols[k])}
        for r, (img, val) in enumerate(zip(images, values, strict=True)):
            row = r + 2
            img = "" if img is None else str(img).strip()
            if not img:
                if val is not None and str(val).strip():
                    problems.append(Problem(label, row, column_label(df, cols["image"]), "empty cell", "empty"))
                continue
            got = parse_categories(val)
            if got is None:
                problems.append(Problem(label, row, column_label(df, cols["categories"]),
                                        "finding_categories must be a list of category names, e.g. "
                                        "['Mass', 'Suspicious Calcification']", "value"))
                continue
            unknown = [c for c in got if MP.VINDR_CATEGORIES.lookup(c) is None]
            if unknown:
                problems.append(Problem(label, row, column_label(df, cols["categories"]),
                                        "unknown finding category; expected "
                                        + ", ".join(MP.VINDR_CATEGORIES.spellings()), "unknown-value"))
                continue
            coords: dict[str, float] = {}
            for k, vals in boxes.items():
                v = "" if vals[r] is None else str(vals[r]).strip()
                if v.lower() in ("", "nan"):
                    continue
                try:
                    coords[k] = float(v)
                except ValueError:
                    problems.append(Problem(label, row, column_label(df, cols[k]),  # type: ignore[arg-type]
                                            "box coordinate must be a number or empty", "value"))
            out.setdefault(img, set()).update(got)
            if len(coords) == 4:
                hw = [_float(size[k][r]) if k in size else None for k in ("height", "width")]
                les, n_clip, why = self._box(coords, hw[0], hw[1], finding_kind(got))
                clamped += n_clip
                if les is not None:
                    lesions.setdefault(img, []).append(les)
                else:
                    warnings.append(f"{label} row {row}: finding box {why}; dropped")
            elif coords:
                warnings.append(f"{label} row {row}: finding box with only {len(coords)} of its 4 coordinates; "
                                "dropped")
        return out, clamped

    @staticmethod
    def _box(c: Mapping[str, float], height: float | None, width: float | None,
             kind: str) -> tuple[SourceLesion | None, int, str]:
        """A finding's lesion, clipped to ``[0, width] x [0, height]`` (when known), with the number
        of clipped coordinates, or None and why."""
        lim = {"xmin": width, "xmax": width, "ymin": height, "ymax": height}
        v, n_clip = {}, 0
        for k in BOX_KEYS:
            x = c[k]
            top = lim[k]
            y = min(max(x, 0.0), top) if top is not None else max(x, 0.0)
            n_clip += y != x
            v[k] = y
        if not (c["xmax"] > c["xmin"] and c["ymax"] > c["ymin"]):
            return None, 0, "has xmax <= xmin or ymax <= ymin"
        if not (v["xmax"] > v["xmin"] and v["ymax"] > v["ymin"]):
            return None, 0, "lies wholly outside the image"
        return SourceLesion(kind, (v["xmin"], v["ymin"], v["xmax"], v["ymax"])), n_clip, ""

    def _breast(self, df: pl.DataFrame, label: str, source: Path, cats: dict[str, set[str]] | None, dataset: str,
                birads3: str, problems: list[Problem], warnings: list[str],
                left_out: list[LeftOut], lesions: Mapping[str, list[SourceLesion]]) -> list[LumpRecord]:
        cols = {k: find_column(df, names) for k, names in COLUMNS.items()}
        missing = [k for k in REQUIRED if cols[k] is None]
        for k in missing:
            problems.append(Problem(label, None, COLUMNS[k][0], "required column missing", "column-missing"))
        if missing:
            return []
        get = {k: df.get_column(c).to_list() for k, c in cols.items() if c is not None}

        def cell(key: str, r: int) -> str:
            v = get[key][r] if key in get else None
            return "" if v is None else str(v).strip()

        records: list[LumpRecord] = []
        study_split: dict[str, tuple[str, int]] = {}
        seen: dict[str, int] = {}
        for r in range(df.height):
            row = r + 2
            if not any(cell(k, r) for k in REQUIRED):
                continue
            n_before = len(problems)

            def bad(key: str, msg: str, code: str = "value", _row: int = row) -> None:
                problems.append(Problem(label, _row, column_label(df, cols[key]), msg, code))  # type: ignore[arg-type]

            study, image = cell("study", r), cell("image", r)
            for key, v in (("study", study), ("image", image)):
                if not _ID.match(v):
                    bad(key, "must be a non-empty id of letters, digits, '.', '_' or '-'",
                        "empty" if not v else "value")
            if image in seen:
                bad("image", f"image_id already listed in row {seen[image]}", "duplicate-id")
            elif image:
                seen[image] = row
            lat, ok = parse_laterality(cell("laterality", r))
            if not ok or lat is None:
                bad("laterality", "laterality must be L or R")
            view = cell("view", r).upper()
            birads, ok = parse_birads(cell("birads", r))
            if not ok or birads == "":
                bad("birads", "breast_birads must be BI-RADS 1-5", "birads")
            density, ok = parse_density(cell("density", r))
            if not ok:
                bad("density", "breast_density must be DENSITY A-D")
            split = SPLITS.get(cell("split", r).lower())
            if split is None:
                bad("split", "split must be training or test")
            elif study in study_split and study_split[study][0] != split:
                bad("split", f"the study is also in the {study_split[study][0]} split (row {study_split[study][1]})",
                    "split-leakage")
            if len(problems) > n_before:
                continue
            assert lat is not None and split is not None
            study_split.setdefault(study, (split, row))
            if view not in ("CC", "MLO"):
                code = view if _VIEW_CODE.match(view) else "other"  # a short code, never free text
                left_out.append(LeftOut(RowRef(label, row), code, Reason.UNSUPPORTED_VIEW,
                                        "view_position other than CC/MLO: no slot in the store"))
                continue
            path = source / "images" / study / f"{image}.dicom"
            if not path.is_file() and (alt := path.with_suffix(".dcm")).is_file():
                path = alt
            pm = MP.PartialManifest()
            if cats is not None:
                targets = [t for c in sorted(cats.get(image, set())) if (t := MP.VINDR_CATEGORIES.lookup(c))]
                pm.add(MP.VINDR_CATEGORIES, targets)
            vec, known = pm.result()
            records.append(LumpRecord(
                dataset=dataset, batch="", patient_key=study, exam_key=study, lump_key=image,
                images={view: ImageRef(path, path.relative_to(source).as_posix(), view,
                                       tuple(lesions.get(image, ())))}, laterality=lat,
                label=self.label(birads, birads3), birads=birads, density=density, age=None, report="", manifest=vec,
                known=known, split=split, row=RowRef(label, row),
                identifiers=[x for x in (study, image, cell("series", r)) if x]))
        if cats is not None:
            orphan = len(set(cats) - set(seen))
            if orphan:
                warnings.append(f"{orphan} image id(s) of {FINDING_TABLE} are not in {BREAST_TABLE}; ignored")
        return records
