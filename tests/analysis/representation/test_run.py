"""Alignment/uniformity wiring: positive pairs from a controlled store, slow formulas, projection."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from mvkl.analysis.representation.run import figure_spec, pca_2d, represent, represent_from_embeddings
from mvkl.errors import InputError
from mvkl.store import Store
from tests.analysis.fixtures import FakeTokenizer, FakeViKL, unit, write_controlled_store


def at(*deg: float) -> np.ndarray:
    return unit(list(deg)).numpy().astype(np.float64)


def slow_alignment(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean([np.sum((a - b) ** 2) for a, b in zip(x, y, strict=True)]))


def slow_uniformity(x: np.ndarray) -> float:
    vals = [math.exp(-2 * np.sum((x[i] - x[j]) ** 2)) for i, j in itertools.combinations(range(len(x)), 2)]
    return math.log(np.mean(vals))


def test_scalar_metrics_match_the_formulas() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = rng.normal(size=(6, 5))
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    doc = represent_from_embeddings({"image-text": (x, y), "cc-mlo": (np.zeros((0, 5)), np.zeros((0, 5)))},
                                    {"image": x, "text": y[:1]})
    assert doc["alignment"]["image-text"]["value"] == pytest.approx(slow_alignment(x, y))
    assert doc["alignment"]["image-text"]["mean_cosine_distance"] == pytest.approx(np.mean(1 - np.sum(x * y, 1)))
    assert doc["alignment"]["cc-mlo"] == {"value": None, "n": 0, "mean_cosine_distance": None}
    assert doc["uniformity"]["image"]["value"] == pytest.approx(slow_uniformity(x))
    assert doc["uniformity"]["text"] == {"value": None, "n": 1}


def test_pairs_come_from_the_right_lumps(tmp_path: Path) -> None:
    lumps = [
        {"split": "train", "report": "angle 5", "angles": (5, 5)},
        {"split": "test", "report": "angle 30", "angles": (10, 50), "label": 1},
        {"split": "test", "report": "", "angles": (100, None), "label": 0},
        {"split": "test", "report": "angle 30", "angles": (200, 220), "label": 0,
         "known": np.zeros(35), "manifest": np.zeros(35)},
    ]
    m = np.zeros(35)
    m[2] = 1  # manifestation angle 14 degrees
    lumps[1]["manifest"] = lumps[2]["manifest"] = m
    path = write_controlled_store(tmp_path / "r.h5", lumps)
    with Store(path) as st:
        doc = represent(FakeViKL(), FakeTokenizer(), st, input_size=32)
    al, un = doc["alignment"], doc["uniformity"]
    assert al["cc-mlo"]["value"] == pytest.approx(slow_alignment(at(10, 200), at(50, 220)))
    assert al["image-text"]["value"] == pytest.approx(slow_alignment(at(10, 50, 200, 220), at(30, 30, 30, 30)))
    assert al["image-manifest"]["value"] == pytest.approx(slow_alignment(at(10, 50, 100), at(14, 14, 14)))
    assert un["image"]["value"] == pytest.approx(slow_uniformity(at(10, 50, 100, 200, 220)))
    assert un["text"]["n"] == 1 and un["manifest"]["n"] == 2
    assert doc["_arrays"]["labels"].tolist() == [1, 1, 0, 0, 0]
    assert figure_spec(doc, "cc-mlo") is None  # 4-d embeddings, no projection asked
    spec = figure_spec(doc, "image-text", project="pca")
    assert spec["embeddings"].shape == (5, 2) and spec["positive_pairs"][0].shape == (4, 2)
    with pytest.raises(InputError):
        figure_spec(doc, "text-text")


def test_pca_projection() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 6)) * np.array([5, 2, 0.1, 0.1, 0.1, 0.1])
    p, q = pca_2d(x, x[:3])
    np.testing.assert_allclose(p[:3], q)
    assert p.var(axis=0)[0] > p.var(axis=0)[1] > 0.5
    np.testing.assert_allclose(np.abs(np.corrcoef(p[:, 0], x[:, 0])[0, 1]), 1.0, atol=0.02)
    with pytest.raises(InputError):
        pca_2d(x[:2])
