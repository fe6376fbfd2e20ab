"""Step-pure, resumable, rank-aware iteration shared by both samplers (spec B17, B18, B40)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mvkl.sampling.maninegsampler import ManiNegBatchSampler
from mvkl.sampling.random_sampler import RandomBatchSampler
from mvkl.sampling.synthetic import structured_manifests


def _maninegs(**kw):  # type: ignore[no-untyped-def]
    m, k = structured_manifests(260, seed=1)
    return ManiNegBatchSampler(m, k, 16, **kw)


FACTORIES = {
    "manineg": _maninegs,
    "random": lambda **kw: RandomBatchSampler(260, 16, **kw),
}


def _stream(sampler, n: int) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """The first n batches a trainer sees, re-iterating at the end of every epoch."""
    out: list[list[int]] = []
    while len(out) < n:
        for b in sampler:
            out.append(b)
            if len(out) == n:
                break
    return out


def test_seedsequence_needs_stream_tags() -> None:
    # Why the samplers tag their streams: NumPy pads entropy with zeros.
    assert np.random.default_rng([3, 5]).random() == np.random.default_rng([3, 5, 0]).random()


@pytest.mark.parametrize("kind", FACTORIES)
def test_resume_reproduces_the_stream(kind: str) -> None:
    full = _stream(FACTORIES[kind](seed=3), 40)  # crosses epoch boundaries (len = 16 steps)
    a = FACTORIES[kind](seed=3)
    first = _stream(a, 23)
    state = a.state_dict()
    assert state["step"] == 23 and first == full[:23]
    b = FACTORIES[kind](seed=3)
    b.load_state_dict(state)
    b.set_epoch(23 // len(b))  # a trainer's customary call keeps the mid-epoch position
    assert _stream(b, 17) == full[23:]
    c = FACTORIES[kind](seed=3)
    c.set_step(30)
    assert _stream(c, 10) == full[30:]
    c.set_epoch(0)
    assert _stream(c, 1) == full[:1]
    with pytest.raises(ValueError):
        FACTORIES[kind](seed=4).load_state_dict(state)
    d = FACTORIES[kind](seed=4)
    d.load_state_dict(state, strict=False)
    assert d.step == 23


@pytest.mark.parametrize("kind", FACTORIES)
def test_dataloader_with_workers_and_prefetch(kind: str) -> None:
    """Prefetching runs the sampler ahead; resuming from the consumed count is still exact."""
    import torch
    from torch.utils.data import DataLoader

    class Ids(torch.utils.data.Dataset):  # type: ignore[type-arg]
        def __len__(self) -> int:
            return 260

        def __getitem__(self, i: int) -> int:
            return i

    s = FACTORIES[kind](seed=0)
    loader = DataLoader(Ids(), batch_sampler=s, num_workers=1, prefetch_factor=4)
    it = iter(loader)
    consumed = [next(it).tolist() for _ in range(5)]
    assert s.step > 5  # the sampler ran ahead of the consumer
    del it
    expected = _stream(FACTORIES[kind](seed=0), 12)
    assert consumed == expected[:5]
    r = FACTORIES[kind](seed=0)
    r.set_step(5)
    assert [b.tolist() for b in itertools.islice(iter(DataLoader(Ids(), batch_sampler=r)), 7)] == expected[5:12]


@pytest.mark.parametrize("kind", FACTORIES)
def test_ranks_never_share_an_anchor_within_an_epoch(kind: str) -> None:
    W = 3
    ranks = [FACTORIES[kind](seed=2, rank=r, world_size=W) for r in range(W)]
    L = len(ranks[0])
    assert L == (260 // 16) // W and all(len(s) == L for s in ranks)
    for epoch in range(2):
        firsts = [[s.batch_at(epoch * L + i)[0] for i in range(L)] for s in ranks]
        flat = list(itertools.chain(*firsts))
        assert len(set(flat)) == len(flat)  # anchors (first lumps) distinct across ranks and steps
        if kind == "random":
            allrows = list(itertools.chain(*(s.batch_at(epoch * L + i) for s in ranks for i in range(L))))
            assert len(set(allrows)) == len(allrows)
    # Rank r builds slot s·W + r of the shared order.
    one = FACTORIES[kind](seed=2, world_size=1, batches_per_epoch=L * W) if kind == "manineg" else None
    if one is not None:
        for i in range(L):
            for r in range(W):
                assert ranks[r].sample(i).rows[0] == one.epoch_anchors(0)[i * W + r]


def test_fingerprint_is_stable_for_callable_schedules() -> None:
    def sched(step: int, steps_per_epoch: int | None = None) -> float:
        return 3.0

    a, b = _maninegs(mu_schedule=sched), _maninegs(mu_schedule=sched)
    assert a.fingerprint() == b.fingerprint() and "0x" not in str(a._config()["schedule"])
    assert a.fingerprint() != _maninegs(mu_schedule=4.0).fingerprint()
    assert a.sample(0).mu == 3.0
