"""Aggregation of repeated runs into mean ± std and the markdown tables of results.md.

The original code logs each downstream run separately and never aggregates (docs/fidelity.md,
bug B46). mvkl defines it: the **mean and the sample standard deviation (ddof = 1)** over the
seeded repeats (5 by default, seeds 0..4); one run gives a NaN std, printed as ``n/a``. The
paper's tables print percentages with two decimals (``75.86±0.81``); :func:`format_pm` writes
``75.86 ± 0.81``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from numbers import Real
from typing import Any

import numpy as np

__all__ = [
    "aggregate_runs",
    "flatten_metrics",
    "format_pm",
    "jsonable",
    "markdown_table",
    "mean_std",
    "pm_table",
]


def mean_std(values: Iterable[float], *, omit_nan: bool = False) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof = 1).

    One value gives ``(value, nan)``; no value gives ``(nan, nan)``. NaN values propagate unless
    ``omit_nan`` drops them first.
    """
    arr = np.asarray(list(values), dtype=np.float64)
    if omit_nan:
        arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return (math.nan, math.nan)
    mean = float(arr.mean())
    std = float(arr.std(ddof=1)) if arr.size > 1 else math.nan
    return (mean, std)


def _is_number(v: Any) -> bool:
    return isinstance(v, (Real, np.number)) and not isinstance(v, (bool, np.bool_))


def flatten_metrics(d: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a nested metrics dict, keyed by dotted paths (``"test.auc"``).

    Lists of dicts whose items carry a ``"threshold"`` (as in
    :func:`~mvkl.evaluation.metrics.summarize_binary`) are keyed by it:
    ``"thresholds@0.5.sensitivity"``. Other lists, strings and booleans are skipped.
    """
    out: dict[str, float] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if _is_number(v):
            out[key] = float(v)
        elif isinstance(v, Mapping):
            out.update(flatten_metrics(v, key + "."))
        elif isinstance(v, (list, tuple)) and v and all(isinstance(x, Mapping) and "threshold" in x for x in v):
            for item in v:
                out.update(flatten_metrics(item, f"{key}@{float(item['threshold']):g}."))
    return out


def aggregate_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Aggregate per-seed metric dicts into ``{metric: {"mean", "std", "n", "values"}}`` (B46).

    Nested dicts are flattened by :func:`flatten_metrics`. ``values`` lists every run in order
    (NaN where a run lacks the metric or it is undefined); ``mean``/``std`` (ddof = 1) use the
    ``n`` finite values only, so an undefined sensitivity in one run does not poison the rest.
    Count leaves such as ``tp`` are aggregated like any other number.
    """
    flat = [flatten_metrics(r) for r in runs]
    keys: list[str] = []
    for f in flat:
        keys.extend(k for k in f if k not in keys)
    out: dict[str, dict[str, Any]] = {}
    for k in keys:
        values = [f.get(k, math.nan) for f in flat]
        mean, std = mean_std(values, omit_nan=True)
        out[k] = {"mean": mean, "std": std, "n": int(np.sum(np.isfinite(values))), "values": values}
    return out


def format_pm(mean: float, std: float, scale: float = 100.0, digits: int = 2) -> str:
    """``"61.24 ± 1.84"`` (values multiplied by ``scale``); NaN std → ``"61.24 ± n/a"``; NaN
    mean → ``"n/a"``."""
    if mean is None or not math.isfinite(mean):
        return "n/a"
    m = f"{mean * scale:.{digits}f}"
    if std is None or not math.isfinite(std):
        return f"{m} ± n/a"
    return f"{m} ± {std * scale:.{digits}f}"


def _cell(v: Any, fmt: str | Callable[[Any], str] | None) -> str:
    if callable(fmt):
        text = fmt(v)
    elif v is None:
        text = ""
    elif isinstance(v, (float, np.floating)) and math.isnan(v):
        text = "n/a"
    elif fmt is not None:
        text = format(v, fmt)
    elif isinstance(v, (float, np.floating)):
        text = f"{v:.4g}"
    else:
        text = str(v)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(
    rows: Sequence[Mapping[str, Any] | Sequence[Any]],
    columns: Sequence[str | tuple[str, str]],
    *,
    formats: Mapping[str, str | Callable[[Any], str]] | None = None,
    align: Mapping[str, str] | None = None,
) -> str:
    """A GitHub-flavoured markdown table.

    Args:
        rows: dicts (looked up by column key; a missing key is an empty cell) or sequences
            (positional, in column order).
        columns: keys, or ``(key, header)`` pairs.
        formats: per-column format spec (``".3f"``) or callable; default: floats ``.4g``,
            NaN ``n/a`` (whatever the format), None empty.
        align: per-column ``"left"``, ``"right"`` or ``"center"`` (default: left).

    Returns:
        The table text ending with a newline; ``|`` in cells is escaped.
    """
    formats = formats or {}
    align = align or {}
    keys = [c[0] if isinstance(c, tuple) else c for c in columns]
    heads = [c[1] if isinstance(c, tuple) else c for c in columns]
    marks = {"left": ":---", "right": "---:", "center": ":---:"}
    lines = [
        "| " + " | ".join(_cell(h, None) for h in heads) + " |",
        "| " + " | ".join(marks[align.get(k, "left")] for k in keys) + " |",
    ]
    for row in rows:
        if isinstance(row, Mapping):
            vals = [row.get(k) for k in keys]
        else:
            vals = list(row) + [None] * (len(keys) - len(row))
        lines.append("| " + " | ".join(_cell(v, formats.get(k)) for k, v in zip(keys, vals, strict=False)) + " |")
    return "\n".join(lines) + "\n"


def pm_table(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    metrics: Sequence[str | tuple[str, str]],
    *,
    first_column: str = "model",
    scale: float = 100.0,
    digits: int = 2,
) -> str:
    """Markdown table of mean ± std: one row per name in ``results`` (e.g. model or protocol),
    one column per metric of its :func:`aggregate_runs` output. Missing metrics are ``n/a``.

    Example: ``pm_table({"ViKL": aggregate_runs(runs)}, [("auc", "AUC (%)")])``.
    """
    cols: list[tuple[str, str]] = [(first_column, first_column)]
    cols += [(m, m) if isinstance(m, str) else m for m in metrics]
    rows = []
    for name, agg in results.items():
        row: dict[str, Any] = {first_column: name}
        for key, _ in cols[1:]:
            a = agg.get(key)
            row[key] = format_pm(a["mean"], a["std"], scale, digits) if a else "n/a"
        rows.append(row)
    return markdown_table(rows, cols, align={k: "right" for k, _ in cols[1:]})


def jsonable(obj: Any) -> Any:
    """Deep copy fit for strict JSON: numpy scalars/arrays → Python, NaN/inf → None, tuples →
    lists, mapping keys → str."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj
