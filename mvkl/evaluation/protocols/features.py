"""Frozen inference: pooled features of a frozen encoder (LP, paper Sec. 5.1) and malignant
probabilities of a classifier, batched over a data loader.

The encoder runs in **eval mode** (BatchNorm running statistics used, never updated; B22) under
``torch.inference_mode``. On CUDA the forward pass runs under bf16 autocast with channels-last
inputs when ``amp`` is on; outputs are returned as float32/float64 numpy arrays in loader order
(evaluation loaders are never shuffled, B37).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mvkl.errors import InputError

__all__ = ["autocast", "extract_features", "predict_proba", "resolve_device", "to_device"]


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` → ``cuda`` when available, else ``cpu``; ``cuda[:N]`` must exist (InputError)."""
    s = str(spec).strip().lower()
    if s == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(s)
    except RuntimeError:
        raise InputError(f"unknown device {spec!r}; expected auto, cpu, cuda or cuda:N", code="option") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError("--device cuda was asked for but no CUDA device is available", code="option")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s)", code="option")
    elif dev.type != "cpu":
        raise InputError(f"unsupported device {spec!r}; expected auto, cpu, cuda or cuda:N", code="option")
    return dev


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA when ``amp``; a no-op context on the CPU."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_device(images: Tensor, device: torch.device) -> Tensor:
    """Move a batch of images to ``device`` (channels-last on CUDA)."""
    images = images.to(device, non_blocking=True)
    if device.type == "cuda":
        images = images.contiguous(memory_format=torch.channels_last)
    return images


def _batches(loader: Any, device: torch.device) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    for batch in loader:
        yield to_device(batch["image"], device), batch["label"], batch["index"]


def _run(fn: Callable[[Tensor], Tensor], loader: Any, device: torch.device, amp: bool,
         progress: Callable[[int], None] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    outs, labels, index = [], [], []
    with torch.inference_mode():
        for x, y, i in _batches(loader, device):
            with autocast(device, amp):
                out = fn(x)
            outs.append(out.float().cpu())
            labels.append(y)
            index.append(i)
            if progress is not None:
                progress(int(x.shape[0]))
    if not outs:
        raise InputError("no images to run inference on")
    return torch.cat(outs).numpy(), torch.cat(labels).numpy(), torch.cat(index).numpy()


def extract_features(encoder: nn.Module, loader: Any, device: torch.device, *, amp: bool = True,
                     progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pooled features ``(n, feature_dim)`` float32 and labels ``(n,)`` of a frozen encoder (eval mode).

    The encoder's training flag is restored afterwards; its parameters and buffers are untouched.
    Rows follow the dataset positions (checked).
    """
    feats, labels = _run_in_eval_mode(encoder, loader, device, amp, progress, "feature")
    return feats.astype(np.float32), labels.astype(np.int8)


def _run_in_eval_mode(model: nn.Module, loader: Any, device: torch.device, amp: bool,
                      progress: Callable[[int], None] | None, what: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_run` with ``model`` in eval mode (its training flag restored), rows checked to follow
    the dataset positions; returns (outputs, labels)."""
    was = model.training
    model.eval()
    try:
        out, labels, index = _run(model, loader, device, amp, progress)
    finally:
        model.train(was)
    if not np.array_equal(index, np.arange(index.size)):
        raise RuntimeError(f"{what} rows are not in dataset order")  # pragma: no cover - loaders never shuffle
    return out, labels


def predict_proba(model: nn.Module, loader: Any, device: torch.device, *, amp: bool = True) -> np.ndarray:
    """Malignant probabilities ``(n,)`` float64 of a :class:`~.classifier.Classifier` (eval mode).

    Probabilities are computed in float32 (softmax of the logits) and returned as float64; every
    metric of a run is computed from exactly these values, which are also the ``score`` column of
    ``predictions.parquet``.
    """
    probs, _ = _run_in_eval_mode(model, loader, device, amp, None, "prediction")
    return probs.astype(np.float64)
