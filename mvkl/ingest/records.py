"""Common record types between the dataset adapters and the ingest pipeline (DESIGN.md data flow:
adapter -> records -> de-identify -> pixel pipeline -> HDF5 store).

An adapter turns one source layout (MVKL release, generic CSV manifest, CBIS-DDSM, INbreast,
VinDr) into a list of :class:`LumpRecord` plus the table-level :class:`~mvkl.errors.Problem` list
and the valid rows it leaves out on purpose (:class:`LeftOut`: they become quarantine entries).
Records still carry *raw* identifiers (patient/exam/lump keys, source-relative file paths): they
live in memory only. The pipeline replaces them with keyed pseudonyms before anything is written,
and never prints them: messages locate a record by :class:`RowRef` (table label + spreadsheet row).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from mvkl.errors import Problem
from mvkl.manifest.schema import DIM
from mvkl.quarantine import Reason

__all__ = ["LESION_KINDS", "VIEWS", "AdapterResult", "ImageRef", "LeftOut", "LumpRecord", "RowRef", "SourceInfo",
           "SourceLesion"]

#: The two views a lump may point at, in store order (``/lumps/cc``, ``/lumps/mlo``).
VIEWS: tuple[str, ...] = ("CC", "MLO")


@dataclass(frozen=True)
class RowRef:
    """Where a record comes from, fit for messages: a table *label* (never an absolute path; for
    MVKL an ordinal label such as ``batch-1/train`` because batch folders are dates) and the row
    as a spreadsheet shows it (header = row 1)."""

    table: str
    row: int

    def __str__(self) -> str:
        return f"{self.table} row {self.row}"


#: Lesion kinds a source may name (store attribute ``lesion_kinds``; index = stored code).
LESION_KINDS: tuple[str, ...] = ("mass", "calcification", "distortion", "asymmetry", "other", "unknown")


@dataclass(frozen=True)
class SourceLesion:
    """One annotated lesion on one source image, in the *source* pixel frame.

    Attributes:
        kind: one of :data:`LESION_KINDS` (``"unknown"`` when the source does not say).
        box: ``(xmin, ymin, xmax, ymax)`` in source pixel-edge coordinates (a pixel with index
            ``(r, c)`` covers ``[c, c + 1) x [r, r + 1)``), before crop, flip and resize.
        polygon: optional ``((x, y), ...)`` outline in the same frame (INbreast ROIs).
    """

    kind: str
    box: tuple[float, float, float, float]
    polygon: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in LESION_KINDS:
            raise ValueError(f"unknown lesion kind {self.kind!r}; expected one of {LESION_KINDS}")
        x0, y0, x1, y1 = self.box
        if not (x1 > x0 and y1 > y0):
            raise ValueError("a lesion box needs xmax > xmin and ymax > ymin")


@dataclass(frozen=True)
class ImageRef:
    """One image file named by a table.

    Attributes:
        path: the file on disk (``root / rel``); may not exist (quarantined ``missing-file``).
        rel: the path relative to the source root, POSIX style. It may contain identifiers (MVKL
            folders are patient IDs): it is used only as a pseudonym input and in the optional
            local quarantine report, never printed or stored.
        view: the view the table assigns (``"CC"``/``"MLO"``); the DICOM header decides what is
            stored, a disagreement is a warning.
        lesions: annotated lesions on this image in the source frame (empty: none known).
    """

    path: Path
    rel: str
    view: str
    lesions: tuple[SourceLesion, ...] = ()


@dataclass
class LumpRecord:
    """One lump (lesion) as a source describes it, before de-identification.

    Attributes:
        dataset: pseudonym namespace of the data set (``"mvkl"``, ``"csv"``, ...); part of every
            pseudonym input so that two data sets never collide.
        batch: raw batch key (an MVKL batch folder, a date); mapped to an ordinal ``batch-k``.
        patient_key, exam_key, lump_key: raw identifiers (never stored or printed).
        images: view -> :class:`ImageRef`; one view may be absent.
        laterality: ``"L"``, ``"R"`` or ``None`` when the table does not say (then the DICOM
            header decides).
        label: 1 malignant, 0 benign, -1 unknown.
        birads: ``"0"``..``"6"``, ``"4A"``..``"4C"`` or ``""``.
        density: 1-4 or -1.
        age: age in years from the table, or None (then the DICOM header's PatientAge is used).
        report: report text as the table holds it (already normalised: newlines removed,
            stripped); scrubbed by the pipeline.
        manifest, known: ``(35,)`` uint8 vector and known mask.
        split: split the source prescribes (``"train"``, ``"val"``, ``"test"``) or None.
        row: where the record comes from.
        identifiers: identifying cell values of the row (patient/study ids, names) used to scrub
            the report; never stored or printed.
        view_note: a non-identifying note about the view column (e.g. several files in a group).
    """

    dataset: str
    batch: str
    patient_key: str
    exam_key: str
    lump_key: str
    images: dict[str, ImageRef]
    laterality: str | None
    label: int
    birads: str
    density: int
    age: float | None
    report: str
    manifest: npt.NDArray[np.uint8]
    known: npt.NDArray[np.uint8]
    split: str | None
    row: RowRef
    identifiers: list[str] = field(default_factory=list)
    view_note: str = ""

    def __post_init__(self) -> None:
        self.manifest = np.asarray(self.manifest, dtype=np.uint8).reshape(DIM)
        self.known = np.asarray(self.known, dtype=np.uint8).reshape(DIM)
        bad = [v for v in self.images if v not in VIEWS]
        if bad:
            raise ValueError(f"unknown view {bad[0]!r}; expected one of {VIEWS}")
        if self.label not in (-1, 0, 1):
            raise ValueError(f"label must be -1, 0 or 1; got {self.label}")


@dataclass(frozen=True)
class LeftOut:
    """A valid table row an adapter does not turn into a record, on purpose (an image without a
    CC/MLO slot: :attr:`Reason.UNSUPPORTED_VIEW`; rows dropped so that a patient stays in one
    official split: :attr:`Reason.SPLIT_CONFLICT`). The ingest plan turns each into a quarantine
    entry located by table label, row and view, so that the summary accounts for every row.

    Attributes:
        row: where the row is (table label + spreadsheet row).
        view: the image's view (``"CC"``, ``"MLO"``, or the source's own code such as ``"FB"``), or
            None for a row that is not one image.
        reason: why it is left out.
        detail: a short identifier-free explanation (no cell values, ids, names or paths).
    """

    row: RowRef
    view: str | None
    reason: Reason
    detail: str = ""


@dataclass
class SourceInfo:
    """A non-identifying description of one batch of a source, stored in the ``sources`` attribute.

    ``batch`` is the raw batch key (used only to number batches); ``manifest_mapping`` says how
    manifestation columns were read (layout and dimension -> column letter), never cell values.
    """

    batch: str
    format: str
    dataset: str
    tables: int = 0
    manifest_mapping: dict[str, object] = field(default_factory=dict)


@dataclass
class AdapterResult:
    """What an adapter returns: records, table-level problems (any -> ingest refuses, exit 2),
    non-fatal warnings (already identifier-free), per-batch source descriptions, and the valid rows
    left out on purpose (quarantined by the plan, see :class:`LeftOut`)."""

    records: list[LumpRecord]
    problems: list[Problem]
    format: str
    dataset: str
    sources: list[SourceInfo] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
