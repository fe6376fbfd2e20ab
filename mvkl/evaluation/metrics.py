"""Binary classification metrics for the downstream benign/malignant task.

The paper reports ROC AUC of the softmax malignant probability (Tables 4-6), accuracy,
sensitivity, specificity and F1 at 0.5 (Table 3) and operating points at thresholds 0.87, 0.74
and 0.50 (Table 7, Fig. 3). Conventions fixed here (bug B39 of the original code):

* a sample is predicted malignant when ``p >= threshold`` (so ``p == 0.5`` is malignant at 0.5;
  the original rounded with numpy's round-half-to-even, which sends 0.5 to benign);
* a ratio whose denominator is zero (no positives, no predicted positives, ...) is NaN, never a
  crash and never a silent 0;
* AUC needs both classes; with one class :func:`roc_auc` raises :class:`~mvkl.errors.InputError`.

Inputs are 1-D arrays: ``y`` with values in {0, 1} (1 = malignant; callers drop the store's -1
"unknown" labels first) and ``p`` finite scores, usually probabilities. Outputs are plain floats
and dicts, ready for JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mvkl.errors import InputError

__all__ = [
    "auc_mann_whitney",
    "bootstrap_auc_ci",
    "bootstrap_auc_replicates",
    "check_binary",
    "roc_auc",
    "summarize_binary",
    "threshold_for_sensitivity",
    "threshold_metrics",
    "youden_threshold",
]


def check_binary(y: Any, p: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert labels and scores: (int8 labels in {0,1}, float64 scores).

    Raises:
        InputError: shapes differ, arrays are not 1-D or empty, labels outside {0, 1}, or
            non-finite scores.
    """
    y_arr = np.asarray(y)
    p_arr = np.asarray(p, dtype=np.float64)
    if y_arr.ndim != 1 or p_arr.ndim != 1:
        raise InputError(f"labels and scores must be 1-D (got shapes {y_arr.shape} and {p_arr.shape})")
    if y_arr.shape != p_arr.shape:
        raise InputError(f"labels and scores differ in length ({y_arr.size} vs {p_arr.size})")
    if y_arr.size == 0:
        raise InputError("no samples to evaluate", code="empty")
    if y_arr.dtype == bool:
        y_arr = y_arr.astype(np.int8)
    if not np.all((y_arr == 0) | (y_arr == 1)):
        raise InputError("labels must be 0 (benign) or 1 (malignant); drop unknown (-1) labels first")
    if not np.all(np.isfinite(p_arr)):
        raise InputError("scores contain NaN or infinite values", code="non-finite")
    return y_arr.astype(np.int8), p_arr


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else math.nan


def roc_auc(y: Any, p: Any) -> float:
    """Area under the ROC curve (scikit-learn ``roc_auc_score``; ties count one half).

    Raises:
        InputError: only one class is present (AUC is undefined), or invalid inputs.
    """
    from sklearn.metrics import roc_auc_score

    y_arr, p_arr = check_binary(y, p)
    n_pos = int(y_arr.sum())
    if n_pos == 0 or n_pos == y_arr.size:
        raise InputError(f"ROC AUC needs both classes; got {n_pos} malignant of {y_arr.size} samples", code="one-class")
    return float(roc_auc_score(y_arr, p_arr))


def auc_mann_whitney(y: Any, p: Any) -> float:
    """AUC as the Mann-Whitney statistic ``(R_pos - n_pos(n_pos+1)/2) / (n_pos n_neg)`` with
    tie-averaged ranks; equal to :func:`roc_auc` (ties count one half). NaN with one class."""
    y_arr, p_arr = check_binary(y, p)
    return float(_auc_rows(y_arr[None, :].astype(bool), p_arr[None, :])[0])


