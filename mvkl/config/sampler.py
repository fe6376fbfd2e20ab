"""Defaults and presets of the ManiNeg sampler (paper Sec. 4.2, Eq. 7, Appendix A; B9–B15 of
docs/fidelity.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

__all__ = ["COMPAT_INTERVAL_PAD", "MANINEG", "SAMPLER_PRESETS", "ManiNegConfig", "compat_interval", "sampler_fields"]

#: The released code truncates the Gaussian on [a − 0.5, b + 0.499] (18.499 for b = 18).
COMPAT_INTERVAL_PAD = (0.5, 0.499)


@dataclass(frozen=True)
class ManiNegConfig:
    """ManiNeg sampler settings; the field defaults are the paper's (and mvkl's, where it is silent)."""

    #: μ at the start of the linear ramp (paper App. A).
    mu_max: float = 11.0
    #: μ at the end of the ramp (paper App. A).
    mu_min: float = 0.0
    #: Length of the ramp in ``mu_unit``s (paper: "the 50th step"; B15).
    mu_steps: int = 50
    #: ``step`` (mvkl, B15) or ``epoch`` (the released code).
    mu_unit: str = "step"
    #: σ of the truncated Gaussian (paper App. A).
    sigma: float = 3.0
    #: Hamming-distance bounds a, b (paper Sec. 4.2).
    bounds: tuple[int, int] = (1, 18)
    #: Anchors per batch (paper: 1).
    anchors_per_batch: int = 1
    #: ``manifestation`` (paper), ``masked``, ``index`` (the code) or ``none`` (B9).
    dedup: str = "manifestation"
    #: Redraw rejected duplicates until the batch is full (mvkl's choice, B13).
    refill: bool = True
    #: Snap a drawn distance to the nearest available one (the code) instead of renormalising (B11).
    snap: bool = False
    #: ``instance`` (paper) or ``manifestation`` (the code) uniform choice within a distance (B10).
    uniform: str = "instance"
    #: Truncation interval; None = (a − ½, b + ½).
    interval: tuple[float, float] | None = None
    #: Batches per epoch; None = ⌊N / batch size⌋ (the code: 100 anchors; B14).
    batches_per_epoch: int | None = None


def compat_interval(bounds: tuple[int, int]) -> tuple[float, float]:
    """The released code's truncation interval for bounds (a, b): (a − 0.5, b + 0.499)."""
    return (bounds[0] - COMPAT_INTERVAL_PAD[0], bounds[1] + COMPAT_INTERVAL_PAD[1])


#: The defaults.
MANINEG = ManiNegConfig()

_COMPAT = replace(MANINEG, snap=True, uniform="manifestation", interval=compat_interval(MANINEG.bounds))

#: ``paper``: the defaults. ``compat``: the released code's distance rules (snapping,
#: manifestation-uniform choice, its truncation interval). ``code-compat``: also its index-level
#: de-dup without refill, 100 batches per epoch and μ annealed per epoch over 3 epochs.
SAMPLER_PRESETS: dict[str, ManiNegConfig] = {
    "paper": MANINEG,
    "compat": _COMPAT,
    "code-compat": replace(_COMPAT, dedup="index", refill=False, batches_per_epoch=100, mu_steps=3, mu_unit="epoch"),
}


def sampler_fields(sampler: ManiNegConfig) -> dict[str, Any]:
    """The fields of a sampler preset that differ from the defaults, named as in
    :class:`mvkl.train.config.PretrainConfig` (``dedup`` is ``sampler_dedup``; None becomes ``()``
    for ``interval`` and ``0`` for ``batches_per_epoch``)."""
    names = {"dedup": "sampler_dedup"}
    empty = {"interval": (), "batches_per_epoch": 0}
    out: dict[str, Any] = {}
    for name, value in vars(sampler).items():
        if value != getattr(MANINEG, name):
            out[names.get(name, name)] = empty.get(name, value) if value is None else value
    return out
