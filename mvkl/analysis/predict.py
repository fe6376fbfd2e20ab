"""Inference with a fine-tuned classifier on new images (``mvkl predict``; paper Sec. 5.2, 5.9).

The classifier is the one ``mvkl eval --protocol ft --save-model`` writes
(:func:`mvkl.evaluation.protocols.classifier.load_classifier`): ``module(x)`` maps
``(B, 1, H, W)`` floats in [0, 1] to the malignant probability, and its card stores operating
points chosen on the **validation** split (``operating_points``: name → threshold, e.g.
``youden``, ``sensitivity_0.90``) and ``default_threshold``. An image is called malignant when
``p >= threshold`` (the rule of :mod:`mvkl.evaluation.metrics`).

Pixels go through the ingest pipeline at the size of the store the classifier was trained on
(``card["store"]["image_size"]``, else ``--image-size``, else the card's input size), then through
the evaluation transform to the classifier's input size (``card["image_size"]``), exactly as
``mvkl eval`` feeds store images, so a DICOM file gives the probability ``mvkl eval`` gives the
same image after ``mvkl ingest``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mvkl.errors import InputError

__all__ = ["choose_threshold", "classify", "pixel_size", "sensitivity_points"]


def sensitivity_points(card: dict[str, Any]) -> dict[float, tuple[str, float]]:
    """Stored sensitivity operating points: target → (name, threshold)."""
    out: dict[float, tuple[str, float]] = {}
    for name, t in (card.get("operating_points") or {}).items():
        if str(name).startswith("sensitivity_"):
            try:
                out[float(str(name).split("_", 1)[1])] = (str(name), float(t))
            except ValueError:
                continue
    return out


def choose_threshold(card: dict[str, Any], *, threshold: float | None = None, sensitivity: float | None = None,
                     operating_point: str | None = None) -> dict[str, Any]:
    """The decision threshold: ``threshold`` (explicit override), the stored operating point for
    ``sensitivity`` or named ``operating_point``, else the card's default. At most one may be given.

    Returns ``{"threshold", "name", "source"}``. Raises InputError (exit 2) for conflicting or
    invalid options and for a sensitivity that has no stored operating point (listing those that do).
    """
    given = [n for n, v in (("--threshold", threshold), ("--sensitivity", sensitivity),
                            ("--operating-point", operating_point)) if v is not None]
    if len(given) > 1:
        raise InputError(f"{' and '.join(given)} exclude each other: give one", code="option")
    ops = {str(k): float(v) for k, v in (card.get("operating_points") or {}).items()}
    if threshold is not None:
        if not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
            raise InputError(f"--threshold must lie in [0, 1] (got {threshold})", code="option")
        return {"threshold": float(threshold), "name": "user", "source": "--threshold"}
    if sensitivity is not None:
        if not 0.0 < sensitivity <= 1.0:
            raise InputError(f"--sensitivity must lie in (0, 1] (got {sensitivity})", code="option")
        pts = sensitivity_points(card)
        hit = [v for k, v in pts.items() if abs(k - sensitivity) < 1e-6]
        if not hit:
            avail = ", ".join(f"{k:g}" for k in sorted(pts)) or "none"
            raise InputError(f"no operating point for sensitivity {sensitivity:g} is stored with this classifier "
                             f"(stored sensitivities: {avail}; all points: {', '.join(sorted(ops)) or 'none'}); "
                             "use --threshold to set one", code="operating-point")
        name, t = hit[0]
        return {"threshold": t, "name": name, "source": "validation split (stored with the classifier)"}
    if operating_point is not None:
        if operating_point not in ops:
            raise InputError(f"no operating point {operating_point!r} is stored with this classifier "
                             f"(stored: {', '.join(sorted(ops)) or 'none'})", code="operating-point")
        return {"threshold": ops[operating_point], "name": operating_point,
                "source": "validation split (stored with the classifier)"}
    if card.get("default_threshold") is not None:
        return {"threshold": float(card["default_threshold"]), "name": str(card.get("default_operating_point",
                                                                                     "default")),
                "source": "validation split (the classifier's default)"}
    return {"threshold": 0.5, "name": "0.5", "source": "fixed 0.5 (the card stores no operating point)"}


def pixel_size(card: dict[str, Any], override: int | None = None) -> tuple[int, str]:
    """``(side, dtype)`` of the ingest pixel pipeline for a classifier (module docstring)."""
    store = card.get("store") if isinstance(card.get("store"), dict) else {}
    dtype = str(store.get("pixel_dtype") or "uint8")
    if override is not None:
        return int(override), dtype
    size = store.get("image_size") or card.get("image_size") or 256
    return int(size), dtype


def classify(module: Any, images: Sequence[np.ndarray], *, input_size: int, device: Any = None,
             batch_size: int = 32, amp: bool = False, on_batch: Callable[[int], None] | None = None) -> np.ndarray:
    """Malignant probabilities ``(n,)`` float64 of stored-pixel images (eval mode, no gradients).

    Images go through :func:`mvkl.analysis.inputs.to_model_input` (the evaluation transform).
    """
    import torch

    from mvkl.analysis.inputs import to_model_input
    from mvkl.evaluation.protocols.features import autocast, to_device

    dev = device or torch.device("cpu")
    was = module.training
    module.eval()
    out = []
    try:
        with torch.inference_mode():
            for s in range(0, len(images), batch_size):
                x = torch.stack([to_model_input(p, input_size) for p in images[s : s + batch_size]])
                with autocast(dev, amp):
                    p = module(to_device(x, dev))
                out.append(p.float().cpu().numpy().reshape(-1))
                if on_batch is not None:
                    on_batch(int(x.shape[0]))
    finally:
        module.train(was)
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)
