"""robinson_hcl against the literal float64 reference, including the clamp and low precision."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from mvkl.losses import robinson_hcl
from mvkl.losses.reference import robinson_hcl_reference


def _pair(n: int, d: int = 12, seed: int = 0, noise: float = 0.8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    b = F.normalize(a + noise * torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    return a, b


def _run(fn, a, b, **kw):
    a = a.detach().clone().requires_grad_(True)
    b = b.detach().clone().requires_grad_(True)
    loss = fn(a, b, **kw)
    loss.backward()
    return loss.detach(), a.grad, b.grad


@pytest.mark.parametrize("n", [2, 3, 8, 17])
@pytest.mark.parametrize("intra", [True, False])
def test_matches_reference_with_gradients(n: int, intra: bool) -> None:
    a, b = _pair(n, seed=10 + n)
    for tau, est, tau_plus, beta in itertools.product([0.03, 0.3, 0.7], ["hard", "easy"], [0.1, 0.0], [1.0, 0.5]):
        if est == "easy" and (tau_plus, beta) != (0.1, 1.0):
            continue  # the easy estimator ignores τ⁺ and β
        kw = dict(tau=tau, estimator=est, tau_plus=tau_plus, beta=beta, intra=intra)
        v, ga, gb = _run(robinson_hcl, a, b, **kw)
        rv, rga, rgb = _run(robinson_hcl_reference, a, b, **kw)
        torch.testing.assert_close(v, rv, rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(ga, rga, rtol=1e-7, atol=1e-9)
        torch.testing.assert_close(gb, rgb, rtol=1e-7, atol=1e-9)


def test_clamp_branch_matches_reference() -> None:
    """Near-identical positives make τ⁺·N·pos exceed R, so Ng is clamped to N·e^{−1/τ}."""
    a, b = _pair(6, seed=4, noise=0.01)
    for tau in (0.03, 0.3):
        v, ga, _ = _run(robinson_hcl, a, b, tau=tau)
        rv, rga, _ = _run(robinson_hcl_reference, a, b, tau=tau)
        torch.testing.assert_close(v, rv, rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(ga, rga, rtol=1e-7, atol=1e-9)
    # the clamp really is active here: the loss equals −log(pos/(pos + N e^{−1/τ})) on average
    tau, n_neg = 0.03, 10
    pos = torch.cat([(a * b).sum(1), (a * b).sum(1)]) / tau
    clamped = (torch.logaddexp(pos, torch.full_like(pos, math.log(n_neg) - 1 / tau)) - pos).mean()
    torch.testing.assert_close(robinson_hcl(a, b, tau), clamped)


def test_row_subset() -> None:
    a, b = _pair(7, seed=2)
    rows = torch.tensor([6, 1, 3])
    torch.testing.assert_close(robinson_hcl(a, b, 0.3, rows=rows), robinson_hcl_reference(a, b, 0.3, rows=rows))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("intra", [True, False])
def test_stable_in_low_precision_at_tau_003(dtype: torch.dtype, intra: bool) -> None:
    """B28: e^{(1+β)/τ} ≈ e^{66} overflows fp16; the log-space loss stays finite and accurate."""
    a64, b64 = _pair(16, seed=7, noise=0.3)
    a, b = a64.to(dtype), b64.to(dtype)
    if dtype == torch.float16:  # the premise: the released code's exponentials overflow here
        assert torch.isinf(torch.exp(torch.tensor(2 / 0.03, dtype=dtype)))
    v, ga, gb = _run(robinson_hcl, a, b, tau=0.03, intra=intra)
    assert v.dtype == torch.float32 and torch.isfinite(v)
    assert torch.isfinite(ga.float()).all() and torch.isfinite(gb.float()).all()
    # the reference on the same (rounded) inputs, in float64
    rv, rga, rgb = _run(robinson_hcl_reference, a.double(), b.double(), tau=0.03, intra=intra)
    torch.testing.assert_close(v.double(), rv, rtol=1e-4, atol=1e-4)
    tol = 2e-2 * float(rga.abs().max())
    torch.testing.assert_close(ga.double(), rga, rtol=2e-2, atol=tol)
    torch.testing.assert_close(gb.double(), rgb, rtol=2e-2, atol=tol)


def test_rejects_bad_options() -> None:
    a, b = _pair(3)
    with pytest.raises(ValueError, match="estimator"):
        robinson_hcl(a, b, 0.3, estimator="medium")
    with pytest.raises(ValueError, match="tau_plus"):
        robinson_hcl(a, b, 0.3, tau_plus=1.0)
