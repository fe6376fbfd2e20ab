"""Learning-rate schedule in steps: linear warm-up, then cosine to a floor (paper App. A; docs/fidelity.md, B14).

The released code chains ``LinearLR(start_factor=1e-3, total_iters=warmup)`` and
``CosineAnnealingLR(T_max=total − warmup, eta_min=1e-7)``, both stepped per iteration. The closed
form used here gives the same values::

    t < W:      lr(t) = peak · (f + (1 − f) · t / W)                      (f = start factor)
    t ≥ W:      lr(t) = floor + (peak − floor) · (1 + cos(π · (t − W) / (T − W))) / 2

with t the 0-based step whose optimizer update uses lr(t), W the warm-up steps and T the total
steps. It is a :class:`torch.optim.lr_scheduler.LambdaLR` (multiplying each parameter group's base
learning rate), so its state is one integer and resuming is exact.
"""

from __future__ import annotations

import math

import torch

__all__ = ["WarmupCosine", "lr_at"]


def lr_at(step: int, *, peak: float, floor: float, warmup: int, total: int, start_factor: float = 1e-3) -> float:
    """The learning rate of 0-based ``step`` (module docstring); constant ``floor`` after ``total``."""
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if warmup > 0 and step < warmup:
        return peak * (start_factor + (1.0 - start_factor) * step / warmup)
    span = total - warmup
    if span <= 0 or step >= total:
        return floor if span > 0 else peak
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / span))


class WarmupCosine(torch.optim.lr_scheduler.LambdaLR):
    """Warm-up + cosine for every parameter group, relative to each group's base lr.

    ``floor`` is the absolute final lr of the group whose base lr is ``peak``; other groups (e.g. a
    BERT group with a multiplier) scale the whole curve, floor included.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, *, peak: float, floor: float, warmup: int, total: int,
                 start_factor: float = 1e-3, last_epoch: int = -1) -> None:
        if peak <= 0:
            raise ValueError("peak learning rate must be > 0")
        self.peak, self.floor, self.warmup, self.total, self.start_factor = peak, floor, warmup, total, start_factor
        super().__init__(optimizer, self._factor, last_epoch=last_epoch)

    def _factor(self, step: int) -> float:
        return lr_at(step, peak=self.peak, floor=self.floor, warmup=self.warmup, total=self.total,
                     start_factor=self.start_factor) / self.peak

    def state_dict(self) -> dict:  # type: ignore[type-arg]
        # Only the position: the curve is configuration (validated on resume), not state.
        return {"last_epoch": self.last_epoch, "_step_count": self._step_count}

    def load_state_dict(self, state_dict: dict) -> None:  # type: ignore[type-arg]
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict.get("_step_count", self.last_epoch + 1))
        lrs = [base * self._factor(self.last_epoch) for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]
