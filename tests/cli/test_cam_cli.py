"""`mvkl cam`: overlays and contact sheet from a store and from DICOM files, arrays, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.store import Store
from tests.analysis.fixtures import ft_setup

__all__ = ["ft_setup"]


def test_cam_on_store_images(ft_setup: dict[str, Path], tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "cams"
    res = run_cli("cam", ft_setup["classifier"], ft_setup["store"], "--split", "test", "--limit", "3",
                  "--save-arrays", "-o", out, "--device", "cpu", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    with Store(ft_setup["store"]) as st:
        rows = st.image_indices("test")[:3]
        ids = [bytes(st.images_meta["image_id"][r]).decode() for r in rows]
        size = st.info.image_size
    assert [r["key"] for r in doc["images"]] == ids
    assert all((out / f"cam_{i:03d}_{k}.png").is_file() for i, k in enumerate(ids))
    assert (out / "cam_sheet.png").is_file() and doc["layer"] == "layer3"
    with np.load(out / "cam_arrays.npz") as z:
        assert z["cam"].shape == (3, size, size) and z["raw"].shape == (3, size // 16, size // 16)
        assert float(z["cam"].max()) <= 1.0 and float(z["cam"].min()) >= 0.0
        np.testing.assert_allclose(z["prob"], [r["probability"] for r in doc["images"]])
    human = run_cli("cam", ft_setup["classifier"], ft_setup["store"], "--ids", ids[1], "-o", tmp_path / "one",
                    "--device", "cpu")
    assert human.exit_code == 0 and "contact sheet" in human.stdout
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["cam_000_" + ids[1] + ".png", "cam_sheet.png"]


def test_cam_on_dicom_files(ft_setup: dict[str, Path], tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    folder = next(p for p in ft_setup["src"].rglob("*") if p.is_dir() and p.name.startswith("MRN"))
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"no")
    out = tmp_path / "c"
    res = run_cli("cam", ft_setup["classifier"], folder, bad, "-o", out, "--key-file", ft_setup["key"],
                  "--device", "cpu", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["quarantined"] == 1 and doc["images"][-1]["status"] == "quarantined"
    n_ok = len(doc["images"]) - 1
    assert len(list(out.glob("cam_0*.png"))) == n_ok and (out / "cam_sheet.png").is_file()
    assert folder.name not in res.stdout + res.stderr
    for args in (["--layer", "layer9"], ["--split", "dev"], ["--label", "any"]):
        assert run_cli("cam", ft_setup["classifier"], ft_setup["store"], *args, "-o", out).exit_code == 2, args
    assert run_cli("cam", ft_setup["classifier"], folder, "--ids", "abc", "-o", out).exit_code == 2
    assert run_cli("cam", ft_setup["classifier"], bad, "-o", tmp_path / "none").exit_code == 2
