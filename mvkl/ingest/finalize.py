"""Finalize an ingest: journal + plan -> lump and image tables, quarantine, summary, store.

Lumps are stored in unit order (the plan order); a lump whose every image was quarantined is
quarantined ``no-images``; a lump keeps its good view when the other is bad (pointer -1). With
``--append`` the existing store's lumps and images come first, unchanged, and the new batch is
added after them; the result is written as a new complete store and renamed atomically over the
old one (:func:`mvkl.ingest.writer.write_final`).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mvkl.errors import InputError, MvklError
from mvkl.fsutil import atomic_write_json, display_path
from mvkl.ingest.decode import age_bucket
from mvkl.ingest.lesions import LesionTable, parse_views, views_attr
from mvkl.ingest.plan import Plan, QuarantineEntry
from mvkl.ingest.records import VIEWS, AdapterResult
from mvkl.ingest.summary import build_summary
from mvkl.ingest.writer import SOURCE_KEY_PATH, WorkDir, write_final
from mvkl.quarantine import Reason

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from mvkl.ingest.pipeline import IngestOptions

__all__ = ["Existing", "deid_profile", "finalize", "read_existing", "split_history_entry", "split_policy_record"]

#: How a source provides splits when its adapter records no ``split_policy`` of its own.
_SOURCE_SPLITS = {"mvkl": "train/valid/test from the annotation table names",
                  "csv": "the manifest's split column (empty cells: assigned by mvkl)"}
_ASSIGNMENT = ("patients without a provided split assigned by largest deficit in a seeded hash order, "
               "stratified by patient label (malignant if any lump is, else benign if any, else unknown); "
               "stable under --append")


@dataclass
class Existing:
    """What ``--append`` needs from the store it extends."""

    lumps: set[str]
    splits: dict[str, int]
    labels: dict[str, int]
    attrs: dict[str, Any]
    n_images: int
    n_lumps: int
    stat: tuple[int, int]
    source_keys: set[str] = field(default_factory=set)  # keyed source identities of its images
    source_key_list: list[str] = field(default_factory=list)  # the same, in image row order ("" unknown)


def read_existing(out: Path, key_fp: str) -> Existing:
    from mvkl.splits import patient_labels
    from mvkl.store import Store

    with Store(out) as st:
        attrs = dict(st.info.attrs)
        if str(attrs.get("key_fingerprint", "")) != key_fp:
            raise InputError("--append: the store was written with another pseudonym key (key fingerprints "
                             "differ); use the same --key-file, or the same patients would get new pseudonyms",
                             file=display_path(out), code="key-mismatch")
        L = st.lumps
        lump_ids = {bytes(x).decode() for x in L["lump_id"]}
        pats = [bytes(x).decode() for x in L["patient_id"]]
        splits = {p: int(s) for p, s in zip(pats, L["split"], strict=True)}
        labels = patient_labels(zip(pats, (int(x) for x in L["label"]), strict=True))
        st_ = os.stat(out)
        keys = [""] * st.n_images
        ds = st.file.get(SOURCE_KEY_PATH)
        if ds is not None and len(ds) == st.n_images:
            keys = [x.decode() if isinstance(x, bytes) else str(x) for x in ds[()]]
        return Existing(lump_ids, splits, labels, attrs, st.n_images, st.n_lumps, (st_.st_size, st_.st_mtime_ns),
                        {k for k in keys if k}, keys)


def deid_profile(opts: IngestOptions, base: dict[str, Any]) -> dict[str, Any]:
    """The DICOM side's profile (:data:`mvkl.dicom.DEID_PROFILE`) plus the ingest options applied."""
    prof = dict(base)
    prof["ingest"] = {
        "allow_burned_in": opts.allow_burned_in,
        "allow_for_processing": opts.allow_for_processing,
        "report_scrub": opts.report_scrub,
        "allow_modalities": ["MG", *sorted(opts.allow_modalities)],
        "tables": "only schema fields are read from tables; identifying columns (ids, names) serve only to "
                  "scrub reports, other columns (remarks) are never read into the store",
        "age": "5-year bucket from the table or PatientAge; 90 and over merged",
        "batches": "ordinal labels (batch-1, ...); no folder or file name is stored",
        "ids": "patient/exam/lump/image pseudonyms keyed by the data set name and the raw id",
    }
    return prof


