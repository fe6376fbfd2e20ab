"""Grad-CAM scored against lesion boxes: energy share and pointing game vs a slow re-implementation;
`mvkl cam` reports both where the store has boxes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from mvkl.analysis.gradcam import BoxScore, box_score, box_summary
from mvkl.store import Store, check_store
from tests.analysis.fixtures import ft_setup

__all__ = ["ft_setup"]


def _slow(cam: np.ndarray, boxes: np.ndarray, tol: float) -> tuple[float | None, bool]:
    """Pixel by pixel: centre (r + 0.5, c + 0.5) in a box -> its CAM counts; peak = first maximum."""
    h, w = cam.shape
    inside = total = 0.0
    best, peak = -1.0, (0, 0)
    for r in range(h):
        for c in range(w):
            v = max(0.0, float(cam[r, c]))
            total += v
            if any(b[0] <= c + 0.5 <= b[2] and b[1] <= r + 0.5 <= b[3] for b in boxes):
                inside += v
            if v > best:
                best, peak = v, (r, c)
    if total == 0:
        return None, False
    y, x = peak[0] + 0.5, peak[1] + 0.5
    hit = any(b[0] - tol <= x <= b[2] + tol and b[1] - tol <= y <= b[3] + tol for b in boxes)
    return inside / total, hit


def test_box_score_equals_the_slow_version() -> None:
    rng = np.random.default_rng(0)
    for trial in range(60):
        h = w = int(rng.integers(4, 20))
        cam = rng.random((h, w)) * (rng.random((h, w)) < 0.5)
        k = int(rng.integers(1, 3))
        xy = rng.uniform(0, w, size=(k, 2, 2))
        boxes = np.concatenate([xy.min(axis=1), xy.max(axis=1)], axis=1)[:, [0, 1, 2, 3]]
        tol = float(rng.choice([0.0, 1.0, 2.5]))
        got = box_score(cam, boxes, tol)
        e, hit = _slow(cam, boxes, tol)
        assert got.hit == hit, trial
        assert (got.energy_in_box is None) == (e is None)
        if e is not None:
            assert abs(got.energy_in_box - e) < 1e-9
    zero = box_score(np.zeros((5, 5)), np.array([[0, 0, 5, 5]]))
    assert zero == BoxScore(None, False, (0, 0))


def test_a_cam_on_the_box_scores_high_and_one_off_it_low() -> None:
    cam = np.zeros((16, 16))
    cam[4:8, 4:8] = 1.0
    on, off = box_score(cam, np.array([[4, 4, 8, 8]])), box_score(cam, np.array([[10, 10, 14, 14]]))
    assert on.energy_in_box == 1.0 and on.hit and off.energy_in_box == 0.0 and not off.hit
    near = box_score(cam, np.array([[8.5, 4, 12, 8]]), tolerance=1.0)  # peak (4, 4): centre x 4.5, 4 px away
    assert not near.hit and box_score(cam, np.array([[5.0, 4, 12, 8]]), tolerance=1.0).hit
    s = box_summary([on, None, off])
    assert s == {"images_with_box": 2, "tolerance_px": 1.0, "energy_in_box_mean": 0.5, "pointing_hit_rate": 0.5,
                 "pointing_hits": 1}


def test_cam_cli_reports_box_scores(ft_setup: dict[str, Path], tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    store = tmp_path / "boxed.h5"
    shutil.copy(ft_setup["store"], store)
    with Store(store) as st:
        rows = st.image_indices("test")[:3]
        size = st.info.image_size
    with h5py.File(store, "a") as f:  # boxes on the first two test images only
        if "lesions" in f:  # synth stores carry their own boxes now; plant known ones instead
            del f["lesions"]
        g = f.create_group("lesions")
        g["image"] = np.asarray(rows[:2], np.int64)
        g["lump"] = np.full(2, -1, np.int64)
        g["box"] = np.asarray([[8, 8, 30, 30], [20, 10, 60, 40]], np.float32)
        g["kind"] = np.asarray([0, 1], np.uint8)
    assert check_store(store) == []
    out = tmp_path / "cams"
    res = run_cli("cam", ft_setup["classifier"], store, "--split", "test", "--limit", "3", "--save-arrays", "-o",
                  out, "--device", "cpu", "--json", "--pointing-tolerance", "2")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    with np.load(out / "cam_arrays.npz") as z:
        cams = z["cam"]
    assert cams.shape == (3, size, size)
    boxes = [np.array([[8, 8, 30, 30]]), np.array([[20, 10, 60, 40]])]
    for r, cam, b in zip(doc["images"][:2], cams[:2], boxes, strict=True):
        e, hit = _slow(cam, b, 2.0)
        assert r["pointing_hit"] == hit and (e is None) == (r["cam_in_box"] is None)
        if e is not None:
            assert abs(r["cam_in_box"] - e) < 1e-6
    assert doc["images"][2]["cam_in_box"] is None and doc["images"][2]["pointing_hit"] is None
    assert doc["boxes"]["images_with_box"] == 2 and doc["boxes"]["tolerance_px"] == 2.0
    human = run_cli("cam", ft_setup["classifier"], store, "--split", "test", "--limit", "3", "-o", tmp_path / "h",
                    "--device", "cpu")
    assert human.exit_code == 0 and "pointing game" in human.stdout
    assert "miss" in human.stdout or "hit" in human.stdout.replace("hits", "")
    bare = tmp_path / "bare.h5"  # a store that knows no lesion location
    shutil.copy(ft_setup["store"], bare)
    with h5py.File(bare, "a") as f:
        if "lesions" in f:
            del f["lesions"]
    plain = run_cli("cam", ft_setup["classifier"], bare, "--limit", "1", "-o", tmp_path / "p",
                    "--device", "cpu", "--json")
    assert json.loads(plain.stdout)["boxes"] is None
