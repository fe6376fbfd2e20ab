"""`mvkl cam`: Grad-CAM overlays of a fine-tuned classifier (paper Sec. 5.9, Fig. 6)."""

from __future__ import annotations

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
        from mvkl.analysis.camrun import run_cam

        doc = run_cam(model, inputs, out, layer=layer, split=split, limit=limit, ids=ids, label=label,
                      save_arrays=save_arrays, show_paths=show_paths, key_file=key_file, image_size=image_size,
                      per_row=per_row, batch_size=batch_size, device=device, tolerance=tolerance)
        emit(doc, json_out, lambda: _render(doc))
