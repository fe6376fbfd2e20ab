"""What is in a store (`mvkl info`): counts, coverage, de-identification record, preview sheet.

Everything here reads the store through :class:`mvkl.store.Store` and reports only what the
store holds (pseudonymous, de-identified by construction); counts are per split, label, view,
laterality and BI-RADS; manifestation coverage is the known fraction per group and the
prevalence of each option among lumps where its group is known.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.fsutil import atomic_path, display_path
from mvkl.manifest import schema as M
from mvkl.store import Store, check_store
from mvkl.store import schema as SC

__all__ = ["describe_store", "preview_cells", "preview_sheet"]

_LABEL = {1: "malignant", 0: "benign", -1: "unknown"}


def _counts(values: Any, names: Any) -> dict[str, int]:
    c = collections.Counter(int(v) for v in values)
    return {str(names[k]): int(c.get(k, 0)) for k in (range(len(names)) if isinstance(names, (list, tuple))
                                                       else names)}


def describe_store(path: str | Path) -> dict[str, Any]:
    """The `mvkl info` document of a store (also its ``check_store`` violations). A store too
    broken to describe gives its violations and the root attributes only."""
    violations = check_store(path)
    try:
        return _describe(path, violations)
    except (KeyError, ValueError, IndexError, TypeError) as exc:
        with Store(path) as st:
            return {"store": display_path(path), "ok": False, "mvkl_format": st.info.format,
                    "violations": [*violations, f"cannot describe the store ({type(exc).__name__})"],
                    "attrs": {k: v for k, v in st.info.attrs.items() if k != "manifest_keys"}}


def _describe(path: str | Path, violations: list[str]) -> dict[str, Any]:
    with Store(path) as st:
        a = st.info.attrs
        L, IM = st.lumps, st.images_meta
        n, n_img = st.n_lumps, st.n_images
        splits: dict[str, Any] = {}
        for si, name in enumerate(SC.SPLIT_NAMES):
            sel = L["split"] == si
            isel = IM["split"] == si
            splits[name] = {
                "lumps": int(sel.sum()),
                "patients": len({bytes(p) for p in L["patient_id"][sel]}),
                "images": int(isel.sum()),
                "labels": {_LABEL[k]: int((L["label"][sel] == k).sum()) for k in (1, 0, -1)},
                "image_labels": {_LABEL[k]: int((IM["label"][isel] == k).sum()) for k in (1, 0, -1)},
            }
        has_cc, has_mlo = L["cc"] >= 0, L["mlo"] >= 0
        birads = collections.Counter(bytes(b).decode() or "unknown" for b in L["birads"])
        order = [*SC.BIRADS_VALUES, "unknown"]
        known, vec = L["manifest_known"].astype(bool), L["manifest"].astype(bool)
        groups = {}
        for g in M.GROUPS:
            sl = g.slice
            if g.exclusive:
                groups[g.key] = round(float(known[:, sl].all(axis=1).mean()) if n else 0.0, 4)
            else:
                groups[g.key] = round(float(known[:, sl].mean()) if n else 0.0, 4)
        prevalence = {}
        for o in M.OPTIONS:
            k = known[:, o.index]
            prevalence[o.key] = round(float(vec[k, o.index].mean()), 4) if k.any() else None
        reports = [r for r in L["report"] if r]
        doc = {
            "store": display_path(path),
            "ok": not violations,
            "mvkl_format": st.info.format,
            "mvkl_version": st.info.mvkl_version,
            "image_size": st.info.image_size,
            "pixel_dtype": st.info.pixel_dtype,
            "lumps": n,
            "images": n_img,
            "patients": len({bytes(p) for p in L["patient_id"]}),
            "exams": len({bytes(p) for p in L["exam_id"]}),
            "splits": splits,
            "labels": {_LABEL[k]: int((L["label"] == k).sum()) for k in (1, 0, -1)},
            "views": {
                "lumps": {"CC+MLO": int((has_cc & has_mlo).sum()), "CC only": int((has_cc & ~has_mlo).sum()),
                          "MLO only": int((~has_cc & has_mlo).sum())},
                "images": _counts(IM["view"], list(SC.VIEW_CODES)),
            },
            "laterality": {"lumps": _counts(L["laterality"], list(SC.LATERALITY_CODES)),
                           "images": _counts(IM["laterality"], list(SC.LATERALITY_CODES))},
            "birads": {k: int(birads.get(k, 0)) for k in order if birads.get(k, 0)},
            "density": {("unknown" if k == -1 else str(k)): int((L["density"] == k).sum())
                        for k in (1, 2, 3, 4, -1) if (L["density"] == k).any()},
            "age_buckets": {("unknown" if k < 0 else f"{k}-{k + 4}" if k < 90 else "90+"): int(v)
                            for k, v in sorted(collections.Counter(int(x) for x in L["age_bucket"]).items())},
            "manifestations": {"known_fraction_by_group": groups, "prevalence_among_known": prevalence},
            "reports": {"present": len(reports),
                        "mean_chars": round(float(np.mean([len(r) for r in reports])), 1) if reports else 0.0},
            "images_flipped": int(IM["flipped"].sum()),
            "image_kind": st.views,
            "lesions": _lesion_summary(st),
            "deid": a.get("deid", {}),
            "key_fingerprint": a.get("key_fingerprint", ""),
            "sources": a.get("sources", []),
            "split_policy": a.get("split_policy", {}),
            "violations": violations,
        }
    return doc


def _lesion_summary(st: Store) -> dict[str, Any]:
    """Counts of the ``/lesions`` group: boxes, images with a box, boxes by kind."""
    les = st.lesions()
    names = st.lesion_kinds or ["unknown"]
    kinds = collections.Counter(names[int(k)] if int(k) < len(names) else "unknown" for k in les["kind"])
    return {"boxes": int(les["image"].shape[0]), "images_with_box": len(set(les["image"].tolist())),
            "kinds": dict(sorted(kinds.items()))}


def preview_cells(cc: Any, mlo: Any, chosen: list[int]) -> list[tuple[int, int, str]]:
    """The cells of a preview sheet: ``(lump, image index or -1, view)`` for the ``chosen`` lumps.

    A two-view store (some lump points at both a CC and an MLO image, as MVKL lumps do) gets a CC
    and an MLO cell per lump, side by side, so that a lump that lost a view shows it ("no MLO"). A
    single-view store (public data sets: one image per lump) gets only the images that exist.
    """
    cc, mlo = np.asarray(cc), np.asarray(mlo)
    paired = bool(((cc >= 0) & (mlo >= 0)).any())
    cells = [(li, int(ptr[li]), view) for li in chosen for view, ptr in (("CC", cc), ("MLO", mlo))]
    return cells if paired else [c for c in cells if c[1] >= 0]


def preview_sheet(path: str | Path, out: str | Path, n_lumps: int = 12, seed: int = 0) -> int:
    """Write a PNG grid of stored images of up to ``n_lumps`` lumps (spread over splits and labels
    by a seeded draw; laid out by :func:`preview_cells`) captioned with split, label, laterality
    and view. Returns the number of images drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    with Store(path) as st:
        L, IM = st.lumps, st.images_meta
        rng = np.random.default_rng(seed)
        strata: dict[tuple[int, int], list[int]] = {}
        for i in range(st.n_lumps):
            strata.setdefault((int(L["split"][i]), int(L["label"][i])), []).append(i)
        pools = [list(rng.permutation(v)) for _, v in sorted(strata.items())]
        chosen: list[int] = []
        while len(chosen) < n_lumps and any(pools):
            for p in pools:
                if p and len(chosen) < n_lumps:
                    chosen.append(int(p.pop(0)))
        cells = preview_cells(L["cc"], L["mlo"], chosen)
        les = st.lesions()
        les_image, boxes = les["image"], les["box"]
        cols = 6
        rows = max(1, -(-len(cells) // cols))
        top = 255 if st.info.pixel_dtype == "uint8" else 65535
        fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.9, rows * 2.35 + 0.4), squeeze=False)
        drawn = 0
        for ax in axes.ravel():
            ax.axis("off")
        for ax, (li, idx, view) in zip(axes.ravel(), cells, strict=False):
            split = SC.SPLIT_NAMES[int(L["split"][li])]
            lab = _LABEL[int(L["label"][li])]
            if idx < 0:
                ax.text(0.5, 0.5, f"no {view}", ha="center", va="center", fontsize=8, transform=ax.transAxes)
                ax.set_title(f"{split} {lab}", fontsize=7)
                continue
            ax.imshow(st.image(idx), cmap="gray", vmin=0, vmax=top, interpolation="nearest")
            for x0, y0, x1, y1 in boxes[les_image == idx]:  # lesion boxes, pixel edges -> imshow's centres
                ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="red",
                                       linewidth=0.8))
            lat = SC.LATERALITY_CODES[int(IM["laterality"][idx])]
            vcode = SC.VIEW_CODES[int(IM["view"][idx])]
            ax.set_title(f"{split} · {lab}\n{lat} {vcode}" + (" (flipped)" if IM["flipped"][idx] else ""),
                         fontsize=7)
            drawn += 1
        fig.suptitle(f"{display_path(path)}: {st.n_lumps} lumps, {st.n_images} images, "
                     f"{st.info.image_size} px {st.info.pixel_dtype}", fontsize=9)
        fig.tight_layout(h_pad=1.2, rect=(0, 0, 1, 0.97))
        out = Path(out)
        with atomic_path(out, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
    return drawn