def _auc_rows(pos: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Row-wise rank AUC: ``pos`` (r, n) bool, ``scores`` (r, n). NaN for single-class rows."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, method="average", axis=1)
    n_pos = pos.sum(axis=1).astype(np.float64)
    n_neg = pos.shape[1] - n_pos
    r_pos = np.where(pos, ranks, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (r_pos - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    return auc


def bootstrap_auc_replicates(
    y: Any,
    p: Any,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    stratified: bool = True,
    max_cells: int = 4_000_000,
) -> np.ndarray:
    """Bootstrap replicates of the AUC (vectorised: index matrices + rank AUC, in chunks).

    Replicate ``b`` resamples the test set with replacement. ``stratified=True`` draws ``n_pos``
    positives from the positives and ``n_neg`` negatives from the negatives, so every replicate
    has both classes; otherwise whole-set resampling is used and a replicate that happens to
    contain one class is NaN (callers may count them). Random numbers: plain resampling draws
    from ``numpy.random.default_rng(seed)``; stratified resampling from the two children of
    ``numpy.random.SeedSequence(seed).spawn(2)`` (positives, negatives). Each stream is consumed
    in replicate order, so the result does not depend on the chunk size ``max_cells``.

    Returns:
        (n_boot,) float64 array of replicate AUCs.
    """
    y_arr, p_arr = check_binary(y, p)
    if n_boot < 1:
        raise InputError(f"n_boot must be at least 1 (got {n_boot})")
    pos_idx = np.flatnonzero(y_arr == 1)
    neg_idx = np.flatnonzero(y_arr == 0)
    if pos_idx.size == 0 or neg_idx.size == 0:
        raise InputError("bootstrap AUC needs both classes", code="one-class")
    rng = np.random.default_rng(seed)
    rng_pos, rng_neg = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    n = y_arr.size
    chunk = max(1, max_cells // n)
    out = np.empty(n_boot, dtype=np.float64)
    for b0 in range(0, n_boot, chunk):
        r = min(chunk, n_boot - b0)
        if stratified:
            ip = pos_idx[rng_pos.integers(0, pos_idx.size, size=(r, pos_idx.size))]
            ineg = neg_idx[rng_neg.integers(0, neg_idx.size, size=(r, neg_idx.size))]
            idx = np.concatenate([ip, ineg], axis=1)
        else:
            idx = rng.integers(0, n, size=(r, n))
        out[b0 : b0 + r] = _auc_rows(y_arr[idx].astype(bool), p_arr[idx])
    return out


def bootstrap_auc_ci(
    y: Any,
    p: Any,
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
    stratified: bool = True,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval ``(lo, hi)`` of the test AUC (B46).

    The ``alpha/2`` and ``1 - alpha/2`` quantiles (numpy "linear" interpolation) of the
    replicates of :func:`bootstrap_auc_replicates`; single-class replicates (only possible with
    ``stratified=False``) are dropped.
    """
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha must lie in (0, 1) (got {alpha})")
    reps = bootstrap_auc_replicates(y, p, n_boot=n_boot, seed=seed, stratified=stratified)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return (math.nan, math.nan)
    lo, hi = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


def threshold_metrics(y: Any, p: Any, threshold: float) -> dict[str, float | int]:
    """Confusion-matrix metrics with the rule *malignant when* ``p >= threshold`` (B39).

    Returns:
        ``accuracy, sensitivity (recall, TPR), specificity (TNR), f1, ppv (precision), npv,
        tp, fp, tn, fn, threshold``. Ratios with a zero denominator are NaN; F1 is
        ``2tp / (2tp + fp + fn)`` (NaN only when there are neither positives nor predicted
        positives). Counts are ints.
    """
    y_arr, p_arr = check_binary(y, p)
    if not math.isfinite(float(threshold)):
        raise InputError(f"threshold must be finite (got {threshold})")
    pred = p_arr >= float(threshold)
    truth = y_arr == 1
    tp = int(np.sum(pred & truth))
    fp = int(np.sum(pred & ~truth))
    fn = int(np.sum(~pred & truth))
    tn = int(np.sum(~pred & ~truth))
    return {
        "threshold": float(threshold),
        "accuracy": _ratio(tp + tn, tp + tn + fp + fn),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "ppv": _ratio(tp, tp + fp),
        "npv": _ratio(tn, tn + fn),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
    }


def threshold_for_sensitivity(y: Any, p: Any, target: float) -> float:
    """The largest threshold whose sensitivity (rule ``p >= t``) is at least ``target``.

    Chosen on validation data and then applied unchanged to test data (``mvkl predict``). It is
    the ``k``-th largest positive score with ``k = ceil(target * n_pos)`` (a 1e-9 tolerance
    absorbs floating error in ``target * n_pos``); being the largest such threshold, it has the
    best specificity among thresholds that meet the target.
    """
    y_arr, p_arr = check_binary(y, p)
    if not 0.0 < target <= 1.0:
        raise InputError(f"target sensitivity must lie in (0, 1] (got {target})")
    pos = np.sort(p_arr[y_arr == 1])[::-1]
    if pos.size == 0:
        raise InputError("no malignant samples: sensitivity is undefined", code="one-class")
    k = max(1, math.ceil(target * pos.size - 1e-9))
    return float(pos[k - 1])


def youden_threshold(y: Any, p: Any) -> float:
    """Threshold maximising Youden's J = sensitivity + specificity - 1 (rule ``p >= t``).

    Candidates are the distinct scores (every distinct operating point of the ROC curve); among
    equal J the largest threshold (the more specific one) is returned.
    """
    y_arr, p_arr = check_binary(y, p)
    n_pos = int(y_arr.sum())
    n_neg = y_arr.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise InputError("Youden's J needs both classes", code="one-class")
    order = np.argsort(-p_arr, kind="stable")
    ps, ys = p_arr[order], y_arr[order]
    tp = np.cumsum(ys)
    fp = np.cumsum(1 - ys)
    last_of_value = np.r_[ps[1:] != ps[:-1], True]  # threshold = ps[i] admits every tied score
    thr, tp, fp = ps[last_of_value], tp[last_of_value], fp[last_of_value]
    j = tp / n_pos - fp / n_neg
    best = int(np.flatnonzero(j >= j.max() - 1e-12)[0])  # descending thresholds: first = largest
    return float(thr[best])


def summarize_binary(
    y: Any,
    p: Any,
    thresholds: Sequence[float] = (0.5,),
    *,
    n_boot: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
    stratified: bool = True,
) -> dict[str, Any]:
    """Everything one test run reports: AUC, its bootstrap CI and per-threshold metrics.

    Returns:
        ``{"n", "n_pos", "n_neg", "prevalence", "auc", "auc_ci": [lo, hi], "ci_level",
        "n_boot", "bootstrap": "stratified"|"plain", "thresholds": [threshold_metrics, ...]}``.
        With a single class, ``auc`` and ``auc_ci`` are NaN (the threshold metrics still work).
        ``n_boot=0`` skips the bootstrap (CI NaN).
    """
    y_arr, p_arr = check_binary(y, p)
    n_pos = int(y_arr.sum())
    n = int(y_arr.size)
    both = 0 < n_pos < n
    auc = roc_auc(y_arr, p_arr) if both else math.nan
    if both and n_boot > 0:
        ci = bootstrap_auc_ci(y_arr, p_arr, n_boot=n_boot, alpha=alpha, seed=seed, stratified=stratified)
    else:
        ci = (math.nan, math.nan)
    return {
        "n": n,
        "n_pos": n_pos,
        "n_neg": n - n_pos,
        "prevalence": n_pos / n,
        "auc": auc,
        "auc_ci": [ci[0], ci[1]],
        "ci_level": 1.0 - alpha,
        "n_boot": int(n_boot),
        "bootstrap": "stratified" if stratified else "plain",
        "thresholds": [threshold_metrics(y_arr, p_arr, t) for t in thresholds],
    }
