"""The ManiNeg batch sampler (paper Sec. 4.2, Eq. 7, Appendix A; docs/fidelity.md, bugs B9–B18).

Each batch: an anchor from a shuffled pass over the training lumps, then ``batch_size − 1``
negatives whose masked Hamming distance to the anchor follows the truncated Gaussian of Eq. 7
(a = 1, b = 18, σ = 3, μ from the schedule), de-duplicated by manifestation and refilled to full
size. Defaults follow the paper; the released code's choices are options (``from_preset``).

Layout of a yielded batch (dataset indices), fixed and never reordered (B12)::

    [anchor_0, …, anchor_{K−1}, negatives of anchor 0, negatives of anchor 1, …]

Negatives of one anchor are in the order they were accepted. With ``K = anchors_per_batch``
anchors, anchor j gets ⌊(B − K)/K⌋ negatives plus one for j < (B − K) mod K, so a full batch has
exactly B lumps. :meth:`ManiNegBatchSampler.sample` returns the same batch with its anchor count,
group of each position, distances and μ.

Decisions (documented for users in the README):

* Distances are masked (only dimensions known in both lumps count). Lumps with no known
  dimension have distance 0 to everything, so they are never anchors (left out of the anchor pass)
  and never negatives (a ≥ 1); they only appear in random-batch modes. Other lumps sharing the
  anchor's manifestation, or indistinguishable from it on the shared known dimensions (distance
  0), are never its negatives either.
* De-duplication ``"manifestation"`` (default, B9): no two lumps of a batch share a (vector,
  known-mask) pair, across all anchor groups; the retained duplicate is random (seeded).
  ``"masked"`` also keeps out lumps at masked distance 0 from a lump already in the batch (with
  partial masks, different pairs can be indistinguishable on their shared known dimensions, i.e.
  potential positives; identical to ``"manifestation"`` when every dimension is known).
  ``"index"`` reproduces the released code's set of indices (duplicate manifestations stay) and
  ``"none"`` keeps every draw.
* ``refill=True`` (default, B13): rejected duplicates are redrawn until the batch is full; when
  an anchor's candidates at the target distances run out, the rest comes from the nearest other
  distances (beyond b first), and when the data has fewer distinct manifestations than the batch
  size the batch is smaller (a warning at construction). ``refill=False`` lets the batch shrink
  as the released code's does; a batch always has the anchor and at least one negative.
* An anchor with no candidate at any distance ≥ 1 (all other lumps look identical to it), or a
  second anchor of a batch repeating an earlier anchor's manifestation, is replaced by a random
  anchorable lump drawn from the step's generator (rare; still a pure function of the step).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from mvkl.config import MANINEG, SAMPLER_PRESETS, ManiNegConfig
from mvkl.sampling.base import TAG_ANCHORS, TAG_NEGATIVES, StepBatchSampler
from mvkl.sampling.distribution import log_truncated_gaussian, renormalise, snap, truncated_gaussian
from mvkl.sampling.index import ManifestIndex
from mvkl.sampling.negatives import AnchorPool, UsedSet, compatible, draw_group
from mvkl.sampling.schedule import LinearMuSchedule, MuSchedule, as_schedule, describe_schedule

__all__ = ["PRESETS", "Batch", "ManiNegBatchSampler"]

log = logging.getLogger(__name__)

_DEDUP = {
    True: "manifestation",
    False: "none",
    "manifestation": "manifestation",
    "masked": "masked",
    "index": "index",
    "none": "none",
}



def sampler_options(cfg: ManiNegConfig) -> dict[str, Any]:
    """Keyword arguments of :class:`ManiNegBatchSampler` for a :class:`~mvkl.config.ManiNegConfig`:
    the distance rules always, the other settings where they differ from the defaults."""
    opts: dict[str, Any] = {"snap": cfg.snap, "uniform": cfg.uniform, "interval": cfg.interval}
    for name in ("sigma", "bounds", "anchors_per_batch", "dedup", "refill", "batches_per_epoch"):
        if getattr(cfg, name) != getattr(MANINEG, name):
            opts[name] = getattr(cfg, name)
    mu = (cfg.mu_max, cfg.mu_min, cfg.mu_steps, cfg.mu_unit)
    if mu != (MANINEG.mu_max, MANINEG.mu_min, MANINEG.mu_steps, MANINEG.mu_unit):
        opts["mu_schedule"] = LinearMuSchedule(cfg.mu_max, cfg.mu_min, cfg.mu_steps, unit=cfg.mu_unit)  # type: ignore[arg-type]
    return opts


#: Named option sets, from :data:`mvkl.config.SAMPLER_PRESETS`. ``paper``: the defaults.
#: ``compat``: the released code's distance rules (snapping, manifestation-uniform choice,
#: truncation [0.5, 18.499]). ``code-compat``: also its index-level de-dup without refill, 100
#: batches per epoch and μ annealed per epoch over 3 epochs.
PRESETS: dict[str, dict[str, Any]] = {name: sampler_options(cfg) for name, cfg in SAMPLER_PRESETS.items()}


@dataclass(frozen=True)
class Batch:
    """One ManiNeg batch with its bookkeeping.

    Attributes:
        step, epoch, mu: the global step, its epoch and the μ used.
        rows: training rows (0..N−1); ``indices``: the dataset indices yielded.
        n_anchors: K; positions ``0..K−1`` are the anchors.
        group: anchor j and its negatives carry j.
        distance: masked Hamming distance of each lump to its own anchor (0 for anchors).
        n_draws: distance draws made, rejected duplicates included.
        n_fill: negatives taken outside the target distribution because the pool ran out.
    """

    step: int
    epoch: int
    mu: float
    rows: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int64]
    n_anchors: int
    group: npt.NDArray[np.int64]
    distance: npt.NDArray[np.int64]
    n_draws: int
    n_fill: int

    def __len__(self) -> int:
        return int(self.rows.size)


class ManiNegBatchSampler(StepBatchSampler):
    """ManiNeg hard-negative batches; seeded, step-pure, rank-aware and resumable.

    Args:
        manifests: ``(N, 35)`` 0/1 manifestation matrix of the training split (floats are
            binarised at 0.5); values where ``known`` is 0 are ignored. A prebuilt
            :class:`~mvkl.sampling.index.ManifestIndex` is accepted too (``known`` is then unused).
        known: ``(N, 35)`` known-mask (1 = known), or None when every dimension is known.
        batch_size: B, lumps per batch on each rank (anchors included).
        mu_schedule: μ per step: a :class:`LinearMuSchedule` (default 11 → 0 over 50 steps), a
            constant, or ``f(step, steps_per_epoch) -> μ``.
        sigma: σ of Eq. 7.
        bounds: integer distance bounds (a, b) of Eq. 7; a ≥ 1. Distance k carries the Gaussian
            mass of [k − ½, k + ½) within ``interval``.
        anchors_per_batch: K anchors per batch, each with its own negatives (K = 1: the paper).
        dedup: True/"manifestation" (default), "masked" (also no two lumps at masked distance 0),
            "index" (released code) or False/"none".
        refill: redraw rejected duplicates until the batch is full (default) or let it shrink.
        snap: snap each drawn distance to the nearest available one (released code) instead of
            renormalising over the available distances (default).
        uniform: "instance" (paper, default) or "manifestation" (released code) choice of a lump
            at a drawn distance.
        seed: seed of every random choice.
        rank, world_size: this process and the number of processes.
        indices: optional ``(N,)`` map from training rows to dataset indices (what is yielded).
        batches_per_epoch: batches per epoch over all ranks; default ⌊N / batch_size⌋.
        interval: continuous truncation interval; default (a − ½, b + ½); the released code's
            is (0.5, 18.499).

    Example::

        store = Store("demo.h5")
        m, known = store.manifests("train")
        # indices: the dataset index of each training row (here a dataset over all lumps).
        sampler = ManiNegBatchSampler(m, known, 64, indices=store.lump_indices("train"), seed=0)
        loader = DataLoader(dataset, batch_sampler=sampler, num_workers=8)
        sampler.set_step(consumed_steps)   # on resume; batches are identical to an uninterrupted run

    ``sample``/``batch_at`` reuse an internal buffer: call them from one thread at a time (the
    DataLoader iterates batch samplers in the main process).
    """

    kind = "manineg"

    def __init__(
        self,
        manifests: npt.ArrayLike,
        known: npt.ArrayLike | None,
        batch_size: int = 64,
        *,
        mu_schedule: MuSchedule = LinearMuSchedule(),
        sigma: float = MANINEG.sigma,
        bounds: tuple[int, int] = MANINEG.bounds,
        anchors_per_batch: int = MANINEG.anchors_per_batch,
        dedup: bool | str = MANINEG.dedup,
        refill: bool = MANINEG.refill,
        snap: bool = MANINEG.snap,
        uniform: str = MANINEG.uniform,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        indices: npt.ArrayLike | None = None,
        batches_per_epoch: int | None = None,
        interval: tuple[float, float] | None = None,
    ) -> None:
        self.index = manifests if isinstance(manifests, ManifestIndex) else ManifestIndex(manifests, known)
        n = self.index.n
        bpe = n // int(batch_size) if batches_per_epoch is None else batches_per_epoch
        super().__init__(
            n, batch_size, seed=seed, rank=rank, world_size=world_size, indices=indices, batches_per_epoch=bpe
        )
        self.schedule = as_schedule(mu_schedule)
        if not float(sigma) > 0:
            raise ValueError(f"sigma must be > 0, got {sigma}")
        self.sigma = float(sigma)
        a, b = (int(x) for x in bounds)
        if (a, b) != tuple(bounds) or not 1 <= a <= b:
            raise ValueError(f"bounds must be integers 1 <= a <= b, got {bounds!r} (distance 0 is the anchor's own)")
        self.bounds = (a, min(b, self.index.dim))
        lo, hi = (a - 0.5, b + 0.5) if interval is None else (float(interval[0]), float(interval[1]))
        if not (a - 0.5 <= lo < hi <= b + 0.5):
            raise ValueError(f"interval [{lo}, {hi}] must lie within [a - 0.5, b + 0.5] = [{a - 0.5}, {b + 0.5}]")
        self.interval = (lo, hi)
        if dedup not in _DEDUP:
            raise ValueError(f"dedup must be True, False, 'manifestation', 'masked', 'index' or 'none', got {dedup!r}")
        self.dedup = _DEDUP[dedup]
        self.refill = bool(refill)
        self.snap = bool(snap)
        if uniform not in ("instance", "manifestation"):
            raise ValueError(f"uniform must be 'instance' or 'manifestation', got {uniform!r}")
        self.uniform = uniform
        self.k = int(anchors_per_batch)
        if self.k != anchors_per_batch or not 1 <= self.k <= self.batch_size // 2:
            raise ValueError(f"anchors_per_batch must be an integer in 1..batch_size/2, got {anchors_per_batch!r}")
        neg = self.batch_size - self.k
        self.negatives_per_anchor = [neg // self.k + (1 if j < neg % self.k else 0) for j in range(self.k)]
        self._anchor_rows = np.flatnonzero(self.index.anchorable).astype(np.int64)
        n_anchor_groups = np.unique(self.index.uid[self._anchor_rows]).size
        if n_anchor_groups < 2:
            raise ValueError("ManiNeg needs at least two distinct manifestations with a known dimension")
        if self.dedup in ("manifestation", "masked") and n_anchor_groups < self.k:
            raise ValueError(
                f"{self.k} anchors per batch need as many distinct manifestations; the data has {n_anchor_groups}"
            )
        if self.dedup in ("manifestation", "masked") and self.index.n_unique < self.batch_size:
            log.warning(
                "only %d distinct manifestations for batches of %d: de-duplicated batches will be smaller",
                self.index.n_unique,
                self.batch_size,
            )
        if self._anchor_rows.size < n:
            log.info(
                "%d lumps without any known manifestation dimension are left out of ManiNeg batches",
                n - self._anchor_rows.size,
            )
        self._used = UsedSet(self.index.n_unique if self.dedup in ("manifestation", "masked") else n)
        self._anchor_cache: tuple[int, npt.NDArray[np.int64]] | None = None

    # -- construction helpers ------------------------------------------------------------------
    @classmethod
    def from_preset(
        cls, preset: str, manifests: npt.ArrayLike, known: npt.ArrayLike | None, batch_size: int = 64, **overrides: Any
    ) -> ManiNegBatchSampler:
        """A sampler with the options of :data:`PRESETS` ``[preset]``, then ``overrides``."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
        return cls(manifests, known, batch_size, **{**PRESETS[preset], **overrides})

    def mu_at(self, step: int) -> float:
        """μ of the batch of ``step`` (the schedule evaluated at that global step)."""
        return float(self.schedule(int(step), self.steps_per_epoch))

    def target(self, mu: float) -> npt.NDArray[np.float64]:
        """p(k), the discretised truncated Gaussian of Eq. 7 before fitting it to an anchor."""
        return truncated_gaussian(mu, self.sigma, self.interval, self.index.dim)

    def anchor_distribution(self, pool: AnchorPool, mu: float) -> npt.NDArray[np.float64]:
        """q(k) for one anchor: renormalised over its available distances, or snapped."""
        if self.snap:
            return snap(self.target(mu), pool.available)
        return renormalise(log_truncated_gaussian(mu, self.sigma, self.interval, self.index.dim), pool.available)

    def epoch_anchors(self, epoch: int) -> npt.NDArray[np.int64]:
        """The epoch's anchor order (training rows), shared by all ranks: permutations of the
        anchorable rows from ``default_rng([seed, TAG_ANCHORS, epoch])``, repeated if an epoch
        needs more anchors than there are."""
        if self._anchor_cache is None or self._anchor_cache[0] != epoch:
            need = self.steps_per_epoch * self.world_size * self.k
            rng = np.random.default_rng([self.seed, TAG_ANCHORS, int(epoch)])
            parts, have = [], 0
            while have < need:
                parts.append(self._anchor_rows[rng.permutation(self._anchor_rows.size)])
                have += self._anchor_rows.size
            self._anchor_cache = (epoch, np.concatenate(parts))
        return self._anchor_cache[1]

    # -- batches -------------------------------------------------------------------------------
    def batch_at(self, step: int) -> list[int]:
        """Dataset indices of the batch of ``step`` (anchors first)."""
        return self.sample(step).indices.tolist()

    def sample(self, step: int) -> Batch:
        """The batch of global ``step`` on this rank, with its bookkeeping (a pure function)."""
        step = int(step)
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        epoch = self.epoch_of(step)
        g = self.slot_of(step)
        anchors = self.epoch_anchors(epoch)[g * self.k : (g + 1) * self.k].copy()
        rng = np.random.default_rng([self.seed, TAG_NEGATIVES, step, self.rank])
        mu = self.mu_at(step)
        idx = self.index
        used = self._used
        by_group = self.dedup in ("manifestation", "masked")
        try:
            pools: list[AnchorPool] = []
            for j in range(self.k):
                pools.append(self._fix_anchor(anchors, j, rng, used, by_group))
            rows = [anchors]
            groups = [np.arange(self.k)]
            dists = [np.zeros(self.k, dtype=np.int64)]
            n_draws = n_fill = 0
            for j, pool in enumerate(pools):
                q = self.anchor_distribution(pool, mu)
                got = draw_group(
                    pool,
                    q,
                    self.negatives_per_anchor[j],
                    rng,
                    uniform=self.uniform,
                    dedup=self.dedup,
                    used=used if self.dedup != "none" else None,
                    bounds=self.bounds,
                    refill=self.refill,
                )
                rows.append(got.rows)
                groups.append(np.full(got.rows.size, j))
                dists.append(pool.d[idx.uid[got.rows]].astype(np.int64))
                n_draws += got.n_draws
                n_fill += got.n_fill
        finally:
            used.clear()
        out = np.concatenate(rows).astype(np.int64)
        if out.size < 2:  # pragma: no cover - an anchor always has a candidate (see _fix_anchor)
            raise RuntimeError("ManiNeg produced a batch of fewer than 2 lumps")
        return Batch(
            step,
            epoch,
            mu,
            out,
            self.indices[out],
            self.k,
            np.concatenate(groups).astype(np.int64),
            np.concatenate(dists),
            n_draws,
            n_fill,
        )

    def _fix_anchor(
        self, anchors: npt.NDArray[np.int64], j: int, rng: np.random.Generator, used: UsedSet, by_group: bool
    ) -> AnchorPool:
        """Pool of anchor j; replaces an isolated anchor or one repeating an earlier anchor."""
        idx = self.index
        for _ in range(1000):
            a = int(anchors[j])
            unit = idx.uid[a] if by_group else a
            dup = self.dedup != "none" and bool(used.buf[unit])
            if not dup and self.dedup == "masked" and not idx.full_masks:
                dup = not compatible(idx, np.array([unit], dtype=np.int64), used, 1)[0]
            if not dup:
                pool = AnchorPool(idx, int(idx.uid[a]))
                if pool.available.any():
                    used.add(np.array([unit], dtype=np.int64))
                    return pool
            anchors[j] = self._anchor_rows[rng.integers(self._anchor_rows.size)]
        raise RuntimeError("could not find an anchor with candidate negatives; the manifestations are degenerate")

    # -- state ---------------------------------------------------------------------------------
    def _config(self) -> dict[str, Any]:
        return {
            "schedule": describe_schedule(self.schedule),
            "sigma": self.sigma,
            "bounds": list(self.bounds),
            "interval": list(self.interval),
            "k": self.k,
            "dedup": self.dedup,
            "refill": self.refill,
            "snap": self.snap,
            "uniform": self.uniform,
        }

    def _data_fingerprint(self) -> str:
        return self.index.fingerprint()

    def describe(self) -> dict[str, Any]:
        """Settings and data summary (JSON-able) for logs and run records."""
        return {
            "kind": self.kind,
            "batch_size": self.batch_size,
            "steps_per_epoch": self.steps_per_epoch,
            "batches_per_epoch": self.batches_per_epoch,
            "world_size": self.world_size,
            "seed": self.seed,
            "n_lumps": self.index.n,
            "n_unique": self.index.n_unique,
            "n_anchorable": int(self._anchor_rows.size),
            **self._config(),
        }
