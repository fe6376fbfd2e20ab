"""Manifestation estimation from image embeddings by radius-neighbour voting (paper Sec. 5.7,
Table 8).

For each test image embedding, the training manifestation embeddings whose cosine distance
``1 − cos`` is **below** ``T_distance`` (paper 0.4) are its neighbourhood; their 35-dim
manifestation vectors are averaged and a dimension is estimated positive when the average
**exceeds** ``T_cls`` (paper 0.12 / 0.15 / 0.25). Only neighbours that *know* a dimension
(``manifest_known``; public datasets fill only some groups) vote on it.

Empty neighbourhoods are not specified by the paper (B47). Options (``empty=``), applied per
(sample, dimension) where no neighbour within the radius knows the dimension:

* ``"nearest"`` (default): the single most similar training sample that knows the dimension
  votes alone. The radius is a smoothing choice; an image far from every training
  manifestation still has a best match, and the 1-nearest neighbour is the limit of shrinking
  the radius, so the estimate stays image-dependent and no sample is silently dropped.
* ``"prior"``: the training prevalence of the dimension (no image information; estimates
  positive only dimensions more common than ``T_cls``).
* ``"zeros"``: score 0, i.e. every dimension negative (inflates specificity).

:func:`estimate_manifestations` returns each sample's neighbourhood size so that callers report
how many test samples had an empty one (``(n_neighbours == 0).sum()``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from mvkl.analysis.retrieval.metrics import l2_normalize
from mvkl.errors import InputError

__all__ = ["EmptyPolicy", "estimate_manifestations", "manifest_metrics", "threshold_sweep"]

log = logging.getLogger(__name__)

EmptyPolicy = Literal["nearest", "prior", "zeros"]


def _as_01(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D (n, dims) array (got shape {arr.shape})")
    if not np.all((arr == 0) | (arr == 1)):
        raise InputError(f"{name} must hold only 0 and 1")
    return arr.astype(np.float64)


def estimate_manifestations(
    test_emb: Any,
    train_emb: Any,
    train_manifest: Any,
    train_known: Any | None = None,
    *,
    t_distance: float = 0.4,
    t_cls: float = 0.15,
    empty: EmptyPolicy = "nearest",
    chunk_size: int = 1024,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate manifestation vectors of test images (module docstring).

    Args:
        test_emb: (n, d) test image embeddings (normalised here).
        train_emb: (m, d) training manifestation embeddings.
        train_manifest: (m, D) 0/1 training manifestation vectors (D = 35).
        train_known: (m, D) 0/1 known mask; None = all known.
        t_distance: neighbourhood radius on the cosine distance (strict ``<``).
        t_cls: a dimension is positive when its score is strictly greater.
        empty: policy for empty (masked) neighbourhoods: ``"nearest"``, ``"prior"``, ``"zeros"``.

    Returns:
        ``(estimates, scores, n_neighbours)``: (n, D) uint8 0/1, (n, D) float64 scores (the
        masked neighbour average; NaN only where no training sample knows a dimension, whose
        estimate is then 0), (n,) int64 neighbours within the radius (before masking).
    """
    q = l2_normalize(test_emb)
    k = l2_normalize(train_emb)
    if q.shape[1] != k.shape[1]:
        raise InputError(f"embedding sizes differ ({q.shape[1]} vs {k.shape[1]})")
    man = _as_01(train_manifest, "train_manifest")
    known = np.ones_like(man) if train_known is None else _as_01(train_known, "train_known")
    if man.shape[0] != k.shape[0] or known.shape != man.shape:
        raise InputError(
            f"train_manifest {man.shape}, train_known {known.shape} and train_emb {k.shape} disagree in rows"
        )
    if empty not in ("nearest", "prior", "zeros"):
        raise InputError(f"unknown empty-neighbourhood policy {empty!r}; expected nearest, prior or zeros")
    n, dims = q.shape[0], man.shape[1]
    mk = man * known
    known_any = known.sum(axis=0) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        prior = np.where(known_any, mk.sum(axis=0) / known.sum(axis=0), np.nan)
    scores = np.empty((n, dims), dtype=np.float64)
    n_nb = np.empty(n, dtype=np.int64)
    for s in range(0, n, chunk_size):
        sim = q[s : s + chunk_size] @ k.T
        within = ((1.0 - sim) < t_distance).astype(np.float64)
        n_nb[s : s + chunk_size] = within.sum(axis=1).astype(np.int64)
        num, den = within @ mk, within @ known
        with np.errstate(invalid="ignore", divide="ignore"):
            sc = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        hole = den == 0
        if hole.any():
            if empty == "zeros":
                sc[hole] = 0.0
            elif empty == "prior":
                sc[hole] = np.broadcast_to(prior, sc.shape)[hole]
            else:
                for d in np.flatnonzero(hole.any(axis=0) & known_any):
                    rows = np.flatnonzero(hole[:, d])
                    masked = np.where(known[:, d] > 0, sim[rows], -np.inf)
                    sc[rows, d] = man[np.argmax(masked, axis=1), d]
            sc[:, ~known_any] = np.nan
        scores[s : s + chunk_size] = sc
    n_empty = int(np.sum(n_nb == 0))
    if n_empty:
        log.info(
            "%d of %d test samples had no training manifestation within distance %g (policy %s)",
            n_empty,
            n,
            t_distance,
            empty,
        )
    estimates = (np.nan_to_num(scores, nan=-math.inf) > t_cls).astype(np.uint8)
    return estimates, scores, n_nb


