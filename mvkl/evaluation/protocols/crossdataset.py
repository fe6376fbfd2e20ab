"""Cross-dataset evaluation (paper Sec. 5.5, Table 4): how well do representations transfer?

The paper's protocol, as implemented here:

* **rows** are pretraining sources. A model row is an encoder given on the command line (a ViKL
  run, an exported encoder, ``imagenet``, ...). A *supervised* row "supervised on X" (with
  ``--supervised-baselines``) is the paper's supervised pretraining: an encoder initialised from
  ImageNet (``--baseline-init``, paper: ImageNet; ``random`` possible) and **fine-tuned** (FT
  protocol, same setting) for benign/malignant classification on store X's training split, with
  early stopping on X's validation split. Its trunk (the best-validation seed 0 model) becomes the
  row's encoder and is exported to ``OUT/supervised-X/encoder`` (loadable by ``mvkl eval``).
* **columns** are evaluation stores. Cell (row, Y) = the downstream protocol (``--protocol``,
  paper: **LP**) trained on Y's training split, stopped/selected on Y's validation split and
  tested on Y's test split, over the seeds: mean ± sample std of the test AUC. The downstream
  phase always trains on the evaluation store's own labels, as the paper does for downstream
  evaluation; what transfers is the frozen (LP/LE) or initial (FT) representation.
* The table marks, like Table 4, the same-dataset cells of supervised rows in *italics* and the
  best cross-dataset cell of each column in **bold** (supervised rows on other stores and model
  rows).

Every cell is a full ``mvkl eval`` results directory under ``OUT/<row>/<column>/``; the table is
``OUT/cross-dataset.md`` and ``OUT/cross-dataset.json``.
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

__all__ = ["render_cross_table", "run_cross_dataset", "unique_names"]

log = logging.getLogger(__name__)


def unique_names(names: Sequence[str]) -> list[str]:
    """Names made unique by ``-2``, ``-3`` suffixes (two stores called ``demo.h5`` in two folders)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}-{seen[n]}")
    return out


