"""Batch sampling for pretraining: ManiNeg hard negatives (paper Sec. 4.2, Eq. 7) and random batches.

Public API (stable):

* :class:`ManiNegBatchSampler` — anchor + hard negatives by masked Hamming distance; seeded,
  step-pure (each batch is a function of seed, step, rank, world size), resumable, rank-aware.
  Anchors are at positions ``0..K-1`` of every batch.
* :class:`RandomBatchSampler` — shuffled batches without replacement (``hn=none|robinson``),
  the same step/resume/rank semantics.
* :class:`LinearMuSchedule` — μ annealing (paper Appendix A).
* :class:`Batch` — a ManiNeg batch with its bookkeeping (:meth:`ManiNegBatchSampler.sample`).
* :data:`PRESETS` — ``paper``, ``compat`` and ``code-compat`` option sets.

Both samplers plug into ``torch.utils.data.DataLoader(dataset, batch_sampler=sampler)``; this
package itself does not import torch.
"""

from mvkl.sampling.maninegsampler import PRESETS, Batch, ManiNegBatchSampler
from mvkl.sampling.random_sampler import RandomBatchSampler
from mvkl.sampling.schedule import LinearMuSchedule

__all__ = ["PRESETS", "Batch", "LinearMuSchedule", "ManiNegBatchSampler", "RandomBatchSampler"]
