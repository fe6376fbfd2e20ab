"""A straightforward re-implementation of the ORIGINAL ManiNeg sampler, for tests and
benchmarks only.

It follows the released ``NegManiBatchSampler`` step by step, with its data structures and its
complexity: a Python-int hash per lump, all-pairs distance pools ``{u: {d: [v, …]}}`` built with
O(U²) Python popcounts, and per batch K real draws from ``scipy.stats.truncnorm`` on
[0.5, 18.499], rounded half-up, snapped to the nearest distance the anchor has (over every key
except 0), then a manifestation chosen uniformly at that distance and a lump uniformly within it;
finally the index-level ``set`` de-dup, which can shrink and reorder the batch (B12, B13).
Differences, all needed to make it testable: it is seeded (``random.Random`` and a NumPy
Generator, B17), the hash uses Python ints (no NumPy ≥ 2 overflow, B16), snapping ties go to the
smaller distance (the original's depend on dict order), and it returns the anchor and the raw
draws besides the de-duplicated batch. It ignores known-masks (the original had none).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from mvkl.config import MANINEG, compat_interval

_LOWER, _UPPER = compat_interval(MANINEG.bounds)

__all__ = ["ReferenceBatch", "ReferenceManiNegSampler"]

ReferenceBatch = tuple[int, list[int], list[int]]  # (anchor, raw negatives, de-duplicated batch)


class ReferenceManiNegSampler:
    """The released algorithm, slowly and literally.

    Args:
        manifests: ``(N, D)`` 0/1 matrix.
        batch_size: B; K = B − 1 distances are drawn per batch.
        mu, sigma: the Gaussian (μ is constant here; call :meth:`set_mu` per epoch as the
            original does).
        lower, upper: truncation interval of the real draws (the original's 0.5, 18.499).
        dedup: apply the index-level ``set`` de-dup.
        seed: seed of ``random.Random`` (anchors, choices) and of the NumPy Generator (distances).
        length: batches per epoch (the original's ``sampler_max_length`` = 100).
    """

    def __init__(
        self,
        manifests: npt.ArrayLike,
        batch_size: int = 64,
        *,
        mu: float = MANINEG.mu_max,
        sigma: float = MANINEG.sigma,
        lower: float = _LOWER,
        upper: float = _UPPER,
        dedup: bool = True,
        seed: int = 0,
        length: int = 100,
    ) -> None:
        m = np.asarray(manifests)
        self.batch_size = int(batch_size)
        self.mu, self.sigma, self.lower, self.upper = float(mu), float(sigma), float(lower), float(upper)
        self.dedup = dedup
        self.length = int(length)
        self.random = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        # 1-2. hash of every lump (bit j = column j), with Python ints.
        self.attr_of: list[int] = []
        for row in m.tolist():
            h = 0
            for j, v in enumerate(row):
                if v > 0.5:
                    h += 1 << j
            self.attr_of.append(h)
        # 3. attr -> indices, and the all-pairs pools attr -> {distance -> [attr, ...]}.
        self.attr2ids: dict[int, list[int]] = {}
        for i, h in enumerate(self.attr_of):
            self.attr2ids.setdefault(h, []).append(i)
        attrs = list(self.attr2ids)
        self.pool: dict[int, dict[int, list[int]]] = {}
        for u in attrs:
            pu: dict[int, list[int]] = {}
            for v in attrs:
                pu.setdefault((u ^ v).bit_count(), []).append(v)
            self.pool[u] = pu

    def set_mu(self, mu: float) -> None:
        self.mu = float(mu)

    def snap_distance(self, anchor: int, d: int) -> int:
        """The available distance nearest to ``d`` (keys except 0; ties: the smaller)."""
        keys = sorted(k for k in self.pool[self.attr_of[anchor]] if k != 0)
        return min(keys, key=lambda k: abs(d - k))

    def draw_distances(self, n: int) -> list[int]:
        """n real draws of the truncated normal, rounded half-up."""
        from scipy.stats import truncnorm

        a = (self.lower - self.mu) / self.sigma
        b = (self.upper - self.mu) / self.sigma
        x = truncnorm.rvs(a, b, loc=self.mu, scale=self.sigma, size=n, random_state=self.np_rng)
        return [int(np.floor(v + 0.5)) for v in x]

    def batch_for(self, anchor: int) -> ReferenceBatch:
        """One batch for ``anchor`` (the released algorithm's steps 2–6)."""
        u = self.attr_of[anchor]
        drawn: list[int] = []
        for d in self.draw_distances(self.batch_size - 1):
            near = self.snap_distance(anchor, d)
            v = self.random.choice(self.pool[u][near])
            drawn.append(self.random.choice(self.attr2ids[v]))
        batch = [anchor, *drawn]
        if self.dedup:
            batch = list(set(batch))
        return anchor, drawn, batch

    def __iter__(self) -> Iterator[ReferenceBatch]:
        order = list(range(len(self.attr_of)))
        self.random.shuffle(order)
        for i in range(self.length):
            yield self.batch_for(order[i % len(order)])

    def __len__(self) -> int:
        return self.length
