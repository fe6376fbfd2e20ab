"""Drawing one anchor's negatives (paper Sec. 4.2 steps 2–4, Eq. 7; docs/fidelity.md, B9–B13).

For an anchor group u, :class:`AnchorPool` computes the masked distance from u to all U groups
(O(U)), sorts the groups by distance (a stable radix sort of uint8), and keeps the counts per
distance: ``n_uid[k]`` groups and ``n_inst[k]`` lumps at distance k. A negative at distance k is
then one uniform number: instance-uniform (paper: "uniformly sample one from all samples that
have that exact Hamming distance") maps it through the cumulative group sizes to a lump;
manifestation-uniform (released code, B10) picks a group, then a lump of that group.

De-duplication (:func:`draw_group`), the paper's "only one sample will be randomly retained":
distances are drawn in rounds and a draw whose manifestation (or, in ``"index"`` mode, lump) is
already in the batch is rejected, until the group is full. Keeping the first accepted draw of a
manifestation keeps a uniformly random one of its duplicates, because draws are exchangeable.
When rejections dominate (the pool near the target distances is nearly used up) the remaining
draws are made exactly by successive weighted sampling without replacement (Efraimidis–Spirakis
keys), which is the same distribution as continuing to reject, in O(pool). When no unused
candidate is left at a distance with q > 0, the group is filled from the other available
distances, nearest to the bounds first (:func:`mvkl.sampling.distribution.fill_order`), and when
nothing at distance ≥ 1 is left the group stays short.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mvkl.sampling.distribution import fill_order
from mvkl.sampling.index import ManifestIndex

__all__ = ["AnchorPool", "GroupDraw", "UsedSet", "compatible", "draw_group"]


class UsedSet:
    """Units (groups or rows) already in the batch: a bool buffer cleared after each batch."""

    def __init__(self, size: int) -> None:
        self.buf = np.zeros(size, dtype=bool)
        self._touched: list[npt.NDArray[np.int64]] = []

    def add(self, units: npt.NDArray[np.int64]) -> None:
        self.buf[units] = True
        self._touched.append(np.asarray(units, dtype=np.int64))

    def units(self) -> npt.NDArray[np.int64]:
        """Every unit added since the last :meth:`clear`, in order."""
        return np.concatenate(self._touched) if self._touched else np.zeros(0, dtype=np.int64)

    def clear(self) -> None:
        for t in self._touched:
            self.buf[t] = False
        self._touched.clear()


class AnchorPool:
    """Groups sorted by masked distance to one anchor group, with per-distance counts.

    Attributes:
        d: ``(U,)`` distance of every group to the anchor.
        order: group ids sorted by distance; distance k occupies ``order[ustart[k]:ustart[k+1]]``.
        n_uid, n_inst: ``(D + 1,)`` groups and lumps per distance.
        available: ``(D + 1,)`` distances ≥ 1 with at least one candidate.
    """

    def __init__(self, index: ManifestIndex, u: int) -> None:
        self.index = index
        self.u = int(u)
        self.d = index.distances_from(self.u)
        self.order = np.argsort(self.d, kind="stable")
        self.n_uid = np.bincount(self.d, minlength=index.dim + 1)
        self.ustart = np.zeros(self.n_uid.size + 1, dtype=np.int64)
        np.cumsum(self.n_uid, out=self.ustart[1:])
        self.available = self.n_uid > 0
        self.available[0] = False
        self._csize: npt.NDArray[np.int64] | None = None

    @property
    def csize(self) -> npt.NDArray[np.int64]:
        """``(U + 1,)`` cumulative lump counts in distance order (computed on first use)."""
        if self._csize is None:
            c = np.zeros(self.order.size + 1, dtype=np.int64)
            np.cumsum(self.index.sizes[self.order], out=c[1:])
            self._csize = c
        return self._csize

    @property
    def n_inst(self) -> npt.NDArray[np.int64]:
        c = self.csize
        return c[self.ustart[1:]] - c[self.ustart[:-1]]

    def pick(self, ks: npt.NDArray[np.int64], rng: np.random.Generator, uniform: str
             ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """One lump at each distance in ``ks``: ``(rows, group ids)``."""
        idx = self.index
        if uniform == "instance":
            c = self.csize
            n = c[self.ustart[ks + 1]] - c[self.ustart[ks]]
            pos = c[self.ustart[ks]] + np.minimum((rng.random(ks.size) * n).astype(np.int64), n - 1)
            j = np.searchsorted(c, pos, side="right") - 1
            uids = self.order[j]
            rows = idx.members[idx.starts[uids] + (pos - c[j])]
            return rows, uids
        n = self.n_uid[ks]
        j = self.ustart[ks] + np.minimum((rng.random(ks.size) * n).astype(np.int64), n - 1)
        uids = self.order[j]
        return self._member(uids, rng), uids

    def _member(self, uids: npt.NDArray[np.int64], rng: np.random.Generator) -> npt.NDArray[np.int64]:
        """A uniformly random lump of each group."""
        idx = self.index
        sz = idx.sizes[uids]
        off = np.minimum((rng.random(uids.size) * sz).astype(np.int64), sz - 1)
        return idx.members[idx.starts[uids] + off]

    def groups_at(self, ks: list[int] | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Group ids at the distances ``ks`` (concatenated, in distance order)."""
        parts = [self.order[self.ustart[k] : self.ustart[k + 1]] for k in ks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


@dataclass
class GroupDraw:
    """The negatives drawn for one anchor, in acceptance order."""

    rows: npt.NDArray[np.int64]
    n_draws: int  # distance draws made (rejected ones included)
    n_fill: int  # negatives taken outside the target distribution (exhausted pool)


def compatible(index: ManifestIndex, cand: npt.NDArray[np.int64], used: UsedSet, need: int) -> npt.NDArray[np.bool_]:
    """For ``"masked"`` de-dup: which candidate groups, taken in order, are at masked distance ≥ 1
    from every group already in the batch and from the earlier accepted candidates (at most
    ``need`` accepted; the rest are False)."""
    keep = np.zeros(cand.size, dtype=bool)
    if cand.size == 0 or need <= 0:
        return keep
    cv, cm = index.u_vec[cand], index.u_mask[cand]
    batch = used.units()
    ok = np.ones(cand.size, dtype=bool)
    if batch.size:
        bv, bm = index.u_vec[batch], index.u_mask[batch]
        ok = (np.bitwise_count((cv[:, None] ^ bv[None, :]) & cm[:, None] & bm[None, :]) > 0).all(axis=1)
    acc: list[int] = []
    for i in np.flatnonzero(ok):
        if acc:
            a = np.asarray(acc)
            if (np.bitwise_count((cv[a] ^ cv[i]) & cm[a] & cm[i]) == 0).any():
                continue
        keep[i] = True
        acc.append(int(i))
        if len(acc) == need:
            break
    return keep


def _draw_distances(cq: npt.NDArray[np.float64], last: int, m: int, rng: np.random.Generator
                    ) -> npt.NDArray[np.int64]:
    """m distances from the cumulative distribution ``cq`` (``last``: largest distance with mass)."""
    ks = np.searchsorted(cq, rng.random(m) * cq[-1], side="right")
    return np.minimum(ks, last).astype(np.int64)


def _successive(weights: npt.NDArray[np.float64], need: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Positions of ``need`` items drawn one by one without replacement with probability ∝ weight
    (Efraimidis–Spirakis: the smallest Exp(1)/w keys, in increasing order)."""
    pos = np.flatnonzero(weights > 0)
    if pos.size == 0 or need <= 0:
        return np.zeros(0, dtype=np.int64)
    keys = rng.exponential(size=pos.size) / weights[pos]
    if pos.size > need:
        part = np.argpartition(keys, need - 1)[:need]
        return pos[part[np.argsort(keys[part], kind="stable")]]
    return pos[np.argsort(keys, kind="stable")]


def draw_group(
    pool: AnchorPool,
    q: npt.NDArray[np.float64],
    need: int,
    rng: np.random.Generator,
    *,
    uniform: str,
    dedup: str,
    used: UsedSet | None,
    bounds: tuple[int, int],
    refill: bool = True,
) -> GroupDraw:
    """Draw ``need`` negatives for the anchor of ``pool`` from the distance distribution ``q``.

    Args:
        q: ``(D + 1,)`` probabilities over distances (zero at 0 and where nothing is available).
        uniform: ``"instance"`` or ``"manifestation"`` choice within a distance.
        dedup: ``"manifestation"`` (groups), ``"masked"`` (groups, and no two lumps at masked
            distance 0), ``"index"`` (rows, the released code) or ``"none"``.
        used: the batch's used units (groups or rows, per ``dedup``), updated in place.
        refill: draw until the group is full (default) or stop after ``need`` draws (released code).
    """
    empty = np.zeros(0, dtype=np.int64)
    if need <= 0:
        return GroupDraw(empty, 0, 0)
    by_group = dedup in ("manifestation", "masked")
    masked = dedup == "masked" and not pool.index.full_masks
    if used is None:
        used = UsedSet(pool.index.n_unique if by_group else pool.index.n)
    out: list[npt.NDArray[np.int64]] = []
    n_draws = 0
    if q.sum() > 0:
        cq = np.cumsum(q)
        last = int(np.flatnonzero(q > 0)[-1])
        if dedup == "none":
            ks = _draw_distances(cq, last, need, rng)
            rows, _ = pool.pick(ks, rng, uniform)
            return GroupDraw(rows, need, 0)
        factor = 1.25
        for _round in range(16):
            m = int(np.ceil(need * factor)) + 2 if refill else need
            ks = _draw_distances(cq, last, m, rng)
            rows, uids = pool.pick(ks, rng, uniform)
            units = uids if by_group else rows
            _, first = np.unique(units, return_index=True)
            first.sort()
            fresh = first[~used.buf[units[first]]]
            if masked:
                fresh = fresh[compatible(pool.index, units[fresh], used, need)]
            take = fresh[:need]
            used.add(units[take])
            out.append(rows[take])
            # Draws up to the last accepted one count; the rest of the round is discarded.
            n_draws += int(take[-1]) + 1 if take.size == need and take.size else m
            need -= take.size
            if need == 0 or not refill:
                return GroupDraw(np.concatenate(out), n_draws, 0)
            rate = fresh.size / m
            if rate < 0.2:
                break
            factor = min(1.25 / rate, 8.0)
        # Exact continuation over what is left of the target pool.
        taken = _successive_pool(pool, q, need, rng, uniform=uniform, by_group=by_group, used=used,
                                 ks=np.flatnonzero(q > 0), masked=masked)
        out.append(taken)
        need -= taken.size
    n_fill = 0
    if need > 0 and (refill or q.sum() <= 0):
        # An anchor without any candidate where q > 0 fills from the nearest distances even
        # without refill, so it still gets negatives.
        avail = pool.available.copy()
        for k in fill_order(avail, q, bounds):
            w = np.zeros_like(q)
            w[k] = 1.0
            taken = _successive_pool(pool, w, need, rng, uniform=uniform, by_group=by_group, used=used, ks=[k],
                                     masked=masked)
            out.append(taken)
            need -= taken.size
            n_fill += taken.size
            if need == 0:
                break
    rows = np.concatenate(out) if out else empty
    return GroupDraw(rows, n_draws, n_fill)


def _successive_pool(
    pool: AnchorPool,
    q: npt.NDArray[np.float64],
    need: int,
    rng: np.random.Generator,
    *,
    uniform: str,
    by_group: bool,
    used: UsedSet,
    ks: list[int] | npt.NDArray[np.int64],
    masked: bool = False,
) -> npt.NDArray[np.int64]:
    """Successive sampling of unused units at distances ``ks`` with the weights a rejection draw
    gives them: q(k)·size/n_inst(k) per group (instance-uniform) or q(k)/n_uid(k)
    (manifestation-uniform); per lump in ``"index"`` mode."""
    idx = pool.index
    uids = pool.groups_at(ks)
    if uids.size == 0:
        return np.zeros(0, dtype=np.int64)
    d = pool.d[uids]
    if by_group:
        keep = ~used.buf[uids]
        uids, d = uids[keep], d[keep]
        if uniform == "instance":
            w = q[d] * idx.sizes[uids] / pool.n_inst[d]
        else:
            w = q[d] / pool.n_uid[d]
        if masked:  # full successive order, then skip the indistinguishable ones (= rejecting them)
            order = uids[_successive(w, uids.size, rng)]
            chosen = order[compatible(idx, order, used, need)]
        else:
            chosen = uids[_successive(w, need, rng)]
        used.add(chosen)
        return pool._member(chosen, rng)
    rows, owner = idx.expand(uids)
    keep = ~used.buf[rows]
    rows, owner = rows[keep], owner[keep]
    dr = d[owner]
    if uniform == "instance":
        w = q[dr] / pool.n_inst[dr]
    else:
        w = q[dr] / (pool.n_uid[dr] * idx.sizes[uids[owner]])
    sel = _successive(w, need, rng)
    used.add(rows[sel])
    return rows[sel]
