"""Training metrics without per-step host synchronisation (spec B45), written to ``metrics.jsonl``.

:class:`MetricAccumulator` keeps running sums of the loss components as device tensors (no
``.item()`` per step); quantities that already live on the CPU (row counts) are summed on the
host. At log time :meth:`MetricAccumulator.reduce` stacks the device sums, all-reduces them over
DDP ranks when asked, and reads them with a single transfer.

``metrics.jsonl``: one JSON object per line, ``"kind": "train"`` (means over the steps since the
previous line: ``loss``, ``imc``, ``itm``, ``ii``/``it``/``im``/``tm``, their row counts
``n_*``, plus ``lr``, ``mu`` (ManiNeg), ``batch`` (mean lumps per step over all ranks),
``samples_per_s``, ``epoch``, ``elapsed_s``) or ``"kind": "val"`` (validation loss of the val
split at that step). Only rank 0 writes. TensorBoard scalars are optional
(``--tensorboard``; skipped with a warning when the package is not installed).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from mvkl.fsutil import atomic_write_text

__all__ = ["MetricAccumulator", "MetricsWriter", "truncate_metrics"]

log = logging.getLogger(__name__)


class MetricAccumulator:
    """Running sums of per-step scalars; device values are read only in :meth:`reduce`."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._dev: dict[str, Tensor] = {}
        self._host: dict[str, float] = {}
        self.steps = 0

    def add(self, values: Mapping[str, Tensor | float | int]) -> None:
        """Add one step's scalars (tensors on any device, or numbers)."""
        for k, v in values.items():
            if isinstance(v, Tensor) and v.device.type != "cpu":
                v = v.detach().float()
                self._dev[k] = v if k not in self._dev else self._dev[k] + v
            else:
                self._host[k] = self._host.get(k, 0.0) + float(v)
        self.steps += 1

    def reduce(self, group: Any = None, meta_group: Any = None, distributed: bool = False) -> dict[str, float]:
        """Means over the accumulated steps (and over ranks when ``distributed``); one host sync."""
        out: dict[str, float] = {}
        n = max(self.steps, 1)
        keys = sorted(self._dev)
        if keys:
            stacked = torch.stack([self._dev[k] for k in keys])
            if distributed:
                dist.all_reduce(stacked, group=group)
                stacked = stacked / dist.get_world_size(group)
            out.update(zip(keys, (v / n for v in stacked.tolist()), strict=True))
        hkeys = sorted(self._host)
        if hkeys:
            host = torch.tensor([self._host[k] for k in hkeys], dtype=torch.float64)
            if distributed:
                dist.all_reduce(host, group=meta_group)
                host = host / dist.get_world_size(meta_group)
            out.update(zip(hkeys, (v / n for v in host.tolist()), strict=True))
        return out


class MetricsWriter:
    """Append-only ``metrics.jsonl`` (flushed per line) and optional TensorBoard events."""

    def __init__(self, run_dir: str | os.PathLike[str], *, enabled: bool = True, tensorboard: bool = False) -> None:
        self.path = Path(run_dir) / "metrics.jsonl"
        self.enabled = enabled
        self._fh = open(self.path, "a", encoding="utf-8") if enabled else None  # noqa: SIM115
        self._tb: Any = None
        if enabled and tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.warning("--tensorboard: the tensorboard package is not installed (pip install tensorboard); "
                            "metrics go to metrics.jsonl only")
            else:
                self._tb = SummaryWriter(log_dir=str(Path(run_dir) / "tensorboard"))

    def write(self, record: Mapping[str, Any]) -> None:
        if not self.enabled or self._fh is None:
            return
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in record.items()}
        self._fh.write(json.dumps(clean, ensure_ascii=False) + "\n")
        self._fh.flush()
        if self._tb is not None:
            kind = record.get("kind", "train")
            step = int(record.get("step", 0))
            for k, v in record.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("step", "kind"):
                    self._tb.add_scalar(f"{kind}/{k}", v, step)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def truncate_metrics(path: str | os.PathLike[str], step: int) -> int:
    """Keep only the lines with ``step <= step`` (a resumed run rewrites what came after its
    checkpoint); returns the number of lines dropped. Unparseable lines are dropped too."""
    p = Path(path)
    if not p.is_file():
        return 0
    kept, dropped = [], 0
    for line in p.read_text(encoding="utf-8").splitlines():
        try:
            ok = int(json.loads(line).get("step", 0)) <= step
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
            ok = False
        if ok:
            kept.append(line)
        else:
            dropped += 1
    if dropped:
        atomic_write_text(p, "".join(f"{ln}\n" for ln in kept))
    return dropped
