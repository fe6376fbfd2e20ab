"""Warm-up + cosine against the released code's chained LinearLR + CosineAnnealingLR (B14)."""

from __future__ import annotations

import pytest
import torch

from mvkl.train.schedule import WarmupCosine, lr_at


def _reference(total: int, warmup: int, peak: float, floor: float) -> list[float]:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=peak)
    lin = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1e-3, total_iters=warmup)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=floor)
    out = []
    for t in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        (lin if t < warmup else cos).step()
    return out


@pytest.mark.parametrize(("total", "warmup"), [(9000, 300), (40, 5)])
def test_matches_chained_torch_schedulers(total: int, warmup: int) -> None:
    ref = _reference(total, warmup, 1e-4, 1e-7)
    got = [lr_at(t, peak=1e-4, floor=1e-7, warmup=warmup, total=total) for t in range(total)]
    for r, g in zip(ref, got, strict=True):
        assert g == pytest.approx(r, rel=1e-9, abs=1e-15)
    assert got[0] == pytest.approx(1e-7) and got[warmup] == pytest.approx(1e-4)
    assert lr_at(total, peak=1e-4, floor=1e-7, warmup=warmup, total=total) == 1e-7


def test_scheduler_groups_and_resume_state() -> None:
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([{"params": [a], "lr": 1e-3}, {"params": [b], "lr": 1e-4}])
    s = WarmupCosine(opt, peak=1e-3, floor=1e-6, warmup=4, total=20)
    for _ in range(7):
        opt.step()
        s.step()
    lrs = [g["lr"] for g in opt.param_groups]
    assert lrs[0] == pytest.approx(lr_at(7, peak=1e-3, floor=1e-6, warmup=4, total=20))
    assert lrs[1] == pytest.approx(lrs[0] / 10)
    opt2 = torch.optim.Adam([{"params": [a], "lr": 1e-3}, {"params": [b], "lr": 1e-4}])
    s2 = WarmupCosine(opt2, peak=1e-3, floor=1e-6, warmup=4, total=20)
    s2.load_state_dict(s.state_dict())
    assert [g["lr"] for g in opt2.param_groups] == lrs
    opt.step()
    s.step()
    opt2.step()
    s2.step()
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]
