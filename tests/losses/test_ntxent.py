"""nt_xent against the slow float64 loop reference (values and gradients) and PyTorch's CE."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from mvkl.losses import nt_xent
from mvkl.losses.reference import nt_xent_reference


def _pair(n: int, d: int = 12, seed: int = 0, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    # correlated partners, so positives are not all tiny
    b = F.normalize(a + 0.8 * torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)
    return a.to(dtype), b.to(dtype)


def _value_and_grads(fn, a, b, **kw):
    a = a.detach().clone().requires_grad_(True)
    b = b.detach().clone().requires_grad_(True)
    loss = fn(a, b, **kw)
    loss.backward()
    return loss.detach(), a.grad, b.grad


@pytest.mark.parametrize("n", [2, 3, 8, 17])
@pytest.mark.parametrize(("intra", "decoupled"), list(itertools.product([True, False], [False, True])))
def test_matches_reference_with_gradients(n: int, intra: bool, decoupled: bool) -> None:
    a, b = _pair(n, seed=n)
    for tau, ls in itertools.product([0.03, 0.3, 0.7], [0.0, 0.1, 0.2]):
        kw = dict(label_smoothing=ls, intra=intra, decoupled=decoupled)
        v, ga, gb = _value_and_grads(lambda x, y, kw=kw, tau=tau: nt_xent(x, y, tau, **kw), a, b)
        rv, rga, rgb = _value_and_grads(lambda x, y, kw=kw, tau=tau: nt_xent_reference(x, y, tau, **kw), a, b)
        torch.testing.assert_close(v, rv, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(ga, rga, rtol=1e-9, atol=1e-10)
        torch.testing.assert_close(gb, rgb, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize(("intra", "decoupled", "ls"), [(True, False, 0.2), (False, True, 0.1), (True, True, 0.0)])
def test_row_subset_equals_reference_and_explicit_selection(intra: bool, decoupled: bool, ls: float) -> None:
    a, b = _pair(9, seed=3)
    rows = torch.tensor([7, 0, 4, 5])
    kw = dict(label_smoothing=ls, intra=intra, decoupled=decoupled, rows=rows)
    v, ga, gb = _value_and_grads(lambda x, y: nt_xent(x, y, 0.3, **kw), a, b)
    rv, rga, rgb = _value_and_grads(lambda x, y: nt_xent_reference(x, y, 0.3, **kw), a, b)
    torch.testing.assert_close(v, rv)
    torch.testing.assert_close(ga, rga)
    torch.testing.assert_close(gb, rgb)
    # rows outside the subset get no gradient, and the subset equals slicing by hand
    assert torch.all(ga[[1, 2, 3, 6, 8]] == 0) and torch.any(ga[rows] != 0)
    kw.pop("rows")
    torch.testing.assert_close(v, nt_xent(a[rows], b[rows], 0.3, **kw))


def test_label_smoothing_is_pytorch_cross_entropy() -> None:
    """intra=False is CE over the n×n similarity matrix in both directions, α/C with C = n (B6);
    intra=True is CE over the 2n−1 non-self logits of U Uᵀ."""
    a, b = _pair(6, seed=5)
    tau, ls = 0.3, 0.2
    s = a @ b.T / tau
    t = torch.arange(6)
    ce = (F.cross_entropy(s, t, label_smoothing=ls) + F.cross_entropy(s.T, t, label_smoothing=ls)) / 2
    torch.testing.assert_close(nt_xent(a, b, tau, label_smoothing=ls, intra=False), ce)
    u = torch.cat([a, b])
    full = u @ u.T / tau
    logits = torch.stack([torch.cat([full[r, :r], full[r, r + 1:]]) for r in range(12)])
    partner = torch.tensor([(r + 6) % 12 for r in range(12)])
    target = torch.where(partner > torch.arange(12), partner - 1, partner)
    expected = F.cross_entropy(logits, target, label_smoothing=ls)
    torch.testing.assert_close(nt_xent(a, b, tau, label_smoothing=ls), expected)


def test_symmetric_in_its_arguments_and_temperature_tensor() -> None:
    a, b = _pair(5, seed=1)
    for intra in (True, False):
        torch.testing.assert_close(nt_xent(a, b, 0.3, intra=intra), nt_xent(b, a, 0.3, intra=intra))
    tau = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    loss = nt_xent(a, b, tau, label_smoothing=0.2)
    loss.backward()
    torch.testing.assert_close(loss.detach(), nt_xent(a, b, 0.3, label_smoothing=0.2))
    assert tau.grad is not None and torch.isfinite(tau.grad)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs_are_computed_in_fp32(dtype: torch.dtype) -> None:
    a, b = _pair(8, seed=2, dtype=dtype)
    a.requires_grad_(True)
    loss = nt_xent(a, b, 0.03, label_smoothing=0.2)
    assert loss.dtype == torch.float32
    ref = nt_xent_reference(a.detach().double(), b.double(), 0.03, label_smoothing=0.2)
    torch.testing.assert_close(loss.double(), ref, rtol=1e-5, atol=1e-5)
    loss.backward()
    assert a.grad is not None and a.grad.dtype == dtype and torch.isfinite(a.grad.float()).all()


def test_rejects_bad_input() -> None:
    a, b = _pair(3)
    with pytest.raises(ValueError, match="at least 2"):
        nt_xent(a[:1], b[:1], 0.3)
    with pytest.raises(ValueError, match="at least 2"):
        nt_xent(a, b, 0.3, rows=torch.tensor([1]))
    with pytest.raises(ValueError, match="same shape"):
        nt_xent(a, b[:2], 0.3)
    with pytest.raises(ValueError, match="label_smoothing"):
        nt_xent(a, b, 0.3, label_smoothing=1.0)
