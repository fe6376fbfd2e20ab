from __future__ import annotations

import pytest

from mvkl.sampling.schedule import LinearMuSchedule, as_schedule


def test_linear_per_step_then_constant() -> None:
    s = LinearMuSchedule(11, 0, 50)
    for t in range(0, 120):
        expect = 11 + (0 - 11) * min(t / 50, 1.0)
        assert s(t) == pytest.approx(expect)
    assert s(0) == 11 and s(50) == 0 and s(10_000) == 0
    assert s(25) == pytest.approx(5.5)


def test_per_epoch_matches_released_formula() -> None:
    # μ(e) = max(μ_min, μ_max + (μ_min − μ_max)·e / E_min), e = step // steps_per_epoch (B15)
    s = LinearMuSchedule(11, 0, 3, unit="epoch")
    for step in range(0, 700, 7):
        e = step // 100
        assert s(step, steps_per_epoch=100) == pytest.approx(max(0.0, 11 + (0 - 11) * e / 3))
    with pytest.raises(ValueError):
        s(5)


def test_constant_and_validation() -> None:
    c = as_schedule(4)
    assert c(0, None) == 4.0 and c(999, None) == 4.0
    assert LinearMuSchedule(11, 0, 0)(0) == 0.0
    with pytest.raises(ValueError):
        LinearMuSchedule(11, 0, -1)
    with pytest.raises(ValueError):
        LinearMuSchedule(11, 0, 5, unit="minute")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        as_schedule(True)
    with pytest.raises(ValueError):
        LinearMuSchedule()(-1)
