"""Linear probe: scikit-learn L-BFGS on standardised features, and the equivalent linear head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvkl.evaluation.metrics import roc_auc
from mvkl.evaluation.protocols.lp import fit_probe, probe_head


def _features(n: int = 200, d: int = 32, gap: float = 3.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, d)) * rng.uniform(0.01, 100, d)  # wildly different feature scales
    x[:, 3] = 0.5 * rng.normal(size=n) + gap * (2 * y - 1)  # one direction separates the classes (gap 3: cleanly)
    return x.astype(np.float32), y


def test_separable_features_reach_auc_one() -> None:
    x, y = _features()
    assert x[y == 1, 3].min() > x[y == 0, 3].max()  # linearly separable
    probe = fit_probe(x[:150], y[:150], C=1 / 3.16)
    assert probe.converged and probe.n_train == 150
    assert roc_auc(y[150:], probe.predict_proba(x[150:])) == 1.0


def test_probe_equals_sklearn_pipeline() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _features(gap=0.5, seed=1)  # overlapping classes: a non-trivial fit
    for c in (0.316, 3.16):
        ref = make_pipeline(StandardScaler(), LogisticRegression(C=c, solver="lbfgs", max_iter=1000)).fit(x, y)
        got = fit_probe(x, y, C=c).predict_proba(x)
        np.testing.assert_allclose(got, ref.predict_proba(x)[:, 1], rtol=1e-5, atol=1e-7)
    raw = LogisticRegression(C=0.316, solver="lbfgs", max_iter=1000).fit(x.astype(np.float64), y)
    np.testing.assert_allclose(fit_probe(x, y, C=0.316, standardize=False).predict_proba(x),
                               raw.predict_proba(x.astype(np.float64))[:, 1], rtol=1e-5, atol=1e-7)


def test_regularisation_strength_matters() -> None:
    x, y = _features(gap=0.5, seed=2)
    weak = fit_probe(x, y, C=3.16)
    strong = fit_probe(x, y, C=0.01)
    assert np.linalg.norm(strong.coef) < np.linalg.norm(weak.coef)


def test_probe_head_reproduces_probabilities() -> None:
    x, y = _features(gap=0.5, seed=3)
    probe = fit_probe(x, y, C=0.316)
    head = probe_head(probe)
    with torch.no_grad():
        p = torch.softmax(head(torch.from_numpy(x)), dim=1)[:, 1].numpy()
    np.testing.assert_allclose(p, probe.predict_proba(x), rtol=1e-4, atol=1e-5)
    assert head.weight.shape == (2, x.shape[1]) and torch.all(head.weight[0] == 0)


def test_constant_feature_is_harmless() -> None:
    x, y = _features()
    x[:, 0] = 5.0
    probe = fit_probe(x, y, C=1.0)
    assert np.isfinite(probe.predict_proba(x)).all() and probe.scale[0] == pytest.approx(1.0)
