"""`mvkl embed`: normalised embeddings of a store's images, reports or manifestations."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example

__all__ = ["register"]

_SKIP_REASON = {"image": "without an image", "text": "without a report", "manifest": "with no known manifestation"}


def _render(doc: dict[str, Any]) -> None:
    from mvkl.log import stdout_console

    con = stdout_console()
    con.print(f"[bold]{doc['output']}[/bold]: {doc['n']} {doc['modality']} embeddings of dimension {doc['dim']} "
              f"(unit vectors) from {doc['model']} on {doc['store']}, split {doc['split']} "
              f"({doc['format']}, {doc['seconds']:.1f} s)")
    if doc["n_skipped"]:
        con.print(f"{doc['n_skipped']} lump(s) {_SKIP_REASON[doc['modality']]} skipped")


def register(root: typer.Typer) -> None:
    """Add `mvkl embed` to the root app."""

    @root.command("embed", epilog=example("mvkl embed runs/vikl demo.h5 --modality image -o image_emb.h5",
                                          "mvkl embed runs/vikl demo.h5 --modality text --split test -o text.parquet"))
    @command
    def embed(
        model: Annotated[Path, typer.Argument(help="A pretrained ViKL model (run directory, vikl/ or vikl.pt).")],
        store: Annotated[Path, typer.Argument(help="An mvkl HDF5 store.")],
        output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .h5/.hdf5 (HDF5) or .parquet.")],
        modality: Annotated[str, typer.Option("--modality", "-m", help="image | text | manifest.")] = "image",
        split: Annotated[str, typer.Option("--split", help="train | val | test | all.")] = "all",
        batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Images/reports per forward pass.")] = 64,
        device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | cuda:N.")] = "auto",
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Write L2-normalised embeddings of the shared space (paper Sec. 5.7) with pseudonymous ids.

        Images: one row per stored image (lump and image ids, view, laterality, label, split).
        Text and manifestation: one row per lump that has one (the others are counted as skipped).
        The model runs in eval mode, so an embedding does not depend on its batch.
        """
        from mvkl.analysis.embed import _format_of, embed_store, model_input_size, write_embeddings
        from mvkl.errors import InputError
        from mvkl.evaluation.protocols.features import resolve_device
        from mvkl.fsutil import display_path
        from mvkl.models import load_vikl
        from mvkl.store import Store

        t0 = time.perf_counter()
        fmt = _format_of(output)
        if split not in ("train", "val", "test", "all"):
            raise InputError(f"--split must be train, val, test or all (got {split!r})", code="option")
        dev = resolve_device(device)
        net, tok, cfg = load_vikl(model)
        net.to(dev)
        with Store(store) as st:
            table = embed_store(net, tok, st, modality, split=None if split == "all" else split,
                                input_size=model_input_size(cfg, st), batch_size=batch_size)
            table.attrs.update({"model": display_path(model), "store": display_path(store)})
            write_embeddings(output, table)
        doc = {"output": display_path(output), "format": fmt, "modality": modality, "n": len(table),
               "dim": int(table.embedding.shape[1]), "n_skipped": table.n_skipped, "split": split,
               "model": display_path(model), "store": display_path(store),
               "seconds": round(time.perf_counter() - t0, 3)}
        emit(doc, json_out, lambda: _render(doc))
