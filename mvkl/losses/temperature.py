"""Optional trainable temperature, log-parameterised and clamped (docs/fidelity.md, B26).

The ManiNeg code trains a raw scalar τ (initialised at 0.7, Adam lr 1e-2, no clamp), which can
reach τ ≤ 0. Here τ = exp(log_τ), clamped to [0.01, 1] in the forward pass; call :meth:`clamp_`
after each optimiser step so the parameter itself stays in range (no dead gradient at the bounds).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["Temperature"]


class Temperature(nn.Module):
    """A trainable temperature; ``forward()`` returns the 0-d tensor τ ∈ [tau_min, tau_max]."""

    def __init__(self, init: float = 0.07, tau_min: float = 0.01, tau_max: float = 1.0) -> None:
        super().__init__()
        if not 0.0 < tau_min <= init <= tau_max:
            raise ValueError(f"need 0 < tau_min <= init <= tau_max, got {tau_min}, {init}, {tau_max}")
        self.log_min, self.log_max = math.log(tau_min), math.log(tau_max)
        self.log_tau = nn.Parameter(torch.tensor(math.log(init)))

    def forward(self) -> Tensor:
        return self.log_tau.clamp(self.log_min, self.log_max).exp()

    @torch.no_grad()
    def clamp_(self) -> None:
        """Project the parameter back into [log tau_min, log tau_max] (after an optimiser step)."""
        self.log_tau.clamp_(self.log_min, self.log_max)

    def extra_repr(self) -> str:
        tau = float(self.forward().detach())
        return f"tau={tau:.4g}, range=[{math.exp(self.log_min):.3g}, {math.exp(self.log_max):.3g}]"
