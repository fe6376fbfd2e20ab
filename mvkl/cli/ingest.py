"""`mvkl ingest`: de-identify and downsample DICOM studies + tables into one HDF5 store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example


def _default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def parse_adapter_options(items: list[str] | None) -> dict[str, str]:
    """``["val_fraction=0.2", "birads3=unknown"]`` -> ``{"val_fraction": "0.2", "birads3": "unknown"}``.

    Keys are checked by the adapter (:func:`mvkl.sources.base.check_options`), not here.

    Raises:
        InputError: (exit 2) an item without ``=`` or with an empty key, or a key given twice.
    """
    from mvkl.errors import InputError

    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--adapter-option must be KEY=VALUE; got {item!r}", code="usage")
        if key in out:
            raise InputError(f"--adapter-option {key} given twice", code="usage")
        out[key] = value.strip()
    return out


def format_help() -> str:
    """``--format`` help: every registered adapter (:data:`mvkl.sources.ADAPTERS`), in order."""
    from mvkl.sources import ADAPTERS

    return "Source layout: " + ", ".join(ADAPTERS) + " (default: detected from SOURCE)."


def adapter_option_help() -> str:
    """``--adapter-option`` help: the keys each registered adapter accepts (its ``options_help``)."""
    from mvkl.sources import ADAPTERS

    keys = [f"{name}: {', '.join(opts)}" for name, a in ADAPTERS.items() if (opts := getattr(a, "options_help", {}))]
    return ("An option of the --format adapter, KEY=VALUE (repeat the option; unknown keys are refused)"
            + (f". Keys: {'; '.join(keys)}." if keys else "."))


SOURCE_HELP = ("Source folder in the MVKL release, CBIS-DDSM, INbreast or VinDr-Mammo layout (docs/ingest.md), "
               "or a manifest table (csv/tsv/xlsx/parquet, --format csv).")


def register(root: typer.Typer) -> None:
    """Add `mvkl ingest` to the root app."""

    @root.command(
        "ingest",
        epilog=example(
            "mvkl ingest demo-data/ --format mvkl --out demo.h5",
            "mvkl ingest demo-data/ --out demo.h5 --resume            # continue after a kill",
            "mvkl ingest batch2/ --out demo.h5 --append --json          # add a batch",
            "mvkl ingest lumps.csv --format csv --out mine.h5 --dataset mine --split 8:1:1",
            "mvkl ingest cbis/ --format cbis-ddsm --out cbis.h5",
            "mvkl ingest inbreast/ --format inbreast --out inbreast.h5 --seed 1",
            "mvkl ingest vindr/ --format vindr --out vindr.h5",
        ),
    )
    @command
    def ingest(
        source: Annotated[Path, typer.Argument(help=SOURCE_HELP)],
        out: Annotated[Path, typer.Option("--out", "-o", help="The HDF5 store to write.")],
        format: Annotated[str | None, typer.Option("--format", "-f", help=format_help())] = None,
        table: Annotated[list[Path] | None, typer.Option("--table", help="Table file(s) to read instead of "
                                                         "discovering them (repeat the option).")] = None,
        dataset: Annotated[str | None, typer.Option("--dataset", help="Pseudonym namespace of this data set "
                                                    "(default: the format name). Give independent data sets "
                                                    "different names; keep it for --append.")] = None,
        image_size: Annotated[int | None, typer.Option("--image-size", help="Stored image side (default 256).")
                              ] = None,
        pixel_dtype: Annotated[str | None, typer.Option("--pixel-dtype", help="uint8 (default) or uint16.")] = None,
        key_file: Annotated[Path | None, typer.Option("--key-file", help="Pseudonym key (default $MVKL_KEY_FILE or "
                                                      "~/.config/mvkl/pseudonym.key; created 0600 if absent). "
                                                      "Never stored.")] = None,
        split: Annotated[str, typer.Option("--split", help="train:val:test patient ratios for patients without "
                                           "a provided split.")] = "7:1:2",
        seed: Annotated[int, typer.Option("--seed", help="Seed of the split assignment and of the adapter's "
                                          "draws (validation patients of CBIS-DDSM and VinDr).")] = 0,
        adapter_option: Annotated[list[str] | None, typer.Option("--adapter-option", metavar="KEY=VALUE",
                                                                 help=adapter_option_help())] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted ingest of the same plan.")
                          ] = False,
        append: Annotated[bool, typer.Option("--append", help="Add SOURCE as new batch(es) to the existing store.")
                          ] = False,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing store and discard "
                                                "interrupted work.")] = False,
        strict: Annotated[bool, typer.Option("--strict", help="Exit 1 without writing the store if anything is "
                                             "quarantined.")] = False,
        workers: Annotated[int | None, typer.Option("--workers", "-j", help="Decoding processes (default "
                                                    "min(4, cores)).")] = None,
        allow_burned_in: Annotated[bool, typer.Option("--allow-burned-in", help="Keep images with "
                                                      "BurnedInAnnotation YES (pixels are not cleaned).")] = False,
        allow_for_processing: Annotated[bool, typer.Option("--allow-for-processing", help="Keep FOR PROCESSING "
                                                           "(raw detector) images.")] = False,
        allow_modality: Annotated[list[str] | None, typer.Option("--allow-modality", metavar="CODE[,CODE]",
                                                                 help="Also ingest images of these DICOM "
                                                                 "modalities (e.g. DX). By default only "
                                                                 "mammograms: Modality MG; without a Modality a "
                                                                 "mammography SOP class; without both, an image "
                                                                 "that looks like one. Others are quarantined "
                                                                 "not-mammogram.")] = None,
        max_megapixels: Annotated[float, typer.Option("--max-megapixels", help="Limit of an image's declared "
                                                      "frame size (rows x columns x frames), checked before "
                                                      "decoding; larger files are quarantined too-large.")
                                  ] = 1000.0,
        quarantine_report: Annotated[Path | None, typer.Option("--quarantine-report", help="Write a LOCAL JSON "
                                                               "listing quarantined items WITH source-relative "
                                                               "paths (may contain patient IDs; do not share).")
                                     ] = None,
        views: Annotated[str, typer.Option("--views", help="whole (default) or lesion[:CONTEXT]: one square "
                                           "crop per lump and view, CONTEXT (default 2.5) x the lesion's size, "
                                           "centred on its box; lumps without a box are quarantined.")
                         ] = "whole",
        lesion_min_mm: Annotated[float, typer.Option("--lesion-min-mm", help="Smallest side of a lesion view "
                                                     "in mm (from the pixel spacing).")] = 10.0,
        report_scrub: Annotated[str, typer.Option("--report-scrub", help="standard (default) or strict: strict "
                                                  "also drops every report sentence that still holds an "
                                                  "unrecognised proper-noun-like token.")] = "standard",
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """De-identify and downsample DICOM studies + tables into one HDF5 store.

        Tables are validated before any pixel is read (exit 2 listing every problem). Bad images
        are quarantined with a reason and the rest goes on. Nothing exists at --out until the store
        is complete; after a kill, --resume continues where it stopped. Only mammograms are
        stored: Modality MG, else a mammography SOP class, else an image that looks like one
        (others: not-mammogram; see --allow-modality). One run per store: a second ingest on the
        same --out (--overwrite included) exits 2 naming the running process (lock file
        STORE.h5.lock). --append skips images already in the store (same SOP Instance UID, else
        same pixels) and keeps the store's --dataset unless another is given. Memory: an image
        whose declared frame size exceeds --max-megapixels is quarantined too-large before
        decoding.
        """
        from mvkl.dicom.modality import parse_modalities
        from mvkl.fsutil import display_path
        from mvkl.ingest.pipeline import IngestOptions, run_ingest
        from mvkl.ingest.summary import render_summary
        from mvkl.splits import parse_ratios

        opts = IngestOptions(
            source=source, out=out, format=format, tables=list(table) if table else None, dataset=dataset,
            image_size=image_size, pixel_dtype=pixel_dtype, key_file=key_file, ratios=parse_ratios(split),
            seed=seed, adapter_options=parse_adapter_options(adapter_option),
            resume=resume, append=append, overwrite=overwrite, strict=strict,
            workers=workers if workers is not None else _default_workers(), allow_burned_in=allow_burned_in,
            allow_for_processing=allow_for_processing, allow_modalities=parse_modalities(allow_modality),
            max_megapixels=max_megapixels, quarantine_report=quarantine_report, quiet=quiet,
            views=views, lesion_min_mm=lesion_min_mm, report_scrub=report_scrub,
        )
        doc = run_ingest(opts)
        doc["store"] = display_path(out)
        emit(doc, json_out, lambda: render_summary(doc))
