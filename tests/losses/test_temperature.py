"""Trainable temperature: log-parameterised, clamped to [0.01, 1] (B26)."""

from __future__ import annotations

import math

import pytest
import torch

from mvkl.losses import Temperature, nt_xent


def test_value_gradient_and_clamp() -> None:
    t = Temperature(0.3)
    assert math.isclose(float(t().detach()), 0.3, rel_tol=1e-6)
    a = torch.nn.functional.normalize(torch.randn(6, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    nt_xent(a, a.flip(0), t()).backward()
    assert t.log_tau.grad is not None and t.log_tau.grad != 0
    with torch.no_grad():
        t.log_tau.fill_(math.log(5.0))
    assert math.isclose(float(t().detach()), 1.0, rel_tol=1e-6)  # clamped in the forward pass
    t.clamp_()
    assert math.isclose(float(t.log_tau.detach()), 0.0, abs_tol=1e-7)
    with torch.no_grad():
        t.log_tau.fill_(math.log(1e-4))
    t.clamp_()
    assert math.isclose(float(t().detach()), 0.01, rel_tol=1e-6)


def test_an_optimiser_cannot_push_it_out_of_range() -> None:
    t = Temperature(0.02)
    opt = torch.optim.SGD(t.parameters(), lr=10.0)
    for _ in range(5):
        opt.zero_grad()
        (-t()).backward() if _ % 2 else t().backward()
        opt.step()
        t.clamp_()
        assert 0.01 - 1e-9 <= float(t().detach()) <= 1.0 + 1e-9


def test_rejects_bad_range() -> None:
    with pytest.raises(ValueError):
        Temperature(2.0)
    with pytest.raises(ValueError):
        Temperature(0.1, tau_min=0.0)
