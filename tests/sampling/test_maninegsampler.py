"""ManiNeg sampler: distance law (chi-square), uniformity within a distance, de-dup, anchors."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scipy.stats import chisquare

from mvkl.manifest import masked_hamming, pack
from mvkl.sampling.maninegsampler import ManiNegBatchSampler
from mvkl.sampling.negatives import AnchorPool
from mvkl.sampling.schedule import LinearMuSchedule
from mvkl.sampling.synthetic import structured_manifests


def _chi2(obs: np.ndarray, exp: np.ndarray) -> float:
    """Pearson chi-square p-value, pooling bins with expected count < 5."""
    keep = exp >= 5
    o = np.append(obs[keep], obs[~keep].sum())
    e = np.append(exp[keep], exp[~keep].sum())
    if e[-1] == 0:
        o, e = o[:-1], e[:-1]
    assert abs(o.sum() - e.sum()) < 1e-6 * e.sum()
    return float(chisquare(o, e).pvalue)


def _expected(s: ManiNegBatchSampler, b, per: int, mu: float | None = None) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Expected distance counts of ``per`` negatives of batch ``b`` (its anchor's q at μ)."""
    pool = AnchorPool(s.index, int(s.index.uid[b.rows[0]]))
    return per * s.anchor_distribution(pool, b.mu if mu is None else mu)


@pytest.mark.parametrize("mu", [0.0, 4.0, 11.0])
def test_distances_follow_renormalised_truncated_gaussian(mu: float) -> None:
    m, k = structured_manifests(400, seed=3)
    s = ManiNegBatchSampler(m, k, 32, mu_schedule=mu, dedup=False, seed=1)
    obs = np.zeros(36)
    exp = np.zeros(36)
    for t in range(250):
        b = s.sample(t)
        obs += np.bincount(b.distance[1:], minlength=36)
        exp += _expected(s, b, 31)
    assert _chi2(obs, exp) > 1e-3
    # Power: the same draws against the unconditional p (no per-anchor renormalisation) or a
    # shifted μ are rejected.
    p = s.target(mu) * obs.sum()
    assert _chi2(obs, p) < 1e-6 or np.allclose(exp, p)
    exp_shift = sum(_expected(s, s.sample(t), 31, mu=mu + 1.5) for t in range(250))
    assert _chi2(obs, exp_shift) < 1e-6


def test_first_negative_follows_target_even_with_dedup() -> None:
    # The first accepted negative is not affected by de-dup (only the anchor is in the batch).
    m, k = structured_manifests(300, seed=4)
    s = ManiNegBatchSampler(m, k, 16, mu_schedule=LinearMuSchedule(11, 0, 400), seed=2)
    obs = np.zeros(36)
    exp = np.zeros(36)
    for t in range(1500):
        b = s.sample(t)
        obs[b.distance[1]] += 1
        exp += _expected(s, b, 1)
    assert _chi2(obs, exp) > 1e-3


def _cluster_data() -> tuple[np.ndarray, dict[int, int]]:
    """Manifestation A (40 lumps) and, at distance 2 from A, groups of 1, 3 and 6 lumps; at
    distance 5 two groups of 2. Returns the matrix and row → group label at distance 2."""
    base = np.zeros(35, np.uint8)
    rows = [base] * 40
    label = {}
    for g, (dims, size) in enumerate((([0, 4], 1), ([8, 12], 3), ([16, 20], 6))):
        v = base.copy()
        v[dims] = 1
        for _ in range(size):
            label[len(rows)] = g
            rows.append(v)
    for dims in ([1, 5, 9, 13, 17], [2, 6, 10, 14, 18]):
        v = base.copy()
        v[dims] = 1
        rows += [v, v]
    return np.array(rows), label


