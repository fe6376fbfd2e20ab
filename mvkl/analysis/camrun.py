"""Grad-CAM as a run (paper Sec. 5.8, Fig. 6): select the inputs (store images or DICOM files),
classify them, write the overlays and score them against the store's lesion boxes.

`mvkl cam` and the demo call :func:`run_cam`; :func:`mvkl.analysis.gradcam.write_cams` draws.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mvkl.errors import InputError
from mvkl.fsutil import display_path

__all__ = ["is_store", "run_cam"]


def is_store(paths: Sequence[Path]) -> bool:
    """One HDF5 file is a store input; anything else is DICOM files/folders."""
    if len(paths) != 1 or not Path(paths[0]).is_file():
        return False
    import h5py

    return bool(h5py.is_hdf5(paths[0]))


def _store_items(store: Path, split: str, label: str, limit: int | None, ids: str | None) -> tuple[list[Any], Any]:
    from mvkl.analysis.inputs import select_store_images
    from mvkl.store import Store

    with Store(store) as st:
        items = select_store_images(st, split, label=label, limit=limit,
                                    ids=[s for s in ids.split(",") if s.strip()] if ids else None)
        les = st.lesions()
        boxes_of = ({int(r): les["box"][les["image"] == r] for r in set(les["image"].tolist())}
                    if len(les["image"]) else None)
    if not items:
        raise InputError(f"no image selected (split {split}, label {label})", file=display_path(store),
                         code="empty-selection")
    return items, boxes_of


def run_cam(model: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
            layer: str = "layer3", split: str = "test", limit: int | None = 12, ids: str | None = None,
            label: str = "all", save_arrays: bool = False, show_paths: bool = False,
            key_file: str | os.PathLike[str] | None = None, image_size: int | None = None, per_row: int = 6,
            batch_size: int = 16, device: str = "auto", tolerance: float = 1.0) -> dict[str, Any]:
    """Grad-CAM of the malignant logit of a saved classifier (``mvkl eval --save-model``) on a store's
    images (``inputs`` = one HDF5 store; ``split``/``label``/``limit``/``ids`` select) or on DICOM
    files and folders (through the ingest pixel pipeline, named by position and keyed hash). Writes
    the overlays and ``cam_sheet.png`` into ``out``; returns the results document (per image:
    probability, overlay, and for a store with lesion boxes the CAM energy in the box and the
    pointing-game hit)."""
    from mvkl.analysis.gradcam import write_cams
    from mvkl.analysis.inputs import collect_dicom_files, input_hasher, load_dicom_inputs
    from mvkl.analysis.predict import classify, pixel_size
    from mvkl.evaluation.protocols.classifier import load_classifier
    from mvkl.evaluation.protocols.features import resolve_device

    t0 = time.perf_counter()
    paths = [Path(p) for p in inputs]
    out = Path(out)
    if split not in ("train", "val", "test", "all"):
        raise InputError(f"--split must be train, val, test or all (got {split!r})", code="option")
    dev = resolve_device(device)
    net, card = load_classifier(model, device=dev)
    input_size = int(card.get("image_size") or 256)
    store_mode = is_store(paths)
    skipped = 0
    if store_mode:
        items, boxes_of = _store_items(paths[0], split, label, limit, ids)
        source = f"store {display_path(paths[0])}, split {split}"
    else:
        if ids or label != "all":
            raise InputError("--ids and --label select images of a store, not DICOM files", code="option")
        files, skipped = collect_dicom_files(paths)
        if not files:
            raise InputError("no DICOM file among the inputs", code="no-inputs")
        hasher, _ = input_hasher(key_file)
        size, dtype = pixel_size(card, image_size)
        items = load_dicom_inputs(files, size, pixel_dtype=dtype, hasher=hasher)
        source = f"{len(files)} DICOM file(s)"
        boxes_of = None
    ok = [it for it in items if it.ok]
    if not ok:
        raise InputError("every input was quarantined: nothing to explain", code="all-quarantined")
    probs = classify(net, [it.pixels for it in ok], input_size=input_size, device=dev, batch_size=batch_size)
    pmap = dict(zip([it.position for it in ok], probs.tolist(), strict=True))
    res = write_cams(net, ok, out, layer=layer, input_size=input_size, device=dev, batch_size=batch_size,
                     probs=[pmap[it.position] for it in ok], save_arrays=save_arrays, per_row=per_row,
                     title=f"Grad-CAM at {layer} (malignant logit) · {display_path(model)}",
                     boxes=None if boxes_of is None else [boxes_of.get(int(it.row)) for it in ok],
                     tolerance=tolerance)
    bscore = dict(zip(res["positions"], res["box_scores"], strict=True))
    overlay = dict(zip(res["positions"], res["overlays"], strict=True))
    rows = []
    for it in items:
        r: dict[str, Any] = {"index": it.position, "input": it.tag(show_paths), "key": it.key, "view": it.view,
                             "laterality": it.laterality, "status": "ok" if it.ok else "quarantined",
                             "reason": it.reason, "detail": it.detail, "probability": pmap.get(it.position),
                             "overlay": display_path(out / overlay[it.position]) if it.ok else None}
        if store_mode:
            r["label"] = {1: "malignant", 0: "benign"}.get(it.label, "unknown")
            r["lump_id"] = it.lump_id
        if res["boxes"] is not None:
            b = bscore.get(it.position)
            r["cam_in_box"] = None if b is None else b.energy_in_box
            r["pointing_hit"] = None if b is None else b.hit
        if show_paths and not store_mode:
            r["name"] = it.name
        rows.append(r)
    return {"model": display_path(model), "layer": layer, "source": source, "images": rows,
            "quarantined": sum(not it.ok for it in items), "skipped_non_dicom": skipped,
            "sheet": display_path(out / res["sheet"]), "boxes": res["boxes"],
            "arrays": display_path(out / res["arrays"]) if res["arrays"] else None,
            "seconds": round(time.perf_counter() - t0, 3)}
