"""Hardness annealing of ManiNeg: the schedule of μ in Eq. 7 (paper Sec. 4.2, Appendix A).

The paper anneals μ linearly from μ_max = 11 to μ_min = 0, "stopping at the minimum at the 50th
training step", then keeps it constant. The released code instead updates μ once per *epoch*
(μ(e) = max(μ_min, μ_max + (μ_min − μ_max)·e / E_min) with E_min = 3 and 100-batch epochs), so the
paper's "50th step" is ambiguous (docs/fidelity.md, bugs B14/B15). mvkl anneals per training
step by default and offers the per-epoch form as ``unit="epoch"``.

Convention (0-based steps): μ(t) = μ_max + (μ_min − μ_max)·min(t / steps, 1). With the default
``steps = 50`` the first batch (t = 0) uses μ_max and t = 50 is the first batch at μ_min; the
paper's 1-based "50th step" (t = 49) would be ``steps = 49``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mvkl.config import MANINEG

__all__ = ["LinearMuSchedule", "MuSchedule", "as_schedule"]


@dataclass(frozen=True)
class LinearMuSchedule:
    """Linear annealing of μ, then constant (paper Appendix A).

    Args:
        mu_max: μ at step (or epoch) 0; the paper's 11.
        mu_min: μ reached at ``steps`` and kept afterwards; the paper's 0.
        steps: number of steps (``unit="step"``) or epochs (``unit="epoch"``) of the linear
            ramp; 0 means constant ``mu_min``.
        unit: ``"step"`` (default, per training step, spec B15) or ``"epoch"`` (the released
            code: μ changes once per epoch; needs the sampler's steps per epoch).

    Example: ``LinearMuSchedule(11, 0, 50)(25) == 5.5``;
    ``LinearMuSchedule(11, 0, 3, unit="epoch")(250, steps_per_epoch=100) == 11 - 2 * 11 / 3``.
    """

    mu_max: float = MANINEG.mu_max
    mu_min: float = MANINEG.mu_min
    steps: int = MANINEG.mu_steps
    unit: Literal["step", "epoch"] = MANINEG.mu_unit  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if int(self.steps) != self.steps or self.steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {self.steps!r}")
        if self.unit not in ("step", "epoch"):
            raise ValueError(f"unit must be 'step' or 'epoch', got {self.unit!r}")

    def __call__(self, step: int, steps_per_epoch: int | None = None) -> float:
        """μ for the batch of 0-based training step ``step``."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        t = step
        if self.unit == "epoch":
            if not steps_per_epoch or steps_per_epoch < 1:
                raise ValueError("a per-epoch μ schedule needs steps_per_epoch >= 1")
            t = step // steps_per_epoch
        if self.steps == 0:
            return float(self.mu_min)
        frac = min(t / self.steps, 1.0)
        return float(self.mu_max + (self.mu_min - self.mu_max) * frac)

    def describe(self) -> dict[str, object]:
        """A JSON-able description (used in sampler fingerprints and reports)."""
        return {"kind": "linear", "mu_max": float(self.mu_max), "mu_min": float(self.mu_min),
                "steps": int(self.steps), "unit": self.unit}


#: A schedule: a LinearMuSchedule, a constant μ, or any ``f(step, steps_per_epoch) -> μ``.
MuSchedule = LinearMuSchedule | float | int | Callable[[int, int | None], float]


def as_schedule(schedule: MuSchedule) -> Callable[[int, int | None], float]:
    """Normalise a schedule argument: numbers become a constant schedule."""
    if isinstance(schedule, bool):
        raise TypeError("mu_schedule must be a number or a schedule, not a bool")
    if isinstance(schedule, (int, float)):
        return LinearMuSchedule(float(schedule), float(schedule), 0)
    if not callable(schedule):
        raise TypeError(f"mu_schedule must be a number or callable, got {type(schedule).__name__}")
    return schedule


def describe_schedule(schedule: Callable[[int, int | None], float]) -> object:
    """JSON-able description of a schedule (its repr for arbitrary callables)."""
    d = getattr(schedule, "describe", None)
    if callable(d):
        return d()
    # Never a repr with a memory address: fingerprints must be stable across processes.
    return f"{getattr(schedule, '__module__', '')}.{getattr(schedule, '__qualname__', type(schedule).__name__)}"
