"""Metric accumulation (device sums, host counts), metrics.jsonl writing and truncation on resume."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from mvkl.train.metrics import MetricAccumulator, MetricsWriter, truncate_metrics


def test_accumulator_means() -> None:
    acc = MetricAccumulator()
    vals = [{"loss": torch.tensor(float(i)), "n_ii": torch.tensor(8 + i), "batch": 8, "mu": 11.0 - i}
            for i in range(4)]
    for v in vals:
        acc.add(v)
    out = acc.reduce()
    assert out == pytest.approx({"loss": 1.5, "n_ii": 9.5, "batch": 8.0, "mu": 9.5})
    acc.reset()
    assert acc.reduce() == {}


def test_writer_and_truncation(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    try:
        import tensorboard  # noqa: F401
        has_tb = True
    except ImportError:
        has_tb = False
    with caplog.at_level(logging.WARNING):
        w = MetricsWriter(tmp_path, tensorboard=True)
    assert has_tb or "not installed" in caplog.text
    for step in (10, 20, 30):
        w.write({"kind": "train", "step": step, "loss": 1.0 / step, "bad": float("nan")})
    w.write({"kind": "val", "step": 30, "loss": 0.5})
    w.close()
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [10, 20, 30, 30] and lines[0]["bad"] is None
    assert truncate_metrics(tmp_path / "metrics.jsonl", 20) == 2
    assert [json.loads(x)["step"] for x in (tmp_path / "metrics.jsonl").read_text().splitlines()] == [10, 20]
    off = MetricsWriter(tmp_path / "x", enabled=False)
    off.write({"step": 1})
    assert not (tmp_path / "x" / "metrics.jsonl").exists()
