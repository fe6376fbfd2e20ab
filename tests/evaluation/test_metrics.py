"""Binary metrics against slow, obviously correct re-implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mvkl.errors import InputError
from mvkl.evaluation.metrics import (
    auc_mann_whitney,
    bootstrap_auc_ci,
    bootstrap_auc_replicates,
    roc_auc,
    summarize_binary,
    threshold_for_sensitivity,
    threshold_metrics,
    youden_threshold,
)


def _data(n: int, seed: int = 0, ties: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    p = np.clip(rng.normal(0.4 + 0.25 * y, 0.2), 0, 1)
    return y, (np.round(p, 1) if ties else p)


def _hand_auc(y: np.ndarray, p: np.ndarray) -> float:
    pos = [s for s, t in zip(p, y, strict=True) if t == 1]
    neg = [s for s, t in zip(p, y, strict=True) if t == 0]
    total = 0.0
    for a in pos:
        for b in neg:
            total += 1.0 if a > b else 0.5 if a == b else 0.0
    return total / (len(pos) * len(neg))


@pytest.mark.parametrize("ties", [True, False])
def test_auc_matches_hand_loop_and_sklearn(ties: bool) -> None:
    y, p = _data(80, seed=3, ties=ties)
    hand = _hand_auc(y, p)
    assert roc_auc(y, p) == pytest.approx(hand, abs=1e-12)
    assert auc_mann_whitney(y, p) == pytest.approx(hand, abs=1e-12)
    assert roc_auc_score(y, p) == pytest.approx(hand, abs=1e-12)


def test_auc_one_class_and_bad_input() -> None:
    with pytest.raises(InputError, match="both classes"):
        roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    assert math.isnan(auc_mann_whitney([0, 0], [0.1, 0.2]))
    with pytest.raises(InputError):
        roc_auc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(InputError):
        roc_auc([0, 1], [0.1, np.nan])
    with pytest.raises(InputError):
        roc_auc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(InputError):
        roc_auc([], [])


def _slow_replicates(y, p, n_boot, seed, stratified):
    """Same random streams as the vectorised code (documented), one replicate and one sklearn call
    at a time."""
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rng = np.random.default_rng(seed)
    rng_pos, rng_neg = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    out = []
    for _ in range(n_boot):
        if stratified:
            row = np.r_[
                pos[rng_pos.integers(0, pos.size, size=pos.size)], neg[rng_neg.integers(0, neg.size, size=neg.size)]
            ]
        else:
            row = rng.integers(0, y.size, size=y.size)
        yy, pp = y[row], p[row]
        out.append(roc_auc_score(yy, pp) if 0 < yy.sum() < yy.size else np.nan)
    return np.array(out)


@pytest.mark.parametrize("stratified", [True, False])
def test_bootstrap_equals_per_replicate_sklearn(stratified: bool) -> None:
    y, p = _data(12, seed=1)
    fast = bootstrap_auc_replicates(y, p, n_boot=60, seed=7, stratified=stratified)
    slow = _slow_replicates(y, p, 60, 7, stratified)
    np.testing.assert_allclose(fast, slow, atol=1e-12, equal_nan=True)
    if stratified:
        assert np.isfinite(fast).all()
    # chunking does not change the result
    chunked = bootstrap_auc_replicates(y, p, n_boot=60, seed=7, stratified=stratified, max_cells=12 * 7)
    np.testing.assert_allclose(chunked, fast, equal_nan=True)


def test_bootstrap_ci_properties() -> None:
    y, p = _data(200, seed=2, ties=False)
    ci = bootstrap_auc_ci(y, p, n_boot=500, seed=11)
    assert ci == bootstrap_auc_ci(y, p, n_boot=500, seed=11)
    assert ci != bootstrap_auc_ci(y, p, n_boot=500, seed=12)
    auc = roc_auc(y, p)
    assert ci[0] < auc < ci[1]
    reps = bootstrap_auc_replicates(y, p, n_boot=500, seed=11)
    assert ci == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])))
    y2, p2 = _data(2000, seed=2, ties=False)
    ci2 = bootstrap_auc_ci(y2, p2, n_boot=500, seed=11)
    assert (ci2[1] - ci2[0]) < 0.6 * (ci[1] - ci[0])
    wide = bootstrap_auc_ci(y, p, n_boot=500, seed=11, alpha=0.01)
    assert wide[0] <= ci[0] and wide[1] >= ci[1]
    with pytest.raises(InputError):
        bootstrap_auc_ci([0, 0, 0], [0.1, 0.2, 0.3])


def _hand_confusion(y, p, t):
    tp = fp = tn = fn = 0
    for yi, pi in zip(y, p, strict=True):
        pred = 1 if pi >= t else 0
        if pred == 1 and yi == 1:
            tp += 1
        elif pred == 1:
            fp += 1
        elif yi == 1:
            fn += 1
        else:
            tn += 1
    return tp, fp, tn, fn


@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 0.74, 0.87, 1.0])
def test_threshold_metrics_against_hand_loop(t: float) -> None:
    y, p = _data(60, seed=4)
    p[:3] = t  # scores exactly at the threshold are malignant
    m = threshold_metrics(y, p, t)
    tp, fp, tn, fn = _hand_confusion(y, p, t)
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (tp, fp, tn, fn)
    nan = math.nan
    assert m["accuracy"] == pytest.approx((tp + tn) / len(y))
    assert m["sensitivity"] == pytest.approx(tp / (tp + fn) if tp + fn else nan, nan_ok=True)
    assert m["specificity"] == pytest.approx(tn / (tn + fp) if tn + fp else nan, nan_ok=True)
    assert m["ppv"] == pytest.approx(tp / (tp + fp) if tp + fp else nan, nan_ok=True)
    assert m["npv"] == pytest.approx(tn / (tn + fn) if tn + fn else nan, nan_ok=True)
    prec, rec = m["ppv"], m["sensitivity"]
    if tp:
        assert m["f1"] == pytest.approx(2 * prec * rec / (prec + rec))
    assert m["threshold"] == t


def test_threshold_half_is_malignant_not_round_half_even() -> None:
    m = threshold_metrics([1, 0], [0.5, 0.4999999], 0.5)
    assert m["tp"] == 1 and m["tn"] == 1
    assert np.round(0.5) == 0  # what the original code did (B39)


def test_threshold_metrics_degenerate() -> None:
    only_neg = threshold_metrics([0, 0, 0], [0.1, 0.6, 0.2], 0.5)
    assert math.isnan(only_neg["sensitivity"]) and only_neg["specificity"] == pytest.approx(2 / 3)
    assert only_neg["npv"] == 1.0 and only_neg["f1"] == 0.0
    none_pred = threshold_metrics([0, 0], [0.1, 0.2], 0.5)
    assert math.isnan(none_pred["ppv"]) and math.isnan(none_pred["f1"]) and math.isnan(none_pred["sensitivity"])
    only_pos = threshold_metrics([1, 1], [0.9, 0.1], 0.5)
    assert math.isnan(only_pos["specificity"]) and only_pos["sensitivity"] == 0.5
    with pytest.raises(InputError):
        threshold_metrics([0, 1], [0.1, 0.2], math.nan)


def test_threshold_for_sensitivity_brute_force() -> None:
    y, p = _data(90, seed=5)
    cands = np.unique(np.r_[p, 2.0])
    for target in (0.1, 0.5, 0.8, 0.9, 0.95, 1.0):
        t = threshold_for_sensitivity(y, p, target)
        sens = threshold_metrics(y, p, t)["sensitivity"]
        assert sens >= target - 1e-12
        ok = [c for c in cands if threshold_metrics(y, p, c)["sensitivity"] >= target - 1e-12]
        assert t == pytest.approx(max(ok))
    y10 = np.array([1] * 10 + [0] * 5)
    p10 = np.r_[np.linspace(0.1, 1.0, 10), np.zeros(5)]
    assert threshold_for_sensitivity(y10, p10, 0.9) == pytest.approx(0.2)  # 9 of 10, not 10 (float 0.9*10)
    with pytest.raises(InputError):
        threshold_for_sensitivity(y10, p10, 0.0)


def test_youden_brute_force() -> None:
    y, p = _data(120, seed=6)
    t = youden_threshold(y, p)

    def j(c: float) -> float:
        m = threshold_metrics(y, p, c)
        return m["sensitivity"] + m["specificity"] - 1

    values = {c: j(c) for c in np.unique(p)}
    best = max(values.values())
    assert j(t) == pytest.approx(best)
    assert t == max(c for c, v in values.items() if v >= best - 1e-12)


def test_summarize_binary() -> None:
    y, p = _data(100, seed=8, ties=False)
    s = summarize_binary(y, p, thresholds=(0.87, 0.74, 0.5), n_boot=200, seed=1)
    assert s["n"] == 100 and s["n_pos"] + s["n_neg"] == 100
    assert s["prevalence"] == pytest.approx(y.mean())
    assert s["auc"] == pytest.approx(roc_auc_score(y, p))
    assert s["auc_ci"] == list(bootstrap_auc_ci(y, p, n_boot=200, seed=1))
    assert [m["threshold"] for m in s["thresholds"]] == [0.87, 0.74, 0.5]
    assert s["thresholds"][2] == threshold_metrics(y, p, 0.5)
    one = summarize_binary([0, 0, 0], [0.2, 0.7, 0.1], n_boot=100)
    assert math.isnan(one["auc"]) and math.isnan(one["auc_ci"][0])
    assert one["thresholds"][0]["specificity"] == pytest.approx(2 / 3)
