"""Robinson et al. hard-negative contrastive loss ("HCL", ICLR 2021), symmetric, in log space.

docs/fidelity.md, B8, B28. This is what the released ViKL code applies to the
image–manifestation and image–image terms (the "△" rows of the paper's Tables 4 and 6).

For each of the 2n rows r of U = [A; B] (anchor u_r, partner p(r)), with s_k = ⟨u_r, u_k⟩/τ over
the N negatives k (``intra=True``: the 2n−2 columns other than r and p(r), N = 2n−2;
``intra=False``: the n−1 inter-modal columns, N = n−1, both directions):

* pos = exp(s_pos), neg_k = exp(s_k), importance weights w_k = neg_k^β = exp(β·s_k);
* R = Σ_k w_k·neg_k / mean_k(w_k);
* Ng = (R − τ⁺·N·pos) / (1 − τ⁺), clamped from below at N·e^{−1/τ} (``estimator="hard"``);
  ``estimator="easy"``: Ng = Σ_k neg_k (no clamp; plain InfoNCE);
* ℓ_r = −log(pos / (pos + Ng)); the loss is the mean over the 2n rows.

The released code evaluates these exponentials directly (e^{(1+β)/τ} ≈ e^{66} at τ = 0.03), which
overflows fp16 (B28). Here every quantity is a logarithm: log R = LSE((1+β)s) − LSE(βs) + log N,
log(R − τ⁺N·pos) = log R + log(1 − e^{log(τ⁺N·pos) − log R}), ℓ = logaddexp(s_pos, log Ng) − s_pos,
computed in fp32 whatever the input dtype, so it is finite for bf16/fp16 inputs at τ = 0.03.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mvkl.config import LOSS
from mvkl.losses.ntxent import check_pair

__all__ = ["robinson_hcl"]


def _negatives(a: Tensor, b: Tensor, tau: float | Tensor, intra: bool) -> tuple[Tensor, Tensor, Tensor, int]:
    """(positive logits (2n,), negative logits (2n, N), negative mask (2n, N) or all-true, N)."""
    n = a.shape[0]
    if intra:
        u = torch.cat([a, b])
        s = u @ u.T / tau
        idx = torch.arange(2 * n, device=a.device)
        partner = (idx + n) % (2 * n)
        pos = s[idx, partner]
        keep = torch.ones(2 * n, 2 * n, dtype=torch.bool, device=a.device)
        keep[idx, idx] = False
        keep[idx, partner] = False
        return pos, s, keep, 2 * n - 2
    sab = a @ b.T / tau
    s = torch.cat([sab, sab.T])
    pos = torch.cat([sab.diagonal(), sab.diagonal()])
    eye = torch.eye(n, dtype=torch.bool, device=a.device)
    return pos, s, ~torch.cat([eye, eye]), n - 1


def robinson_hcl(a: Tensor, b: Tensor, tau: float | Tensor, *, tau_plus: float = LOSS.tau_plus, beta: float = LOSS.beta,
                 estimator: str = "hard", intra: bool = True, rows: Tensor | None = None) -> Tensor:
    """Symmetric Robinson HCL between ``a`` and ``b`` (see the module docstring); 0-d fp32 tensor.

    Args:
        a, b: ``(n, d)`` L2-normalised embeddings (positive pairs on equal rows), n ≥ 2.
        tau: temperature. tau_plus: class prior τ⁺ ∈ [0, 1) (0.1 in the code). beta: hardness β (1.0).
        estimator: ``"hard"`` (reweighted, debiased) or ``"easy"`` (plain sum of negatives).
        intra: keep the intra-modal negatives (N = 2n−2) or only the inter-modal ones (N = n−1).
        rows: optional index subset applied to both ``a`` and ``b``.
    """
    if estimator not in ("hard", "easy"):
        raise ValueError(f"estimator must be 'hard' or 'easy', got {estimator!r}")
    if not 0.0 <= tau_plus < 1.0:
        raise ValueError(f"tau_plus must be in [0, 1), got {tau_plus}")
    a, b = check_pair(a, b, rows)
    pos, s, keep, n_neg = _negatives(a, b, tau, intra)
    neg_inf = float("-inf")
    if estimator == "easy":
        log_ng = torch.logsumexp(s.masked_fill(~keep, neg_inf), dim=1)
    else:
        log_n = math.log(n_neg)
        log_r = (torch.logsumexp(((1.0 + beta) * s).masked_fill(~keep, neg_inf), dim=1)
                 - torch.logsumexp((beta * s).masked_fill(~keep, neg_inf), dim=1) + log_n)
        floor = log_n - 1.0 / tau  # log(N·e^{−1/τ})
        if tau_plus > 0:
            diff = math.log(tau_plus) + log_n + pos - log_r  # log(τ⁺N·pos / R)
            ok = diff < 0  # R > τ⁺N·pos; otherwise the estimate is ≤ 0 and the clamp applies
            safe = torch.where(ok, diff, torch.full_like(diff, -1.0))
            raw = log_r + torch.log(-torch.expm1(safe)) - math.log1p(-tau_plus)
            floor_t = torch.zeros_like(raw) + floor
            log_ng = torch.where(ok, torch.maximum(raw, floor_t), floor_t)
        else:
            log_ng = torch.clamp(log_r, min=floor)
    return (torch.logaddexp(pos, log_ng) - pos).mean()
