"""Reliability and ECE against a hand loop over bins, plus analytic cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mvkl.errors import InputError
from mvkl.evaluation.calibration import bin_index, ece, reliability


def _hand(y, p, n_bins, min_count, definition):
    conf, ok = [], []
    for yi, pi in zip(y, p, strict=True):
        if definition == "top-label":
            pred = 1 if pi >= 0.5 else 0
            conf.append(pi if pred == 1 else 1 - pi)
            ok.append(1.0 if pred == yi else 0.0)
        else:
            conf.append(pi)
            ok.append(float(yi))
    n = len(y)
    total = included_sum = 0.0
    n_inc = 0
    gaps = []
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [i for i, c in enumerate(conf) if lo <= c < hi or (b == n_bins - 1 and c == hi)]
        if not members:
            continue
        acc = sum(ok[i] for i in members) / len(members)
        cf = sum(conf[i] for i in members) / len(members)
        total += len(members) / n * abs(acc - cf)
        if len(members) >= min_count:
            included_sum += len(members) * abs(acc - cf)
            n_inc += len(members)
            gaps.append(abs(acc - cf))
    return {
        "ece_all_bins": total,
        "ece_paper_total_n": included_sum / n if n_inc else math.nan,
        "ece_paper_included_n": included_sum / n_inc if n_inc else math.nan,
        "mce": max(gaps) if gaps else math.nan,
        "n_included": n_inc,
    }


@pytest.mark.parametrize("definition", ["top-label", "positive"])
@pytest.mark.parametrize("min_count", [0, 10, 25])
def test_ece_matches_hand_loop(definition: str, min_count: int) -> None:
    rng = np.random.default_rng(0)
    p = rng.beta(0.7, 0.9, 300)
    p[:6] = [0.0, 0.3, 0.5, 0.7, 1.0, 0.95]  # edges, threshold and bounds
    y = (rng.random(300) < p**1.3).astype(int)
    got = ece(y, p, n_bins=10, min_count=min_count, definition=definition)
    want = _hand(y, p, 10, min_count, definition)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-12, nan_ok=True), k
    assert got["ece_paper"] == got["ece_paper_total_n"]
    assert got["ece_paper"] <= got["ece_all_bins"] + 1e-15


def test_reliability_bins_and_exclusion() -> None:
    # positive definition: 12 samples at 0.15, 5 at 0.55 (excluded), 20 at 1.0 (last bin)
    p = np.r_[np.full(12, 0.15), np.full(5, 0.55), np.full(20, 1.0)]
    y = np.r_[np.zeros(9), np.ones(3), np.ones(5), np.ones(18), np.zeros(2)].astype(int)
    r = reliability(y, p, definition="positive")
    assert r["count"] == [0, 12, 0, 0, 0, 5, 0, 0, 0, 20]
    assert r["included"] == [False, True, False, False, False, False, False, False, False, True]
    assert r["accuracy"][1] == pytest.approx(0.25) and r["confidence"][1] == pytest.approx(0.15)
    assert math.isnan(r["accuracy"][0]) and math.isnan(r["confidence"][0])
    assert r["n_excluded"] == 5 and r["n_excluded_bins"] == 1 and r["n_included"] == 32
    gap1, gap9 = 0.10, 0.10
    assert r["ece_paper_total_n"] == pytest.approx((12 * gap1 + 20 * gap9) / 37)
    assert r["ece_paper_included_n"] == pytest.approx((12 * gap1 + 20 * gap9) / 32)
    assert r["ece_all_bins"] == pytest.approx((12 * gap1 + 5 * 0.45 + 20 * gap9) / 37)
    assert r["mce"] == pytest.approx(0.10) and r["mce_all_bins"] == pytest.approx(0.45)
    assert r["edges"][0] == 0.0 and r["edges"][-1] == 1.0 and len(r["edges"]) == 11
    assert r["axes"]["y"] == "Observed malignant fraction"


def test_bin_index_edges() -> None:
    c = np.array([0.0, 0.0999, 0.1, 0.3, 0.7, 0.9999, 1.0])
    assert bin_index(c, 10).tolist() == [0, 0, 1, 3, 7, 9, 9]


@pytest.mark.parametrize("definition", ["top-label", "positive"])
def test_perfect_calibration_is_near_zero(definition: str) -> None:
    rng = np.random.default_rng(1)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)
    assert ece(y, p, definition=definition)["ece_all_bins"] < 0.006


def test_analytic_miscalibration() -> None:
    # positive: every prediction 0.7, half malignant -> |0.5 - 0.7| = 0.2
    y = np.r_[np.ones(50), np.zeros(50)].astype(int)
    assert ece(y, np.full(100, 0.7), definition="positive")["ece_paper"] == pytest.approx(0.2)
    # top-label: confidence 0.9 everywhere (p = 0.9 or 0.1), 60 % correct -> 0.3
    p = np.r_[np.full(50, 0.9), np.full(50, 0.1)]
    y = np.r_[np.ones(30), np.zeros(20), np.zeros(30), np.ones(20)].astype(int)
    assert ece(y, p)["ece_paper"] == pytest.approx(0.3)
    # positive, p ~ U(0,1) and y ~ Bernoulli(p^2): ECE -> integral of (p - p^2) = 1/6
    rng = np.random.default_rng(2)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p**2).astype(int)
    assert ece(y, p, definition="positive")["ece_all_bins"] == pytest.approx(1 / 6, abs=0.006)


def test_top_label_confidence_range_and_errors() -> None:
    r = reliability([0, 1, 1, 0], [0.2, 0.5, 0.9, 0.6], min_count=0)
    assert r["count"][:5] == [0, 0, 0, 0, 0] and sum(r["count"]) == 4
    with pytest.raises(InputError):
        reliability([0, 1], [0.2, 1.2])
    with pytest.raises(InputError):
        reliability([0, 1], [0.2, 0.8], definition="max")  # type: ignore[arg-type]
    r_all_small = ece([0, 1], [0.2, 0.8])
    assert math.isnan(r_all_small["ece_paper_included_n"]) and math.isnan(r_all_small["ece_paper"])
    assert math.isnan(r_all_small["mce"])


def test_ece_paper_is_undefined_when_every_bin_is_excluded() -> None:
    # 9 samples, min_count 10: no bin qualifies, so the paper's ECE is NaN (not a misleading 0)
    y = np.array([0, 1, 0, 1, 1, 0, 1, 0, 1])
    p = np.linspace(0.05, 0.95, 9)
    r = reliability(y, p, n_bins=10, min_count=10)
    assert r["n_included"] == 0
    assert math.isnan(r["ece_paper"]) and math.isnan(r["ece_paper_total_n"]) and math.isnan(r["mce"])
    assert r["ece_all_bins"] > 0
