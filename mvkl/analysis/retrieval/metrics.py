"""Cross-modal retrieval in the shared embedding space (paper Sec. 5.7, Fig. 4).

* :func:`cosine_topk`: nearest keys of each query by cosine similarity (the distance used in
  pretraining). Embeddings are expected to be L2-normalised (the projector ends with an L2
  norm); they are re-normalised here, which is a no-op for unit vectors and guards against raw
  features. Ties are broken by the lower key index.
* :func:`recall_at_k`: exact-pair retrieval (query ``i``'s positive is key ``i``, or every key of
  the same group when ``groups`` is given, e.g. the CC and MLO images that share one report) in
  both directions.
* :func:`nearest_report_birads` + :func:`birads_confusion`: the paper's image→report evaluation:
  the 1-nearest training report of each test image, compared by BI-RADS category with the
  ground-truth report, as a confusion matrix with 4A/4B/4C merged into 4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from mvkl.errors import InputError
from mvkl.radiology.birads import GROUPS, birads_group, normalize_birads

__all__ = [
    "BiradsConfusion",
    "birads_confusion",
    "cosine_similarity",
    "cosine_topk",
    "l2_normalize",
    "nearest_report_birads",
    "recall_at_k",
]


def l2_normalize(x: Any, *, eps: float = 1e-12) -> np.ndarray:
    """Rows of ``x`` (n, d) scaled to unit L2 norm (float64).

    Raises:
        InputError: not 2-D, non-finite values, or a zero row (its direction is undefined).
    """
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"embeddings must be a 2-D (n, d) array (got shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        raise InputError("embeddings contain NaN or infinite values", code="non-finite")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if np.any(norms <= eps):
        raise InputError(f"{int(np.sum(norms <= eps))} embedding(s) have zero norm", code="zero-norm")
    return arr / norms


def cosine_similarity(a: Any, b: Any) -> np.ndarray:
    """(n_a, n_b) cosine similarities of the rows of ``a`` and ``b``."""
    a_n, b_n = l2_normalize(a), l2_normalize(b)
    if a_n.shape[1] != b_n.shape[1]:
        raise InputError(f"embedding sizes differ ({a_n.shape[1]} vs {b_n.shape[1]})")
    return a_n @ b_n.T


def cosine_topk(queries: Any, keys: Any, k: int, *, chunk_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most similar keys of every query.

    Returns:
        ``(indices, similarities)``, both (n_queries, k), most similar first; equal
        similarities are ordered by key index. ``k`` larger than the number of keys is an error.
    """
    q, kk = l2_normalize(queries), l2_normalize(keys)
    if q.shape[1] != kk.shape[1]:
        raise InputError(f"embedding sizes differ ({q.shape[1]} vs {kk.shape[1]})")
    if not 1 <= k <= kk.shape[0]:
        raise InputError(f"k must lie in [1, {kk.shape[0]}] (got {k})")
    idx = np.empty((q.shape[0], k), dtype=np.int64)
    sims = np.empty((q.shape[0], k), dtype=np.float64)
    for s in range(0, q.shape[0], chunk_size):
        sim = q[s : s + chunk_size] @ kk.T
        order = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        idx[s : s + chunk_size] = order
        sims[s : s + chunk_size] = np.take_along_axis(sim, order, axis=1)
    return idx, sims


