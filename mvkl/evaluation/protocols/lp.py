"""Linear probe (LP, paper Sec. 5.1, Appendix A): logistic regression on frozen features.

* Features: the pooled trunk output of the frozen encoder in eval mode, deterministic evaluation
  transform (:func:`.features.extract_features`), extracted **once** per run and shared by all
  seeds.
* Classifier: scikit-learn ``LogisticRegression(solver="lbfgs", max_iter=1000, C=lp_c)`` with the
  L2 penalty. ``C`` is the inverse regularisation strength; the default ``C = 1/3.16`` reads the
  paper's "λ = 3.16" as λ = 1/C (see :mod:`.config`).
* Standardisation (not stated in the paper; on by default, ``--no-lp-standardize`` turns it off):
  each feature is centred and scaled to unit variance with the statistics of the **training**
  features of the fit. Without it the meaning of ``C`` depends on the encoder's feature scale
  (ImageNet and contrastive trunks differ by orders of magnitude), and L-BFGS often stops at
  ``max_iter`` before converging.
* Source of variance over seeds (the paper reports LP mean ± std although L-BFGS on fixed
  features is deterministic; docs/fidelity.md, B47): with ``lp_variance = "bootstrap"`` (default) seed
  ``s`` fits on a stratified bootstrap resample of the training images (each class resampled with
  replacement, class counts kept; numpy ``SeedSequence([s, ...])``), so the std measures how much
  the probe depends on the training sample. With ``"none"`` one deterministic fit on the whole
  training set is reported (one run; its bootstrap CI of the test AUC is the uncertainty).
  With ``--fraction < 1`` the seeded training subset (:mod:`.subsets`) varies with the seed too.

:func:`probe_head` folds the standardiser and the logistic regression into an equivalent
``Linear(feature_dim, 2)`` head (logits ``[0, z]``, so ``softmax[:, 1] = sigmoid(z)`` is the
probe's probability), which makes an LP model saveable in the classifier format.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["LinearProbe", "fit_probe", "probe_head"]


@dataclass
class LinearProbe:
    """A fitted probe: ``p = sigmoid(w · (x − mean) / scale + b)``."""

    coef: np.ndarray  # (d,) on the standardised features
    intercept: float
    mean: np.ndarray  # (d,), zeros without standardisation
    scale: np.ndarray  # (d,), ones without standardisation
    n_iter: int
    converged: bool
    n_train: int

    def decision(self, x: np.ndarray) -> np.ndarray:
        z = ((np.asarray(x, np.float64) - self.mean) / self.scale) @ self.coef + self.intercept
        return np.asarray(z, dtype=np.float64)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Malignant probabilities ``(n,)`` float64."""
        z = self.decision(x)
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def info(self) -> dict[str, Any]:
        return {"n_iter": self.n_iter, "converged": self.converged, "n_train": self.n_train}


def fit_probe(x: np.ndarray, y: np.ndarray, *, C: float, max_iter: int = 1000, standardize: bool = True) -> LinearProbe:
    """Fit the probe on training features ``x (n, d)`` and labels ``y (n,)`` in {0, 1}."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    if standardize:
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-12] = 1.0  # constant features (dead ReLUs) stay 0 after centring
    else:
        mean, scale = np.zeros(x.shape[1]), np.ones(x.shape[1])
    xs = (x - mean) / scale
    clf = LogisticRegression(C=float(C), solver="lbfgs", max_iter=int(max_iter))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(xs, y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return LinearProbe(coef=clf.coef_[0].astype(np.float64), intercept=float(clf.intercept_[0]), mean=mean,
                       scale=scale, n_iter=int(np.max(clf.n_iter_)), converged=converged, n_train=int(x.shape[0]))


def probe_head(probe: LinearProbe) -> Any:
    """An ``nn.Linear(d, 2)`` whose ``softmax[:, 1]`` equals the probe's probability (module docstring)."""
    import torch
    from torch import nn

    d = probe.coef.size
    w = probe.coef / probe.scale
    b = probe.intercept - float(np.dot(w, probe.mean))
    head = nn.Linear(d, 2)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.weight[1] = torch.from_numpy(w.astype(np.float32))
        head.bias[1] = float(b)
    return head
