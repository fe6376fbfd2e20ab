"""Batch collation for pretraining, with dynamic-padding tokenisation of the reports (docs/fidelity.md, B38).

:class:`LumpCollator` turns a list of :class:`~mvkl.torchdata.datasets.LumpDataset` items into the
inputs of :meth:`mvkl.models.ViKL.forward`:

* ``view1`` / ``view2``: ``(B, 1, S, S)`` float32;
* ``text``: ``{"input_ids", "attention_mask"}`` of the rows that have a report, padded to the
  longest report **of the batch** (never to a fixed 512) and truncated at ``max_length``;
  ``text_rows``: their batch rows (CPU int64); None / empty when no row has a report or text is
  off;
* ``manifest`` / ``manifest_known``: ``(Bm, 35)`` float32 of the rows with at least one known
  dimension, ``manifest_rows`` their batch rows;
* ``label`` ``(B,)`` int64, ``index`` ``(B,)`` int64 (dataset positions), ``size`` = B.

It runs inside DataLoader workers, so tokenisation happens off the training process. Row index
tensors stay on the CPU (the loss's row bookkeeping runs there without host syncs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from mvkl.models.text import MAX_TEXT_LENGTH, tokenize

__all__ = ["LumpCollator", "batch_to_device"]


class LumpCollator:
    """Collate pretraining samples (module docstring).

    Args:
        tokenizer: a Hugging Face tokenizer (the model's), or None when text is off.
        max_length: truncation length (≤ 512, BERT's limit).
        use_text / use_manifest: build the text / manifestation inputs.
    """

    def __init__(self, tokenizer: Any = None, *, max_length: int = MAX_TEXT_LENGTH, use_text: bool = True,
                 use_manifest: bool = True) -> None:
        if use_text and tokenizer is None:
            raise ValueError("use_text=True needs a tokenizer")
        if not 1 <= int(max_length) <= MAX_TEXT_LENGTH:
            raise ValueError(f"max_length must be in 1..{MAX_TEXT_LENGTH}, got {max_length}")
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.use_text = bool(use_text)
        self.use_manifest = bool(use_manifest)

    def __call__(self, samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        if not samples:
            raise ValueError("cannot collate an empty batch")
        out: dict[str, Any] = {
            "view1": torch.stack([s["view1"] for s in samples]),
            "view2": torch.stack([s["view2"] for s in samples]),
            "label": torch.tensor([int(s["label"]) for s in samples], dtype=torch.long),
            "index": torch.tensor([int(s["index"]) for s in samples], dtype=torch.long),
            "size": len(samples),
            "text": None, "text_rows": None, "manifest": None, "manifest_known": None, "manifest_rows": None,
        }
        if self.use_text:
            rows = [i for i, s in enumerate(samples) if s["has_report"]]
            if rows:
                out["text"] = tokenize(self.tokenizer, [samples[i]["report"] for i in rows], self.max_length)
                out["text_rows"] = torch.tensor(rows, dtype=torch.long)
        if self.use_manifest:
            rows = [i for i, s in enumerate(samples) if s["has_manifest"]]
            if rows:
                out["manifest"] = torch.stack([samples[i]["manifest"] for i in rows])
                out["manifest_known"] = torch.stack([samples[i]["known"] for i in rows])
                out["manifest_rows"] = torch.tensor(rows, dtype=torch.long)
        return out


def batch_to_device(batch: dict[str, Any], device: torch.device, *, channels_last: bool = False) -> dict[str, Any]:
    """Move the model inputs of a collated batch to ``device`` (non-blocking); row indices, labels
    and the CPU copies of the manifestations (``manifest_cpu``, ``manifest_known_cpu``) stay on the CPU."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format

    def move(t: Tensor | None, image: bool = False) -> Tensor | None:
        if t is None:
            return None
        t = t.to(device, non_blocking=True)
        return t.contiguous(memory_format=fmt) if image else t

    out = dict(batch)
    out["view1"] = move(batch["view1"], True)
    out["view2"] = move(batch["view2"], True)
    if batch.get("text") is not None:
        out["text"] = {k: v.to(device, non_blocking=True) for k, v in batch["text"].items()}
    out["manifest_cpu"], out["manifest_known_cpu"] = batch.get("manifest"), batch.get("manifest_known")
    out["manifest"] = move(batch.get("manifest"))
    out["manifest_known"] = move(batch.get("manifest_known"))
    return out
