"""`mvkl represent`: alignment and uniformity of the embedding space (paper Sec. 5.11, Fig. 8)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example

__all__ = ["register"]


def _render(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from mvkl.analysis.representation.run import summary_rows
    from mvkl.log import stdout_console

    con = stdout_console()
    for m in doc["models"]:
        t = Table(title=f"{m['model']}: {m['embed_dim']}-d embeddings of the {m['split']} split (lower is better)")
        for col in ("metric", "positive pairs / modality", "value", "n"):
            t.add_column(col, justify="right" if col in ("value", "n") else "left")
        for metric, what, value, n in summary_rows(m):
            t.add_row(metric, what, "-" if value is None else f"{0.0 if abs(value) < 5e-5 else value:.4f}", str(n))
        t.caption = "alignment = E‖f(x) − f(y)‖² over positive pairs; uniformity = log E exp(−2‖f(x) − f(y)‖²)"
        con.print(t)
    fig = doc.get("figure")
    if fig:
        con.print(f"figure: {fig['path']} ({fig['kind']})")
    elif doc.get("figure_note"):
        con.print(doc["figure_note"])


def register(root: typer.Typer) -> None:
    """Add `mvkl represent` to the root app."""

    @root.command("represent", epilog=example(
        "mvkl represent runs/vikl-2d demo.h5 -o results/represent",
        "mvkl represent runs/vikl demo.h5 --compare runs/vikl-r --project pca -o results/represent --json"))
    @command
    def represent(
        model: Annotated[Path, typer.Argument(help="A pretrained ViKL model (run directory, vikl/ or vikl.pt).")],
        store: Annotated[Path, typer.Argument(help="An mvkl HDF5 store.")],
        compare: Annotated[list[Path] | None, typer.Option("--compare", help="Another ViKL model to put next to "
                                                           "it (repeatable).")] = None,
        split: Annotated[str, typer.Option("--split", help="train | val | test.")] = "test",
        pairs: Annotated[str, typer.Option("--pairs", help="Positive pairs of the figure's distance histogram: "
                                           "cc-mlo | image-text | image-manifest.")] = "cc-mlo",
        project: Annotated[str | None, typer.Option("--project", help="Draw wider-than-2-d embeddings through a "
                                                    "2-D projection: pca (labelled as a projection).")] = None,
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for represent.json and "
                                                 "alignment_uniformity.png.")] = None,
        batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Images/reports per forward pass.")] = 64,
        device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | cuda:N.")] = "auto",
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Alignment and uniformity (Wang & Isola) of a ViKL embedding space on the test split.

        Alignment over positive pairs image–report, image–manifestation and CC–MLO; uniformity of the
        images, reports and manifestations. With a 2-D projector (pretrain --embed-dim 2) the Fig. 8
        panels are drawn (distance histogram, planar Gaussian KDE, angular von Mises KDE, all /
        benign / malignant); a 128-d model gets the scalar metrics, and a figure only with
        --project pca, labelled as a projection.
        """
        from mvkl.analysis.embed import model_input_size
        from mvkl.analysis.representation.run import PAIR_KINDS, figure_spec, pair_label
        from mvkl.analysis.representation.run import represent as run_represent
        from mvkl.errors import InputError
        from mvkl.evaluation.aggregate import jsonable
        from mvkl.evaluation.protocols.features import resolve_device
        from mvkl.fsutil import atomic_write_json, display_path
        from mvkl.models import load_vikl
        from mvkl.store import Store

        t0 = time.perf_counter()
        if split not in ("train", "val", "test"):
            raise InputError(f"--split must be train, val or test (got {split!r})", code="option")
        if pairs not in PAIR_KINDS:
            raise InputError(f"--pairs must be one of {', '.join(PAIR_KINDS)} (got {pairs!r})", code="option")
        if project not in (None, "pca"):
            raise InputError(f"--project must be pca (got {project!r})", code="option")
        dev = resolve_device(device)
        docs, specs, projected = [], {}, False
        with Store(store) as st:
            for path in [model, *(compare or [])]:
                net, tok, cfg = load_vikl(path)
                net.to(dev)
                d = run_represent(net, tok, st, split=split, input_size=model_input_size(cfg, st),
                                  batch_size=batch_size)
                name = display_path(path)
                spec = figure_spec(d, pairs, project)
                if spec is not None:
                    projected |= d["embed_dim"] != 2
                    short = Path(name).name if len(name) > 24 else name
                    label = (f"{short} · 2-d embeddings" if d["embed_dim"] == 2 else f"{short} · PCA 2-D "
                             f"projection\nof {d['embed_dim']}-d embeddings\n(not the model's own space)")
                    specs[f"{label}\nhistogram: {pair_label(pairs)} pairs"] = spec
                d.pop("_arrays")
                docs.append({"model": name, **d})
        doc: dict[str, Any] = {"store": display_path(store), "split": split, "models": docs, "pairs": pairs,
                               "project": project}
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            if specs:
                from mvkl.evaluation.plots import plot_alignment_uniformity

                png = plot_alignment_uniformity(specs, out / "alignment_uniformity.png")
                doc["figure"] = {"path": display_path(png),
                                 "kind": "includes PCA projections" if projected else "2-D embeddings"}
            doc["seconds"] = round(time.perf_counter() - t0, 3)
            atomic_write_json(out / "represent.json", jsonable(doc))
        if not specs:
            doc["figure_note"] = ("no figure: the embeddings are wider than 2-d; pretrain with --embed-dim 2 for "
                                  "Fig. 8, or pass --project pca for a labelled projection")
        elif out is None:
            doc["figure_note"] = "pass -o DIR to write the figure"
        doc["seconds"] = round(time.perf_counter() - t0, 3)
        emit(doc, json_out, lambda: _render(doc))
