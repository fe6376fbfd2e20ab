from __future__ import annotations

import itertools

import numpy as np
import pytest

from mvkl.sampling.random_sampler import RandomBatchSampler


def test_epoch_is_a_permutation_cut_into_batches() -> None:
    s = RandomBatchSampler(103, 10, seed=1)
    assert len(s) == 10
    ep0 = [s.batch_at(t) for t in range(10)]
    flat = list(itertools.chain(*ep0))
    assert len(flat) == 100 and len(set(flat)) == 100 and all(len(b) == 10 for b in ep0)
    assert flat == s.permutation(0)[:100].tolist()
    ep1 = list(itertools.chain(*(s.batch_at(t) for t in range(10, 20))))
    assert ep1 != flat and len(set(ep1)) == 100  # reshuffled each epoch
    assert not np.array_equal(s.permutation(0), s.permutation(1))
    assert list(s) == ep0 and s.step == 10


def test_keep_last_and_padding_across_ranks() -> None:
    s = RandomBatchSampler(25, 10, drop_last=False)
    assert len(s) == 3
    batches = [s.batch_at(t) for t in range(3)]
    assert [len(b) for b in batches] == [10, 10, 5]
    assert sorted(itertools.chain(*batches)) == list(range(25))
    r = [RandomBatchSampler(25, 10, drop_last=False, rank=i, world_size=2) for i in range(2)]
    assert len(r[0]) == len(r[1]) == 2
    assert len(r[1].batch_at(1)) == 10  # padded slot wraps around the permutation
    covered = set(itertools.chain(*(x.batch_at(t) for x in r for t in range(2))))
    assert covered == set(range(25))


def test_indices_and_validation() -> None:
    ids = np.arange(50) + 500
    s = RandomBatchSampler(50, 8, indices=ids, seed=0)
    assert min(s.batch_at(0)) >= 500
    with pytest.raises(ValueError):
        RandomBatchSampler(50, 8, indices=ids[:10])
    with pytest.raises(ValueError):
        RandomBatchSampler(5, 8)
    with pytest.raises(ValueError):
        RandomBatchSampler(50, 8, rank=2, world_size=2)
    with pytest.raises(ValueError):
        RandomBatchSampler(0, 8)