def _supervised_encoder(init: str, task: Any, ft_cfg: EvalConfig, out: Path, *, arch: str,
                        image_weights: str | None, progress: Any) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Fine-tune ``init`` on ``task`` (seed 0) and return (encoder, card, summary)."""
    from mvkl.evaluation.protocols.runner import load_model, run_eval
    from mvkl.models import export_image_encoder

    encoder, card = load_model(init, arch=arch, image_weights=image_weights)
    res = run_eval((encoder, card), task, ft_cfg, out_dir=out / "pretrain", name=f"{init} → supervised on {task.name}",
                   keep_model=True, progress=progress)
    trunk = res.best_model.encoder
    source = {"kind": "supervised", "store": task.path.name, "store_fingerprint": res.doc["store"]["fingerprint"],
              "init": init, "protocol": "ft", "seed": 0, "setting": ft_cfg.setting}
    export_image_encoder(trunk, out / "encoder", {"image_size": res.doc["image_size"], "source": source})
    new_card = {"source": source, "image_size": res.doc["image_size"]}
    summary = {"val_auc": res.doc["runs"][0]["metrics"]["val"]["auc"],
               "test_auc": res.doc["runs"][0]["metrics"]["test"]["auc"], "encoder": str(Path(out.name) / "encoder")}
    return trunk, new_card, summary


def run_cross_dataset(models: Sequence[str], stores: Sequence[str | os.PathLike[str]], cfg: EvalConfig, out: Path, *,
                      supervised_baselines: bool = False, baseline_init: str = "imagenet",
                      ft_cfg: EvalConfig | None = None, arch: str = "resnet50", image_weights: str | None = None,
                      progress: Any = None) -> dict[str, Any]:
    """Run the Table 4 grid (module docstring) and write ``out/cross-dataset.{md,json}``."""
    from mvkl.evaluation.protocols.data import load_task
    from mvkl.evaluation.protocols.runner import load_model, model_name, run_eval

    if not stores:
        raise InputError("give at least one store (--stores X,Y)", code="option")
    if not models and not supervised_baselines:
        raise InputError("give --models and/or --supervised-baselines: no row to evaluate", code="option")
    if supervised_baselines and ft_cfg is None:
        raise ValueError("supervised baselines need the FT configuration")
    tasks = {}
    for name, s in zip(unique_names([Path(s).stem for s in stores]), stores, strict=True):
        tasks[name] = load_task(s)
    out.mkdir(parents=True, exist_ok=True)
    homes = list(tasks) if supervised_baselines else []
    names = unique_names([model_name(m) for m in models] + [f"supervised on {h}" for h in homes])
    plan = [(n, m, None) for n, m in zip(names, models, strict=False)] + \
        [(n, None, h) for n, h in zip(names[len(models):], homes, strict=True)]
    rows: list[dict[str, Any]] = []
    for row_name, spec, home in plan:
        safe = row_name.replace(" ", "-")
        sup = None
        if home is not None:
            log.info("supervised pretraining on %s (FT from %s)", home, baseline_init)
            encoder, card, sup = _supervised_encoder(baseline_init, tasks[home], ft_cfg, out / safe,  # type: ignore[arg-type]
                                                     arch=arch, image_weights=image_weights, progress=progress)
            source = f"{baseline_init}, FT on {home}"
        else:
            encoder, card = load_model(spec, arch=arch, image_weights=image_weights)  # type: ignore[arg-type]
            source = display_path(spec) if Path(spec).exists() else spec  # type: ignore[arg-type]
        cells: dict[str, Any] = {}
        for col, task in tasks.items():
            res = run_eval((encoder, card), task, cfg, out_dir=out / safe / col, name=row_name, progress=progress)
            a = res.doc["aggregate"]["test.auc"]
            cells[col] = {"mean": a["mean"], "std": a["std"], "n": a["n"], "values": a["values"],
                          "results": str(Path(safe) / col)}
        rows.append({"row": row_name, "kind": "model" if home is None else "supervised", "home": home,
                     "source": source, "supervised_pretraining": sup, "cells": cells})
    doc = {"bench": "cross-dataset", "protocol": cfg.protocol, "setting": cfg.setting, "seeds": list(cfg.seeds),
           "columns": list(tasks), "rows": rows, "baseline_init": baseline_init if supervised_baselines else None,
           "stores": {n: t.summary() for n, t in tasks.items()}}
    doc["markdown"] = render_cross_table(doc)
    atomic_write_text(out / "cross-dataset.md", doc["markdown"])
    atomic_write_json(out / "cross-dataset.json", jsonable(doc))
    return doc


def render_cross_table(doc: dict[str, Any]) -> str:
    """Table 4 layout: rows = pretraining sources, columns = evaluation stores, AUC mean ± std (%)."""
    cols = doc["columns"]
    best: dict[str, float] = {}
    for r in doc["rows"]:
        for c in cols:
            m = r["cells"][c]["mean"]
            if r["home"] != c and m is not None and m == m:
                best[c] = max(best.get(c, -1.0), m)
    table_rows = []
    for r in doc["rows"]:
        row = {"row": r["row"]}
        for c in cols:
            cell = r["cells"][c]
            text = format_pm(cell["mean"], cell["std"])
            if r["home"] == c:
                text = f"*{text}*"
            elif c in best and cell["mean"] == best[c] and len(doc["rows"]) > 1:
                text = f"**{text}**"
            row[c] = text
        table_rows.append(row)
    head = (f"Cross-dataset evaluation with the {doc['protocol'].upper()} protocol ({doc['setting']} setting, "
            f"{len(doc['seeds'])} seed(s)): test AUC (%) mean ± std. Columns: stores for downstream evaluation "
            "(trained on their train split, tested on their test split); rows: pretraining sources. Italics: "
            "same pretraining and evaluation store; bold: best cross-dataset result per column.\n\n")
    return head + markdown_table(table_rows, [("row", "pretraining ↓ / evaluation →"), *[(c, c) for c in cols]],
                                 align={c: "right" for c in cols})
