"""Confidence calibration: reliability diagrams and expected calibration error (paper Sec. 5.10,
Fig. 7; Guo et al., 2017).

Paper: 10 equal-width bins over [0, 1]; bins with fewer than 10 samples are excluded "for
numerical stability"; ECE = Σ_b (n_b / N) |acc_b − conf_b|. Two details are unspecified and are
parameters here (B47):

* ``definition``: ``"top-label"`` (default; Guo et al.'s definition, which the paper cites and
  whose y-axis is "Accuracy"): the prediction is malignant when ``p >= 0.5`` (the rule of
  :mod:`mvkl.evaluation.metrics`), its confidence is ``max(p, 1 − p)`` and a bin's "accuracy" is
  the fraction of correct predictions. Confidences lie in [0.5, 1], so the lower five of ten
  bins are empty. ``"positive"``: the confidence is ``p = P(malignant)`` and a bin's
  "accuracy" is the observed fraction of malignant samples.
* which N weighs the included bins. ``ece_paper`` uses the **total** N (``ece_paper_total_n``):
  excluded bins simply contribute nothing, as when a sum over bins skips them, and the value
  stays a lower bound of the all-bins ECE; ``ece_paper_included_n`` renormalises by the samples
  in included bins. Both are reported, with ``ece_all_bins`` (no exclusion, Guo et al.).

Binning: edges ``b / n_bins``; bin ``b`` holds ``edge_b <= c < edge_{b+1}`` and the last bin also
holds ``c == 1`` (right edge included), i.e. ``searchsorted(edges, c, "right") − 1`` clipped.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from mvkl.errors import InputError
from mvkl.evaluation.metrics import check_binary

__all__ = ["Definition", "bin_index", "ece", "reliability"]

Definition = Literal["top-label", "positive"]

_AXES = {
    "top-label": {"x": "Confidence", "y": "Accuracy"},
    "positive": {"x": "Predicted P(malignant)", "y": "Observed malignant fraction"},
}


def bin_index(conf: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bin of each confidence in [0, 1] (module docstring: right edge in the last bin)."""
    edges = np.arange(n_bins + 1, dtype=np.float64) / n_bins
    return np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)


def _confidence_and_outcome(y: np.ndarray, p: np.ndarray, definition: str) -> tuple[np.ndarray, np.ndarray]:
    if definition == "top-label":
        pred = p >= 0.5
        return np.where(pred, p, 1.0 - p), (pred == (y == 1)).astype(np.float64)
    if definition == "positive":
        return p, y.astype(np.float64)
    raise InputError(f"unknown calibration definition {definition!r}; expected 'top-label' or 'positive'")


def reliability(
    y: Any,
    p: Any,
    *,
    n_bins: int = 10,
    min_count: int = 10,
    definition: Definition = "top-label",
) -> dict[str, Any]:
    """Per-bin reliability statistics and the ECE variants for ``P(malignant) = p``.

    Args:
        y: labels 0/1 (1 = malignant).
        p: predicted malignant probabilities in [0, 1].
        n_bins: number of equal-width bins (paper: 10).
        min_count: bins with fewer samples are excluded from ``ece_paper*`` and ``mce`` and
            hatched in the diagram (paper: 10; 0 or 1 excludes only empty bins).
        definition: ``"top-label"`` or ``"positive"`` (module docstring).

    Returns:
        ``definition, n_bins, min_count, n, edges (n_bins+1), count, accuracy, confidence, gap
        (accuracy − confidence), included`` (per-bin lists; empty bins have NaN accuracy and
        confidence and are never included), ``n_included, n_excluded`` (samples),
        ``n_excluded_bins`` (non-empty bins below ``min_count``), ``ece_paper`` (= total-N
        variant), ``ece_paper_total_n``, ``ece_paper_included_n``, ``ece_all_bins``, ``mce``
        (largest |gap| over included bins), ``mce_all_bins`` and ``axes`` (axis titles).
    """
    y_arr, p_arr = check_binary(y, p)
    if n_bins < 1:
        raise InputError(f"n_bins must be at least 1 (got {n_bins})")
    if min_count < 0:
        raise InputError(f"min_count must be non-negative (got {min_count})")
    if np.any((p_arr < 0) | (p_arr > 1)):
        raise InputError("probabilities must lie in [0, 1]")
    conf, outcome = _confidence_and_outcome(y_arr, p_arr, definition)
    b = bin_index(conf, n_bins)
    count = np.bincount(b, minlength=n_bins).astype(np.int64)
    sum_conf = np.bincount(b, weights=conf, minlength=n_bins)
    sum_out = np.bincount(b, weights=outcome, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(count > 0, sum_out / count, np.nan)
        cbar = np.where(count > 0, sum_conf / count, np.nan)
    gap = acc - cbar
    nonempty = count > 0
    included = nonempty & (count >= min_count)
    n = int(y_arr.size)
    absgap = np.abs(np.where(nonempty, gap, 0.0))
    n_inc = int(count[included].sum())
    # no bin with min_count samples: the paper's ECE is undefined (NaN), not 0
    ece_total = float(np.sum(count[included] * absgap[included]) / n) if n_inc else math.nan
    ece_inc = float(np.sum(count[included] * absgap[included]) / n_inc) if n_inc else math.nan
    return {
        "definition": definition,
        "n_bins": int(n_bins),
        "min_count": int(min_count),
        "n": n,
        "edges": (np.arange(n_bins + 1) / n_bins).tolist(),
        "count": count.tolist(),
        "accuracy": acc.tolist(),
        "confidence": cbar.tolist(),
        "gap": gap.tolist(),
        "included": included.tolist(),
        "n_included": n_inc,
        "n_excluded": n - n_inc,
        "n_excluded_bins": int(np.sum(nonempty & ~included)),
        "ece_paper": ece_total,
        "ece_paper_total_n": ece_total,
        "ece_paper_included_n": ece_inc,
        "ece_all_bins": float(np.sum(count * absgap) / n),
        "mce": float(absgap[included].max()) if included.any() else math.nan,
        "mce_all_bins": float(absgap[nonempty].max()),
        "axes": dict(_AXES[definition]),
    }


_SCALARS = (
    "ece_paper",
    "ece_paper_total_n",
    "ece_paper_included_n",
    "ece_all_bins",
    "mce",
    "mce_all_bins",
    "definition",
    "n_bins",
    "min_count",
    "n",
    "n_included",
    "n_excluded",
    "n_excluded_bins",
)


def ece(
    y: Any,
    p: Any,
    *,
    n_bins: int = 10,
    min_count: int = 10,
    definition: Definition = "top-label",
) -> dict[str, Any]:
    """The scalar part of :func:`reliability`: ``ece_paper`` (bins with < ``min_count`` samples
    excluded, total N), ``ece_paper_total_n``, ``ece_paper_included_n``, ``ece_all_bins``,
    ``mce``, ``mce_all_bins``, ``definition``, ``n_bins``, ``min_count`` and the sample counts."""
    rel = reliability(y, p, n_bins=n_bins, min_count=min_count, definition=definition)
    return {k: rel[k] for k in _SCALARS}
