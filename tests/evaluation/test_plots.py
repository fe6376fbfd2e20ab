"""Every figure writes a non-empty PNG atomically (the pictures were inspected during development)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mvkl.analysis.retrieval.metrics import birads_confusion
from mvkl.errors import InputError
from mvkl.evaluation import plots as P
from mvkl.evaluation.calibration import reliability

PNG = b"\x89PNG\r\n\x1a\n"


def _png(path: Path, min_bytes: int = 5000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG and len(data) > min_bytes
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # no temp file left


@pytest.fixture
def yp() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    p = 1 / (1 + np.exp(-(rng.normal(0, 1.2, 200) + 1.5 * (y - 0.5))))
    return y, p


def test_roc(tmp_path: Path, yp) -> None:
    y, p = yp
    out = P.plot_roc(
        {"ViKL": (y, p), "given": {"fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]}},
        tmp_path / "sub" / "roc.png",
        points={"Radiologist A": (0.18, 0.58)},
        mark_thresholds=(0.87, 0.74, 0.5),
    )
    assert out == tmp_path / "sub" / "roc.png"
    _png(out)
    with pytest.raises(InputError):
        P.plot_roc({}, tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()


def test_reliability_single_and_several(tmp_path: Path, yp) -> None:
    y, p = yp
    r = reliability(y, p)
    _png(P.plot_reliability(r, tmp_path / "one.png", title="ViKL"))
    _png(P.plot_reliability({"a": r, "b": reliability(y, p**2, definition="positive")}, tmp_path / "two.png"))


def test_failed_plot_leaves_no_file(tmp_path: Path, yp) -> None:
    y, p = yp
    broken = dict(reliability(y, p))
    broken["axes"] = {}  # missing axis titles -> KeyError while drawing
    final = tmp_path / "broken.png"
    final.write_bytes(b"old")
    with pytest.raises(KeyError):
        P.plot_reliability(broken, final)
    assert final.read_bytes() == b"old"


def test_confusion(tmp_path: Path) -> None:
    m, _, st = birads_confusion(["1", "2", "4A", "5", "3"], ["1", "3", "4", "5", "3"])
    _png(P.plot_confusion(m, st["categories"], tmp_path / "c.png", "Retrieval", xlabel="Retrieved", ylabel="Truth"))
    with pytest.raises(InputError):
        P.plot_confusion(np.zeros((2, 3)), ["a", "b"], tmp_path / "bad.png")


def test_data_fraction(tmp_path: Path) -> None:
    res = {
        "ViKL": {0.2: (0.74, 0.01), 0.6: {"mean": 0.76, "std": 0.01}, 1.0: (0.7586, 0.0081)},
        "IM": {0.2: 0.68, 1.0: (0.75, float("nan"))},
    }
    _png(P.plot_data_fraction(res, tmp_path / "f.png"))


def test_alignment_uniformity(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    th = rng.uniform(-np.pi, np.pi, 150)
    emb = np.c_[np.cos(th), np.sin(th)]
    pair = np.c_[np.cos(th + 0.2), np.sin(th + 0.2)]
    models = {
        "contrastive": {"embeddings": emb, "labels": (th > 0).astype(int), "positive_pairs": (emb, pair)},
        "no labels": {"embeddings": emb[:2], "pair_distances": rng.random(20)},  # too few for a KDE: scatter
    }
    _png(P.plot_alignment_uniformity(models, tmp_path / "au.png"))
    with pytest.raises(InputError):
        P.plot_alignment_uniformity({"3d": {"embeddings": rng.normal(size=(5, 3))}}, tmp_path / "x.png")
