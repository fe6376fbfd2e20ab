"""CBIS-DDSM: find the full-mammogram DICOM of a case-description row by its series
(spec/dicom.md §3.1; used by :mod:`mvkl.sources.cbis_ddsm`).

The CSV's ``image file path`` is ``<case>/<StudyUID>/<SeriesUID>/<file>``; downloads rename the
folders (NBIA: ``07-20-2016-DDSM-NA-74994/1.000000-full mammogram images-24515/1-1.dcm``), and a
case folder also holds ROI-mask series. Tried in order: the literal path (TCIA); NBIA
``metadata.csv`` (``Series UID`` -> ``File Location``); the series folder named after the UID;
a unique series folder described ``full mammogram images``; the DICOM headers of the case folder,
read with ``stop_before_pixels`` and ``specific_tags`` (SeriesInstanceUID, then
SeriesDescription). Never by walk order, and never decoding pixels.
"""

from __future__ import annotations

import re
from pathlib import Path

from mvkl.errors import InputError
from mvkl.sources.base import find_column, read_table

__all__ = ["FULL_DESCRIPTION", "SeriesResolver"]

FULL_DESCRIPTION = "full mammogram images"


class SeriesResolver:
    """Finds the full-mammogram DICOM of a CSV row by its series (module docstring).

    ``how`` counts the files found by each way, for the adapter's summary warning.
    """

    def __init__(self, source: Path) -> None:
        self.source = source
        self.roots = [r for r in (source / "CBIS-DDSM", source) if r.is_dir()] or [source]
        self._meta: dict[str, Path] | None = None
        self._headers: dict[Path, tuple[str, str]] = {}
        self.how: dict[str, int] = {}

    def _metadata(self) -> dict[str, Path]:
        if self._meta is not None:
            return self._meta
        self._meta = {}
        for meta in [self.source / "metadata.csv", *sorted(self.source.glob("*/metadata.csv"))]:
            if not meta.is_file():
                continue
            try:
                df = read_table(meta)
            except InputError:
                continue
            su, loc = find_column(df, ["Series UID", "SeriesInstanceUID"]), find_column(df, ["File Location"])
            if su is None or loc is None:
                continue
            for uid, where in zip(df.get_column(su).to_list(), df.get_column(loc).to_list(), strict=True):
                if uid and where:
                    rel = str(where).strip().replace("\\", "/")
                    rel = re.sub(r"^(\./)+", "", rel)
                    self._meta.setdefault(str(uid).strip(), meta.parent / rel)
        return self._meta

    @staticmethod
    def _dicoms(folder: Path) -> list[Path]:
        try:
            return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".dcm", ".dicom"))
        except OSError:
            return []

    def _header(self, p: Path) -> tuple[str, str]:
        if p not in self._headers:
            try:
                import pydicom

                ds = pydicom.dcmread(p, stop_before_pixels=True, force=True,
                                     specific_tags=["SeriesInstanceUID", "SeriesDescription"])
                self._headers[p] = (str(ds.get("SeriesInstanceUID", "")).strip(),
                                    str(ds.get("SeriesDescription", "")).strip().lower())
            except Exception:  # an unreadable candidate is simply not a match
                self._headers[p] = ("", "")
        return self._headers[p]

    def _one(self, folder: Path, how: str) -> Path | None:
        files = self._dicoms(folder)
        if files:
            self.how[how] = self.how.get(how, 0) + 1
            return files[0]
        return None

    def resolve(self, parts: list[str]) -> Path | None:
        case, series = parts[0], (parts[2] if len(parts) >= 3 else "")
        for root in self.roots:
            literal = root.joinpath(*parts)
            if literal.is_file():
                self.how["literal path"] = self.how.get("literal path", 0) + 1
                return literal
        if series:
            folder = self._metadata().get(series)
            if folder is not None and folder.is_dir() and (hit := self._one(folder, "metadata.csv")):
                return hit
        for root in self.roots:
            case_dir = root / case
            if not case_dir.is_dir():
                continue
            series_dirs = sorted(d for d in case_dir.glob("*/*") if d.is_dir())
            for d in series_dirs:
                if series and d.name == series and (hit := self._one(d, "series folder UID")):
                    return hit
            full = [d for d in series_dirs if FULL_DESCRIPTION in d.name.lower()]
            if len(full) == 1 and (hit := self._one(full[0], "series description (folder)")):
                return hit
            files = [f for d in series_dirs for f in self._dicoms(d)]
            by_uid = [f for f in files if series and self._header(f)[0] == series]
            by_desc = [f for f in files if self._header(f)[1] == FULL_DESCRIPTION]
            for hits, how in ((by_uid, "SeriesInstanceUID (header)"), (by_desc, "SeriesDescription (header)")):
                if len(hits) == 1:
                    self.how[how] = self.how.get(how, 0) + 1
                    return hits[0]
        return None
