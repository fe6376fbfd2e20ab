"""Seed derivation: every random draw of a run is a pure function of integers (spec B17, B40).

``derive_seed(seed, tag, *ints)`` hashes its arguments with NumPy's ``SeedSequence`` into a
63-bit integer. Augmentation uses ``(seed, TAG_AUGMENT, step, rank, position, view)``, the trainer
reseeds dropout with ``(seed, TAG_STEP, step, rank)`` and the loss's random choices with
``(seed, TAG_LOSS, step)``. Because nothing depends on which worker process made a sample or on how
far the DataLoader prefetched, a run resumed at step k draws exactly what an uninterrupted run
draws, with any number of workers.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["TAG_AUGMENT", "TAG_EVAL", "TAG_LOSS", "TAG_STEP", "derive_seed", "make_generator"]

TAG_AUGMENT = 0x415547  # "AUG": training augmentation of one view of one sample
TAG_EVAL = 0x45564C  # "EVL": samples addressed by a plain index (no step)
TAG_STEP = 0x535450  # "STP": the global torch RNG of a training step (dropout)
TAG_LOSS = 0x4C5353  # "LSS": the loss's random choices (ITM view, manifestation de-dup)


def derive_seed(seed: int, tag: int, *ints: int) -> int:
    """A 63-bit seed from non-negative integers (distinct tuples give independent streams).

    Negative values are allowed (mapped injectively), so ``step = -1`` can mean "no step".
    """
    words = [int(seed), int(tag)] + [2 * int(i) if i >= 0 else -2 * int(i) - 1 for i in ints]
    if any(w < 0 for w in words[:2]):
        raise ValueError("seed and tag must be non-negative")
    state = np.random.SeedSequence(words).generate_state(2, np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & 0x7FFF_FFFF_FFFF_FFFF


def make_generator(seed: int, tag: int, *ints: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with :func:`derive_seed`."""
    return torch.Generator().manual_seed(derive_seed(seed, tag, *ints))
