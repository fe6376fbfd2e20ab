"""Retrieval on a store as a run: embed, retrieve, write the result files (paper Sec. 5.7, Fig. 4,
Table 8). The CLI (`mvkl retrieve`) and the demo call :func:`run_retrieval`."""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.fsutil import atomic_write_json, atomic_write_text, display_path

__all__ = ["run_retrieval", "write_manifest_estimation", "write_report_retrieval"]


def run_retrieval(model: str | os.PathLike[str], store: str | os.PathLike[str], *, task: str = "report",
                  split: str = "test", key_split: str = "train", t_distance: float = 0.4,
                  t_cls: Sequence[float] = (0.15,), empty: str = "nearest", batch_size: int = 64,
                  device: str = "auto", out: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Image → report retrieval (``task="report"``: BI-RADS confusion of the nearest ``key_split``
    report, recall@k) or manifestation estimation (``task="manifest"``: Table 8) of a ViKL run on a
    store; writes the result files into ``out`` when given. Returns the results document."""
    from mvkl.analysis.embed import model_input_size
    from mvkl.analysis.retrieval.run import manifest_estimation, report_retrieval
    from mvkl.errors import InputError
    from mvkl.evaluation.protocols.features import resolve_device
    from mvkl.models import load_vikl
    from mvkl.store import Store

    t0 = time.perf_counter()
    for name, s in (("--split", split), ("--key-split", key_split)):
        if s not in ("train", "val", "test"):
            raise InputError(f"{name} must be train, val or test (got {s!r})", code="option")
    if task not in ("report", "manifest"):
        raise InputError(f"--task must be report or manifest (got {task!r})", code="option")
    if empty not in ("nearest", "prior", "zeros"):
        raise InputError(f"--empty must be nearest, prior or zeros (got {empty!r})", code="option")
    dev = resolve_device(device)
    net, tok, cfg = load_vikl(model)
    net.to(dev)
    with Store(store) as st:
        size = model_input_size(cfg, st)
        if task == "report":
            doc = report_retrieval(net, tok, st, query_split=split, key_split=key_split, input_size=size,
                                   batch_size=batch_size)
        else:
            doc = manifest_estimation(net, st, query_split=split, key_split=key_split, t_distance=t_distance,
                                      t_cls=list(t_cls), empty=empty, input_size=size, batch_size=batch_size)
    doc = {"task": task, "model": display_path(model), "store": display_path(store), **doc}
    doc["seconds"] = round(time.perf_counter() - t0, 3)
    if out is not None:
        if task == "report":
            write_report_retrieval(doc, Path(out), f"Image → report retrieval, BI-RADS of the nearest {key_split} "
                                                   f"report for each {split} image (4A/4B/4C → 4): "
                                                   f"{display_path(model)} on {display_path(store)}")
        else:
            write_manifest_estimation(doc, Path(out))
    return doc


def write_report_retrieval(doc: dict[str, Any], out: Path, title: str) -> dict[str, str]:
    """Write the retrieval results into ``out``: the BI-RADS confusion (PNG, CSV), the queries (CSV)
    and ``report_retrieval.json``; returns the file names (the doc gets them as ``files``)."""
    from mvkl.analysis.retrieval.run import shown_categories
    from mvkl.evaluation.aggregate import jsonable
    from mvkl.evaluation.plots import plot_confusion

    out.mkdir(parents=True, exist_ok=True)
    c = doc["confusion"]
    show = shown_categories(c)
    m = np.asarray(c["matrix"])[np.ix_(show, show)]
    labels = [c["categories"][i] for i in show]
    plot_confusion(m, labels, out / "report_confusion.png", title=title, xlabel="Retrieved BI-RADS (nearest "
                   "training report)", ylabel="Ground-truth BI-RADS (own report)")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["true\\retrieved", *labels])
    for lab, row in zip(labels, m, strict=True):
        w.writerow([lab, *row.tolist()])
    atomic_write_text(out / "report_confusion.csv", buf.getvalue())
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = ["lump_id", "image_id", "view", "true", "retrieved", "retrieved_lump_id", "similarity"]
    w.writerow(cols)
    for q in doc["queries"]:
        w.writerow([q[k] if q[k] is not None else "" for k in cols])
    atomic_write_text(out / "report_queries.csv", buf.getvalue())
    files = {name: display_path(out / name) for name in ("report_confusion.png", "report_confusion.csv",
                                                          "report_queries.csv", "report_retrieval.json")}
    doc["files"] = files
    atomic_write_json(out / "report_retrieval.json", jsonable(doc))
    return files


def write_manifest_estimation(doc: dict[str, Any], out: Path) -> dict[str, str]:
    """Write the manifestation-estimation results into ``out``: per-dimension CSV and
    ``manifest_estimation.json``; returns the file names (the doc gets them as ``files``)."""
    from mvkl.evaluation.aggregate import jsonable

    out.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf)
    cols = ["index", "key", "en", "group", "support", "n_pos", "n_neg", "tp", "fp", "tn", "fn", "accuracy",
            "sensitivity", "specificity"]
    w.writerow(["t_distance", "t_cls", *cols])
    for m in doc["metrics"]:
        for p in m["per_dimension"]:
            w.writerow([doc["t_distance"], m["t_cls"], *("" if p[k] != p[k] else p[k] for k in cols)])
    atomic_write_text(out / "manifest_per_dimension.csv", buf.getvalue())
    files = {name: display_path(out / name) for name in ("manifest_estimation.json", "manifest_per_dimension.csv")}
    doc["files"] = files
    atomic_write_json(out / "manifest_estimation.json", jsonable(doc))
    return files
