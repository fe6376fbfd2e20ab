"""`mvkl bench train-step` and `mvkl bench loader` run and report consistent figures (tiny sizes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def test_train_step_bench_dynamic_vs_512() -> None:
    from mvkl.bench.train_step import run

    doc = run("tiny", steps=1, batch_size=2, device="cpu", report_tokens=40)
    assert doc["bench"] == "train-step" and doc["device"] == "cpu" and doc["arch"] == "cnn4"
    assert 30 <= doc["text_tokens_dynamic"] <= 50  # padded to the batch's longest report, not 512
    assert doc["samples_per_s"] == pytest.approx(2 / doc["step_s"])
    assert doc["samples_per_s_pad512"] > 0 and doc["peak_rss_mb"] > 0


def test_loader_bench_on_a_synthetic_store(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    from mvkl.bench.loader import run, synthetic_store
    from mvkl.store import check_store

    store = synthetic_store(tmp_path / "s.h5", n_lumps=24, size=64)
    assert check_store(store) == []
    doc = run(store, "tiny", batch_size=4, workers=(0, 1), batches=3)
    assert [r["workers"] for r in doc["workers"]] == [0, 1] and doc["batches"] == 3
    assert all(r["samples_per_s"] > 0 for r in doc["workers"]) and doc["view_shape"] == [1, 64, 64]
    bad = run_cli("bench", "loader", store, "--workers", "zero")
    assert bad.exit_code == 2
