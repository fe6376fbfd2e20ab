"""`mvkl synth`: write realistic synthetic MVKL-like mammography studies (DICOM + tables)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example
from mvkl.errors import InputError


def _render(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from mvkl.log import stdout_console

    t = Table(title=f"Synthetic MVKL-like data in {doc['out_dir']}")
    t.add_column("item")
    t.add_column("value", justify="right")
    lab = doc["labels"]
    rows = [
        ("exams", doc["exams"]), ("patients", doc["patients"]), ("lumps", doc["lumps"]),
        ("images (DICOM files)", f"{doc['images']} ({doc['files']})"),
        ("malignant : benign", f"{lab['malignant']} : {lab['benign']}"),
        *((f"split {s}", f"{v['patients']} patients, {v['lumps']} lumps") for s, v in doc["splits"].items()),
        ("batches", ", ".join(doc["batches"])),
        ("report language", doc["lang"]),
        ("image size", f"{doc['image_size']} px"),
        ("hostile files", sum(doc["hostile"].values()) if doc["hostile"] else 0),
        ("lumps expected in a store", doc["lumps_expected_in_store"]),
        ("disk", f"{doc['bytes'] / 2**20:.1f} MiB"),
        ("seconds", doc["seconds"]),
    ]
    if doc.get("preview"):
        rows.append(("preview", doc["preview"]))
    for k, v in rows:
        t.add_row(k, str(v))
    stdout_console().print(t)


def register(root: typer.Typer) -> None:
    """Add `mvkl synth` to the root Typer app."""

    @root.command(
        "synth",
        epilog=example("mvkl synth demo-data/ --exams 60 --seed 0",
                       "mvkl synth demo-zh/ --lang zh --hostile --preview sheet.png --json",
                       "mvkl synth tiny/ --exams 12 --image-size 256"),
    )
    @command
    def synth(
        out_dir: Annotated[Path, typer.Argument(help="Output folder (created; must be empty).")],
        exams: Annotated[int, typer.Option("--exams", "-n", help="Number of exams (MVKL: 2671).")] = 60,
        seed: Annotated[int, typer.Option("--seed", help="Random seed; same options give identical bytes.")] = 0,
        lang: Annotated[str, typer.Option("--lang", help="Report language: en | zh.")] = "en",
        image_size: Annotated[int, typer.Option("--image-size", help="Long side of the images in px.")] = 1024,
        layout: Annotated[str, typer.Option("--layout", help="Folder/table layout: mvkl (release layout).")] = "mvkl",
        hostile: Annotated[bool, typer.Option("--hostile", help="Also plant bad files real archives contain "
                                                                "(truncated, not DICOM, RGB, ...).")] = False,
        preview: Annotated[Path | None, typer.Option("--preview", help="Write a contact sheet PNG "
                                                                       "(views and lump crops).")] = None,
        workers: Annotated[int | None, typer.Option("--workers", min=1,
                                                     help="Rendering processes (default: up to 4).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Replace a previous synth output folder.")] = False,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Write synthetic MVKL-like studies: 4-view MG DICOM exams, reports, manifestations, labels.

        Tables follow the MVKL release layout (annotation/{train,valid,test}_<batch>.xlsx; images under <batch>/<patient_id>/<study_id>/). synth_manifest.json records the seed, the hostile files and every planted identifier; all identifiers are fake.
        """  # noqa: E501
        from mvkl.log import progress
        from mvkl.synth import generate

        if preview is not None and preview.suffix.lower() != ".png":
            raise InputError("--preview must name a .png file", file=preview.name)
        with progress(transient=True, quiet=quiet) as bar:
            task = bar.add_task("rendering exams", total=exams, rate="")

            def on_exam(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            doc = generate(out_dir, exams=exams, seed=seed, lang=lang, image_size=image_size, hostile=hostile,
                           layout=layout, workers=workers, force=force, on_exam=on_exam)
        if preview is not None:
            from mvkl.fsutil import display_path
            from mvkl.synth.preview import write_preview

            write_preview(out_dir, preview)
            doc["preview"] = display_path(preview)
        emit(doc, json_out, lambda: _render(doc))
