"""The `mvkl hamming` figure: pairwise distances, ManiNeg batches per μ, availability (PNG).

Panels: (a) pairwise Hamming distances between lumps with the bounds [a, b] and the suggested
b; (b) anchor–negative distances of simulated batches per μ, with the target of Eq. 7 averaged
over the simulated anchors (renormalised to each anchor's available distances) overlaid;
(c) all in-batch pairwise distances per μ (the ManiNeg paper's figure); (d) the share of anchors
with at least one candidate at each distance. Written atomically.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from mvkl.fsutil import atomic_path

__all__ = ["plot_report"]


def _frac(h: list[int] | np.ndarray) -> np.ndarray:
    a = np.asarray(h, dtype=np.float64)
    return a / a.sum() if a.sum() > 0 else a


def plot_report(doc: dict[str, Any], path: str | os.PathLike[str], title: str = "") -> None:
    """Render a :func:`mvkl.sampling.analysis.hamming_report` document to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dist = doc["distances"]
    a, b = doc["settings"]["bounds"]
    sb = dist["suggested_upper_bound"]["b"]
    pair = _frac(dist["pair_hist"])
    avail = np.asarray(dist["availability"]["fraction_with_candidate_at"])
    sims = doc["simulation"]
    upper = max(dist["max_distance"], b, *(np.flatnonzero(s["in_batch_pair_hist"]).max(initial=0) for s in sims)) + 1
    ks = np.arange(upper + 1)
    colors = plt.get_cmap("viridis")(np.linspace(0.1, 0.85, max(len(sims), 1)))

    fig, axes = plt.subplots(2, 2, figsize=(13, 9), constrained_layout=True)
    ax = axes[0, 0]
    ax.bar(ks, pair[: upper + 1], color="0.55", width=0.85)
    ax.axvspan(a - 0.5, b + 0.5, color="tab:blue", alpha=0.07, label=f"bounds [a, b] = [{a}, {b}]")
    ax.axvline(sb + 0.5, color="tab:red", ls="--", lw=1.2, label=f"suggested b = {sb}")
    ax.set_title("(a) Pairwise Hamming distance between lumps" + ("" if dist["exact"] else " (estimated)"))
    ax.set_xlabel("masked Hamming distance")
    ax.set_ylabel("fraction of lump pairs")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[0, 1]
    w = 0.8 / max(len(sims), 1)
    for i, s in enumerate(sims):
        x = ks + (i - (len(sims) - 1) / 2) * w
        ax.bar(x, _frac(s["anchor_negative_hist"])[: upper + 1], width=w, color=colors[i], alpha=0.75,
               label=f"μ = {s['mu']:g} sampled")
        ax.plot(ks, np.asarray(s["target_mean_renormalised"])[: upper + 1], color=colors[i], lw=1.6,
                marker="o", ms=3, mec="k", mew=0.4, label=f"μ = {s['mu']:g} target")
    ax.set_title("(b) Anchor–negative distance in simulated batches vs. target (Eq. 7)")
    ax.set_xlabel("Hamming distance to the anchor")
    ax.set_ylabel("fraction of negatives")
    ax.legend(loc="upper right", fontsize=8, ncol=2)

    ax = axes[1, 0]
    for i, s in enumerate(sims):
        ax.step(ks, _frac(s["in_batch_pair_hist"])[: upper + 1], where="mid", color=colors[i], lw=1.8,
                label=f"μ = {s['mu']:g} (batch {s['batch_size_refill']['mean']:.0f}, "
                      f"{s['batch_size_no_refill']['mean']:.1f} without refill)")
    ax.step(ks, pair[: upper + 1], where="mid", color="0.4", ls=":", lw=1.5, label="all lump pairs")
    ax.set_title("(c) All pairwise distances inside simulated batches")
    ax.set_xlabel("masked Hamming distance")
    ax.set_ylabel("fraction of in-batch pairs")
    ax.legend(loc="upper right", fontsize=8)

    ax = axes[1, 1]
    ax.bar(ks[1:], avail[1 : upper + 1] * 100, color="tab:green", alpha=0.7, width=0.85)
    ax.axvspan(a - 0.5, b + 0.5, color="tab:blue", alpha=0.07, label=f"bounds [{a}, {b}]")
    ax.axhline(5, color="tab:red", ls="--", lw=1, label="5% of anchors (rule for suggested b)")
    ax.set_title("(d) Anchors with at least one candidate at each distance")
    ax.set_xlabel("Hamming distance to the anchor")
    ax.set_ylabel("% of anchors")
    ax.set_ylim(0, 118)
    ax.legend(loc="upper right", fontsize=8, ncol=2)
    for axx in axes.ravel():
        axx.set_xlim(-0.6, upper + 0.6)
        axx.set_xticks(ks[:: max(1, (upper + 1) // 18)])
    summ, st = doc["summary"], doc["settings"]
    rules = f"de-dup {st.get('dedup', 'manifestation')}" + (", snapping" if st.get("snap") else "")
    fig.suptitle((title + ": " if title else "") + f"{summ['n_lumps']} lumps, {summ['n_unique']} distinct "
                 f"manifestations, σ = {st['sigma']:g}, batch {st['batch_size']}, "
                 f"{st['batches']} simulated batches per μ, {rules}", fontsize=11)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
