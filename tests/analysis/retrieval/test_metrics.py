"""Retrieval against brute-force loops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mvkl.analysis.retrieval.metrics import (
    birads_confusion,
    cosine_similarity,
    cosine_topk,
    l2_normalize,
    nearest_report_birads,
    recall_at_k,
)
from mvkl.errors import InputError


def _emb(n: int, d: int = 8, seed: int = 0, noise: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, d))
    b = a + noise * rng.normal(size=(n, d))
    return a, b


def _cos(u: np.ndarray, v: np.ndarray) -> float:
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def test_topk_matches_brute_force_with_ties() -> None:
    q, keys = _emb(7, seed=1)
    keys = np.vstack([keys, keys[2], keys[4]])  # exact duplicates tie
    idx, sims = cosine_topk(q, keys, 4, chunk_size=3)
    for i in range(len(q)):
        scored = sorted(range(len(keys)), key=lambda j: (-round(_cos(q[i], keys[j]), 12), j))[:4]
        assert idx[i].tolist() == scored
        assert sims[i] == pytest.approx([_cos(q[i], keys[j]) for j in scored])
    rows = [set(r) for r in idx.tolist()]
    assert any({2, 7} <= r or {4, 8} <= r for r in rows)  # a tie was actually exercised
    for r in idx.tolist():
        for orig, dup in ((2, 7), (4, 8)):
            if orig in r and dup in r:
                assert r.index(orig) + 1 == r.index(dup)
    with pytest.raises(InputError):
        cosine_topk(q, keys, 0)
    with pytest.raises(InputError):
        cosine_topk(q, keys[:, :4], 1)


def test_l2_normalize_checks() -> None:
    x = l2_normalize([[3.0, 4.0]])
    assert x.tolist() == [[0.6, 0.8]]
    with pytest.raises(InputError):
        l2_normalize([[0.0, 0.0]])
    with pytest.raises(InputError):
        l2_normalize([1.0, 2.0])
    assert cosine_similarity([[1.0, 0.0]], [[0.0, 2.0], [2.0, 0.0]]).tolist() == [[0.0, 1.0]]


def _brute_recall(sim: np.ndarray, k: int, groups=None) -> float:
    n = sim.shape[0]
    hits = 0
    for i in range(n):
        positives = [j for j in range(n) if (j == i if groups is None else groups[j] == groups[i])]
        best = max(sim[i, j] for j in positives)
        better = sum(1 for j in range(n) if j not in positives and sim[i, j] >= best)
        hits += better < k
    return hits / n


@pytest.mark.parametrize("use_groups", [False, True])
def test_recall_at_k_brute_force(use_groups: bool) -> None:
    img, txt = _emb(30, seed=2, noise=1.2)
    groups = np.arange(30) // 2 if use_groups else None
    if use_groups:
        txt[1::2] = txt[0::2]  # two images share each report
    r = recall_at_k(img, txt, (1, 5, 10), groups=groups)
    sim = cosine_similarity(img, txt)
    for k in (1, 5, 10):
        assert r["image_to_text"][f"R@{k}"] == pytest.approx(_brute_recall(sim, k, groups))
        assert r["text_to_image"][f"R@{k}"] == pytest.approx(_brute_recall(sim.T, k, groups))
    assert r["n"] == 30
    assert r["image_to_text"]["R@1"] <= r["image_to_text"]["R@5"] <= r["image_to_text"]["R@10"]
    # a precomputed similarity matrix gives the same result
    assert recall_at_k(sim, k_values=(1, 5, 10), groups=groups) == r


def test_recall_perfect_and_ranks() -> None:
    a, _ = _emb(12, seed=3)
    r = recall_at_k(a, a, (1,))
    assert r["image_to_text"]["R@1"] == 1.0 and r["text_to_image"]["median_rank"] == 1.0
    sim = np.array([[0.1, 0.9, 0.5], [0.2, 0.3, 0.4], [0.9, 0.8, 0.7]])
    r = recall_at_k(sim, k_values=(1, 2, 3))
    # image->text ranks: query 0: key0=0.1 < 0.9, 0.5 -> 3; query 1: 0.3 < 0.4 -> 2; query 2: 0.7 -> 3
    assert r["image_to_text"]["mean_rank"] == pytest.approx(8 / 3)
    assert r["image_to_text"]["R@2"] == pytest.approx(1 / 3)
    with pytest.raises(InputError):
        recall_at_k(np.zeros((2, 3)))


def test_nearest_report_birads() -> None:
    keys = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.1]])
    queries = np.array([[0.9, 0.1], [0.1, 2.0], [-3.0, 0.0]])
    assert nearest_report_birads(queries, keys, ["4a", b"2", ""]) == ["4A", "2", None]
    with pytest.raises(InputError):
        nearest_report_birads(queries, keys, ["1", "2"])


def test_birads_confusion_counts() -> None:
    true = ["4A", "4B", "3", "2", "5", "", "4C", "2", "6", "X"]
    pred = ["4", "3", "3", "4c", "5", "2", None, "2", "0", "1"]
    mat, acc, stats = birads_confusion(true, pred)
    cats = list("0123456")
    hand = np.zeros((7, 7), dtype=int)
    kept = 0
    for t, p in [("4", "4"), ("4", "3"), ("3", "3"), ("2", "4"), ("5", "5"), ("2", "2"), ("6", "0")]:
        hand[cats.index(t), cats.index(p)] += 1
        kept += 1
    np.testing.assert_array_equal(mat, hand)
    assert acc == pytest.approx(4 / 7)
    assert stats["n"] == kept and stats["n_excluded"] == 3
    assert stats["n_unknown_true"] == 2 and stats["n_unknown_pred"] == 1
    rec = {d["category"]: d["recall"] for d in stats["per_category"]}
    assert rec["4"] == 0.5 and rec["2"] == 0.5 and rec["6"] == 0.0 and math.isnan(rec["1"])
    assert stats["macro_recall"] == pytest.approx(np.mean([0.5, 1.0, 0.5, 1.0, 0.0]))
    prec = {d["category"]: d["precision"] for d in stats["per_category"]}
    assert prec["0"] == 0.0 and prec["4"] == 0.5 and prec["3"] == 0.5
    # without merging, 4A and 4 are different categories
    mat2, _, st2 = birads_confusion(["4A", "4"], ["4A", "4B"], categories=("4", "4A", "4B"), merge_4=False)
    assert mat2.tolist() == [[0, 0, 1], [0, 1, 0], [0, 0, 0]] and st2["n"] == 2
    empty = birads_confusion([None], ["1"])
    assert math.isnan(empty.accuracy) and empty.stats["n_excluded"] == 1