@pytest.mark.parametrize("uniform", ["instance", "manifestation"])
def test_uniform_choice_within_a_distance(uniform: str) -> None:
    m, label = _cluster_data()
    s = ManiNegBatchSampler(m, None, 30, mu_schedule=2.0, sigma=1.0, dedup=False, uniform=uniform, seed=3,
                            batches_per_epoch=50)
    inst = np.zeros(len(m))
    for t in range(300):
        b = s.sample(t)
        if s.index.uid[b.rows[0]] != s.index.uid[0]:
            continue  # condition on anchor A
        at2 = b.rows[1:][b.distance[1:] == 2]
        np.add.at(inst, at2, 1)
    rows2 = np.array(sorted(label))
    obs = inst[rows2]
    assert obs.sum() > 2000
    if uniform == "instance":
        exp = np.full(rows2.size, obs.sum() / rows2.size)  # each of the 10 lumps equally
    else:
        sizes = np.array([1, 3, 6])
        g = np.array([label[r] for r in rows2])
        exp = obs.sum() / 3 / sizes[g]  # each group 1/3, uniform inside it
    assert chisquare(obs, exp).pvalue > 1e-3
    # And the other mode's law is rejected.
    other = (np.full(rows2.size, obs.sum() / rows2.size) if uniform != "instance"
             else obs.sum() / 3 / np.array([1, 3, 6])[[label[r] for r in rows2]])
    assert chisquare(obs, other).pvalue < 1e-6


@pytest.mark.parametrize("k_anchors", [1, 3])
@pytest.mark.parametrize("dedup", ["manifestation", "masked"])
def test_no_duplicate_manifestation_and_anchors_first(k_anchors: int, dedup: str) -> None:
    m, k = structured_manifests(700, seed=6, partial=0.3, unknown=0.03)
    s = ManiNegBatchSampler(m, k, 24, anchors_per_batch=k_anchors, dedup=dedup, seed=4)
    idx = s.index
    pm, pk = pack(m * k), pack(k)
    n_neg = s.negatives_per_anchor
    assert sum(n_neg) + k_anchors == 24 and max(n_neg) - min(n_neg) <= 1
    for t in range(0, 160):
        b = s.sample(t)
        assert len(b) == 24
        u = idx.uid[b.rows]
        assert len(set(u.tolist())) == len(u)  # no shared (vector, mask) pair
        assert idx.anchorable[b.rows].all()  # lumps with nothing known never appear
        assert (b.group[:k_anchors] == np.arange(k_anchors)).all() and (b.distance[:k_anchors] == 0).all()
        epoch_anchors = s.epoch_anchors(b.epoch)
        g = s.slot_of(t)
        planned = epoch_anchors[g * k_anchors:(g + 1) * k_anchors]
        for j in range(k_anchors):
            if b.rows[j] != planned[j]:  # replaced only when it repeats an earlier anchor's manifestation
                earlier = b.rows[:j]
                d0 = masked_hamming(pm[planned[j]], pk[planned[j]], pm[earlier], pk[earlier]) == 0
                assert (idx.uid[earlier] == idx.uid[planned[j]]).any() or (dedup == "masked" and d0.any())
        # Blocks: negatives of anchor j follow in order, distances measured to their own anchor.
        assert (np.diff(b.group[k_anchors:]) >= 0).all()
        for j in range(k_anchors):
            neg = b.rows[b.group == j][1:] if k_anchors == 1 else b.rows[k_anchors:][b.group[k_anchors:] == j]
            d = masked_hamming(pm[b.rows[j]], pk[b.rows[j]], pm[neg], pk[neg])
            np.testing.assert_array_equal(d, b.distance[k_anchors:][b.group[k_anchors:] == j])
            assert (d >= 1).all()  # never the anchor's own (or an indistinguishable) manifestation
        if dedup == "masked":
            dm = masked_hamming(pm[b.rows][:, None], pk[b.rows][:, None], pm[b.rows][None], pk[b.rows][None])
            assert (dm[np.triu_indices(len(b), 1)] > 0).all()


def test_mu_follows_the_schedule() -> None:
    m, k = structured_manifests(500, seed=7)
    sched = LinearMuSchedule(11, 0, 20)
    s = ManiNegBatchSampler(m, k, 16, mu_schedule=sched, seed=0)
    for t in range(0, 40):
        assert s.sample(t).mu == pytest.approx(sched(t)) == pytest.approx(s.mu_at(t))
    e = ManiNegBatchSampler(m, k, 16, mu_schedule=LinearMuSchedule(11, 0, 3, unit="epoch"), seed=0)
    L = len(e)
    assert [e.mu_at(i * L) for i in range(5)] == pytest.approx([11, 11 * 2 / 3, 11 / 3, 0, 0])
    assert e.mu_at(L - 1) == 11


