"""`mvkl predict`: malignancy probabilities of new DICOM images from a fine-tuned classifier."""

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
    th = doc["threshold"]
    t = Table(title=f"{doc['model']}: P(malignant); malignant when p >= {th['threshold']:.4f} "
                    f"({th['name']}, {th['source']})")
    for col in ("input", "view", "p(malignant)", "call"):
        t.add_column(col, justify="right" if col == "p(malignant)" else "left",
                     overflow="fold" if col == "input" else "ellipsis")
    for r in doc["predictions"]:
        if r["status"] == "ok":
            t.add_row(r["input"], f"{r['view']} {r['laterality']}", f"{r['probability']:.4f}",
                      "[bold red]malignant[/bold red]" if r["malignant"] else "benign")
        else:
            t.add_row(r["input"], "", "", f"[yellow]quarantined[/yellow]: {r['reason']}"
                      + (f" ({r['detail']})" if r["detail"] else ""))
    con.print(t)
    c = doc["counts"]
    con.print(f"{c['ok']} of {c['inputs']} image(s) predicted, {c['quarantined']} quarantined"
              + (f", {c['skipped_non_dicom']} non-DICOM file(s) in folders skipped" if c["skipped_non_dicom"] else "")
              + ("" if doc["show_paths"] else f"; inputs named by position and a hash with the {doc['hash_key']}"))
    if doc.get("cam"):
        con.print(f"Grad-CAM: {doc['cam']['sheet']}")


def register(root: typer.Typer) -> None:
    """Add `mvkl predict` to the root app."""

    @root.command("predict", epilog=example(
        "mvkl predict results/ft/classifier new-study/",
        "mvkl predict results/ft/classifier a.dcm b.dcm --sensitivity 0.9 --cam cams/ --json"))
    @command
    def predict(
        model: Annotated[Path, typer.Argument(help="A fine-tuned classifier (mvkl eval --save-model: classifier/ "
                                              "or its results directory).")],
        inputs: Annotated[list[Path], typer.Argument(help="DICOM files and folders (searched recursively).")],
        threshold: Annotated[float | None, typer.Option("--threshold", help="Decision threshold (overrides the "
                                                        "stored operating point).")] = None,
        sensitivity: Annotated[float | None, typer.Option("--sensitivity", help="Use the stored operating point "
                                                          "with this validation sensitivity (e.g. 0.9).")] = None,
        operating_point: Annotated[str | None, typer.Option("--operating-point", help="Use a stored operating "
                                                            "point by name (youden, specificity_0.90, ...).")] = None,
        cam_dir: Annotated[Path | None, typer.Option("--cam", help="Also write Grad-CAM overlays (layer3) here.")]
        = None,
        show_paths: Annotated[bool, typer.Option("--show-paths", help="Print relative paths (they can identify "
                                                 "patients) instead of keyed hashes.")] = False,
        key_file: Annotated[Path | None, typer.Option("--key-file", help="Pseudonym key for the input hashes "
                                                      "(default: $MVKL_KEY_FILE or the ingest key).")] = None,
        image_size: Annotated[int | None, typer.Option("--image-size", help="Stored-image side of the pixel "
                                                       "pipeline (default: the classifier's training store).")] = None,
        batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Images per forward pass.")] = 16,
        device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | cuda:N.")] = "auto",
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Per-image malignant probability for new studies, with a decision at an operating point chosen
        on validation data and stored with the classifier.

        Pixels go through the ingest pipeline at the classifier's training-store size; only pixels, view
        and laterality are read from a file. Inputs are printed as their position and a short keyed hash
        (HMAC of the relative path with the pseudonym key), not their path: MVKL paths hold patient IDs;
        --show-paths prints them. Bad files are reported as quarantined with their reason. Exit 0 unless
        every input failed (1); bad options exit 2.
        """
        from mvkl.analysis.inputs import collect_dicom_files, input_hasher, load_dicom_inputs
        from mvkl.analysis.predict import choose_threshold, classify, pixel_size
        from mvkl.errors import InputError
        from mvkl.evaluation.protocols.classifier import load_classifier
        from mvkl.evaluation.protocols.features import resolve_device
        from mvkl.fsutil import display_path
        from mvkl.log import progress, stderr_console

        t0 = time.perf_counter()
        files, skipped = collect_dicom_files(inputs)
        dev = resolve_device(device)
        net, card = load_classifier(model, device=dev)
        th = choose_threshold(card, threshold=threshold, sensitivity=sensitivity, operating_point=operating_point)
        if not files:
            raise InputError("no DICOM file among the inputs", code="no-inputs")
        hasher, key_desc = input_hasher(key_file)
        size, dtype = pixel_size(card, image_size)
        input_size = int(card.get("image_size") or size)
        with progress(transient=True) as bar:
            task = bar.add_task("reading", total=len(files), rate="")
            items = load_dicom_inputs(files, size, pixel_dtype=dtype, hasher=hasher,
                                      on_item=lambda: bar.advance(task))
        ok = [it for it in items if it.ok]
        probs = classify(net, [it.pixels for it in ok], input_size=input_size, device=dev, batch_size=batch_size,
                         amp=dev.type == "cuda")
        pmap = dict(zip([it.position for it in ok], probs.tolist(), strict=True))
        rows = []
        for it in items:
            p = pmap.get(it.position)
            r: dict[str, Any] = {"index": it.position, "input": it.tag(show_paths), "key": it.key, "view": it.view,
                                 "laterality": it.laterality, "status": "ok" if it.ok else "quarantined",
                                 "reason": it.reason, "detail": it.detail, "probability": p,
                                 "malignant": None if p is None else bool(p >= th["threshold"])}
            if show_paths:
                r["name"] = it.name
            rows.append(r)
        doc: dict[str, Any] = {"model": display_path(model), "threshold": th, "predictions": rows,
                               "counts": {"inputs": len(items), "ok": len(ok), "quarantined": len(items) - len(ok),
                                          "skipped_non_dicom": skipped},
                               "pixels": {"image_size": size, "pixel_dtype": dtype, "input_size": input_size},
                               "hash_key": key_desc, "show_paths": show_paths,
                               "operating_points": card.get("operating_points") or {}}
        if cam_dir is not None and ok:
            from mvkl.analysis.gradcam import write_cams

            res = write_cams(net, ok, cam_dir, layer="layer3", input_size=input_size, device=dev,
                             batch_size=batch_size, probs=[pmap[it.position] for it in ok],
                             title=f"Grad-CAM at layer3 (malignant logit) · {display_path(model)}")
            doc["cam"] = {"sheet": display_path(cam_dir / res["sheet"]),
                          "overlays": [display_path(cam_dir / n) for n in res["overlays"]]}
        doc["seconds"] = round(time.perf_counter() - t0, 3)
        emit(doc, json_out, lambda: _render(doc))
        if not ok:
            stderr_console().print(f"[bold red]error[/bold red]: every input failed ({len(items)} quarantined)")
            raise typer.Exit(1)
