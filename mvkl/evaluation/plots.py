"""Figures of the paper's evaluation (Figs. 3, 4, 5, 7, 8) as PNG files.

Every function draws on a fresh :class:`matplotlib.figure.Figure` with the Agg canvas (no pyplot
state, safe in threads and without a display), writes the PNG atomically through
:func:`mvkl.fsutil.atomic_path` (nothing half-written at ``path`` after a failure) and returns
the path. Inputs are the plain outputs of the sibling modules.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mvkl.analysis.representation import metrics as R
from mvkl.errors import InputError
from mvkl.fsutil import atomic_path

__all__ = [
    "plot_alignment_uniformity",
    "plot_confusion",
    "plot_data_fraction",
    "plot_reliability",
    "plot_roc",
]

PathLike = str | os.PathLike[str]
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def _new(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: PathLike, dpi: int = 150) -> Path:
    final = Path(path)
    with atomic_path(final) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, facecolor="white")
    return final


# --- Fig. 3: ROC ---------------------------------------------------------------------------------


def _roc_of(spec: Any) -> tuple[np.ndarray, np.ndarray, float, Any, Any]:
    """(fpr, tpr, auc, y, p) from ``(y, p)`` or ``{"fpr", "tpr"[, "auc"]}``."""
    from sklearn.metrics import auc as sk_auc
    from sklearn.metrics import roc_curve

    from mvkl.evaluation.metrics import check_binary, roc_auc

    if isinstance(spec, Mapping):
        fpr, tpr = np.asarray(spec["fpr"], float), np.asarray(spec["tpr"], float)
        return fpr, tpr, float(spec.get("auc", sk_auc(fpr, tpr))), None, None
    y, p = check_binary(*spec)
    fpr, tpr, _ = roc_curve(y, p)
    return fpr, tpr, roc_auc(y, p), y, p


def plot_roc(
    curves: Mapping[str, Any],
    path: PathLike,
    *,
    title: str = "ROC curve",
    points: Mapping[str, tuple[float, float]] | None = None,
    mark_thresholds: Sequence[float] = (),
) -> Path:
    """ROC curves (paper Fig. 3).

    Args:
        curves: name → ``(y, p)`` (labels, malignant probabilities) or precomputed
            ``{"fpr", "tpr", "auc"}``; the legend shows each AUC.
        path: PNG to write.
        points: name → ``(false-positive rate, true-positive rate)`` drawn as markers, e.g. the
            radiologists of Table 7 (FPR = 1 − specificity).
        mark_thresholds: operating points (rule ``p >= t``) marked on the curves given as
            ``(y, p)``, e.g. ``(0.87, 0.74, 0.5)``.
    """
    from mvkl.evaluation.metrics import threshold_metrics

    if not curves and not points:
        raise InputError("nothing to plot: give at least one curve or point")
    fig = _new(5.6, 5.2)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], ls="--", lw=1, color="0.6", label="chance")
    for i, (name, spec) in enumerate(curves.items()):
        color = _COLORS[i % len(_COLORS)]
        fpr, tpr, auc, y, p = _roc_of(spec)
        ax.plot(fpr, tpr, lw=2, color=color, label=f"{name} (AUC = {auc:.3f})")
        if y is not None:
            for t in mark_thresholds:
                m = threshold_metrics(y, p, t)
                ax.plot(1 - m["specificity"], m["sensitivity"], "o", ms=6, mfc="white", mec=color, mew=1.5)
                ax.annotate(
                    f"t={t:g}",
                    (1 - m["specificity"], m["sensitivity"]),
                    textcoords="offset points",
                    xytext=(6, -12),
                    fontsize=8,
                    color=color,
                )
    markers = "s^Dvp*"
    for j, (name, (fx, ty)) in enumerate((points or {}).items()):
        ax.plot(fx, ty, markers[j % len(markers)], ms=9, color="k", mfc=_COLORS[(j + 3) % len(_COLORS)], label=name)
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), xlabel="False positive rate (1 − specificity)")
    ax.set_ylabel("True positive rate (sensitivity)")
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    return _save(fig, path)


# --- Fig. 7: reliability -------------------------------------------------------------------------


def _bars(ax: Any, rel: Mapping[str, Any], name: str | None) -> None:
    edges = np.asarray(rel["edges"], float)
    width = np.diff(edges)
    centres = edges[:-1] + width / 2
    acc = np.asarray(rel["accuracy"], float)
    conf = np.asarray(rel["confidence"], float)
    inc = np.asarray(rel["included"], bool)
    count = np.asarray(rel["count"], int)
    nonempty = count > 0
    exc = nonempty & ~inc
    ax.plot([0, 1], [0, 1], ls="--", color="0.35", lw=1.2, label="perfect calibration", zorder=4)
    ax.bar(centres[inc], acc[inc], width[inc], color="#1f77b4", edgecolor="k", lw=0.8, label="observed", zorder=2)
    gap_lo, gap_hi = np.minimum(acc, conf), np.maximum(acc, conf)
    ax.bar(
        centres[inc],
        (gap_hi - gap_lo)[inc],
        width[inc],
        bottom=gap_lo[inc],
        color="#d62728",
        alpha=0.45,
        edgecolor="#a01010",
        hatch="//",
        lw=0.8,
        label="gap to mean confidence",
        zorder=3,
    )
    for j, b in enumerate(np.flatnonzero(exc)):  # excluded bins: hatched column, tick at the observed value
        ax.bar(
            centres[b],
            1.02,
            width[b],
            color="0.93",
            edgecolor="0.6",
            hatch="xx",
            lw=0.6,
            zorder=1,
            label=f"excluded bin (< {rel['min_count']} samples)" if j == 0 else None,
        )
        ax.plot(
            [edges[b], edges[b + 1]],
            [acc[b], acc[b]],
            color="0.25",
            lw=2,
            zorder=3,
            label="observed, excluded bin" if j == 0 else None,
        )
    for c, n, i in zip(centres[nonempty], count[nonempty], inc[nonempty], strict=True):
        ax.text(c, 0.015, f"{n}", ha="center", va="bottom", fontsize=7, color="white" if i else "0.2", zorder=5)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel=rel["axes"]["x"], ylabel=rel["axes"]["y"])
    ax.set_aspect("equal")
    head = f"{name}: " if name else ""
    e = rel["ece_paper"]
    ece_text = f"{e:.3f}" if np.isfinite(e) else f"n/a (no bin with ≥ {rel['min_count']} samples)"
    ax.set_title(f"{head}ECE = {ece_text}", fontsize=11)
    ax.legend(loc="upper left", fontsize=8, title="numbers in bars: samples", title_fontsize=7)


def plot_reliability(
    rel: Mapping[str, Any] | Mapping[str, Mapping[str, Any]], path: PathLike, *, title: str | None = None
) -> Path:
    """Reliability diagram(s) (paper Fig. 7) from :func:`~mvkl.evaluation.calibration.reliability`.

    One dict: a bar diagram (observed accuracy per bin, the gap to the bin's mean confidence in
    red, the diagonal, bins excluded for having fewer than ``min_count`` samples cross-hatched
    grey, sample counts in the bars, the paper ECE in the title). A mapping name → dict: one bar
    diagram per model plus an overlay of all curves (mean confidence vs accuracy over the
    included bins, "name, ECE=…"), as in Fig. 7.
    """
    single = "edges" in rel
    models: dict[str, Mapping[str, Any]] = {"": rel} if single else dict(rel)  # type: ignore[arg-type]
    if not models:
        raise InputError("nothing to plot: no reliability results")
    k = len(models) if single else len(models) + 1
    fig = _new(max(5.0, 4.6 * k), 5.3)
    axes = fig.subplots(1, k, squeeze=False)[0]
    for ax, (name, r) in zip(axes, models.items(), strict=False):
        _bars(ax, r, name or None)
    if not single:
        ax = axes[-1]
        ax.plot([0, 1], [0, 1], ls="--", color="0.35", lw=1.2)
        for i, (name, r) in enumerate(models.items()):
            inc = np.asarray(r["included"], bool)
            ax.plot(
                np.asarray(r["confidence"], float)[inc],
                np.asarray(r["accuracy"], float)[inc],
                "o-",
                color=_COLORS[i % len(_COLORS)],
                label=f"{name}, ECE={r['ece_paper']:.3f}" if np.isfinite(r["ece_paper"]) else f"{name}, ECE=n/a",
            )
        first = next(iter(models.values()))
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel=first["axes"]["x"], ylabel=first["axes"]["y"])
        ax.set_aspect("equal")
        ax.set_title("All models", fontsize=11)
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    defs = {r["definition"] for r in models.values()}
    first = next(iter(models.values()))
    conf = {"top-label": "confidence = max(p, 1 − p)", "positive": "confidence = P(malignant)"}
    sub = f"{first['n_bins']} equal-width bins; bins with < {first['min_count']} samples excluded from ECE\n" + (
        conf[first["definition"]] if len(defs) == 1 else "mixed definitions: see axis labels"
    )
    fig.suptitle(f"{title}\n{sub}" if title else sub, fontsize=10)
    return _save(fig, path)


# --- Fig. 4: confusion ---------------------------------------------------------------------------


def _matrix_panel(ax: Any, m: np.ndarray, labels: Sequence[str], fmt: str, title: str, vmax: float) -> Any:
    im = ax.imshow(m, cmap="Blues", vmin=0, vmax=vmax if vmax > 0 else 1)
    for (i, j), v in np.ndenumerate(m):
        if np.isnan(v):
            continue
        dark = v > 0.6 * (vmax if vmax > 0 else 1)
        ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_title(title, fontsize=11)
    return im


def plot_confusion(
    matrix: Any,
    labels: Sequence[str],
    path: PathLike,
    title: str = "Confusion matrix",
    *,
    xlabel: str = "Predicted",
    ylabel: str = "True",
) -> Path:
    """Counts and row-normalised percentages side by side (paper Fig. 4: ground-truth vs retrieved
    BI-RADS, ``labels`` = ``("0", …, "6")``). Rows are the true categories; an empty row is left
    blank in the normalised panel."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(labels):
        raise InputError(f"matrix must be square with one row per label (got {m.shape} for {len(labels)} labels)")
    rows = m.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        norm = np.where(rows > 0, 100.0 * m / rows, np.nan)
    size = 3.2 + 0.45 * len(labels)
    fig = _new(2 * size + 1.2, size)
    ax1, ax2 = fig.subplots(1, 2)
    im1 = _matrix_panel(ax1, m, labels, ".0f", f"Counts (n = {int(m.sum())})", float(m.max()))
    im2 = _matrix_panel(ax2, norm, labels, ".0f", "Row-normalised (%)", 100.0)
    for ax in (ax1, ax2):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    fig.colorbar(im1, ax=ax1, shrink=0.8)
    fig.colorbar(im2, ax=ax2, shrink=0.8)
    fig.suptitle(title, fontsize=12)
    return _save(fig, path)


