"""`mvkl bench data-fraction` (paper Fig. 5) on a small store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.evaluation.protocols.datafraction import render_fraction_table

TINY = ("--preset", "tiny", "--seeds", "2", "--epochs", "1", "--image-size", "32", "--workers", "0",
        "--device", "cpu")


def test_data_fraction_cli(small_stores: list[Path], tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "df"
    res = run_cli("bench", "data-fraction", "--models", "random:resnet18:0,random:resnet18:1", "--store",
                  small_stores[0], "--fractions", "0.5,1", "--out", out, *TINY, "--quiet")
    assert res.exit_code == 0, res.stdout + res.stderr
    for text in ("random-resnet18-0", "random-resnet18-1", "0.5", "±"):
        assert text in res.stdout
    doc = json.loads((out / "data-fraction.json").read_text())
    assert doc["fractions"] == [0.5, 1.0] and doc["protocol"] == "ft"
    assert (out / "data-fraction.png").stat().st_size > 10_000 and (out / "data-fraction.md").is_file()
    full = doc["store"]["splits"]["train"]["images"]
    for row in doc["rows"]:
        half, one = row["cells"]["0.5"], row["cells"]["1"]
        assert one["train_images"] == [full, full] and all(0 < n < full for n in half["train_images"])
        sub = json.loads((out / half["results"] / "results.json").read_text())
        assert sub["config"]["fraction"] == 0.5 and sub["aggregate"]["test.auc"]["mean"] == half["mean"]
        assert [r["train_images"] for r in sub["runs"]] == half["train_images"]
        assert np.isfinite(half["mean"]) and np.isfinite(one["std"])
    assert "training images" in (out / "data-fraction.md").read_text()


def test_data_fraction_table() -> None:
    doc = {"protocol": "ft", "setting": "paper", "seeds": [0, 1], "fractions": [0.2, 1.0], "store": {"name": "m.h5"},
           "rows": [{"model": "ViKL", "cells": {"0.2": {"mean": 0.7, "std": 0.01, "train_images": [40, 42]},
                                                "1": {"mean": 0.79, "std": 0.005, "train_images": [200, 200]}}}]}
    md = render_fraction_table(doc)
    assert "| ViKL | 70.00 ± 1.00 | 79.00 ± 0.50 |" in md and "| training images | 41 | 200 |" in md


def test_data_fraction_errors(small_stores: list[Path], tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    res = run_cli("bench", "data-fraction", "--models", "random:resnet18:0", "--store", small_stores[0],
                  "--fractions", "0.01", "--out", tmp_path / "o", *TINY)
    assert res.exit_code == 2 and "leaves no" in res.stderr
    res = run_cli("bench", "data-fraction", "--models", "random:resnet18:0", "--store", small_stores[0],
                  "--fractions", "0,1", "--out", tmp_path / "o", *TINY)
    assert res.exit_code == 2 and "--fractions" in res.stderr
