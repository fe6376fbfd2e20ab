"""Evaluation library (paper Sec. 5, method.md §7-§8): metrics, calibration, aggregation,
retrieval, manifestation estimation and representation quality as pure functions. Plots live in
:mod:`mvkl.evaluation.plots` (imports matplotlib; not imported here)."""
