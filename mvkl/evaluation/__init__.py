"""Evaluation library (paper Sec. 5) as tested pure functions.

* :mod:`.metrics`: AUC, bootstrap CI, threshold metrics (``p >= t``), operating points;
* :mod:`.aggregate`: mean ± std over seeded runs (ddof = 1), markdown tables, strict JSON;
* :mod:`.calibration`: reliability diagrams and ECE (Fig. 7);
* :mod:`.manifest_estimation`: radius-neighbour manifestation estimation (Table 8);
* :mod:`.plots`: the figures (imports matplotlib, so it is not imported here).

Retrieval and representation metrics live with their analyses in :mod:`mvkl.analysis.retrieval`
and :mod:`mvkl.analysis.representation`.
"""

from mvkl.evaluation.aggregate import aggregate_runs, format_pm, jsonable, markdown_table, mean_std, pm_table
from mvkl.evaluation.calibration import ece, reliability
from mvkl.evaluation.manifest_estimation import estimate_manifestations, manifest_metrics, threshold_sweep
from mvkl.evaluation.metrics import (
    bootstrap_auc_ci,
    roc_auc,
    summarize_binary,
    threshold_for_sensitivity,
    threshold_metrics,
    youden_threshold,
)

__all__ = [
    "aggregate_runs",
    "bootstrap_auc_ci",
    "ece",
    "estimate_manifestations",
    "format_pm",
    "jsonable",
    "manifest_metrics",
    "markdown_table",
    "mean_std",
    "pm_table",
    "reliability",
    "roc_auc",
    "summarize_binary",
    "threshold_for_sensitivity",
    "threshold_metrics",
    "threshold_sweep",
    "youden_threshold",
]
