"""Checkpoints: atomic save, latest/prune, RNG capture/restore, weights_only loading."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from mvkl.errors import InputError
from mvkl.train.checkpoint import (
    capture_rng,
    checkpoint_path,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    prune_checkpoints,
    restore_rng,
    save_checkpoint,
)


def _draws() -> tuple[float, float, float]:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_rng_roundtrip() -> None:
    state = capture_rng()
    a = _draws()
    _draws()
    restore_rng(state)
    assert _draws() == a


def test_save_list_latest_prune(tmp_path: Path) -> None:
    d = tmp_path / "checkpoints"
    m = torch.nn.Linear(3, 2)
    for step in (5, 10, 15):
        save_checkpoint(checkpoint_path(d, step), {"step": step, "model": m.state_dict(), "rng": [capture_rng()]})
    (d / ".step_0000020.pt.abc.tmp").write_bytes(b"partial")  # a killed writer's leftover is ignored
    assert [s for s, _ in list_checkpoints(d)] == [5, 10, 15]
    assert checkpoint_path(d, 15).name == "step_0000015.pt"
    _path, ck = latest_checkpoint(d)  # type: ignore[misc]
    assert ck["step"] == 15 and ck["format"] == "mvkl-pretrain-checkpoint"
    torch.testing.assert_close(ck["model"]["weight"], m.weight.detach())
    checkpoint_path(d, 20).write_bytes(b"garbage")  # unreadable newest: fall back to the previous one
    _, ck = latest_checkpoint(d)  # type: ignore[misc]
    assert ck["step"] == 15
    gone = prune_checkpoints(d, 2)
    assert [p.name for p in gone] == ["step_0000005.pt", "step_0000010.pt"]
    assert [s for s, _ in list_checkpoints(d)] == [15, 20]
    assert latest_checkpoint(tmp_path / "nowhere") is None


def test_foreign_files_are_input_errors(tmp_path: Path) -> None:
    p = tmp_path / "step_0000001.pt"
    torch.save({"weights": torch.zeros(1)}, p)
    with pytest.raises(InputError, match="not an mvkl pretraining checkpoint"):
        load_checkpoint(p)
    p.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot read checkpoint"):
        load_checkpoint(p)
