"""Crop sheets sorted by manifestation option (paper Table 1): does each option show in the pixels?

For a group (``mass_shape``, ``mass_edge``, ``calc_distribution``, ``misc``, …) the sheet has one
row per option with the stored images of up to ``per_option`` lumps that have it (drawn with a
seed, benign and malignant alternating), so a reader sees at a glance whether round, ovoid,
lobulated and irregular masses look different at the store's resolution. ``mvkl info STORE
--option-sheets DIR`` writes one sheet per group; docs/synth.md shows those of the demo store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mvkl.fsutil import atomic_path, display_path
from mvkl.manifest import schema as M
from mvkl.store.io import Store

__all__ = ["option_sheet", "option_sheets"]


def _pick(candidates: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator) -> list[int]:
    """Up to ``n`` of ``candidates``, benign and malignant alternating where both exist."""
    pools = [list(rng.permutation(candidates[labels[candidates] == k])) for k in (0, 1)]
    out: list[int] = []
    while len(out) < n and any(pools):
        for p in pools:
            if p and len(out) < n:
                out.append(int(p.pop()))
    return out


def option_sheet(store: str | Path, group: str, out: str | Path, *, per_option: int = 8,
                 seed: int = 0) -> dict[str, list[int]]:
    """Write the sheet of one manifestation group; returns option key → the lumps drawn (store rows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = M.group_by_key()[group]
    opts = [o for o in M.OPTIONS if o.group == group]
    rng = np.random.default_rng([seed, len(group)])
    with Store(store) as st:
        L = st.lumps
        man, known, labels = L["manifest"][:], L["manifest_known"][:], L["label"][:]
        cc = L["cc"][:]
        top = 255 if st.info.pixel_dtype == "uint8" else 65535
        fig, axes = plt.subplots(len(opts), per_option, figsize=(per_option * 1.1, len(opts) * 1.25 + 0.5),
                                 squeeze=False)
        drawn: dict[str, list[int]] = {}
        for r, o in enumerate(opts):
            has = np.flatnonzero((man[:, o.index] == 1) & (known[:, o.index] == 1) & (cc >= 0))
            chosen = _pick(has, labels, per_option, rng)
            drawn[o.key] = chosen
            for c in range(per_option):
                ax = axes[r, c]
                ax.set_xticks([])
                ax.set_yticks([])
                for side in ax.spines.values():
                    side.set_visible(False)
                if c == 0:
                    ax.set_ylabel(f"{o.en}\n({has.size})", fontsize=6, rotation=0, ha="right", va="center")
                if c >= len(chosen):
                    continue
                li = chosen[c]
                ax.imshow(st.image(int(cc[li])), cmap="gray", vmin=0, vmax=top, interpolation="nearest")
                ax.set_title({1: "malignant", 0: "benign"}.get(int(labels[li]), "?"), fontsize=5, pad=1)
        fig.suptitle(f"{g.en}: CC views of lumps with each option ({display_path(store)}, "
                     f"{st.info.image_size} px; in brackets: lumps with the option)", fontsize=7)
        fig.tight_layout(rect=(0.04, 0, 1, 0.96), h_pad=0.3, w_pad=0.2)
        with atomic_path(Path(out), suffix=".png") as tmp:
            fig.savefig(tmp, dpi=120, format="png")
        plt.close(fig)
    return drawn


def option_sheets(store: str | Path, out_dir: str | Path, *, per_option: int = 8, seed: int = 0) -> dict[str, Any]:
    """One sheet per manifestation group into ``out_dir`` (``<group>.png``); returns group → file and
    the number of lumps drawn per option."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {}
    for g in M.GROUPS:
        path = out_dir / f"{g.key}.png"
        drawn = option_sheet(store, g.key, path, per_option=per_option, seed=seed)
        doc[g.key] = {"file": display_path(path), "lumps": {k: len(v) for k, v in drawn.items()}}
    return doc
