from __future__ import annotations

import numpy as np

from mvkl.manifest.schema import exclusive_groups
from mvkl.sampling.synthetic import structured_manifests


def test_schema_valid_and_clustered() -> None:
    m, k = structured_manifests(3000, seed=0)
    for g in exclusive_groups():
        assert (m[:, g.slice].sum(axis=1) <= 1).all()
    assert (k == 1).all()
    n_unique = np.unique(m, axis=0).shape[0]
    assert 300 < n_unique < 3000  # duplicates exist, but far from a handful of patterns
    m2, _ = structured_manifests(3000, seed=0)
    np.testing.assert_array_equal(m, m2)


def test_partial_and_unknown_masks() -> None:
    m, k = structured_manifests(2000, seed=1, partial=0.5, unknown=0.05)
    assert (m <= k).all()  # nothing set where unknown
    n_known = k.sum(axis=1)
    assert ((n_known > 0) & (n_known < 35)).sum() > 300
    assert 50 < (n_known == 0).sum() < 160
