"""The method benchmark as a Markdown table and a bar chart with CIs (paper Tables 5, 6 as figures).

The table has one line per row: the test AUC (mean ± std over seeds, 95 % bootstrap CI) of each
protocol, the paired difference against random init, and, for rows with a text branch, image →
report R@1 / R@5 (with chance) and the zero-shot AUC. The chart draws the seed-mean AUC per row and
protocol with its CI as error bars, and the mean AUC of random init as a dashed line.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

__all__ = ["comparisons_table", "markdown_table", "plot_method"]

_PROTOCOL_NAMES = {"lp": "LP", "le": "LE", "ft": "FT", "zs": "zero-shot"}


def _entry(doc: dict[str, Any], row: str, protocol: str) -> dict[str, Any] | None:
    return next((r for r in doc["rows"] if r["row"] == row and r["protocol"] == protocol), None)


def _auc_cell(e: dict[str, Any] | None) -> str:
    if e is None:
        return "–"
    std = "" if math.isnan(e["auc_std"]) else f" ± {e['auc_std']:.3f}"
    ci = e["ci"]
    ci_s = "" if any(math.isnan(c) for c in ci) else f" [{ci[0]:.3f}, {ci[1]:.3f}]"
    return f"{e['auc_mean']:.3f}{std}{ci_s}"


def _diff_cell(e: dict[str, Any] | None) -> str:
    if e is None or "vs_random" not in e:
        return "–"
    d = e["vs_random"]
    ci = "" if any(math.isnan(c) for c in d["ci"]) else f" [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]"
    return f"{d['diff']:+.3f}{ci}"


def markdown_table(doc: dict[str, Any]) -> str:
    """The ablation table (module docstring) in Markdown."""
    order = list(dict.fromkeys(r["row"] for r in doc["rows"]))
    protos = [p for p in ("lp", "le") if any(r["protocol"] == p for r in doc["rows"])]
    head = ["row"] + [f"{_PROTOCOL_NAMES[p]} AUC (± std) [95 % CI]" for p in protos]
    head += [f"Δ{_PROTOCOL_NAMES[p]} vs random [CI]" for p in protos]
    head += ["I→T R@1 / R@5 (chance)", "zero-shot AUC [CI]"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in order:
        if row == "supervised":
            e = _entry(doc, row, "ft")
            cells = [f"{_auc_cell(e)} (FT)"] + ["–"] * (len(protos) - 1) + [_diff_cell(e) + " (vs LE)"]
            cells += ["–"] * (len(protos) - 1)
        else:
            cells = [_auc_cell(_entry(doc, row, p)) for p in protos] + [_diff_cell(_entry(doc, row, p)) for p in protos]
        ret = doc.get("retrieval", {}).get(row)
        if ret and "R@1" in ret and "R@5" in ret:
            cells.append(f"{ret['R@1']['mean']:.3f} / {ret['R@5']['mean']:.3f} "
                         f"({ret['R@1']['chance']:.3f} / {ret['R@5']['chance']:.3f})")
        else:
            cells.append("–")
        cells.append(_auc_cell(_entry(doc, row, "zs")))
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def comparisons_table(doc: dict[str, Any]) -> str:
    """Paired differences between hard-negative modes (Table 6) in Markdown."""
    lines = ["| comparison | protocol | Δ AUC | 95 % CI | P(not better) |", "|---|---|---|---|---|"]
    for c in doc.get("comparisons", []):
        ci = c["ci"]
        ci_s = "–" if any(math.isnan(v) for v in ci) else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"
        lines.append(f"| {c['a']} − {c['b']} | {_PROTOCOL_NAMES.get(c['protocol'], c['protocol'])} | "
                     f"{c['diff']:+.3f} | {ci_s} | {c['p_not_better']:.2f} |")
    return "\n".join(lines) + "\n"


def plot_method(doc: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Bar chart of the seed-mean test AUC per row and protocol with bootstrap-CI error bars."""
    import numpy as np

    from mvkl.evaluation.plots import _COLORS, _new, _save

    order = list(dict.fromkeys(r["row"] for r in doc["rows"]))
    protos = [p for p in ("lp", "le", "ft", "zs") if any(r["protocol"] == p for r in doc["rows"])]
    fig = _new(max(6.0, 1.0 * len(order) + 2.0), 4.2)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(1, len(protos))
    for j, p in enumerate(protos):
        xs, ys, lo, hi = [], [], [], []
        for i, row in enumerate(order):
            e = _entry(doc, row, p)
            if e is None:
                continue
            xs.append(i + (j - (len(protos) - 1) / 2) * width)
            ys.append(e["auc_mean"])
            c0, c1 = e["ci"]
            lo.append(0.0 if math.isnan(c0) else e["auc_mean"] - c0)
            hi.append(0.0 if math.isnan(c1) else c1 - e["auc_mean"])
        ax.bar(xs, ys, width * 0.95, yerr=np.array([lo, hi]), capsize=2, color=_COLORS[j % len(_COLORS)],
               label=_PROTOCOL_NAMES[p])
    base = _entry(doc, "random", "le") or _entry(doc, "random", "lp")
    if base is not None:
        ax.axhline(base["auc_mean"], color="#555555", ls="--", lw=1, label="random init")
    ax.axhline(0.5, color="#999999", ls=":", lw=1)
    ax.set_xticks(range(len(order)), order, rotation=25, ha="right")
    ax.set_ylim(0.3, 1.0)
    ax.set_ylabel("test AUC (seed mean, 95 % CI)")
    ax.set_title(f"Method benchmark: {doc.get('seeds')} seeds, {doc.get('n_test')} test images")
    ax.legend(fontsize=8, ncols=len(protos) + 1, loc="upper left")
    return _save(fig, path)
