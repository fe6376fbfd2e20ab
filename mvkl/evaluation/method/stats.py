"""Figures of the method benchmark, computed from the saved test predictions alone.

Input: one record per (row, protocol, seed, test image) with the label and the score
(``predictions.csv``). For every (row, protocol):

* ``auc_mean`` ± ``auc_std``: the test AUC of each seed's encoder, mean and sample std (ddof 1);
  the seed is the pretraining seed (and the evaluation seed), so the std is what a user would see
  re-running the whole pipeline;
* ``ci``: a stratified percentile bootstrap CI of the seed-mean AUC. Replicate ``b`` resamples
  the test images (positives and negatives separately, :func:`mvkl.evaluation.metrics.
  bootstrap_auc_replicates` with seed ``boot_seed``); since every run scores the same test images,
  the same resample applies to every run, so the CI covers the test-set sampling and
  :func:`paired` differences on the same replicates are paired;
* ``vs_random``: the paired difference of the seed-mean AUC against ``random`` with the same
  protocol (supervised: against random LE), its bootstrap CI and the fraction of replicates where
  the row is not better (a one-sided bootstrap p-value).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

__all__ = ["paired", "row_replicates", "summarize"]

Records = list[dict[str, Any]]


def _runs(records: Records) -> tuple[dict[tuple[str, str], dict[int, dict[str, float]]], list[str], np.ndarray]:
    """(row, protocol) → seed → image_id → score, the sorted image ids and their labels; checks that
    labels agree across runs."""
    runs: dict[tuple[str, str], dict[int, dict[str, float]]] = defaultdict(dict)
    labels: dict[str, int] = {}
    for r in records:
        key = (str(r["row"]), str(r["protocol"]))
        runs[key].setdefault(int(r["seed"]), {})[str(r["image_id"])] = float(r["score"])
        prev = labels.setdefault(str(r["image_id"]), int(r["label"]))
        if prev != int(r["label"]):
            raise ValueError(f"image {r['image_id']} has two labels in the predictions")
    ids = sorted(labels)
    return runs, ids, np.array([labels[i] for i in ids], dtype=np.int64)


def row_replicates(records: Records, *, n_boot: int, boot_seed: int = 0) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (row, protocol): per-seed AUCs and the (n_boot,) replicates of the seed-mean AUC."""
    from mvkl.evaluation.metrics import bootstrap_auc_replicates, roc_auc

    runs, ids, y = _runs(records)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for key, seeds in sorted(runs.items()):
        aucs, reps = [], []
        for s in sorted(seeds):
            scores = seeds[s]
            if set(scores) != set(ids):
                raise ValueError(f"{key[0]} {key[1]} seed {s} does not score every test image")
            p = np.array([scores[i] for i in ids], dtype=np.float64)
            aucs.append(roc_auc(y, p))
            if n_boot:
                reps.append(bootstrap_auc_replicates(y, p, n_boot=n_boot, seed=boot_seed))
        out[key] = {"seeds": sorted(seeds), "aucs": aucs,
                    "replicates": np.mean(reps, axis=0) if reps else np.zeros(0)}
    return out


def _ci(reps: np.ndarray, level: float) -> list[float]:
    if reps.size == 0:
        return [math.nan, math.nan]
    a = (1.0 - level) / 2
    lo, hi = np.quantile(reps, [a, 1 - a])
    return [float(lo), float(hi)]


def paired(a: dict[str, Any], b: dict[str, Any], *, level: float = 0.95) -> dict[str, Any]:
    """Seed-mean AUC of ``a`` minus ``b``, its paired bootstrap CI and ``p_not_better``."""
    diff = float(np.mean(a["aucs"]) - np.mean(b["aucs"]))
    d = a["replicates"] - b["replicates"] if a["replicates"].size and b["replicates"].size else np.zeros(0)
    return {"diff": diff, "ci": _ci(d, level), "p_not_better": float(np.mean(d <= 0)) if d.size else math.nan}


def summarize(records: Records, *, n_boot: int = 1000, boot_seed: int = 0, level: float = 0.95,
              comparisons: tuple[tuple[str, str], ...] = (("vikl-manineg", "vikl-none"),
                                                          ("vikl-manineg", "vikl-robinson"),
                                                          ("vikl-robinson", "vikl-none"),
                                                          ("vikl-manineg", "image-only"))) -> dict[str, Any]:
    """Every row's figures (module docstring) and the paired comparisons between rows."""
    reps = row_replicates(records, n_boot=n_boot, boot_seed=boot_seed)
    rows: list[dict[str, Any]] = []
    for (row, protocol), r in reps.items():
        aucs = np.asarray(r["aucs"], dtype=np.float64)
        entry: dict[str, Any] = {
            "row": row, "protocol": protocol, "seeds": r["seeds"], "aucs": aucs.tolist(),
            "auc_mean": float(aucs.mean()), "auc_std": float(aucs.std(ddof=1)) if aucs.size > 1 else math.nan,
            "ci": _ci(r["replicates"], level)}
        base = ("random", protocol if protocol != "ft" else "le")
        if row != "random" and base in reps:
            entry["vs_random"] = paired(r, reps[base], level=level)
        rows.append(entry)
    comp = []
    for protocol in sorted({p for _, p in reps}):
        for a, b in comparisons:
            if (a, protocol) in reps and (b, protocol) in reps:
                comp.append({"a": a, "b": b, "protocol": protocol,
                             **paired(reps[(a, protocol)], reps[(b, protocol)], level=level)})
    _, _, y = _runs(records)
    return {"rows": rows, "comparisons": comp, "n_test": int(y.size), "n_test_malignant": int(y.sum()),
            "n_boot": n_boot, "boot_seed": boot_seed, "level": level}
