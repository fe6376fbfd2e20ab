"""Data efficiency (paper Sec. 5.8, Fig. 5): fine-tuning on 20/40/60/80/100 % of the training split.

For every model and fraction ``f`` the protocol (paper: FT) is run on the seeded, stratified,
patient-aware subset of the training split (:func:`.subsets.fraction_subset`; nested across
fractions for one seed, different across seeds), with the full validation split for early
stopping and the full test split for the AUC. Cells are mean ± sample std over the seeds. The
released code used the first ``⌊f·N⌋`` rows instead (B35).

Outputs under ``OUT``: one ``mvkl eval`` results directory per cell (``<model>/f<fraction>/``),
``data-fraction.md`` (rows = models, columns = fractions), ``data-fraction.json`` and the Fig. 5
plot ``data-fraction.png``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mvkl.errors import InputError
from mvkl.evaluation.aggregate import format_pm, jsonable, markdown_table
from mvkl.evaluation.protocols.config import EvalConfig
from mvkl.fsutil import atomic_write_json, atomic_write_text, display_path

__all__ = ["DEFAULT_FRACTIONS", "render_fraction_table", "run_data_fraction"]

log = logging.getLogger(__name__)
DEFAULT_FRACTIONS = (0.2, 0.4, 0.6, 0.8, 1.0)


def run_data_fraction(models: Sequence[str], store: str | os.PathLike[str], cfg: EvalConfig, out: Path, *,
                      fractions: Sequence[float] = DEFAULT_FRACTIONS, arch: str = "resnet50",
                      image_weights: str | None = None, progress: Any = None) -> dict[str, Any]:
    """Run every (model, fraction) cell (module docstring); returns the JSON document."""
    from mvkl.evaluation.plots import plot_data_fraction
    from mvkl.evaluation.protocols.crossdataset import unique_names
    from mvkl.evaluation.protocols.data import load_task
    from mvkl.evaluation.protocols.runner import load_model, model_name, run_eval

    if not models:
        raise InputError("give at least one model (--models A,B)", code="option")
    fracs = sorted({float(f) for f in fractions})
    if not fracs or any(not 0.0 < f <= 1.0 for f in fracs):
        raise InputError(f"--fractions must lie in (0, 1] (got {list(fractions)})", code="option")
    task = load_task(store)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, spec in zip(unique_names([model_name(m) for m in models]), models, strict=True):
        encoder, card = load_model(spec, arch=arch, image_weights=image_weights)
        cells: dict[str, Any] = {}
        for f in fracs:
            res = run_eval((encoder, card), task, cfg.replace(fraction=f), out_dir=out / name / f"f{f:g}", name=name,
                           progress=progress)
            a = res.doc["aggregate"]
            cells[f"{f:g}"] = {"fraction": f, "mean": a["test.auc"]["mean"], "std": a["test.auc"]["std"],
                               "values": a["test.auc"]["values"],
                               "train_images": [r["train_images"] for r in res.doc["runs"]],
                               "results": str(Path(name) / f"f{f:g}")}
        rows.append({"model": name, "source": display_path(spec) if Path(spec).exists() else spec, "cells": cells})
    doc = {"bench": "data-fraction", "protocol": cfg.protocol, "setting": cfg.setting, "seeds": list(cfg.seeds),
           "fractions": fracs, "store": task.summary(), "rows": rows}
    doc["markdown"] = render_fraction_table(doc)
    plot_data_fraction({r["model"]: {c["fraction"]: (c["mean"], c["std"]) for c in r["cells"].values()}
                        for r in rows}, out / "data-fraction.png",
                       title=f"{cfg.protocol.upper()} with reduced training data on {task.path.stem}")
    atomic_write_text(out / "data-fraction.md", doc["markdown"])
    atomic_write_json(out / "data-fraction.json", jsonable(doc))
    return doc


def render_fraction_table(doc: dict[str, Any]) -> str:
    """Rows = models, columns = training fractions, test AUC (%) mean ± std; a last row gives the
    training images per fraction (mean over seeds)."""
    fr = [f"{f:g}" for f in doc["fractions"]]
    rows: list[dict[str, Any]] = []
    for r in doc["rows"]:
        rows.append({"model": r["model"], **{f: format_pm(r["cells"][f]["mean"], r["cells"][f]["std"]) for f in fr}})
    if doc["rows"]:
        first = doc["rows"][0]["cells"]
        rows.append({"model": "training images",
                     **{f: f"{sum(first[f]['train_images']) / len(first[f]['train_images']):.0f}" for f in fr}})
    head = (f"{doc['protocol'].upper()} on {doc['store']['name']} with a fraction of the training split "
            f"({doc['setting']} setting, {len(doc['seeds'])} seed(s); seeded stratified patient-aware subsets, "
            "nested across fractions): test AUC (%) mean ± std.\n\n")
    return head + markdown_table(rows, [("model", "model"), *[(f, f) for f in fr]], align={f: "right" for f in fr})
