"""`mvkl cam`: Grad-CAM overlays of a fine-tuned classifier (paper Sec. 5.9, Fig. 6)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example

__all__ = ["register"]


def _render(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from mvkl.log import stdout_console

    con = stdout_console()
    t = Table(title=f"Grad-CAM of {doc['model']} at {doc['layer']} ({doc['source']})")
    boxes = doc.get("boxes")
    cols = ("input", "view", "label", "p(malignant)", *(("CAM in box", "peak in box") if boxes else ()), "overlay")
    for col in cols:
        t.add_column(col, justify="right" if col in ("p(malignant)", "CAM in box") else "left")
    for r in doc["images"]:
        p, e = r.get("probability"), r.get("cam_in_box")
        score = (("-" if e is None else f"{e:.1%}", {True: "hit", False: "miss"}.get(r.get("pointing_hit"), "-"))
                 if boxes else ())
        t.add_row(r["input"], f"{r['view']} {r['laterality']}", r.get("label") or "",
                  "-" if p is None else f"{p:.3f}", *score, r.get("overlay") or f"quarantined: {r['reason']}")
    con.print(t)
    if boxes:
        e, hr = boxes["energy_in_box_mean"], boxes["pointing_hit_rate"]
        con.print(f"lesion boxes: {boxes['images_with_box']} image(s); mean CAM energy in the box "
                  + ("-" if e is None else f"{e:.1%}") + "; pointing game "
                  + ("-" if hr is None else f"{boxes['pointing_hits']}/{boxes['images_with_box']} = {hr:.1%}")
                  + f" (tolerance {boxes['tolerance_px']:g} px)")
    con.print(f"contact sheet: {doc['sheet']}" + (f"; arrays: {doc['arrays']}" if doc.get("arrays") else ""))
    if doc.get("quarantined"):
        con.print(f"{doc['quarantined']} input(s) quarantined (see the table)")


def is_store(paths: list[Path]) -> bool:
    """One HDF5 file is a store input; anything else is DICOM files/folders."""
    if len(paths) != 1 or not paths[0].is_file():
        return False
    import h5py

    return bool(h5py.is_hdf5(paths[0]))


def register(root: typer.Typer) -> None:
    """Add `mvkl cam` to the root app."""

    @root.command("cam", epilog=example(
        "mvkl cam results/ft/classifier demo.h5 --split test --limit 12 -o cams/",
        "mvkl cam results/ft/classifier new-studies/ -o cams/ --save-arrays"))
    @command
    def cam(
        model: Annotated[Path, typer.Argument(help="A fine-tuned classifier (mvkl eval --save-model: classifier/ "
                                              "or its results directory).")],
        inputs: Annotated[list[Path], typer.Argument(help="An mvkl HDF5 store, or DICOM files and folders.")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder for the PNGs (created).")],
        layer: Annotated[str, typer.Option("--layer", help="Target layer of the ResNet trunk (paper: layer3).")] =
        "layer3",
        split: Annotated[str, typer.Option("--split", help="Store: train | val | test | all.")] = "test",
        limit: Annotated[int, typer.Option("--limit", min=1, help="Store: at most this many images.")] = 12,
        ids: Annotated[str | None, typer.Option("--ids", help="Store: comma-separated image or lump pseudonyms.")] =
        None,
        label: Annotated[str, typer.Option("--label", help="Store: all | malignant | benign.")] = "all",
        save_arrays: Annotated[bool, typer.Option("--save-arrays", help="Also write cam_arrays.npz (normalised "
                                                  "maps at the image's shape and the raw layer-resolution maps).")] =
        False,
        show_paths: Annotated[bool, typer.Option("--show-paths", help="DICOM: print relative paths (they can "
                                                 "identify patients) instead of keyed hashes.")] = False,
        key_file: Annotated[Path | None, typer.Option("--key-file", help="DICOM: pseudonym key for the input hashes "
                                                      "(default: $MVKL_KEY_FILE or the ingest key).")] = None,
        image_size: Annotated[int | None, typer.Option("--image-size", help="DICOM: stored-image side of the pixel "
                                                       "pipeline (default: the classifier's training store).")] = None,
        per_row: Annotated[int, typer.Option("--per-row", min=1, max=12, help="Images per band of the sheet.")] = 6,
        batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Images per forward pass.")] = 16,
        device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | cuda:N.")] = "auto",
        tolerance: Annotated[float, typer.Option("--pointing-tolerance", min=0.0, help="Store with lesion boxes: "
                                                 "the CAM's peak is a pointing-game hit within this many stored "
                                                 "pixels of a box.")] = 1.0,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Grad-CAM (Selvaraju et al.) of the malignant logit at a trunk layer, overlaid on each image.

        Writes cam_<n>_<key>.png per image (image | overlay) and cam_sheet.png (images above their
        overlays, as in Fig. 6). Heatmaps are upsampled to the stored image's shape and normalised per
        image. DICOM inputs go through the ingest pixel pipeline; they are named by position and a keyed
        hash, never by path (unless --show-paths).
        """
        from mvkl.analysis.gradcam import write_cams
        from mvkl.analysis.inputs import collect_dicom_files, input_hasher, load_dicom_inputs, select_store_images
        from mvkl.analysis.predict import classify, pixel_size
        from mvkl.errors import InputError
        from mvkl.evaluation.protocols.classifier import load_classifier
        from mvkl.evaluation.protocols.features import resolve_device
        from mvkl.fsutil import display_path
        from mvkl.store import Store

        t0 = time.perf_counter()
        if split not in ("train", "val", "test", "all"):
            raise InputError(f"--split must be train, val, test or all (got {split!r})", code="option")
        dev = resolve_device(device)
        net, card = load_classifier(model, device=dev)
        input_size = int(card.get("image_size") or 256)
        store_mode = is_store(inputs)
        if store_mode:
            with Store(inputs[0]) as st:
                items = select_store_images(st, split, label=label, limit=limit,
                                            ids=[s for s in ids.split(",") if s.strip()] if ids else None)
                les = st.lesions()
                boxes_of = ({int(r): les["box"][les["image"] == r] for r in set(les["image"].tolist())}
                            if len(les["image"]) else None)
            if not items:
                raise InputError(f"no image selected (split {split}, label {label})", file=display_path(inputs[0]),
                                 code="empty-selection")
            source = f"store {display_path(inputs[0])}, split {split}"
            skipped = 0
        else:
            if ids or label != "all":
                raise InputError("--ids and --label select images of a store, not DICOM files", code="option")
            files, skipped = collect_dicom_files(inputs)
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
                         boxes=None if boxes_of is None else [boxes_of.get(int(it.row)) for it in ok],  # type: ignore[arg-type]
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
        doc = {"model": display_path(model), "layer": layer, "source": source, "images": rows,
               "quarantined": sum(not it.ok for it in items), "skipped_non_dicom": skipped,
               "sheet": display_path(out / res["sheet"]), "boxes": res["boxes"],
               "arrays": display_path(out / res["arrays"]) if res["arrays"] else None,
               "seconds": round(time.perf_counter() - t0, 3)}
        emit(doc, json_out, lambda: _render(doc))