def split_history_entry(ratios: Any, seed: int, split_info: dict[str, Any]) -> dict[str, Any]:
    """One ingest's entry of ``split_policy.history``: how its new patients got their split
    (``method``), the plan's counts, and ``ratios``/``seed`` only when mvkl assigned a patient."""
    ways = [w for w, k in (("provided by the source", "patients_provided"), ("kept from the store",
                                                                           "patients_kept_from_store"),
                           ("assigned by mvkl", "patients_assigned")) if int(split_info.get(k, 0))]
    entry: dict[str, Any] = {"method": "; ".join(ways) or "no new patient"}
    if int(split_info.get("patients_assigned", 0)):
        entry.update(ratios=list(ratios), seed=int(seed))
    entry.update(split_info)
    return entry


def split_policy_record(previous: dict[str, Any] | None, entry: dict[str, Any],
                        source_policies: list[Any]) -> dict[str, Any]:
    """The store's ``split_policy`` attribute, true to how its splits were made.

    ``method`` is ``"provided by the source"`` when no ingest assigned a patient (MVKL release
    tables, CBIS-DDSM/VinDr official splits with the adapter's validation draw); then no ratios are
    recorded, only the source's own policy (``source_policy``). ``ratios``/``seed`` and
    ``assignment`` appear only when mvkl assigned splits (one pair, or ``"see history"`` when
    appended batches used different ones). ``history`` keeps one entry per ingest (append).
    Entries of stores written before ``method`` existed are read by their counts.
    """
    history = [*list((previous or {}).get("history") or []), entry]
    policies = [*list((previous or {}).get("source_policy") or []), *source_policies]
    seen: list[Any] = []
    for p in policies:
        if p not in seen:
            seen.append(p)
    provided = any(int(h.get("patients_provided", 0)) or int(h.get("provided_lumps", 0)) for h in history)
    assigning = [h for h in history if int(h.get("patients_assigned", 0))]
    method = ("provided by the source; other patients assigned by mvkl" if provided and assigning
              else "assigned by mvkl" if assigning else "provided by the source")
    rec: dict[str, Any] = {"unit": "patient", "method": method}
    if provided:
        rec["leakage_check"] = "provided splits kept after a check that no patient is in two splits"
        rec["source_policy"] = seen
    if assigning:
        pairs = {(tuple(h.get("ratios") or ()), h.get("seed")) for h in assigning}
        rec["assignment"] = _ASSIGNMENT
        if len(pairs) == 1:
            rec["ratios"], rec["seed"] = list(assigning[0].get("ratios") or []), assigning[0].get("seed")
        else:
            rec["ratios"] = rec["seed"] = "see history"
    rec["history"] = history
    return rec


def _source_policies(result: AdapterResult) -> list[Any]:
    out: list[Any] = []
    for src in result.sources:
        pol = (src.manifest_mapping or {}).get("split_policy")
        pol = pol if pol is not None else _SOURCE_SPLITS.get(src.format, f"provided by the {src.format} source")
        doc = {"format": src.format, "policy": pol}
        if doc not in out:
            out.append(doc)
    return out


def lesion_table(plan: Plan, kept: list[int], img_row: dict[int, int], img_meta: dict[int, dict[str, Any]],
                 size: int, base_lump: int) -> LesionTable:
    """The stored lumps' lesion boxes (the adapters' source boxes through each image's journal
    geometry: :mod:`mvkl.ingest.lesions`); ``kept`` in stored lump order."""
    table = LesionTable()
    for k, li in enumerate(kept):
        pl = plan.lumps[li]
        for view, i in pl.image.items():
            ref = pl.rec.images.get(view)
            if i in img_row and ref is not None and ref.lesions:
                table.add(ref.lesions, img_row[i], base_lump + k, img_meta[i], size)
    if table.dropped:
        log.warning("%d lesion box(es) lie wholly outside the stored breast crop; dropped", table.dropped)
    return table