# --- Fig. 5: data fraction -----------------------------------------------------------------------


def _mean_std_of(v: Any) -> tuple[float, float]:
    if isinstance(v, Mapping):
        return float(v["mean"]), float(v.get("std", math.nan))
    if isinstance(v, (tuple, list)):
        return float(v[0]), float(v[1]) if len(v) > 1 else math.nan
    return float(v), math.nan


def plot_data_fraction(
    results: Mapping[str, Mapping[float, Any]],
    path: PathLike,
    *,
    title: str = "Fine-tuning with reduced training data",
    ylabel: str = "AUC (%)",
    scale: float = 100.0,
) -> Path:
    """Metric vs fraction of the training set (paper Fig. 5).

    Args:
        results: model → {fraction (0-1]: ``(mean, std)``, ``{"mean", "std"}`` or a mean}.
            Points are joined in fraction order; a ±1 std band and error bars are drawn where
            the std is finite.
        scale: multiplies means and stds (100 for percent).
    """
    if not results:
        raise InputError("nothing to plot: no results")
    fig = _new(6.0, 4.4)
    ax = fig.add_subplot()
    fracs: set[float] = set()
    for i, (name, by_frac) in enumerate(results.items()):
        color = _COLORS[i % len(_COLORS)]
        xs = sorted(float(f) for f in by_frac)
        fracs.update(xs)
        lookup = {float(f): v for f, v in by_frac.items()}
        ms = np.array([_mean_std_of(lookup[x]) for x in xs]) * scale
        mean, std = ms[:, 0], ms[:, 1]
        ax.plot(xs, mean, "o-", lw=2, color=color, label=name)
        ok = np.isfinite(std)
        if ok.any():
            ax.errorbar(np.array(xs)[ok], mean[ok], yerr=std[ok], fmt="none", ecolor=color, capsize=4, lw=1)
            ax.fill_between(np.array(xs)[ok], (mean - std)[ok], (mean + std)[ok], color=color, alpha=0.15)
    ax.set_xticks(sorted(fracs), [f"{f:g}" for f in sorted(fracs)])
    ax.set_xlabel("Training set ratio")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return _save(fig, path)


