"""The deterministic ingest plan: which lumps, which images, in which order, in which split.

Built from adapter records *before* any pixel is read, so that a run, a resumed run and a run
with another number of workers do the same work in the same order:

* records keep the adapter's order (batch, stage, table row);
* every raw identifier becomes a keyed pseudonym (``Pseudonymizer(kind, dataset + raw)``);
* an image file named by several lumps of one patient is decoded and stored once; a file named by
  lumps of two different patients is quarantined ``duplicate`` for the later lump;
* rows the adapter left out on purpose (:class:`~mvkl.ingest.records.LeftOut`: ``unsupported-view``,
  ``split-conflict``) are quarantined as they are;
* a named file that does not exist is quarantined ``missing-file``; a lump already in the store
  being appended to (same pseudonymous lump id) is quarantined ``duplicate``; a lump left without
  any image is quarantined ``no-images``;
* lumps sharing images form a *unit* (usually one lump with its CC and MLO images): the unit of
  work committed atomically to the journal (:mod:`mvkl.ingest.writer`);
* splits are assigned per patient (:mod:`mvkl.splits`) over the planned lumps.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mvkl.dicom.lesionview import LesionCrop
from mvkl.errors import ValidationFailed
from mvkl.ingest.lesions import union_box
from mvkl.ingest.records import VIEWS, AdapterResult, LumpRecord
from mvkl.quarantine import Reason
from mvkl.splits import assign_splits, leakage_problems, patient_labels
from mvkl.store.schema import SPLIT_NAMES, split_index

__all__ = ["Plan", "PlanImage", "PlanLump", "QuarantineEntry", "Unit", "build_plan"]

Pseudonym = Callable[[str, str], str]


@dataclass
class QuarantineEntry:
    """One quarantined item, located by table label + row + view (never a file name).

    ``rel`` (source-relative path) is kept only for the optional local quarantine report.
    """

    table: str
    row: int
    view: str | None
    reason: Reason
    detail: str = ""
    rel: str = ""

    def to_dict(self, with_path: bool = False) -> dict[str, object]:
        d: dict[str, object] = {"table": self.table, "row": self.row, "view": self.view,
                                "reason": self.reason.value, "detail": self.detail}
        if with_path:
            d["source_path"] = self.rel
        return d


@dataclass
class PlanImage:
    """An image to decode (plan order = pixel order in the store)."""

    path: Path
    rel: str
    view: str
    image_id: str
    patient_id: str
    size: int
    mtime_ns: int
    lesion: LesionCrop | None = None  # lesion views: where to cut (mvkl.dicom.lesionview)


@dataclass
class PlanLump:
    """A lump to store: pseudonyms, its images (view -> plan image index), split and source."""

    rec: LumpRecord
    lump_id: str
    patient_id: str
    exam_id: str
    split: int
    source: int
    image: dict[str, int] = field(default_factory=dict)


@dataclass
class Unit:
    """Images (a contiguous range of plan image indices) and the lumps that complete with them."""

    images: list[int]
    lumps: list[int]


@dataclass
class Plan:
    images: list[PlanImage]
    lumps: list[PlanLump]
    units: list[Unit]
    quarantined: list[QuarantineEntry]
    split_info: dict[str, object]
    source_names: list[str]


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    import stat as _st

    return (st.st_size, st.st_mtime_ns) if _st.S_ISREG(st.st_mode) else None


def build_plan(
    result: AdapterResult,
    pseudonym: Pseudonym,
    *,
    ratios: tuple[float, float, float],
    seed: int,
    existing_lumps: set[str] | None = None,
    existing_splits: Mapping[str, int] | None = None,
    existing_labels: Mapping[str, int] | None = None,
    n_existing_sources: int = 0,
    lesion_views: tuple[float, float] | None = None,
) -> Plan:
    """Build the plan (see the module docstring).

    Args:
        result: the adapter's records (already validated: no table problems).
        pseudonym: ``(kind, raw) -> 16 hex`` keyed pseudonym function.
        existing_lumps / existing_splits / existing_labels: lump ids, patient splits and patient
            labels of the store being appended to.
        n_existing_sources: number of sources already in that store (batches are numbered on).

    Raises:
        ValidationFailed: a patient appears in two splits (provided splits, or a provided split
            that differs from the existing store's).
    """
    existing_lumps = existing_lumps or set()
    existing_splits = dict(existing_splits or {})
    batches = [s.batch for s in result.sources]
    src_index = {b: n_existing_sources + i for i, b in enumerate(batches)}
    source_names = [f"batch-{n_existing_sources + i + 1}" for i in range(len(batches))]

    def pid_of(rec: LumpRecord) -> str:
        return pseudonym("patient", f"{rec.dataset}\x1f{rec.patient_key}")

    # Leakage check over every record with a provided split, and against the existing store.
    rows: list[tuple[str, int, str, int | None]] = []
    for rec in result.records:
        if rec.split is not None:
            p = pid_of(rec)
            rows.append((p, split_index(rec.split), rec.row.table, rec.row.row))
            if p in existing_splits:
                rows.append((p, existing_splits[p], "existing store", None))
    leaks = leakage_problems(rows)
    if leaks:
        raise ValidationFailed(leaks, f"{len(leaks)} patient(s) found in more than one split; "
                                      "no patient may be shared between train, val and test")

    quarantined = [QuarantineEntry(lo.row.table, lo.row.row, lo.view, Reason(lo.reason), lo.detail)
                   for lo in result.left_out]
    images: list[PlanImage] = []
    image_of_path: dict[str, int] = {}
    lumps: list[PlanLump] = []
    seen_lumps: set[str] = set()
    for rec in result.records:
        patient = pid_of(rec)
        lump_id = pseudonym("lump", f"{rec.dataset}\x1f{rec.patient_key}\x1f{rec.exam_key}\x1f{rec.lump_key}")
        if lump_id in existing_lumps or lump_id in seen_lumps:
            quarantined.append(QuarantineEntry(rec.row.table, rec.row.row, None, Reason.DUPLICATE,
                                               "lump already in the store" if lump_id in existing_lumps
                                               else "lump listed twice"))
            continue
        seen_lumps.add(lump_id)
        pl = PlanLump(rec, lump_id, patient, pseudonym("exam", f"{rec.dataset}\x1f{rec.exam_key}"),
                      -1, src_index.get(rec.batch, n_existing_sources))
        no_location = 0
        for view in VIEWS:
            ref = rec.images.get(view)
            if ref is None:
                continue
            st = _stat(ref.path)
            if st is None:
                quarantined.append(QuarantineEntry(rec.row.table, rec.row.row, view, Reason.MISSING_FILE,
                                                   "file named in the table not found", ref.rel))
                continue
            key = str(ref.path.resolve())
            crop = None
            if lesion_views is not None:  # one lesion view per lump and view, never a centre crop
                if not ref.lesions:
                    quarantined.append(QuarantineEntry(rec.row.table, rec.row.row, view, Reason.NO_LESION_LOCATION,
                                                       "no lesion location for this view", ref.rel))
                    no_location += 1
                    continue
                crop = LesionCrop(union_box(ref.lesions), *lesion_views)
                key += "\x1f" + lump_id
            if key in image_of_path:
                idx = image_of_path[key]
                if images[idx].patient_id != patient:
                    quarantined.append(QuarantineEntry(rec.row.table, rec.row.row, view, Reason.DUPLICATE,
                                                       "image already used by another patient's lump", ref.rel))
                    continue
                pl.image[view] = idx
                continue
            image_of_path[key] = len(images)
            pl.image[view] = len(images)
            image_key = f"{rec.dataset}\x1f{ref.rel}" + ("" if crop is None else f"\x1f{lump_id}")
            images.append(PlanImage(ref.path, ref.rel, view, pseudonym("image", image_key), patient, st[0], st[1],
                                    crop))
        if not pl.image:
            if no_location:
                quarantined.append(QuarantineEntry(rec.row.table, rec.row.row, None, Reason.NO_LESION_LOCATION,
                                                   "lesion views: no view of this lump has a lesion location"))
            else:
                quarantined.append(QuarantineEntry(rec.row.table, rec.row.row, None, Reason.NO_IMAGES,
                                                   "no readable image for this lump"))
            continue
        lumps.append(pl)

    # Units: connected components of lumps sharing images, ordered by first lump; images
    # renumbered so that each unit's images are contiguous (plan order = store order).
    parent = list(range(len(lumps)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for li, pl in enumerate(lumps):
        for idx in pl.image.values():
            if idx in owner:
                a, b = find(owner[idx]), find(li)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[idx] = li
    groups: dict[int, list[int]] = {}
    for li in range(len(lumps)):
        groups.setdefault(find(li), []).append(li)
    new_index: dict[int, int] = {}
    units: list[Unit] = []
    for root in sorted(groups):
        unit_imgs: list[int] = []
        for li in groups[root]:
            for view in VIEWS:
                old = lumps[li].image.get(view)
                if old is not None and old not in new_index:
                    new_index[old] = len(new_index)
                    unit_imgs.append(new_index[old])
        units.append(Unit(unit_imgs, groups[root]))
    ordered = [PlanImage(**vars(images[old])) for old, _ in sorted(new_index.items(), key=lambda kv: kv[1])]
    for pl in lumps:
        pl.image = {v: new_index[i] for v, i in pl.image.items()}

    # Splits: fixed = existing store + provided; the rest assigned (seeded, stratified, stable).
    labels = patient_labels([*((p, lab) for p, lab in (existing_labels or {}).items()),
                             *((pl.patient_id, pl.rec.label) for pl in lumps)])
    fixed = dict(existing_splits)
    n_provided = 0
    for pl in lumps:
        if pl.rec.split is not None and pl.patient_id not in fixed:
            fixed[pl.patient_id] = split_index(pl.rec.split)
        if pl.rec.split is not None:
            n_provided += 1
    assignment = assign_splits(labels, ratios, seed, fixed)
    for pl in lumps:
        pl.split = assignment.split[pl.patient_id]
    new_patients = {pl.patient_id for pl in lumps}
    provided_patients = {pl.patient_id for pl in lumps if pl.rec.split is not None}
    split_info = {
        "provided_lumps": n_provided,
        "patients_new": len(new_patients - set(existing_splits)),
        "patients_provided": len(provided_patients - set(existing_splits)),
        "patients_assigned": len(new_patients - set(fixed)),
        "patients_kept_from_store": len(new_patients & set(existing_splits)),
        "patients_per_split_by_label": {
            {1: "malignant", 0: "benign", -1: "unknown"}[k]: dict(zip(SPLIT_NAMES, v, strict=True))
            for k, v in sorted(assignment.counts.items(), reverse=True)},
    }
    return Plan(ordered, lumps, units, quarantined, split_info, source_names)