def _ranks(sim: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """1-based rank of the best positive: 1 + number of non-positive keys at least as similar."""
    best = np.where(pos, sim, -np.inf).max(axis=1)
    return 1 + np.sum((sim >= best[:, None]) & ~pos, axis=1)


def recall_at_k(
    a: Any,
    b: Any | None = None,
    k_values: Sequence[int] = (1, 5, 10),
    *,
    groups: Any | None = None,
) -> dict[str, Any]:
    """Recall@k of exact-pair retrieval in both directions.

    Args:
        a: image embeddings (n, d), or a precomputed (n, n) similarity matrix (images × texts)
            when ``b`` is None.
        b: text (or report / manifestation) embeddings (n, d); row ``i`` pairs with ``a[i]``.
        k_values: cut-offs; each must be at least 1 (values above n give recall 1).
        groups: optional (n,) pair-group ids: every key with the query's group is a positive
            (duplicate reports); default: only key ``i``.

    A query is a hit at k when fewer than k non-positive keys are at least as similar as its
    best positive (ties count against the query).

    Returns:
        ``{"image_to_text": {"R@1": ..., ..., "median_rank", "mean_rank"},
        "text_to_image": {...}, "n"}``; ranks are 1-based.
    """
    sim = np.asarray(a, dtype=np.float64) if b is None else cosine_similarity(a, b)
    if sim.ndim != 2 or sim.shape[0] != sim.shape[1]:
        raise InputError(f"exact-pair retrieval needs as many queries as keys (got {sim.shape})")
    n = sim.shape[0]
    if groups is None:
        pos = np.eye(n, dtype=bool)
    else:
        g = np.asarray(groups)
        if g.shape != (n,):
            raise InputError(f"groups must have shape ({n},) (got {g.shape})")
        pos = g[:, None] == g[None, :]
    if any(int(k) < 1 for k in k_values):
        raise InputError(f"k values must be at least 1 (got {list(k_values)})")
    out: dict[str, Any] = {"n": int(n)}
    for name, s, m in (("image_to_text", sim, pos), ("text_to_image", sim.T, pos.T)):
        ranks = _ranks(s, m)
        res: dict[str, float] = {f"R@{int(k)}": float(np.mean(ranks <= int(k))) for k in k_values}
        res["median_rank"] = float(np.median(ranks))
        res["mean_rank"] = float(np.mean(ranks))
        out[name] = res
    return out


def nearest_report_birads(query_emb: Any, key_emb: Any, key_birads: Sequence[Any]) -> list[str | None]:
    """BI-RADS category of the 1-nearest key (training report) of every query (test image).

    ``key_birads`` holds one category per key, as stored (``"4a"``, ``b"4A"``, ``""`` unknown)
    or parsed with :func:`mvkl.radiology.birads.parse_birads`; values are canonicalised with
    :func:`~mvkl.radiology.birads.normalize_birads` (unknown → None). The nearest report is taken
    whatever its category, as in the paper; unknown results are counted by
    :func:`birads_confusion`.
    """
    cats = [normalize_birads(c) for c in key_birads]
    n_keys = np.asarray(key_emb).shape[0] if np.ndim(key_emb) == 2 else -1
    if len(cats) != n_keys:
        raise InputError(f"key_birads has {len(cats)} entries for {n_keys} key embeddings")
    idx, _ = cosine_topk(query_emb, key_emb, 1)
    return [cats[i] for i in idx[:, 0]]


class BiradsConfusion(NamedTuple):
    """Result of :func:`birads_confusion` (unpacks as ``matrix, accuracy, stats``).

    Attributes:
        matrix: (C, C) int64 counts, rows = ground truth, columns = retrieved/predicted.
        accuracy: trace / n over the pairs with both categories known (NaN if none).
        stats: ``categories, n, n_excluded, n_unknown_true, n_unknown_pred, macro_recall``
            (mean over categories with true samples), ``macro_precision`` (over categories
            predicted at least once), ``macro_f1`` (over categories that occur in either),
            ``per_category`` (list of ``category, support, predicted, recall, precision, f1``).
    """

    matrix: np.ndarray
    accuracy: float
    stats: dict[str, Any]


def birads_confusion(
    true_cats: Sequence[Any],
    pred_cats: Sequence[Any],
    categories: Sequence[str] = GROUPS,
    *,
    merge_4: bool = True,
) -> BiradsConfusion:
    """Confusion matrix of BI-RADS categories (paper Fig. 4).

    Values are canonicalised (:func:`~mvkl.radiology.birads.normalize_birads`) and, with
    ``merge_4``, 4A/4B/4C become 4. A pair whose true or predicted category is unknown (None,
    ``""``, unparseable) or not in ``categories`` is excluded and counted in ``stats``.
    """
    if len(true_cats) != len(pred_cats):
        raise InputError(f"true and predicted categories differ in length ({len(true_cats)} vs {len(pred_cats)})")
    cats = [str(c).upper() for c in categories]
    where = {c: i for i, c in enumerate(cats)}

    def canon(v: Any) -> int | None:
        c = birads_group(v) if merge_4 else normalize_birads(v)
        return where.get(c) if c is not None else None

    m = np.zeros((len(cats), len(cats)), dtype=np.int64)
    unk_true = unk_pred = excluded = 0
    for t, p in zip(true_cats, pred_cats, strict=True):
        ti, pi = canon(t), canon(p)
        unk_true += ti is None
        unk_pred += pi is None
        if ti is None or pi is None:
            excluded += 1
            continue
        m[ti, pi] += 1
    n = int(m.sum())
    tp = np.diag(m).astype(np.float64)
    support = m.sum(axis=1)
    predicted = m.sum(axis=0)
    per = []
    for i, c in enumerate(cats):
        rec = tp[i] / support[i] if support[i] else math.nan
        prec = tp[i] / predicted[i] if predicted[i] else math.nan
        den = support[i] + predicted[i]
        f1 = 2 * tp[i] / den if den else math.nan
        per.append(
            {
                "category": c,
                "support": int(support[i]),
                "predicted": int(predicted[i]),
                "recall": float(rec),
                "precision": float(prec),
                "f1": float(f1),
            }
        )

    def _mean(key: str) -> float:
        vals = [d[key] for d in per if not math.isnan(d[key])]
        return float(np.mean(vals)) if vals else math.nan

    stats = {
        "categories": cats,
        "n": n,
        "n_excluded": excluded,
        "n_unknown_true": unk_true,
        "n_unknown_pred": unk_pred,
        "macro_recall": _mean("recall"),
        "macro_precision": _mean("precision"),
        "macro_f1": _mean("f1"),
        "per_category": per,
    }
    return BiradsConfusion(m, float(tp.sum() / n) if n else math.nan, stats)
