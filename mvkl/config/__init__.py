"""The one home of the method's defaults, for every layer (no torch, no numpy).

Each value is written once, in a frozen dataclass here: :class:`LossConfig` (temperatures, label
smoothing, Robinson's τ⁺/β) and :class:`ManiNegConfig` (μ schedule, σ, bounds, sampler rules),
with the sampler presets :data:`SAMPLER_PRESETS`. The layers read their defaults from these
objects (``mvkl.losses``, ``mvkl.sampling``), :class:`mvkl.train.config.PretrainConfig` builds
its fields from them, and the CLI's defaults and help come from ``PretrainConfig``. Deviations
from the paper and the released code are in docs/fidelity.md.
"""

from mvkl.config.loss import LOSS, LossConfig
from mvkl.config.sampler import (
    COMPAT_INTERVAL_PAD,
    MANINEG,
    SAMPLER_PRESETS,
    ManiNegConfig,
    compat_interval,
    sampler_fields,
)

__all__ = ["COMPAT_INTERVAL_PAD", "LOSS", "MANINEG", "SAMPLER_PRESETS", "LossConfig", "ManiNegConfig",
           "compat_interval", "sampler_fields"]
