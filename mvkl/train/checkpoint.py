"""Full-state training checkpoints, written atomically (docs/fidelity.md, B24, B40).

``RUN/checkpoints/step_XXXXXXX.pt`` (7-digit step = the number of optimizer steps done) holds::

    {"format": "mvkl-pretrain-checkpoint", "version": 1, "step": int, "epoch": int,
     "model": state dict (unwrapped: no "module." prefix), "optimizer": ..., "scheduler": ...,
     "scaler": None (bf16 needs no loss scaling; kept for format stability),
     "sampler": {"kind", "step", "fingerprint"}, "rng": [per-rank RNG states],
     "config": resolved config dict, "config_fingerprint": str, "store_fingerprint": str,
     "world_size": int, "mvkl_version": str}

The sampler step saved is the number of batches the trainer **consumed** (the DataLoader
prefetches ahead, so the sampler's own counter is not the resume point). RNG states are plain
tensors and numbers so the file loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mvkl import __version__
from mvkl.errors import InputError
from mvkl.fsutil import atomic_path, display_path

__all__ = ["CHECKPOINT_FORMAT", "capture_rng", "checkpoint_path", "latest_checkpoint", "list_checkpoints",
           "load_checkpoint", "prune_checkpoints", "restore_rng", "save_checkpoint"]

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "mvkl-pretrain-checkpoint"
CHECKPOINT_VERSION = 1
_NAME = re.compile(r"^step_(\d{7,})\.pt$")


def checkpoint_path(directory: str | os.PathLike[str], step: int) -> Path:
    return Path(directory) / f"step_{int(step):07d}.pt"


def list_checkpoints(directory: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """``(step, path)`` of the checkpoints in ``directory``, oldest first (temporary files ignored)."""
    d = Path(directory)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name)) and p.is_file()]
    return sorted(found)


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` (plus format/version) atomically: a kill leaves the previous file intact."""
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "mvkl_version": __version__, **state}
    p = Path(path)
    with atomic_path(p) as tmp:
        torch.save(payload, tmp)
    return p


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint (``weights_only=True``, CPU); InputError when unreadable or foreign."""
    p = Path(path)
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"cannot read checkpoint ({type(exc).__name__}); it may be corrupted",
                         file=display_path(p), code="checkpoint") from exc
    if not isinstance(obj, dict) or obj.get("format") != CHECKPOINT_FORMAT:
        raise InputError("not an mvkl pretraining checkpoint", file=display_path(p), code="checkpoint")
    if int(obj.get("version", 0)) > CHECKPOINT_VERSION:
        raise InputError("checkpoint written by a newer mvkl; upgrade mvkl", file=display_path(p), code="checkpoint")
    return obj


def latest_checkpoint(directory: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]] | None:
    """The newest readable checkpoint (an unreadable newest one is skipped with a warning)."""
    for step, path in reversed(list_checkpoints(directory)):
        try:
            return path, load_checkpoint(path)
        except InputError as exc:
            log.warning("skipping checkpoint of step %d: %s", step, exc)
    return None


def prune_checkpoints(directory: str | os.PathLike[str], keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest checkpoints; returns the deleted paths."""
    found = list_checkpoints(directory)
    gone = [p for _, p in found[: max(0, len(found) - int(keep))]]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def capture_rng() -> dict[str, Any]:
    """Python, NumPy (legacy global) and torch CPU/CUDA RNG states as tensors and plain numbers."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state()
    out: dict[str, Any] = {
        "python": {"version": int(version), "state": torch.tensor(internal, dtype=torch.int64),
                   "gauss": gauss},
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else [],
    }
    return out


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng` (CUDA states only when the device count matches)."""
    py = state["python"]
    random.setstate((int(py["version"]), tuple(int(x) for x in py["state"].tolist()), py["gauss"]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), int(n["pos"]), int(n["has_gauss"]),
                         float(n["gauss"])))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
