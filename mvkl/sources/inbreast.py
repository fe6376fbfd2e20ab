"""INbreast (Moreira et al. 2012; spec/dicom.md §3.2, method.md §2.9, bug B33): ``--format inbreast``.

::

    SOURCE/INbreast.xls  (or INbreast.xlsx, or INbreast.csv separated by ';')
    SOURCE/AllDICOMs/<File Name>_<patient hash>_MG_<L|R>_<CC|ML>_ANON.dcm
    SOURCE/AllXML/<File Name>.xml            (optional OsiriX plist ROIs: refine manifestations)
    SOURCE/MedicalReports/<name>.txt         (optional; <patient hash>.txt or <File Name>.txt)

* **One record per image** (a table row). The file is found by ``File Name`` (the 8-digit prefix);
  the 16-hex field of the file name is the patient key (it links a patient's views); ``ML`` in
  the file name means MLO. Table and file name must agree on side and view. ``FB`` (from below)
  images have no CC/MLO slot: they are left out and quarantined ``unsupported-view`` (table, row,
  view ``FB``).
* **Footer**: the trailing rows whose ``File Name`` is empty or not a number (the 2 rows of totals
  of the release) are skipped by content, never by count, so a table without them loses nothing.
* **Label** (paper; B33 fixed): BI-RADS parsed as text whatever the cell type (``4a``..``4c`` ->
  4A..4C, ``4.0`` -> 4): 1, 2, 3 -> benign (0); 4, 4A-4C, 5, 6 -> malignant (1); 0 or empty ->
  unknown (-1, never malignant); anything else is a table problem.
* **Split**: none is shipped; the pipeline assigns patients 7:1:2 (``--split``, ``--seed``,
  :mod:`mvkl.splits`), so both breasts and all views of a patient share a split.
* **Manifestations**: ``Distortion`` and ``Asymmetry`` flags (``X`` or empty) -> architectural
  distortion and focal asymmetrical density (known 0/1); ``Mass ``/``Micros`` are presence only
  (groups unknown). XML ROIs add: ``Spiculated Region`` (with the Mass flag) -> mass edge
  spiculated, ``Cluster`` -> calcification distribution clustered, ``Distortion``/``Asymmetry``.
* **Reports**: the patient's report text when shipped (scrubbed by the pipeline), else empty.
* **Unknown values**: the release writes ``removed`` in ``Patient ID`` and ``Patient age`` and
  leaves or space-pads other cells; in the fields it blanks (:data:`BLANKED`) any value that only
  means unknown (``removed``, ``-``, ``NA``, ``N/A``, ``unknown``, blank) is unknown, counted per
  column in ``manifest_mapping.unknown_values`` (shown by ``mvkl info``). ``Acquisition date`` is
  ``YYYYMM`` (``201001``; a number cell in the ``.xls``).
* **Lesions** (:mod:`mvkl.sources.inbreast_xml`): each ``AllXML`` ROI with points becomes a lesion
  of its image (box in source pixels, polygon kept; kind from the ROI name). A malformed XML (bad
  plist, a point that is not ``"(x, y)"``) is a warning naming the table and row (the XML of that
  row); the image is kept without boxes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mvkl.errors import InputError, Problem
from mvkl.fsutil import display_path
from mvkl.ingest.records import AdapterResult, ImageRef, LeftOut, LumpRecord, RowRef, SourceInfo, SourceLesion
from mvkl.quarantine import Reason
from mvkl.sources import mapping as MP
from mvkl.sources.base import (
    check_options,
    column_label,
    find_column,
    is_unknown,
    normalize_report,
    parse_age,
    parse_birads,
    parse_density,
    parse_laterality,
    read_table,
)
from mvkl.sources.inbreast_xml import parse_roi_names, parse_rois, roi_kind, roi_lesion

if TYPE_CHECKING:
    import polars as pl

__all__ = ["TABLE_NAMES", "InbreastAdapter", "birads_label", "parse_roi_names", "parse_rois", "roi_kind",
           "roi_lesion"]

TABLE_NAMES = ("INbreast.xls", "INbreast.xlsx", "INbreast.csv")
FILE_RE = re.compile(r"^(\d+)_([0-9a-fA-F]{16})_MG_([LR])_(CC|ML|MLO|FB)_ANON\.dcm$", re.IGNORECASE)
COLUMNS: dict[str, tuple[str, ...]] = {
    "patient_id": ("Patient ID",),  # "removed" in the release; never read beyond that
    "laterality": ("Laterality",),
    "age": ("Patient age",),
    "view": ("View",),
    "date": ("Acquisition date",),
    "file": ("File Name",),
    "acr": ("ACR",),
    "birads": ("Bi-Rads", "BIRADS", "BI-RADS"),
    "mass": ("Mass",),  # "Mass " (trailing space) in the release; find_column ignores it
    "micros": ("Micros",),
    "distortion": ("Distortion",),
    "asymmetry": ("Asymmetry",),
}
REQUIRED = ("laterality", "view", "file", "birads")
FLAGS = ("mass", "micros", "distortion", "asymmetry")
#: Fields the release blanks: a value that only means unknown there (``removed``, ``-``, ``NA``,
#: blank, ...: :func:`mvkl.sources.base.is_unknown`) is unknown, counted per column for ``mvkl info``.
BLANKED = ("patient_id", "age", "date", "acr", "birads")
_FLAG_FIELD = {"mass": "Mass", "micros": "Micros", "distortion": "Distortion", "asymmetry": "Asymmetry"}


def birads_label(birads: str) -> int:
    """Paper label from a parsed BI-RADS: 1-3 -> 0, 4*/5/6 -> 1, 0 or empty -> -1."""
    if birads in ("1", "2", "3"):
        return 0
    if birads and birads[0] in "456":
        return 1
    return -1


def _number(cell: str) -> str | None:
    """``"22678622"``/``"22678622.0"`` -> ``"22678622"``; anything else -> None."""
    m = re.fullmatch(r"(\d+)(?:\.0+)?", cell.strip())
    return m.group(1) if m else None


class InbreastAdapter:
    """INbreast table + ``AllDICOMs`` (``--format inbreast``)."""

    name = "inbreast"
    description = "INbreast: INbreast.xls/.csv + AllDICOMs (+ AllXML, MedicalReports)"
    options_help: ClassVar[Mapping[str, str]] = {}

    def detect(self, source: Path) -> bool:
        source = Path(source)
        return (source / "AllDICOMs").is_dir() and any((source / n).is_file() for n in TABLE_NAMES)

    def read(self, source: Path, tables: Sequence[Path] | None = None, dataset: str | None = None, *,
             seed: int = 0, options: Mapping[str, str] | None = None, first_batch: int = 1) -> AdapterResult:
        """Read and validate the table (:mod:`mvkl.sources.base` contract). INbreast ships no split:
        the pipeline assigns patients (``--split``, ``--seed``), so ``seed`` is unused here; no
        ``options`` are accepted. The table is labelled by file name (``first_batch`` unused)."""
        check_options(self.name, options, self.options_help)
        source = Path(source)
        if not source.is_dir():
            raise InputError("source folder not found", file=source.name, code="missing-file")
        if tables:
            path = Path(tables[0])
        else:
            hits = [source / n for n in TABLE_NAMES if (source / n).is_file()]
            if not hits:
                raise InputError("no INbreast table in the source (expected " + ", ".join(TABLE_NAMES)
                                 + "; or name it with --table)", file=source.name, code="layout")
            path = hits[0]
        dataset = dataset or self.name
        label = path.name
        try:
            df = read_table(path)
        except InputError as exc:
            return AdapterResult([], [Problem(display_path(path), None, None, exc.message, exc.code)],
                                 self.name, dataset)
        files, odd = self._index(source / "AllDICOMs")
        left_out: list[LeftOut] = []
        records, problems, warnings, stats = self._read_table(df, label, source, files, dataset, left_out)
        if odd:
            warnings.append(f"{odd} file(s) in AllDICOMs do not follow <File Name>_<hash>_MG_<L|R>_<CC|ML>_ANON.dcm"
                            " and were ignored")
        policies = {
            "label_policy": {"source": "Bi-Rads (parsed as text)", "benign": ["1", "2", "3"],
                             "malignant": ["4", "4A", "4B", "4C", "5", "6"], "unknown": ["0", "empty"]},
            "split_policy": {"official": None, "unit": "patient (16-hex file name field)",
                             "method": "assigned by the pipeline (--split, default 7:1:2; --seed)"},
            "table": {"footer_rows_skipped": stats["footer"], "xml_files_used": stats["xml"],
                      "reports_used": stats["reports"], "lesion_boxes": stats["boxes"]},
            "unknown_values": dict(sorted(stats["unknown"].items())),
        }
        src = SourceInfo("", self.name, dataset, 1, MP.mapping_document("inbreast", **policies))
        return AdapterResult(records, problems, self.name, dataset, [src], warnings, left_out)

    @staticmethod
    def _index(folder: Path) -> tuple[dict[str, tuple[Path, str, str, str]], int]:
        """File Name -> (path, patient hash, side, view) for every conforming DICOM file."""
        out: dict[str, tuple[Path, str, str, str]] = {}
        odd = 0
        if not folder.is_dir():
            return out, 0
        for p in sorted(folder.iterdir()):
            if not p.is_file() or p.name.startswith("."):
                continue
            m = FILE_RE.match(p.name)
            if m is None:
                odd += p.suffix.lower() == ".dcm"
                continue
            view = {"ML": "MLO", "MLO": "MLO", "CC": "CC", "FB": "FB"}[m.group(4).upper()]
            out.setdefault(m.group(1), (p, m.group(2).lower(), m.group(3).upper(), view))
        return out, odd

    def _read_table(self, df: pl.DataFrame, label: str, source: Path,
                    files: dict[str, tuple[Path, str, str, str]],
                    dataset: str, left_out: list[LeftOut]
                    ) -> tuple[list[LumpRecord], list[Problem], list[str], dict[str, Any]]:
        problems: list[Problem] = []
        warnings: list[str] = []
        stats: dict[str, Any] = {"footer": 0, "xml": 0, "reports": 0, "boxes": 0, "unknown": {}}
        cols = {k: find_column(df, names) for k, names in COLUMNS.items()}
        missing = [k for k in REQUIRED if cols[k] is None]
        for k in missing:
            problems.append(Problem(label, None, COLUMNS[k][0], "required column missing", "column-missing"))
        if missing:
            return [], problems, warnings, stats
        get = {k: df.get_column(c).to_list() for k, c in cols.items() if c is not None}

        def cell(key: str, r: int) -> str:
            v = get[key][r] if key in get else None
            return "" if v is None else str(v).strip()

        # Footer: trailing rows without a numeric File Name (totals), found by content.
        end = df.height
        while end > 0 and _number(cell("file", end - 1)) is None:
            end -= 1
        stats["footer"] = df.height - end
        reports = self._reports(source / "MedicalReports")
        records: list[LumpRecord] = []
        no_birads = 0
        seen: dict[str, int] = {}
        for r in range(end):
            row = r + 2
            if not any(cell(k, r) for k in get):
                continue
            n_before = len(problems)

            def bad(key: str, msg: str, code: str = "value", _row: int = row) -> None:
                problems.append(Problem(label, _row, column_label(df, cols[key]), msg, code))  # type: ignore[arg-type]

            for k in BLANKED:
                if cols[k] is not None and is_unknown(cell(k, r)):
                    stats["unknown"][cols[k]] = stats["unknown"].get(cols[k], 0) + 1

            fname = _number(cell("file", r))
            if fname is None:
                bad("file", "File Name must be the image's number (the prefix of its DICOM file name)",
                    "empty" if not cell("file", r) else "value")
            elif fname in seen:
                bad("file", f"File Name already listed in row {seen[fname]}", "duplicate-id")
            else:
                seen[fname] = row
            lat, ok = parse_laterality(cell("laterality", r))
            if not ok or lat is None:
                bad("laterality", "Laterality must be L or R")
            view = cell("view", r).upper()
            view = "MLO" if view == "ML" else view
            if view not in ("CC", "MLO", "FB"):
                bad("view", "View must be CC, MLO (ML) or FB")
            birads, ok = parse_birads(cell("birads", r))
            if not ok:
                bad("birads", "Bi-Rads must be 1, 2, 3, 4a, 4b, 4c, 5 or 6", "birads")
            density, ok = parse_density(cell("acr", r))
            if not ok:
                bad("acr", "ACR density must be 1-4")
            age, ok = parse_age(cell("age", r))
            if not ok:
                bad("age", "Patient age must be a number of years, or a value meaning unknown "
                    "(empty, removed, -, NA, N/A, unknown)")
            date = "" if is_unknown(cell("date", r)) else (_number(cell("date", r)) or "?")
            if len(date) not in (0, 6, 8):
                bad("date", "Acquisition date must be YYYYMM (or YYYYMMDD), or a value meaning unknown")
            flags: dict[str, bool] = {}
            for k in FLAGS:
                v = cell(k, r).upper()
                if v not in ("", "X"):
                    bad(k, "a finding flag must be X or empty")
                flags[k] = v == "X"
            hit = files.get(fname) if fname else None
            if hit is not None and lat and view in ("CC", "MLO", "FB") and (hit[2] != lat or hit[3] != view):
                bad("file", "the DICOM file name names another side or view than the row")
            if len(problems) > n_before:
                continue
            assert fname is not None and lat is not None
            if view == "FB":
                left_out.append(LeftOut(RowRef(label, row), "FB", Reason.UNSUPPORTED_VIEW,
                                        "FB (from below) view: no CC/MLO slot in the store"))
                continue
            no_birads += birads == ""
            if hit is not None:
                path, patient = hit[0], hit[1]
            else:  # missing file: the pipeline quarantines it (missing-file, this row)
                patient = f"file-{fname}"
                path = source / "AllDICOMs" / f"{fname}_MG_{lat}_{'ML' if view == 'MLO' else view}_ANON.dcm"
            vec, known, lesions = self._manifest(flags, cols, source / "AllXML" / f"{fname}.xml", label, row,
                                                 warnings)
            stats["xml"] += lesions is not None
            stats["boxes"] += len(lesions or ())
            report = reports.get(patient) or reports.get(fname) or ""
            stats["reports"] += bool(report)
            ref = ImageRef(path, path.relative_to(source).as_posix(), view, tuple(lesions or ()))
            records.append(LumpRecord(
                dataset=dataset, batch="", patient_key=patient, exam_key=f"{patient}\x1f{date}",
                lump_key=fname, images={view: ref},
                laterality=lat, label=birads_label(birads), birads=birads, density=density, age=age,
                report=report, manifest=vec, known=known, split=None, row=RowRef(label, row),
                identifiers=[fname, patient]))
        if no_birads:
            warnings.append(f"{no_birads} image(s) without Bi-Rads: label unknown (-1)")
        return records, problems, warnings, stats

    def _manifest(self, flags: dict[str, bool], cols: dict[str, str | None], xml: Path, label: str, row: int,
                  warnings: list[str]) -> tuple[Any, Any, list[SourceLesion] | None]:
        """The image's manifestation vector and known mask, and its XML lesions (None: no usable
        XML; a malformed plist is a warning naming the table and row (never the File Name), and the image
        is kept without boxes)."""
        pm = MP.PartialManifest()
        fm = MP.INBREAST_FLAGS
        for k in ("distortion", "asymmetry"):
            if cols[k] is None:
                continue
            t = fm.lookup(_FLAG_FIELD[k])
            assert t is not None and t.key is not None
            pm.describe_signs([t.key])
            if flags[k]:
                pm.set_sign(t.key)
        lesions: list[SourceLesion] | None = None
        if xml.is_file():
            try:
                rois = parse_rois(xml)
            except (OSError, ValueError) as exc:
                detail = str(exc) if str(exc).startswith("image ") else "not a readable plist"
                # The XML's name is the File Name (an identifier): the table row says which it is.
                warnings.append(f"{label} row {row}: its AllXML annotation is malformed ({detail}); "
                                "ignored, the image is kept without lesion boxes")
                rois = []
            else:
                lesions = [les for les in map(roi_lesion, rois) if les is not None]
            names = {r_.name for r_ in rois if r_.name}
            targets = []
            for n in sorted(names):
                t = MP.INBREAST_XML_ROIS.lookup(n)
                if t is None or (t.key == "mass_edge.spiculated" and not flags["mass"]):
                    continue
                targets.append(t)
            if targets:
                pm.add(MP.INBREAST_XML_ROIS, targets)
        vec, known = pm.result()
        return vec, known, lesions

    @staticmethod
    def _reports(folder: Path) -> dict[str, str]:
        """``MedicalReports/<stem>.txt`` -> normalised text, keyed by the lower-case stem."""
        out: dict[str, str] = {}
        if not folder.is_dir():
            return out
        for p in sorted(folder.glob("*.txt")):
            raw = p.read_bytes()
            for enc in ("utf-8-sig", "cp1252", "latin-1"):
                try:
                    text = raw.decode(enc)
                    break
                except UnicodeDecodeError:
                    continue
            # Portuguese free text: line breaks become spaces (not joined as in MVKL's Chinese reports).
            out[p.stem.strip().lower()] = normalize_report(" ".join(text.split()))
        return out