# --- Fig. 8: alignment and uniformity ------------------------------------------------------------

_PI_TICKS = ([-np.pi, -np.pi / 2, 0, np.pi / 2, np.pi], ["−π", "−π/2", "0", "π/2", "π"])


def _planar(ax: Any, pts: np.ndarray, title: str, color: str) -> None:
    kde = R.gaussian_kde_2d(pts) if len(pts) else None
    if kde is not None:
        xx, yy, zz = kde
        ax.contourf(xx, yy, zz, levels=14, cmap="viridis")
    else:
        ax.scatter(pts[:, 0], pts[:, 1], s=6, color=color)
    circle = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(circle), np.sin(circle), color="white" if kde is not None else "0.6", lw=0.6, alpha=0.7)
    ax.set(xlim=(-1.25, 1.25), ylim=(-1.25, 1.25), xticks=[-1, 0, 1], yticks=[-1, 0, 1])
    ax.set_aspect("equal")
    ax.set_title(f"{title} (n={len(pts)})", fontsize=10)


def _angular(ax: Any, theta: np.ndarray, title: str, color: str, kappa: float) -> None:
    if theta.size:
        grid, dens = R.vonmises_kde(theta, kappa=kappa)
        ax.fill_between(grid, dens, color=color, alpha=0.3)
        ax.plot(grid, dens, color=color, lw=1.5)
        for pk in R.angular_peaks(grid, dens, n=1):
            ax.axvline(pk, color="k", ls="--", lw=1)
            right = pk > np.pi / 2  # keep the label inside the axes
            label = f"peak {pk:+.2f} " if right else f" peak {pk:+.2f}"
            ax.text(pk, ax.get_ylim()[1] * 0.95, label, fontsize=7, va="top", ha="right" if right else "left")
    ax.set_xlim(-np.pi, np.pi)
    ax.set_xticks(*_PI_TICKS)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Angle")
    ax.set_ylabel("Density")
    ax.set_title(title, fontsize=10)


