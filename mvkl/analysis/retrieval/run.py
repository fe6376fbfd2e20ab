"""Retrieval in the shared space: image → report (paper Sec. 5.7, Fig. 4) and image →
manifestations (Table 8), from a ViKL model and a store (docs/fidelity.md, B47).

Each function comes in two layers: ``*_from_embeddings`` is pure numpy on given embeddings and
calls the library (:mod:`mvkl.analysis.retrieval.metrics`, :mod:`mvkl.evaluation.manifest_estimation`);
the store-level function embeds (:mod:`mvkl.analysis.embed`) and assembles the inputs.

Queries are the test images of each test lump (CC and MLO; a lump's image is a query for that
lump's report and manifestation). Choices the paper leaves open:

* BI-RADS of a report: the store's ``birads`` field when present, else the category parsed from
  the report (:func:`mvkl.radiology.parse_birads`); 4A/4B/4C count as 4. Queries whose true or
  retrieved category is unknown are excluded from the confusion matrix and counted.
* Keys of report retrieval: the distinct (report, BI-RADS) pairs of the training lumps with a
  report (identical reports are one key; ties go to the first).
* Exact-pair recall@k (image ↔ own report, test split): every report with the same text as the
  query's is a positive (``groups`` = text identity), so the CC and MLO images of a lump and
  lumps with identical reports are not counted as misses.
* Empty neighbourhoods in manifestation estimation: the library's ``empty=`` policy (default
  ``nearest``: the single most similar training manifestation votes); their number is reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mvkl.errors import InputError
from mvkl.fsutil import display_path

__all__ = [
    "lump_birads",
    "manifest_estimation",
    "manifest_estimation_from_embeddings",
    "report_retrieval",
    "report_retrieval_from_embeddings",
    "shown_categories",
]


def lump_birads(store: Any, lumps: np.ndarray) -> tuple[list[str | None], list[str]]:
    """BI-RADS category of each lump and where it came from (``field``, ``report``, ``none``)."""
    from mvkl.radiology import normalize_birads, parse_birads

    L = store.lumps
    cats: list[str | None] = []
    src: list[str] = []
    for li in lumps:
        c = normalize_birads(L["birads"][li])
        if c is not None:
            cats.append(c)
            src.append("field")
            continue
        c = parse_birads(str(L["report"][li]))
        cats.append(c)
        src.append("report" if c is not None else "none")
    return cats, src


def report_retrieval_from_embeddings(query_emb: Any, key_emb: Any, key_birads: Sequence[Any],
                                     true_birads: Sequence[Any], *, pair_image_emb: Any | None = None,
                                     pair_report_emb: Any | None = None, pair_groups: Any | None = None,
                                     k_values: Sequence[int] = (1, 5, 10)) -> dict[str, Any]:
    """1-NN report BI-RADS confusion and exact-pair recall@k from embeddings.

    Args:
        query_emb: (n, D) test image embeddings; ``true_birads`` their lumps' categories.
        key_emb: (m, D) training report embeddings; ``key_birads`` their categories.
        pair_image_emb / pair_report_emb: (p, D) test images and their own reports (recall@k);
            ``pair_groups`` (p,) report identity, so identical reports are positives.

    Returns:
        ``{"nearest": [key index per query], "similarity": [...], "retrieved": [category],
        "confusion": {"categories", "matrix", "accuracy", **stats}, "recall": recall_at_k doc or None}``.
    """
    from mvkl.analysis.retrieval.metrics import birads_confusion, cosine_topk, nearest_report_birads, recall_at_k

    if len(true_birads) != np.asarray(query_emb).shape[0]:
        raise InputError(f"{len(true_birads)} true categories for {np.asarray(query_emb).shape[0]} queries")
    retrieved = nearest_report_birads(query_emb, key_emb, key_birads)
    idx, sim = cosine_topk(query_emb, key_emb, 1)
    conf = birads_confusion(true_birads, retrieved)
    recall = None
    if pair_image_emb is not None and pair_report_emb is not None and np.asarray(pair_image_emb).shape[0] > 0:
        recall = recall_at_k(pair_image_emb, pair_report_emb, k_values, groups=pair_groups)
    return {"nearest": idx[:, 0].tolist(), "similarity": sim[:, 0].tolist(), "retrieved": retrieved,
            "confusion": {"matrix": conf.matrix.tolist(), "accuracy": conf.accuracy, **conf.stats},
            "recall": recall}


def shown_categories(conf: dict[str, Any]) -> list[int]:
    """Indices of the categories to draw: 0–5 (paper Fig. 4) plus any other that occurs."""
    m = np.asarray(conf["matrix"])
    cats = conf["categories"]
    return [i for i, c in enumerate(cats) if c in ("0", "1", "2", "3", "4", "5") or m[i].sum() + m[:, i].sum() > 0]


def report_retrieval(model: Any, tokenizer: Any, store: Any, *, query_split: str = "test",
                     key_split: str = "train", input_size: int | None = None, batch_size: int = 64,
                     k_values: Sequence[int] = (1, 5, 10)) -> dict[str, Any]:
    """Image → report retrieval on a store (module docstring): Fig. 4 confusion and recall@k.

    Returns the :func:`report_retrieval_from_embeddings` document plus ``queries`` (per query:
    lump and image pseudonyms, view, true and retrieved category, retrieved training lump id,
    similarity), ``counts`` and ``birads_source`` (how many categories came from the field, were
    parsed from a report, or are unknown).
    """
    from mvkl.analysis.embed import embed_image_rows, embed_texts, lump_images

    L = store.lumps
    ids = [bytes(x).decode("ascii") for x in L["lump_id"]]
    img_ids = [bytes(x).decode("ascii") for x in store.images_meta["image_id"]]
    # keys: distinct (report, category) pairs of the training lumps with a report
    train = store.lump_indices(key_split)
    train = train[[bool(str(L["report"][i]).strip()) for i in train]] if len(train) else train
    if len(train) == 0:
        raise InputError(f"no {key_split} lump has a report: nothing to retrieve", file=display_path(store.path),
                         code="no-reports")
    train_cats, train_src = lump_birads(store, train)
    key_of: dict[tuple[str, str | None], int] = {}
    key_lump: list[int] = []
    for li, c in zip(train, train_cats, strict=True):
        k = (str(L["report"][li]), c)
        if k not in key_of:
            key_of[k] = len(key_lump)
            key_lump.append(int(li))
    key_texts = [k[0] for k in key_of]
    key_cats = [k[1] for k in key_of]
    key_emb = embed_texts(model, tokenizer, key_texts, batch_size=batch_size)
    # queries: every image of every test lump
    test = store.lump_indices(query_split)
    if len(test) == 0:
        raise InputError(f"the {query_split} split is empty", file=display_path(store.path), code="empty-split")
    test_cats, test_src = lump_birads(store, test)
    pos, rows, views = lump_images(store, test)
    if len(rows) == 0:
        raise InputError(f"no {query_split} lump has an image", file=display_path(store.path), code="empty-split")
    uniq, inv = np.unique(rows, return_inverse=True)
    size = input_size or int(store.info.image_size)
    q_emb = embed_image_rows(model, store, uniq, input_size=size, batch_size=batch_size)[inv.reshape(-1)]
    true = [test_cats[p] for p in pos]
    reports = [str(L["report"][test[p]]) for p in pos]
    has = np.array([bool(r.strip()) for r in reports], dtype=bool)
    pair_rep = embed_texts(model, tokenizer, [r for r, h in zip(reports, has, strict=True) if h],
                           batch_size=batch_size) if has.any() else None
    groups = np.unique(np.asarray([r for r, h in zip(reports, has, strict=True) if h], dtype=object),
                       return_inverse=True)[1].reshape(-1) if has.any() else None
    doc = report_retrieval_from_embeddings(q_emb, key_emb, key_cats, true, pair_image_emb=q_emb[has],
                                           pair_report_emb=pair_rep, pair_groups=groups, k_values=k_values)
    doc["queries"] = [{"lump_id": ids[test[p]], "image_id": img_ids[r], "view": v, "true": t,
                       "retrieved": doc["retrieved"][j], "retrieved_lump_id": ids[key_lump[doc["nearest"][j]]],
                       "similarity": doc["similarity"][j]}
                      for j, (p, r, v, t) in enumerate(zip(pos, rows, views, true, strict=True))]
    doc["counts"] = {"queries": len(rows), "query_lumps": len(test), "keys": len(key_texts),
                     "key_lumps": len(train), "recall_pairs": int(has.sum()),
                     "distinct_test_reports": int(groups.max() + 1) if groups is not None else 0}

    def _src(s: list[str]) -> dict[str, int]:
        return {k: s.count(k) for k in ("field", "report", "none")}

    doc["birads_source"] = {"test_lumps": _src(test_src), "train_lumps": _src(train_src)}
    doc["splits"] = {"queries": query_split, "keys": key_split}
    return doc


# --- manifestation estimation --------------------------------------------------------------------


def manifest_estimation_from_embeddings(test_emb: Any, true: Any, true_known: Any, train_emb: Any,
                                        train_manifest: Any, train_known: Any, *, t_distance: float = 0.4,
                                        t_cls: Sequence[float] = (0.15,), empty: str = "nearest") -> dict[str, Any]:
    """Table 8 from embeddings: radius-neighbour voting, then one row per ``t_cls``.

    Returns:
        ``{"rows": threshold_sweep rows (t_cls, accuracy, sensitivity, specificity),
        "metrics": [manifest_metrics per t_cls (per-dimension table included)], "n_queries",
        "n_empty" (queries with no training manifestation within t_distance), "neighbours":
        {"min", "median", "max"}, "t_distance", "empty"}``.
    """
    from mvkl.evaluation.manifest_estimation import estimate_manifestations, manifest_metrics, threshold_sweep

    ts = [float(t) for t in t_cls]
    if not ts:
        raise InputError("give at least one --t-cls value", code="option")
    for t in ts:
        if not 0.0 <= t < 1.0:
            raise InputError(f"--t-cls values must lie in [0, 1) (got {t})", code="option")
    if not 0.0 < t_distance <= 2.0:
        raise InputError(f"--t-distance must lie in (0, 2] (cosine distance; got {t_distance})", code="option")
    _, scores, n_nb = estimate_manifestations(test_emb, train_emb, train_manifest, train_known,
                                              t_distance=t_distance, t_cls=ts[0], empty=empty)  # type: ignore[arg-type]
    rows = threshold_sweep(scores, true, true_known, ts)
    safe = np.nan_to_num(scores, nan=-math.inf)
    metrics = [{"t_cls": t, **manifest_metrics(true, true_known, (safe > t).astype(np.uint8))} for t in ts]
    return {"rows": rows, "metrics": metrics, "n_queries": len(n_nb), "n_empty": int(np.sum(n_nb == 0)),
            "neighbours": {"min": int(n_nb.min()) if len(n_nb) else 0,
                           "median": float(np.median(n_nb)) if len(n_nb) else math.nan,
                           "max": int(n_nb.max()) if len(n_nb) else 0},
            "t_distance": float(t_distance), "empty": empty}


def manifestation_queries(store: Any, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(lump positions, image rows, lumps, n lumps without known manifestation)`` of the images
    of ``split`` whose lump knows at least one manifestation dimension."""
    from mvkl.analysis.embed import lump_images

    lumps = store.lump_indices(split)
    known = store.lumps["manifest_known"][lumps].astype(bool).any(axis=1)
    sel = lumps[known]
    pos, rows, _ = lump_images(store, sel)
    return pos, rows, sel, int((~known).sum())


