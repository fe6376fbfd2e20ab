"""The pretraining objective of a configuration: the one place that turns a
:class:`~mvkl.train.config.PretrainConfig` into the keyword arguments of
:func:`mvkl.losses.vikl_loss`. The trainer and `mvkl bench train-step` both call it, so the step
the benchmark times is the step that trains."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mvkl.train.config import PretrainConfig

__all__ = ["LOSS_FIELDS", "compute_loss", "loss_options"]

#: ``vikl_loss`` keyword ← ``PretrainConfig`` field, for every loss option a configuration sets.
#: The remaining keywords (``generator``, ``terms``, ``plan``) are per call, not configuration.
LOSS_FIELDS: dict[str, str] = {
    "tau1": "tau1", "tau2": "tau2", "ls_text": "label_smoothing", "ls_other": "label_smoothing_other",
    "hard_negatives": "hard_negatives", "itm_view": "itm_view", "dedup_scope": "dedup_scope",
    "intra": "intra_negatives", "decoupled": "decoupled", "tau_plus": "hcl_tau_plus", "beta": "hcl_beta",
}


def loss_options(cfg: PretrainConfig) -> dict[str, Any]:
    """The ``vikl_loss`` keyword arguments that ``cfg`` sets (:data:`LOSS_FIELDS`)."""
    return {kw: getattr(cfg, field) for kw, field in LOSS_FIELDS.items()}


def compute_loss(cfg: PretrainConfig, out: Mapping[str, Any], *, generator: Any, terms: Sequence[str]) -> Any:
    """``vikl_loss(out, **loss_options(cfg))`` with this step's generator and the model's terms;
    returns ``(loss, components)``."""
    from mvkl.losses import vikl_loss

    return vikl_loss(out, generator=generator, terms=terms, **loss_options(cfg))
