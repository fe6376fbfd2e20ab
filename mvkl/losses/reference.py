"""Slow, obviously-correct re-implementations of the losses (tests and benchmarks only).

Each function loops over the anchor rows in Python, lists the logits of the row explicitly, and
evaluates the formula of the paper / the released code literally in float64 (plain exponentials
and logarithms, no logsumexp tricks). They are differentiable, so tests compare gradients too.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from mvkl.config import LOSS

__all__ = ["manifest_dedup_reference", "nt_xent_reference", "robinson_hcl_reference"]


def _rows_of(a: Tensor, b: Tensor, rows: Tensor | None) -> tuple[Tensor, Tensor]:
    a, b = a.double(), b.double()
    if rows is not None:
        a = torch.stack([a[int(i)] for i in rows])
        b = torch.stack([b[int(i)] for i in rows])
    return a, b


def _anchors(a: Tensor, b: Tensor, intra: bool) -> list[tuple[Tensor, Tensor, list[Tensor]]]:
    """For every anchor row (A's rows, then B's rows): (anchor, positive, [negatives])."""
    n = a.shape[0]
    out = []
    for side, (own, other) in enumerate(((a, b), (b, a))):
        del side
        for i in range(n):
            negs = [other[j] for j in range(n) if j != i]
            if intra:
                negs += [own[j] for j in range(n) if j != i]
            out.append((own[i], other[i], negs))
    return out


def nt_xent_reference(a: Tensor, b: Tensor, tau: float, *, label_smoothing: float = 0.0, intra: bool = True,
                      decoupled: bool = False, rows: Tensor | None = None) -> Tensor:
    """Eq. (1)/(2)/(6) row by row: −Σ_c q_c·log p_c with q = (1−α)·onehot + α/C over the C logits of
    the row and p_c = e^{s_c} / Σ_{k∈D} e^{s_k} (D = all logits, or the negatives if decoupled);
    mean over both directions."""
    a, b = _rows_of(a, b, rows)
    losses = []
    for anchor, positive, negs in _anchors(a, b, intra):
        logits = [torch.dot(anchor, positive) / tau] + [torch.dot(anchor, k) / tau for k in negs]
        den_terms = logits[1:] if decoupled else logits
        den = sum(torch.exp(x) for x in den_terms)
        c = len(logits)
        loss = 0.0
        for j, x in enumerate(logits):
            q = (1.0 - label_smoothing) * (1.0 if j == 0 else 0.0) + label_smoothing / c
            loss = loss - q * torch.log(torch.exp(x) / den)
        losses.append(loss)
    return sum(losses) / len(losses)


def robinson_hcl_reference(a: Tensor, b: Tensor, tau: float, *, tau_plus: float = LOSS.tau_plus,
                           beta: float = LOSS.beta, estimator: str = "hard", intra: bool = True,
                           rows: Tensor | None = None) -> Tensor:
    """Robinson et al. as the released code writes it: plain exponentials in float64, row by row."""
    a, b = _rows_of(a, b, rows)
    losses = []
    for anchor, positive, negs in _anchors(a, b, intra):
        pos = torch.exp(torch.dot(anchor, positive) / tau)
        neg = [torch.exp(torch.dot(anchor, k) / tau) for k in negs]
        n_neg = len(neg)
        if estimator == "easy":
            ng = sum(neg)
        else:
            w = [x ** beta for x in neg]
            r = sum(wi * x for wi, x in zip(w, neg, strict=True)) / (sum(w) / n_neg)
            ng = (r - tau_plus * n_neg * pos) / (1.0 - tau_plus)
            ng = torch.clamp(ng, min=n_neg * math.exp(-1.0 / tau))
        losses.append(-torch.log(pos / (pos + ng)))
    return sum(losses) / len(losses)


def manifest_dedup_reference(manifest: Tensor, known: Tensor | None) -> dict[tuple[int, ...], list[int]]:
    """Groups of row indices sharing (manifestation > 0.5, known > 0.5): the candidates among which
    exactly one row must be kept."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i in range(manifest.shape[0]):
        key = tuple(int(v > 0.5) for v in manifest[i].tolist())
        key += tuple(int(v > 0.5) for v in known[i].tolist()) if known is not None else ()
        groups.setdefault(key, []).append(i)
    return groups
