"""ViKL pretraining: configuration and presets, LR schedule, checkpoints, DDP helpers, metrics and
the training loop (paper Sec. 4.3, Appendix A).

``mvkl.train.config`` imports no torch (the CLI resolves and validates options before importing
torch); :func:`pretrain` is imported lazily from :mod:`mvkl.train.loop`.
"""

from __future__ import annotations

from typing import Any

from mvkl.train.config import PRESETS, PretrainConfig, config_fingerprint, resolve_config

__all__ = ["PRESETS", "PretrainConfig", "config_fingerprint", "pretrain", "resolve_config"]


def __getattr__(name: str) -> Any:
    if name == "pretrain":
        from mvkl.train.loop import pretrain

        return pretrain
    raise AttributeError(f"module 'mvkl.train' has no attribute {name!r}")