def finalize(plan: Plan, work: WorkDir, opts: IngestOptions, existing: Existing | None, result: AdapterResult,
              size: int, dtype: str, key_fp: str, deid_base: dict[str, Any], fp: str) -> dict[str, Any]:
    from mvkl.store import schema as SC
    from mvkl.store.io import Store

    base_img = existing.n_images if existing else 0
    img_row: dict[int, int] = {}
    img_meta: dict[int, dict[str, Any]] = {}
    failed: dict[int, dict[str, Any]] = {}
    lump_entry: dict[int, dict[str, Any]] = {}
    order: list[int] = []
    by_image = 0
    for entry in work.units:
        for im in entry["images"]:
            if im["ok"]:
                img_row[im["i"]] = base_img + len(img_row)
                img_meta[im["i"]] = im
                if im.get("by_image"):
                    by_image += 1
            else:
                failed[im["i"]] = im
        for le in entry["lumps"]:
            lump_entry[le["l"]] = le
            order.append(le["l"])
    quarantined: list[QuarantineEntry] = list(plan.quarantined)
    warnings: collections.Counter[str] = collections.Counter()
    if by_image:
        warnings["no Modality and no mammography SOP class: taken as a mammogram from the image itself "
                 "(one channel, size, aspect, breast-shaped foreground)"] = by_image
    L: dict[str, list[Any]] = {k: [] for k in SC.LUMP_FIELDS}
    kept: list[int] = []
    spans_total = 0
    for li in order:
        pl = plan.lumps[li]
        rec = pl.rec
        ptr = {}
        for view in VIEWS:
            i = pl.image.get(view)
            if i is None:
                continue
            if i in failed:
                f = failed[i]
                quarantined.append(QuarantineEntry(rec.row.table, rec.row.row, view, Reason(f["reason"]),
                                                   f.get("detail", ""), plan.images[i].rel))
                continue
            ptr[view] = i
            hv = img_meta[i]["view"]
            if hv is not None and hv != view:
                warnings["view in the DICOM header differs from the table's view group"] += 1
        if not ptr:
            quarantined.append(QuarantineEntry(rec.row.table, rec.row.row, None, Reason.NO_IMAGES,
                                               "every image of the lump was quarantined"))
            continue
        kept.append(li)
        head_lat = next((img_meta[i]["lat"] for i in ptr.values() if img_meta[i]["lat"]), None)
        lat = rec.laterality or head_lat or "U"
        if rec.laterality and head_lat and rec.laterality != head_lat:
            warnings["laterality in the DICOM header differs from the table"] += 1
        if rec.age is not None:
            bucket = age_bucket(rec.age)
        else:
            bucket = next((img_meta[i]["age"] for i in ptr.values() if img_meta[i]["age"] >= 0), -1)
        le = lump_entry[li]
        spans_total += int(le["spans"])
        L["lump_id"].append(pl.lump_id.encode())
        L["patient_id"].append(pl.patient_id.encode())
        L["exam_id"].append(pl.exam_id.encode())
        L["cc"].append(img_row[ptr["CC"]] if "CC" in ptr else -1)
        L["mlo"].append(img_row[ptr["MLO"]] if "MLO" in ptr else -1)
        L["laterality"].append(SC.LATERALITY_CODES.index(lat))
        L["label"].append(rec.label)
        L["birads"].append(rec.birads.encode())
        L["density"].append(rec.density)
        L["age_bucket"].append(bucket)
        L["report"].append(le["report"])
        L["manifest"].append(rec.manifest * rec.known)
        L["manifest_known"].append(rec.known)
        L["split"].append(pl.split)
        L["source"].append(pl.source)
    # Images (only those kept lumps point at are guaranteed; every decoded image is kept).
    owner_lat: dict[int, str] = {}
    for li in kept:
        for i in plan.lumps[li].image.values():
            owner_lat.setdefault(i, plan.lumps[li].rec.laterality or "U")
    IM: dict[str, list[Any]] = {k: [] for k in SC.IMAGE_FIELDS if k not in ("split", "label")}
    src_keys: list[str] = list(existing.source_key_list) if existing else []
    for i in sorted(img_row, key=lambda k: img_row[k]):
        m = img_meta[i]
        im = plan.images[i]
        IM["image_id"].append(im.image_id.encode())
        IM["patient_id"].append(im.patient_id.encode())
        IM["view"].append(SC.VIEW_CODES.index(m["view"] or im.view))
        IM["laterality"].append(SC.LATERALITY_CODES.index(m["lat"] or owner_lat.get(i, "U")))
        IM["flipped"].append(m["flipped"])
        IM["pixel_spacing"].append([np.nan if x is None else x for x in m["spacing"]])
        IM["source_shape"].append(m["shape"])
        IM["crop_box"].append(m["crop"])
        IM["scale"].append(m["scale"])
        src_keys.append(str(m.get("src", "")))
    if len(img_row) != len({i for li in kept for i in plan.lumps[li].image.values() if i in img_row}):
        raise MvklError("internal error: a decoded image is not referenced by any stored lump")
    if not kept and not existing:
        raise MvklError("every lump was quarantined; nothing to store (see the summary with --json)")
    n_q = len(quarantined)
    quarantined.sort(key=lambda q: (q.table, q.row, q.view is None, q.view or ""))
    summary = build_summary(plan, result, quarantined, kept, L, len(img_row), spans_total, dict(warnings),
                            existing.n_lumps if existing else 0, existing.n_images if existing else 0)
    for w in summary["split_warnings"]:
        log.warning(w)
    if opts.quarantine_report:
        atomic_write_json(opts.quarantine_report, {
            "note": "LOCAL FILE FOR THE DATA STEWARD: contains source-relative paths, which may contain "
                    "patient identifiers. Do not share.",
            "quarantined": [q.to_dict(with_path=True) for q in quarantined]})
    if opts.strict and n_q:
        raise MvklError(f"--strict: {n_q} item(s) quarantined ("
                        + ", ".join(f"{k} {v}" for k, v in sorted(summary['quarantined_by_reason'].items()))
                        + "); no store written. Rerun with --resume without --strict to accept them")
    # Merge with the existing store.
    sources = list(existing.attrs.get("sources") or []) if existing else []
    for name, src in zip(plan.source_names, result.sources, strict=True):
        sources.append({"name": name, "format": src.format, "dataset": src.dataset, "tables": src.tables,
                        "manifest_mapping": src.manifest_mapping,
                        "lumps": int(sum(1 for s in L["source"] if s == len(sources)))})
    sp = split_policy_record(dict(existing.attrs.get("split_policy") or {}) if existing else None,
                             split_history_entry(opts.ratios, opts.seed, plan.split_info),
                             _source_policies(result) if plan.split_info.get("patients_provided") else [])
    # Claim PS3.15 option 113108 (Retain Patient Characteristics) only when an age is actually kept.
    from mvkl.dicom import deid_profile as dicom_deid_profile

    age_kept = any(int(b) >= 0 for b in L["age_bucket"])
    if deid_base.get("profile") == dicom_deid_profile(True).get("profile"):
        deid_base = dicom_deid_profile(age_kept=age_kept)
    attrs = {"deid": deid_profile(opts, deid_base), "sources": sources, "split_policy": sp,
             "key_fingerprint": key_fp, "views": views_attr(parse_views(opts.views)),
             "extra": {"ingest": {"plan_fingerprint": fp, "view_groups": "group 0 = CC, group 1 = MLO; "
                                  "first file of a group"}}}
    lumps_arr = {k: (np.array(v, dtype=object) if k == "report" else np.asarray(v)) for k, v in L.items()}
    for k in ("manifest", "manifest_known"):
        lumps_arr[k] = np.asarray(L[k], dtype=np.uint8).reshape(-1, 35)
    images_arr: dict[str, Any] = {k: np.asarray(v) for k, v in IM.items()}
    images_arr["pixel_spacing"] = np.asarray(IM["pixel_spacing"], dtype=np.float32).reshape(-1, 2)
    images_arr["source_shape"] = np.asarray(IM["source_shape"], dtype=np.int32).reshape(-1, 2)
    images_arr["crop_box"] = np.asarray(IM["crop_box"], dtype=np.int32).reshape(-1, 4)
    lesions = lesion_table(plan, kept, img_row, img_meta, size, existing.n_lumps if existing else 0)
    old_lesions = None
    parts: list[Any] = []
    with contextlib.ExitStack() as stack:
        if existing:
            st = stack.enter_context(Store(opts.out))
            old_l, old_i = st.lumps, st.images_meta
            for k in lumps_arr:
                old = old_l[k]
                lumps_arr[k] = (np.concatenate([old, lumps_arr[k]]) if len(lumps_arr[k]) else old)
            for k in images_arr:
                images_arr[k] = np.concatenate([old_i[k], images_arr[k]]) if len(images_arr[k]) else old_i[k]
            parts.append(st.file["images/pixels"])
            old_lesions = st.lesions()
        parts.append(work.pixels())
        summary["fingerprint"] = fp
        atomic_write_json(work.path / "summary.json", summary)  # before the rename: see pipeline._completed
        violations = write_final(Path(opts.out), work.path, lumps_arr, images_arr, parts, attrs, size, dtype,
                                 lesions=lesions.arrays(old_lesions), source_keys=src_keys)
    if violations:
        raise MvklError("the store breaks its contract (nothing written): " + "; ".join(violations))
    work.remove()
    return summary