def test_no_refill_shrinks_but_keeps_two() -> None:
    m, k = structured_manifests(300, seed=8)
    s = ManiNegBatchSampler(m, k, 64, mu_schedule=0.0, refill=False, batches_per_epoch=40, seed=0)
    sizes = [len(s.sample(t)) for t in range(80)]
    assert min(sizes) >= 2 and max(sizes) <= 64 and np.mean(sizes) < 60
    full = ManiNegBatchSampler(m, k, 64, mu_schedule=0.0, batches_per_epoch=40, seed=0)
    assert all(len(full.sample(t)) == 64 for t in range(40))


def test_index_dedup_keeps_duplicate_manifestations_but_not_indices() -> None:
    m, k = structured_manifests(300, seed=9)
    s = ManiNegBatchSampler(m, k, 48, dedup="index", mu_schedule=0.0, batches_per_epoch=40, seed=0)
    dup_manifest = 0
    for t in range(40):
        b = s.sample(t)
        assert len(set(b.rows.tolist())) == len(b) == 48
        u = s.index.uid[b.rows]
        dup_manifest += len(u) - len(set(u.tolist()))
        assert (u[1:] != u[0]).all()
    assert dup_manifest > 0


def test_fewer_manifestations_than_batch(caplog: pytest.LogCaptureFixture) -> None:
    m, k = structured_manifests(40, seed=10)
    with caplog.at_level(logging.WARNING):
        s = ManiNegBatchSampler(m, k, 64, batches_per_epoch=3)
    assert "distinct manifestations" in caplog.text
    b = s.sample(0)
    assert len(b) == s.index.n_unique  # every manifestation once, nothing more


def test_unknown_and_isolated_lumps_are_never_anchors() -> None:
    m, k = structured_manifests(200, seed=11)
    k[:10] = 0  # nothing known
    m[:10] = 0
    k[10] = 0
    k[10, :3] = 1  # knows 3 dims that no one else knows -> distance 0 to all: isolated
    k[11:, :3] = 0
    m = m * k
    s = ManiNegBatchSampler(m, k, 16, seed=0, batches_per_epoch=40)
    assert not s.index.anchorable[:10].any()
    for t in range(200):
        b = s.sample(t)
        assert not np.isin(b.rows, np.arange(11)).any()


def test_indices_are_dataset_indices_and_batches_are_pure() -> None:
    m, k = structured_manifests(300, seed=12)
    ids = np.arange(300) * 7 + 1000
    s = ManiNegBatchSampler(m, k, 16, indices=ids, seed=5)
    b = s.sample(3)
    assert s.batch_at(3) == ids[b.rows].tolist()
    s.sample(99)
    assert s.batch_at(3) == ids[b.rows].tolist()  # no hidden state
    other = ManiNegBatchSampler(m, k, 16, indices=ids, seed=6)
    assert other.batch_at(3) != s.batch_at(3)


def test_validation() -> None:
    m, k = structured_manifests(100, seed=0)
    for kw in ({"bounds": (0, 18)}, {"bounds": (5, 3)}, {"sigma": 0}, {"uniform": "x"}, {"dedup": "x"},
               {"anchors_per_batch": 9}, {"interval": (0.2, 18.5)}, {"rank": 1}, {"seed": -1}):
        with pytest.raises(ValueError):
            ManiNegBatchSampler(m, k, 16, **kw)
    with pytest.raises(ValueError):
        ManiNegBatchSampler(m, k, 200)  # zero batches per epoch
    with pytest.raises(ValueError):
        ManiNegBatchSampler(np.zeros((50, 35)), None, 8)  # one manifestation
    with pytest.raises(ValueError):
        ManiNegBatchSampler.from_preset("nope", m, k)
    c = ManiNegBatchSampler.from_preset("code-compat", m, k, 16)
    assert (c.snap, c.uniform, c.dedup, c.refill, c.interval, len(c)) == (
        True, "manifestation", "index", False, (0.5, 18.499), 100)
