"""Shuffled random batches for the non-ManiNeg pretraining modes (``hn=none|robinson``).

Each epoch is one permutation of the training rows, drawn from
``default_rng([seed, TAG_RANDOM, epoch])`` and shared by all ranks; it is cut into consecutive
batches without replacement, and rank r takes batches r, r + W, r + 2W, … (step arithmetic in
:mod:`mvkl.sampling.base`). Always shuffled (the released ManiNeg baseline was not, spec B21).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from mvkl.sampling.base import TAG_RANDOM, StepBatchSampler

__all__ = ["RandomBatchSampler"]


class RandomBatchSampler(StepBatchSampler):
    """Random batches without replacement per epoch; seeded, step-pure, rank-aware, resumable.

    Args:
        n: number of training rows.
        batch_size: lumps per batch (on each rank).
        seed: seed of the epoch permutations.
        rank, world_size: this process and the number of processes (DDP).
        indices: optional ``(n,)`` map from training rows to dataset indices (what is yielded).
        drop_last: True (default): ⌊n / batch_size⌋ full batches per epoch. False: ⌈n / B⌉
            batches, the last one partial; ranks without a batch in the last round get one that
            wraps around the permutation (like ``DistributedSampler`` padding).

    Use it as ``DataLoader(dataset, batch_sampler=sampler, num_workers=...)``; ``len(sampler)``
    is the number of steps per epoch on this rank, and ``set_step``/``state_dict``/
    ``load_state_dict`` resume exactly (see :mod:`mvkl.sampling.base`).
    """

    kind = "random"

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        indices: npt.ArrayLike | None = None,
        drop_last: bool = True,
    ) -> None:
        if int(n) < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.drop_last = bool(drop_last)
        b = int(batch_size)
        total = int(n) // b if self.drop_last else -(-int(n) // b)
        self._total = total
        super().__init__(int(n), batch_size, seed=seed, rank=rank, world_size=world_size, indices=indices,
                         batches_per_epoch=total)
        if not self.drop_last:
            # Every rank gets ⌈E / W⌉ steps; missing slots wrap around.
            self.steps_per_epoch = -(-total // self.world_size)
        self._perm_cache: tuple[int, npt.NDArray[np.int64]] | None = None

    def permutation(self, epoch: int) -> npt.NDArray[np.int64]:
        """The epoch's shuffled training rows (shared by all ranks)."""
        if self._perm_cache is None or self._perm_cache[0] != epoch:
            rng = np.random.default_rng([self.seed, TAG_RANDOM, int(epoch)])
            self._perm_cache = (epoch, rng.permutation(self.n_rows).astype(np.int64))
        return self._perm_cache[1]

    def rows_at(self, step: int) -> npt.NDArray[np.int64]:
        """Training rows of the batch of ``step``."""
        perm = self.permutation(self.epoch_of(step))
        g = self.slot_of(step)
        b = self.batch_size
        if g < self._total:
            return perm[g * b : min((g + 1) * b, self.n_rows)]
        return perm[(g * b + np.arange(b)) % self.n_rows]

    def batch_at(self, step: int) -> list[int]:
        """Dataset indices of the batch of ``step``."""
        return self.indices[self.rows_at(step)].tolist()

    def _config(self) -> dict[str, Any]:
        return {"drop_last": self.drop_last, "n": self.n_rows}