def manifest_estimation(model: Any, store: Any, *, query_split: str = "test", key_split: str = "train",
                        t_distance: float = 0.4, t_cls: Sequence[float] = (0.15,), empty: str = "nearest",
                        input_size: int | None = None, batch_size: int = 64) -> dict[str, Any]:
    """Manifestation estimation on a store (Table 8; module docstring). Keys: the training lumps
    with at least one known dimension; queries: the images of the test lumps that know one."""
    from mvkl.analysis.embed import embed_image_rows, embed_manifests

    L = store.lumps
    train = store.lump_indices(key_split)
    train = train[L["manifest_known"][train].astype(bool).any(axis=1)] if len(train) else train
    if len(train) == 0:
        raise InputError(f"no {key_split} lump has a known manifestation", file=display_path(store.path),
                         code="no-manifestations")
    pos, rows, test, n_unknown = manifestation_queries(store, query_split)
    if len(rows) == 0:
        raise InputError(f"no {query_split} image belongs to a lump with a known manifestation",
                         file=display_path(store.path), code="empty-split")
    train_emb = embed_manifests(model, L["manifest"][train])
    uniq, inv = np.unique(rows, return_inverse=True)
    size = input_size or int(store.info.image_size)
    q = embed_image_rows(model, store, uniq, input_size=size, batch_size=batch_size)[inv.reshape(-1)]
    doc = manifest_estimation_from_embeddings(q, L["manifest"][test[pos]], L["manifest_known"][test[pos]], train_emb,
                                              L["manifest"][train], L["manifest_known"][train],
                                              t_distance=t_distance, t_cls=t_cls, empty=empty)
    doc["counts"] = {"queries": len(rows), "query_lumps": len(test), "query_lumps_unknown": n_unknown,
                     "keys": len(train)}
    doc["splits"] = {"queries": query_split, "keys": key_split}
    return doc
