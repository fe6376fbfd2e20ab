"""NT-Xent (InfoNCE) between two aligned sets of unit vectors, symmetric, with label smoothing.

Paper Eq. (1), (2), (5), (6); docs/fidelity.md, B3–B6, B44. A, B ∈ ℝ^{n×d} are
L2-normalised; row i of A and row i of B are the positive pair; similarities are dot products.

* ``intra=True`` (default; paper Sec. 4.2 "we retain this term", ViKL code): the SimCLR "full"
  form. U = [A; B], S = UUᵀ/τ; each of the 2n rows r has the positive S[r, partner(r)] and the
  2n−2 negatives S[r, c], c ∉ {r, partner(r)} (n−1 intra-modal, n−1 inter-modal): C = 2n−1 logits.
* ``intra=False`` (ManiNeg's cross-modal terms, B5): only the n−1 inter-modal negatives, C = n,
  but still **both** directions A→B and B→A (B4; the released inter-only losses were one-way).
* ``decoupled=True``: the literal Eq. (1), whose denominator excludes the positive (decoupled
  contrastive learning, B3). Default False: the standard form of the code, positive included.
* Label smoothing α (Eq. 6, B6) with PyTorch semantics: the target is (1−α)·onehot + α/C with
  C the number of logits of the row (positive included), so with intra negatives the mass α/(2n−1)
  also lands on intra-modal logits. The paper writes α/N over N batch entries; the code and mvkl
  use α/C.
* Aggregation: the **mean** over the 2n rows (the code; Eq. 2 sums, B4). For one term a sum would
  rescale the gradient by 2n; in the ViKL objective it would also re-weight the terms by their row
  counts, which differ after manifestation de-dup and with missing reports or manifestations. The
  mean gives every term the same weight whatever survives de-dup.

Per row r with logits s (positive s_p) and denominator set D (all logits, or the negatives only
when decoupled): ℓ_r = logsumexp_{c∈D} s_c − (1−α)·s_p − (α/C)·Σ_c s_c, which equals PyTorch's
``cross_entropy(s, p, label_smoothing=α)`` when D is all logits. Computed in fp32 whatever the
input dtype (fp64 stays fp64; B28: the loss runs in fp32 under autocast). No fixed-size masks (B44).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_pair", "nt_xent"]


def check_pair(a: Tensor, b: Tensor, rows: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Validate two aligned (n, d) embeddings, apply the optional row subset, cast to at least fp32
    (fp16/bf16 → fp32; fp64 stays fp64)."""
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"expected two (n, d) tensors of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if rows is not None:
        rows = rows.to(device=a.device, dtype=torch.long)
        a, b = a[rows], b[rows]
    if a.shape[0] < 2:
        raise ValueError(f"a contrastive loss needs at least 2 pairs, got {a.shape[0]}")
    dtype = torch.promote_types(a.dtype, torch.float32)
    return a.to(dtype), b.to(dtype)


def nt_xent(a: Tensor, b: Tensor, tau: float | Tensor, *, label_smoothing: float = 0.0, intra: bool = True,
            decoupled: bool = False, rows: Tensor | None = None) -> Tensor:
    """Symmetric NT-Xent between ``a`` and ``b`` (see the module docstring); returns a 0-d fp32 tensor.

    Args:
        a, b: ``(n, d)`` L2-normalised embeddings, row i of each forming a positive pair; n ≥ 2
            after ``rows``.
        tau: temperature (float, or a 0-d tensor for a trainable temperature).
        label_smoothing: α ∈ [0, 1).
        intra: keep the intra-modal negatives (2n−2 negatives per row instead of n−1).
        decoupled: exclude the positive from the softmax denominator (literal Eq. 1).
        rows: optional index subset applied to both ``a`` and ``b`` (manifestation de-dup).
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    a, b = check_pair(a, b, rows)
    n = a.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=a.device)
    if intra:
        u = torch.cat([a, b])
        s = u @ u.T / tau
        idx = torch.arange(2 * n, device=a.device)
        partner = (idx + n) % (2 * n)
        pos = s[idx, partner]
        self_mask = torch.eye(2 * n, dtype=torch.bool, device=a.device)
        sum_logits = s.masked_fill(self_mask, 0.0).sum(1)
        c = 2 * n - 1
        den_mask = self_mask.clone()
        if decoupled:
            den_mask[idx, partner] = True
        lse = torch.logsumexp(s.masked_fill(den_mask, float("-inf")), dim=1)
    else:
        sab = a @ b.T / tau
        s = torch.cat([sab, sab.T])  # rows of A against B, then rows of B against A
        pos = torch.cat([sab.diagonal(), sab.diagonal()])
        sum_logits = s.sum(1)
        c = n
        den = s.masked_fill(torch.cat([eye, eye]), float("-inf")) if decoupled else s
        lse = torch.logsumexp(den, dim=1)
    loss = lse - (1.0 - label_smoothing) * pos - (label_smoothing / c) * sum_logits
    return loss.mean()
