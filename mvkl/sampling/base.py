"""Step-indexed, resumable, rank-aware batch samplers (fixes spec B17, B18, B40).

Every batch is a pure function of ``(seed, step, rank, world_size)`` and the data, never of
what was drawn before, so resuming is exact: set the step to the number of batches the trainer
actually consumed and the sampler draws the batches an uninterrupted run would have drawn.

Step arithmetic (shared by the ManiNeg and the random sampler):

* ``E`` = batches per epoch over all ranks together (default ⌊N_train / batch_size⌋, spec B14).
* ``len(sampler)`` = ``L`` = ⌊E / world_size⌋ steps per epoch on every rank (the same on all
  ranks, so DDP ranks stay in lock-step; the remainder E mod W is dropped).
* step ``t`` (0-based, counted per rank; equal on every rank) lies in epoch ``t // L``, at
  position ``s = t % L``; rank ``r`` builds the epoch's global batch slot ``g = s·W + r``. The
  epoch's shuffled order is shared by all ranks, so two ranks never take the same slot.

Random streams: ``numpy.random.default_rng([seed, TAG, ...])`` with a per-purpose tag; the tag
keeps streams apart because NumPy's SeedSequence pads entropy with zeros, so ``[s, e]`` and
``[s, e, 0]`` would otherwise give the *same* stream.

Iteration: ``iter(sampler)`` is finite. It yields the batches from the current step to the end
of that step's epoch, advancing the step as it goes (a DataLoader's prefetching runs it ahead, so
the trainer must save the number of batches it *consumed*, not ``sampler.state_dict()`` taken
mid-epoch). The next ``iter()`` continues with the next epoch. ``set_epoch(e)`` moves to the
start of epoch e unless the current step is already inside epoch e (so the customary
``set_epoch`` call after a mid-epoch resume keeps the resumed position).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["TAG_ANCHORS", "TAG_NEGATIVES", "TAG_RANDOM", "StepBatchSampler"]

TAG_ANCHORS = 0x414E43  # "ANC": the epoch's anchor order (ManiNeg)
TAG_NEGATIVES = 0x4E4547  # "NEG": a step's negatives (ManiNeg)
TAG_RANDOM = 0x524E44  # "RND": the epoch's permutation (random batches)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class StepBatchSampler:
    """Base class: step bookkeeping, ``__iter__``/``__len__``, state dict. Subclasses implement
    :meth:`batch_at` and :meth:`_config` (the JSON-able settings that define the stream)."""

    kind = "base"

    def __init__(
        self,
        n_rows: int,
        batch_size: int,
        *,
        seed: int,
        rank: int,
        world_size: int,
        indices: npt.ArrayLike | None,
        batches_per_epoch: int,
    ) -> None:
        self.batch_size = _check_int("batch_size", batch_size, 2)
        self.seed = _check_int("seed", seed, 0)
        self.world_size = _check_int("world_size", world_size, 1)
        self.rank = _check_int("rank", rank, 0)
        if self.rank >= self.world_size:
            raise ValueError(f"rank {rank} is not below world_size {world_size}")
        self.n_rows = int(n_rows)
        if indices is None:
            self.indices = np.arange(self.n_rows, dtype=np.int64)
        else:
            self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
            if self.indices.size != self.n_rows:
                raise ValueError(f"indices has {self.indices.size} entries for {self.n_rows} training rows")
        self.batches_per_epoch = _check_int("batches_per_epoch", batches_per_epoch, 0)
        self.steps_per_epoch = self.batches_per_epoch // self.world_size
        if self.steps_per_epoch < 1:
            raise ValueError(
                f"{self.n_rows} training rows give {self.batches_per_epoch} batches of {self.batch_size} per epoch, "
                f"fewer than world_size={self.world_size}: use a smaller batch size or fewer processes")
        self._step = 0

    # -- step bookkeeping ----------------------------------------------------------------------
    def __len__(self) -> int:
        """Steps per epoch on this rank (L = ⌊batches_per_epoch / world_size⌋)."""
        return self.steps_per_epoch

    @property
    def step(self) -> int:
        """The next step :meth:`__iter__` will yield."""
        return self._step

    def set_step(self, step: int) -> None:
        """Continue from global step ``step`` (the number of batches already consumed)."""
        self._step = _check_int("step", step, 0)

    def set_epoch(self, epoch: int) -> None:
        """Move to the start of ``epoch``, unless the current step already lies inside it."""
        epoch = _check_int("epoch", epoch, 0)
        if self._step // self.steps_per_epoch != epoch:
            self._step = epoch * self.steps_per_epoch

    def epoch_of(self, step: int) -> int:
        return step // self.steps_per_epoch

    def slot_of(self, step: int) -> int:
        """Global batch slot g = (step mod L)·W + rank inside the step's epoch."""
        return (step % self.steps_per_epoch) * self.world_size + self.rank

    def __iter__(self) -> Iterator[list[int]]:
        start = self._step
        end = (start // self.steps_per_epoch + 1) * self.steps_per_epoch
        for t in range(start, end):
            self._step = t + 1
            yield self.batch_at(t)

    def batch_at(self, step: int) -> list[int]:  # pragma: no cover - abstract
        """Dataset indices of the batch of ``step`` (pure function of seed, step, rank, data)."""
        raise NotImplementedError

    # -- state ---------------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _data_fingerprint(self) -> str:
        return ""

    def fingerprint(self) -> str:
        """Hash of everything that defines the batch stream except the step and the rank."""
        cfg = {"kind": self.kind, "seed": self.seed, "batch_size": self.batch_size,
               "world_size": self.world_size, "batches_per_epoch": self.batches_per_epoch,
               "config": self._config(), "data": self._data_fingerprint()}
        h = hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode())
        h.update(self.indices.tobytes())
        return h.hexdigest()[:16]

    def state_dict(self) -> dict[str, Any]:
        """``{"kind", "step", "seed", "world_size", "fingerprint"}``; ``step`` is the next step."""
        return {"kind": self.kind, "version": 1, "step": self._step, "seed": self.seed,
                "world_size": self.world_size, "fingerprint": self.fingerprint()}

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Restore the step. With ``strict`` (default) the sampler's settings and data must match
        those of the saved one (same fingerprint), otherwise the resumed stream would differ."""
        if state.get("kind") != self.kind:
            raise ValueError(f"state is for a {state.get('kind')!r} sampler, not {self.kind!r}")
        if strict and state.get("fingerprint") != self.fingerprint():
            raise ValueError(
                "sampler settings or training data differ from the saved run (fingerprint "
                f"{state.get('fingerprint')} != {self.fingerprint()}); pass strict=False to resume anyway")
        self.set_step(int(state["step"]))
