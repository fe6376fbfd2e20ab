"""The run directory of a pretraining run: its layout, its preparation, the final exports, and the
stop-on-signal flag that lets a run end at a step boundary with a checkpoint (docs/fidelity.md, B24, B40).

Layout (only rank 0 writes)::

    RUN/config.json        the resolved configuration (PretrainConfig.record(): no absolute path)
    RUN/metrics.jsonl      train lines every log_every steps, val lines (mvkl.train.metrics)
    RUN/checkpoints/       step_XXXXXXX.pt: full state (mvkl.train.checkpoint), the newest kept
    RUN/text/              the tiny BERT built from the training reports (text_model = "tiny")
    RUN/encoder/           the FINAL image encoder (mvkl.models.export_image_encoder; card source
                           {kind "vikl", run, step, preset, hard_negatives, store, store_fingerprint,
                           checkpoint}); what `mvkl eval RUN` uses (B24: explicit, never "best")
    RUN/vikl/              the whole final model (mvkl.models.save_vikl; load_vikl(RUN) finds it)
    RUN/summary.json       final losses, steps, throughput, outputs (paths relative to RUN)

No absolute path is written anywhere: the run is named by its directory name, the store by its
file name and content fingerprint.
"""

from __future__ import annotations

import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

from mvkl.errors import InputError
from mvkl.fsutil import atomic_write_json, display_path
from mvkl.train.checkpoint import checkpoint_path, list_checkpoints
from mvkl.train.config import PretrainConfig
from mvkl.train.distributed import DistInfo

__all__ = ["StopFlag", "export_outputs", "prepare_run_dir", "write_run_config"]

log = logging.getLogger(__name__)


def prepare_run_dir(run_dir: Path, cfg: PretrainConfig, resume: bool, info: DistInfo) -> None:
    """Refuse to overwrite a run (checkpoints there and no ``resume``); create ``checkpoints/``.

    ``config.json`` is written by :func:`write_run_config` only once a resume has been accepted, so
    a refused ``--resume`` with other options leaves the saved configuration as it was.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise InputError("--out exists and is not a directory", file=display_path(run_dir), code="usage")
    if list_checkpoints(run_dir / "checkpoints") and not resume:
        raise InputError("this run directory already holds checkpoints: pass --resume to continue it, or choose "
                         "a new --out", file=display_path(run_dir), code="usage")
    if info.is_main:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)


def write_run_config(run_dir: Path, cfg: PretrainConfig, info: DistInfo) -> None:
    """Write ``RUN/config.json`` (rank 0), after the run's configuration has been accepted."""
    if info.is_main:
        atomic_write_json(run_dir / "config.json", cfg.record())


def export_outputs(model: Any, run_dir: Path, cfg: PretrainConfig, step: int, store_name: str,
                   store_fp: str) -> dict[str, str]:
    """Write ``encoder/`` and ``vikl/`` from the final model; returns their names relative to RUN."""
    from mvkl.models import export_image_encoder, save_vikl

    source = {"kind": "vikl", "run": run_dir.name, "step": step, "preset": cfg.preset,
              "hard_negatives": cfg.hard_negatives, "store": store_name, "store_fingerprint": store_fp,
              "checkpoint": f"checkpoints/{checkpoint_path('.', step).name}"}
    export_image_encoder(model.image_encoder, run_dir / "encoder", card={"image_size": cfg.image_size,
                                                                          "source": source})
    save_vikl(model, run_dir / "vikl", config={"image_size": cfg.image_size, "source": source,
                                               "pretrain": cfg.record()})
    return {"encoder": "encoder", "model": "vikl"}


class StopFlag:
    """SIGINT/SIGTERM → stop at the next step boundary (main thread only)."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> StopFlag:
        with contextlib.suppress(ValueError):  # not the main thread
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:  # second signal: give up immediately
            raise KeyboardInterrupt
        self.requested = True
        log.warning("stop requested: finishing the current step and writing a checkpoint (again to abort)")

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