def _au_block(sub: Any, name: str, spec: Mapping[str, Any], kappa: float, bins: int) -> None:
    emb = np.asarray(spec["embeddings"], dtype=np.float64)
    if emb.ndim != 2 or emb.shape[1] != 2:
        raise InputError(f"{name}: embeddings must be (n, 2) for the circle plots (got {emb.shape})")
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    labels = spec.get("labels")
    groups: list[tuple[str, np.ndarray, str]] = [("All", np.ones(len(emb), bool), "#4c72b0")]
    if labels is not None:
        lab = np.asarray(labels)
        groups += [("Benign", lab == 0, "#55a868"), ("Malignant", lab == 1, "#c44e52")]
    axes = sub.subplots(2, 1 + len(groups), squeeze=False)
    dist = None
    lines = [f"uniformity (t=2): {R.uniformity(emb):.3f}"] if len(emb) > 1 else []
    if "positive_pairs" in spec:
        a, b = (np.asarray(v, dtype=np.float64) for v in spec["positive_pairs"])
        dist = R.pair_distances(a, b)
        an = a / np.linalg.norm(a, axis=1, keepdims=True)
        bn = b / np.linalg.norm(b, axis=1, keepdims=True)
        lines.insert(0, f"alignment (α=2): {R.alignment(an, bn):.3f}")
    elif "pair_distances" in spec:
        dist = np.asarray(spec["pair_distances"], dtype=np.float64)
    ax = axes[0, 0]
    if dist is not None:
        ax.hist(dist, bins=bins, range=(0, 2), color="#4c72b0", edgecolor="white")
        ax.axvline(float(np.mean(dist)), color="k", ls="--", lw=1, label=f"mean {np.mean(dist):.3f}")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no positive pairs given", ha="center", va="center", transform=ax.transAxes)
    ax.set(xlim=(0, 2), xlabel="Cosine distance", ylabel="Counts")
    ax.set_title("Alignment: positive-pair distances", fontsize=10)
    txt = axes[1, 0]
    txt.axis("off")
    txt.text(0.02, 0.5, "\n".join([name, *lines, f"n = {len(emb)}"]), fontsize=10, va="center", family="monospace")
    theta = R.angles(emb)
    for j, (gname, mask, color) in enumerate(groups, start=1):
        _planar(axes[0, j], emb[mask], f"{gname}: features", color)
        _angular(axes[1, j], theta[mask], f"{gname}: angular density", color, kappa)
    top = max(axes[1, j].get_ylim()[1] for j in range(1, len(groups) + 1))
    for j in range(1, len(groups) + 1):  # one density scale per model, so groups compare
        axes[1, j].set_ylim(0, top)
    sub.suptitle(name, fontsize=12, fontweight="bold")


def plot_alignment_uniformity(
    models: Mapping[str, Mapping[str, Any]], path: PathLike, *, kappa: float = 8.0, bins: int = 40
) -> Path:
    """Alignment and uniformity of 2-D embeddings on the unit circle (paper Fig. 8).

    Args:
        models: name → ``{"embeddings": (n, 2) test-image embeddings, "labels": (n,) 0/1
            (optional; adds benign and malignant columns), "positive_pairs": ((m, 2), (m, 2))
            or "pair_distances": (m,) cosine distances}``. One block of panels per model:
            positive-pair distance histogram, planar Gaussian KDE, angular von Mises KDE with
            the peak marked, and the Wang-Isola scalars.
        kappa: von Mises kernel concentration.
    """
    if not models:
        raise InputError("nothing to plot: no embeddings")
    ncols = max(2 + 2 * (m.get("labels") is not None) for m in models.values())
    fig = _new(3.3 * ncols, 6.4 * len(models))
    subs = fig.subfigures(len(models), 1, squeeze=False)[:, 0]
    for sub, (name, spec) in zip(subs, models.items(), strict=True):
        _au_block(sub, name, spec, kappa, bins)
    return _save(fig, path)
