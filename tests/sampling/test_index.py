from __future__ import annotations

import numpy as np
import pytest

from mvkl.manifest import masked_hamming, pack
from mvkl.sampling.index import ManifestIndex, fast_pack
from mvkl.sampling.synthetic import structured_manifests


def test_fast_pack_equals_pack() -> None:
    rng = np.random.default_rng(0)
    for d in (1, 7, 35, 64):
        m = (rng.random((50, d)) < 0.3).astype(np.uint8)
        np.testing.assert_array_equal(fast_pack(m), pack(m))
        f = rng.random((50, d))
        np.testing.assert_array_equal(fast_pack(f), pack(f))
    with pytest.raises(ValueError):
        fast_pack(np.zeros((2, 65)))


def test_groups_match_a_python_dict() -> None:
    m, k = structured_manifests(500, seed=2, partial=0.3, unknown=0.05)
    m[7] = 1  # values under unknown dimensions must not matter
    k[7, :20] = 0
    idx = ManifestIndex(m, k)
    groups: dict[tuple[bytes, bytes], list[int]] = {}
    for i in range(len(m)):
        kn = k[i].astype(bool)
        groups.setdefault(((m[i] * kn).tobytes(), kn.tobytes()), []).append(i)
    assert idx.n_unique == len(groups)
    for rows in groups.values():
        u = idx.uid[rows[0]]
        assert (idx.uid[rows] == u).all()
        assert sorted(idx.group_rows(u).tolist()) == rows
        assert idx.sizes[u] == len(rows)
    assert idx.anchorable.sum() == (k.sum(1) > 0).sum()
    assert not idx.full_masks and ManifestIndex(m).full_masks


def test_distances_are_masked_hamming() -> None:
    m, k = structured_manifests(300, seed=5, partial=0.5, unknown=0.02)
    idx = ManifestIndex(m, k)
    pm, pk = pack(m * k), pack(k)
    for i in (0, 17, 123, 299):
        u = idx.uid[i]
        d_groups = idx.distances_from(u)
        expect = masked_hamming(pm[i], pk[i], pm, pk)
        np.testing.assert_array_equal(d_groups[idx.uid], expect)
        np.testing.assert_array_equal(idx.rows_distance(i, np.arange(300)), expect)


def test_expand_lists_every_member() -> None:
    m, k = structured_manifests(200, seed=1)
    idx = ManifestIndex(m, k)
    uids = np.array([3, 0, idx.n_unique - 1])
    rows, owner = idx.expand(uids)
    for j, u in enumerate(uids):
        assert sorted(rows[owner == j].tolist()) == sorted(idx.group_rows(u).tolist())
    assert len(idx.fingerprint()) == 16
    assert ManifestIndex(m, k).fingerprint() == idx.fingerprint()
    m2 = m.copy()
    m2[0, 0] ^= 1
    k2 = k.copy()
    k2[0] = 1
    assert ManifestIndex(m2, k2).fingerprint() != idx.fingerprint()


def test_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        ManifestIndex(np.zeros((0, 35)))
    with pytest.raises(ValueError):
        ManifestIndex(np.zeros((3, 35)), np.zeros((3, 34)))