def _dim_names(dims: int) -> list[dict[str, Any]]:
    from mvkl.manifest.schema import DIM, OPTIONS

    if dims == DIM:
        return [{"index": o.index, "key": o.key, "en": o.en, "zh": o.zh, "group": o.group} for o in OPTIONS]
    return [{"index": i, "key": f"dim_{i}", "en": f"dimension {i}", "zh": "", "group": ""} for i in range(dims)]


def _nanmean(values: Sequence[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def manifest_metrics(true: Any, known: Any | None, est: Any) -> dict[str, Any]:
    """Accuracy, sensitivity and specificity per dimension and macro-averaged over dimensions
    (paper Table 8: "average metrics over 35 dimensions").

    Each dimension is scored over the test samples that know it. Macro averages skip undefined
    values: ``accuracy`` averages the dimensions with at least one known sample,
    ``sensitivity`` those with at least one positive (the others are listed in
    ``dims_without_positives`` and counted by ``n_dims_sensitivity``), ``specificity`` those
    with at least one negative. Pooled (micro) values over all known cells are given too.

    Returns:
        ``accuracy, sensitivity, specificity, n_dims_accuracy, n_dims_sensitivity,
        n_dims_specificity, dims_without_positives, dims_without_negatives, micro_accuracy,
        micro_sensitivity, micro_specificity, n_samples, per_dimension`` (list of ``index,
        key, en, zh, group, support, n_pos, n_neg, tp, fp, tn, fn, accuracy, sensitivity,
        specificity``).
    """
    t = _as_01(true, "true") > 0
    e = _as_01(est, "est") > 0
    kn = np.ones_like(t) if known is None else _as_01(known, "known") > 0
    if not (t.shape == e.shape == kn.shape):
        raise InputError(f"true {t.shape}, known {kn.shape} and est {e.shape} must have the same shape")
    tp = np.sum(t & e & kn, axis=0)
    fp = np.sum(~t & e & kn, axis=0)
    fn = np.sum(t & ~e & kn, axis=0)
    tn = np.sum(~t & ~e & kn, axis=0)
    per = []
    for info, a, b, c, d in zip(_dim_names(t.shape[1]), tp, fp, tn, fn, strict=True):
        a, b, c, d = int(a), int(b), int(c), int(d)
        sup = a + b + c + d
        per.append(
            {
                **info,
                "support": sup,
                "n_pos": a + d,
                "n_neg": b + c,
                "tp": a,
                "fp": b,
                "tn": c,
                "fn": d,
                "accuracy": (a + c) / sup if sup else math.nan,
                "sensitivity": a / (a + d) if a + d else math.nan,
                "specificity": c / (c + b) if b + c else math.nan,
            }
        )
    T = {k: int(v.sum()) for k, v in (("tp", tp), ("fp", fp), ("tn", tn), ("fn", fn))}
    total = sum(T.values())
    return {
        "accuracy": _nanmean([p["accuracy"] for p in per]),
        "sensitivity": _nanmean([p["sensitivity"] for p in per]),
        "specificity": _nanmean([p["specificity"] for p in per]),
        "n_dims_accuracy": sum(p["support"] > 0 for p in per),
        "n_dims_sensitivity": sum(p["n_pos"] > 0 for p in per),
        "n_dims_specificity": sum(p["n_neg"] > 0 for p in per),
        "dims_without_positives": [p["key"] for p in per if p["n_pos"] == 0],
        "dims_without_negatives": [p["key"] for p in per if p["n_neg"] == 0],
        "micro_accuracy": (T["tp"] + T["tn"]) / total if total else math.nan,
        "micro_sensitivity": T["tp"] / (T["tp"] + T["fn"]) if T["tp"] + T["fn"] else math.nan,
        "micro_specificity": T["tn"] / (T["tn"] + T["fp"]) if T["tn"] + T["fp"] else math.nan,
        "n_samples": int(t.shape[0]),
        "per_dimension": per,
    }


def threshold_sweep(
    scores: Any, true: Any, known: Any | None, t_cls_values: Sequence[float] = (0.12, 0.15, 0.25)
) -> list[dict[str, float]]:
    """Table 8 rows: macro accuracy/sensitivity/specificity of ``scores > t`` for each ``t``
    (NaN scores are negative). Reuses one set of scores from :func:`estimate_manifestations`."""
    sc = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-math.inf)
    rows = []
    for t in t_cls_values:
        m = manifest_metrics(true, known, (sc > t).astype(np.uint8))
        rows.append({"t_cls": float(t), **{k: m[k] for k in ("accuracy", "sensitivity", "specificity")}})
    return rows
