"""Alignment and uniformity of the shared embedding space (paper Sec. 5.11, Fig. 8; Wang & Isola,
2020) on the test split of a store.

Positive pairs (alignment = E‖f(x) − f(y)‖², lower is better):

* ``image-text``: each image of a lump with its lump's report;
* ``image-manifest``: each image of a lump with its lump's manifestation (at least one known);
* ``cc-mlo``: the CC and MLO images of a lump.

Uniformity (log E exp(−2‖f(x) − f(y)‖²) over distinct pairs, lower is better) is computed per
modality: the test images (each once), the distinct reports, the manifestations.

Fig. 8 is drawn for 2-D embeddings (a model pretrained with ``--embed-dim 2``, points on the unit
circle): positive-pair distance histogram, planar Gaussian KDE and angular von Mises KDE, for all
test images and for benign and malignant ones. A model with 128-d embeddings gets only the
scalar metrics, unless a 2-D projection is asked for (``project="pca"``: principal components of
the test-image embeddings, re-normalised onto the circle); such a figure is labelled as a
projection, its panels do not show the model's own geometry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mvkl.errors import InputError
from mvkl.fsutil import display_path

__all__ = ["PAIR_KINDS", "pca_2d", "represent", "represent_from_embeddings"]

PAIR_KINDS = ("image-text", "image-manifest", "cc-mlo")


def represent_from_embeddings(pairs: dict[str, tuple[Any, Any]], sets: dict[str, Any]) -> dict[str, Any]:
    """Scalar metrics from embeddings: ``pairs`` kind → (x, y) rows that are positive pairs,
    ``sets`` modality → (n, D) embeddings. Returns ``{"alignment": {kind: {"value", "n",
    "mean_cosine_distance"}}, "uniformity": {modality: {"value", "n"}}}``; a kind or modality
    with too few rows gets ``value`` None."""
    from mvkl.analysis.representation.metrics import alignment, pair_distances, uniformity

    al: dict[str, Any] = {}
    for kind, (x, y) in pairs.items():
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        if x.shape[0] == 0:
            al[kind] = {"value": None, "n": 0, "mean_cosine_distance": None}
            continue
        al[kind] = {"value": alignment(x, y), "n": int(x.shape[0]),
                    "mean_cosine_distance": float(np.mean(pair_distances(x, y)))}
    un: dict[str, Any] = {}
    for name, e in sets.items():
        e = np.asarray(e, np.float64)
        un[name] = {"value": uniformity(e) if e.shape[0] >= 2 else None, "n": int(e.shape[0])}
    return {"alignment": al, "uniformity": un}


def pca_2d(fit: Any, *others: Any) -> tuple[np.ndarray, ...]:
    """Project ``fit`` and ``others`` on the first two principal components of ``fit`` (centred
    on ``fit``'s mean). The sign of each component is fixed (largest loading positive) so the
    picture is reproducible."""
    x = np.asarray(fit, np.float64)
    if x.shape[0] < 3:
        raise InputError(f"a 2-D projection needs at least 3 test images (got {x.shape[0]})")
    mu = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mu, full_matrices=False)
    comp = vt[:2]
    comp = comp * np.sign(comp[np.arange(2), np.argmax(np.abs(comp), axis=1)])[:, None]
    return tuple((np.asarray(a, np.float64) - mu) @ comp.T for a in (x, *others))


def represent(model: Any, tokenizer: Any, store: Any, *, split: str = "test", input_size: int | None = None,
              batch_size: int = 64) -> dict[str, Any]:
    """Embed the ``split`` of ``store`` and compute the metrics (module docstring).

    Returns the :func:`represent_from_embeddings` document plus ``embed_dim``, ``split`` and
    ``_arrays`` (not JSON: ``images`` (n, D), ``labels`` (n,), and per pair kind its (x, y)), which
    :func:`figure_spec` turns into a Fig. 8 panel block.
    """
    from mvkl.analysis.embed import embed_image_rows, embed_manifests, embed_texts, lump_images

    L = store.lumps
    lumps = store.lump_indices(split)
    if len(lumps) == 0:
        raise InputError(f"the {split} split is empty", file=display_path(store.path), code="empty-split")
    pos, rows, _ = lump_images(store, lumps)
    uniq, inv = np.unique(rows, return_inverse=True)
    size = input_size or int(store.info.image_size)
    img_u = embed_image_rows(model, store, uniq, input_size=size, batch_size=batch_size)
    img = img_u[inv.reshape(-1)]
    labels = store.images_meta["label"][uniq].astype(np.int64)
    pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    sets: dict[str, np.ndarray] = {"image": img_u}
    d = img.shape[1]
    empty = np.zeros((0, d))
    # image-text
    reports = [str(L["report"][lumps[p]]) for p in pos]
    has_text = np.array([bool(r.strip()) for r in reports], dtype=bool)
    if getattr(model, "text_encoder", None) is not None and tokenizer is not None and has_text.any():
        txt = embed_texts(model, tokenizer, [r for r, h in zip(reports, has_text, strict=True) if h],
                          batch_size=batch_size)
        pairs["image-text"] = (img[has_text], txt)
        distinct = sorted({str(L["report"][li]) for li in lumps if str(L["report"][li]).strip()})
        sets["text"] = embed_texts(model, tokenizer, distinct, batch_size=batch_size)
    else:
        pairs["image-text"] = (empty, empty)
    # image-manifest
    known = L["manifest_known"][lumps].astype(bool).any(axis=1)
    has_man = known[pos]
    if getattr(model, "manifest_encoder", None) is not None and has_man.any():
        man = embed_manifests(model, L["manifest"][lumps[pos[has_man]]])
        pairs["image-manifest"] = (img[has_man], man)
        sets["manifest"] = embed_manifests(model, L["manifest"][lumps[known]])
    else:
        pairs["image-manifest"] = (empty, empty)
    # cc-mlo
    cc, mlo = L["cc"][lumps], L["mlo"][lumps]
    both = (cc >= 0) & (mlo >= 0) & (cc != mlo)
    where = {int(r): i for i, r in enumerate(uniq)}
    pairs["cc-mlo"] = (img_u[[where[int(r)] for r in cc[both]]], img_u[[where[int(r)] for r in mlo[both]]]) \
        if both.any() else (empty, empty)
    doc = represent_from_embeddings(pairs, sets)
    doc["embed_dim"] = int(d)
    doc["split"] = split
    doc["_arrays"] = {"images": img_u, "labels": labels, "pairs": pairs}
    return doc


def figure_spec(doc: dict[str, Any], pair_kind: str = "cc-mlo", project: str | None = None) -> dict[str, Any] | None:
    """The :func:`mvkl.evaluation.plots.plot_alignment_uniformity` input for one model, or None
    when there is nothing honest to draw (embeddings wider than 2 and no projection asked)."""
    if pair_kind not in PAIR_KINDS:
        raise InputError(f"--pairs must be one of {', '.join(PAIR_KINDS)} (got {pair_kind!r})", code="option")
    arr = doc["_arrays"]
    x, y = arr["pairs"][pair_kind]
    imgs = arr["images"]
    if imgs.shape[1] != 2:
        if project is None:
            return None
        if project != "pca":
            raise InputError(f"--project must be pca (got {project!r})", code="option")
        imgs, x, y = pca_2d(imgs, x, y) if len(x) else (*pca_2d(imgs), x, y)
    spec: dict[str, Any] = {"embeddings": imgs, "labels": arr["labels"]}
    if len(x):
        spec["positive_pairs"] = (x, y)
    return spec


def pair_label(kind: str) -> str:
    return {"image-text": "image–report", "image-manifest": "image–manifestation", "cc-mlo": "CC–MLO"}[kind]


def summary_rows(doc: dict[str, Any]) -> Sequence[tuple[str, str, Any, int]]:
    """``(metric, what, value, n)`` rows for tables."""
    rows = [("alignment", pair_label(k), v["value"], v["n"]) for k, v in doc["alignment"].items()]
    rows += [("uniformity", k, v["value"], v["n"]) for k, v in doc["uniformity"].items()]
    return rows
