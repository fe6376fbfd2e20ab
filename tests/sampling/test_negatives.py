"""The exact successive sampling used when the pool runs out, and the hybrid draw as a whole."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import chisquare

from mvkl.sampling.index import ManifestIndex
from mvkl.sampling.negatives import AnchorPool, UsedSet, _successive, draw_group


def _successive_prob(w: np.ndarray, seq: tuple[int, ...]) -> float:
    p, left = 1.0, w.sum()
    for i in seq:
        p *= w[i] / left
        left -= w[i]
    return p


def test_efraimidis_spirakis_is_successive_sampling() -> None:
    w = np.array([5.0, 1.0, 0.5, 0.0, 2.5])
    rng = np.random.default_rng(0)
    counts: dict[tuple[int, ...], int] = {}
    n = 6000
    for _ in range(n):
        seq = tuple(int(x) for x in _successive(w, 2, rng))
        counts[seq] = counts.get(seq, 0) + 1
    assert all(3 not in s for s in counts)  # zero weight never drawn
    seqs = [s for s in itertools.permutations([0, 1, 2, 4], 2)]
    obs = np.array([counts.get(s, 0) for s in seqs])
    exp = np.array([_successive_prob(w, s) for s in seqs]) * n
    assert obs.sum() == n
    assert chisquare(obs, exp).pvalue > 1e-3


def _toy_index() -> ManifestIndex:
    """Anchor 0 (all zeros); one group at distance 1 with many lumps, three small groups at
    distance 4 (so de-dup rejects most draws once the distance-1 group is used)."""
    rows = [np.zeros(35, np.uint8)]
    near = np.zeros(35, np.uint8)
    near[0] = 1
    rows += [near] * 30
    for j, size in ((10, 1), (20, 2), (30, 3)):
        v = np.zeros(35, np.uint8)
        v[[j, j + 1, j + 2, j + 3]] = 1
        rows += [v] * size
    return ManifestIndex(np.array(rows))


def test_hybrid_draw_equals_rejection_semantics() -> None:
    """Ordered triples of groups drawn by draw_group (rejection rounds, then the successive
    fallback) follow the successive-sampling law of continued rejection: weight of a group =
    q(k)·size/n_inst(k) (instance-uniform)."""
    idx = _toy_index()
    pool = AnchorPool(idx, int(idx.uid[0]))
    q = np.zeros(36)
    q[1], q[4] = 0.9, 0.1
    cand = np.concatenate([pool.groups_at([1]), pool.groups_at([4])])
    w = np.array([q[pool.d[u]] * idx.sizes[u] / pool.n_inst[pool.d[u]] for u in cand])
    pos = {int(u): i for i, u in enumerate(cand)}
    rng = np.random.default_rng(1)
    used = UsedSet(idx.n_unique)
    counts: dict[tuple[int, ...], int] = {}
    n = 3000
    for _ in range(n):
        used.add(np.array([idx.uid[0]]))
        got = draw_group(pool, q, 3, rng, uniform="instance", dedup="manifestation", used=used, bounds=(1, 18))
        used.clear()
        seq = tuple(pos[int(idx.uid[r])] for r in got.rows)
        assert len(set(seq)) == 3 and got.n_fill == 0
        counts[seq] = counts.get(seq, 0) + 1
    seqs = list(itertools.permutations(range(cand.size), 3))
    obs = np.array([counts.get(s, 0) for s in seqs])
    exp = np.array([_successive_prob(w, s) for s in seqs]) * n
    keep = exp >= 5
    obs_k = np.append(obs[keep], obs[~keep].sum())
    exp_k = np.append(exp[keep], exp[~keep].sum())
    assert chisquare(obs_k, exp_k).pvalue > 1e-3


def test_exhausted_pool_fills_from_nearest_distance() -> None:
    idx = _toy_index()
    pool = AnchorPool(idx, int(idx.uid[0]))
    q = np.zeros(36)
    q[1] = 1.0  # only the distance-1 group is a target; the other three must come from distance 4
    used = UsedSet(idx.n_unique)
    used.add(np.array([idx.uid[0]]))
    got = draw_group(pool, q, 10, np.random.default_rng(0), uniform="instance", dedup="manifestation",
                     used=used, bounds=(1, 1))
    d = pool.d[idx.uid[got.rows]]
    assert d.tolist()[0] == 1 and sorted(d.tolist()[1:]) == [4, 4, 4]  # 4 distinct groups exist, so 4 < 10
    assert got.n_fill == 3
