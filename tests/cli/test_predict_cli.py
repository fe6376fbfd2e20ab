"""`mvkl predict`: equal to `mvkl eval` on the ingested images, operating points, quarantine, exit codes,
and no identifier in the output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mvkl.analysis.inputs import collect_dicom_files
from mvkl.store import Store
from tests.analysis.fixtures import ft_setup

__all__ = ["ft_setup"]


def predict_json(run_cli: Callable[..., Any], *args: Any) -> tuple[dict[str, Any], Any]:
    res = run_cli("predict", *args, "--device", "cpu", "--json")
    return json.loads(res.stdout), res


def test_predict_on_dicom_equals_eval_on_the_store(ft_setup: dict[str, Path], run_cli: Callable[..., Any]) -> None:
    import polars as pl

    from mvkl.dicom import PixelPolicy, load_image

    doc, res = predict_json(run_cli, ft_setup["classifier"], ft_setup["src"], "--key-file", ft_setup["key"])
    assert res.exit_code == 0, res.stderr
    files, skipped = collect_dicom_files([ft_setup["src"]])
    assert doc["counts"] == {"inputs": len(files), "ok": len(files), "quarantined": 0, "skipped_non_dicom": skipped}
    assert skipped == 5  # the annotation workbooks, lesions.csv and synth_manifest.json
    # eval's probabilities of the stored images (seed 0, the saved classifier), matched by pixels
    preds = pl.read_parquet(ft_setup["eval"] / "predictions.parquet").filter(pl.col("seed") == 0)
    with Store(ft_setup["store"]) as st:
        ids = [bytes(x).decode() for x in st.images_meta["image_id"]]
        stored = {ids[r]: st.image(r) for r in range(st.n_images)}
    pixels = [load_image(f, PixelPolicy(image_size=64)).pixels for f, _ in files]
    compared = 0
    for image_id, score in zip(preds["image_id"], preds["score"], strict=True):
        hits = [i for i, p in enumerate(pixels) if np.array_equal(p, stored[image_id])]
        assert hits, "every stored image comes from one of the DICOM files"
        for i in hits:
            assert doc["predictions"][i]["probability"] == pytest.approx(score, abs=1e-6)
            compared += 1
    assert compared >= len(preds) >= 8
    th = doc["threshold"]
    card = json.loads((ft_setup["classifier"] / "card.json").read_text())
    assert th["threshold"] == card["default_threshold"] and th["name"] == "youden"
    assert all(r["malignant"] == (r["probability"] >= th["threshold"]) for r in doc["predictions"])


def test_predict_names_inputs_without_identifiers(ft_setup: dict[str, Path], run_cli: Callable[..., Any],
                                                  tmp_path: Path) -> None:
    folder = next(p for p in (ft_setup["src"]).rglob("*") if p.is_dir() and p.name.startswith("MRN"))
    res = run_cli("predict", ft_setup["classifier"], folder, "--key-file", ft_setup["key"], "--device", "cpu",
                  "--cam", tmp_path / "cams")
    assert res.exit_code == 0, res.stderr
    secrets = [folder.name, *(p.name for p in folder.iterdir() if p.is_dir()), str(ft_setup["src"])]
    out = res.stdout + res.stderr + " ".join(p.name for p in (tmp_path / "cams").iterdir())
    assert all(s not in out for s in secrets)
    assert "#0 " in res.stdout and (tmp_path / "cams" / "cam_sheet.png").is_file()
    shown = run_cli("predict", ft_setup["classifier"], folder, "--show-paths", "--device", "cpu")
    assert shown.exit_code == 0 and f"#0 {folder.name}/" in shown.stdout
    assert str(ft_setup["src"]) not in shown.stdout.replace("\n", "")  # never an absolute path


def test_operating_points_and_bad_options(ft_setup: dict[str, Path], run_cli: Callable[..., Any]) -> None:
    one = next(ft_setup["src"].rglob("*.dcm"))
    card = json.loads((ft_setup["classifier"] / "card.json").read_text())
    doc, _ = predict_json(run_cli, ft_setup["classifier"], one, "--sensitivity", "0.9")
    assert doc["threshold"]["threshold"] == card["operating_points"]["sensitivity_0.90"]
    doc, _ = predict_json(run_cli, ft_setup["classifier"], one, "--threshold", "0.25")
    assert doc["threshold"]["threshold"] == 0.25 and doc["predictions"][0]["malignant"] == (
        doc["predictions"][0]["probability"] >= 0.25)
    bad = run_cli("predict", ft_setup["classifier"], one, "--sensitivity", "0.8")
    assert bad.exit_code == 2 and "0.9, 0.95" in bad.stderr
    for args in (["--threshold", "2"], ["--threshold", "0.3", "--sensitivity", "0.9"],
                 ["--operating-point", "best"]):
        assert run_cli("predict", ft_setup["classifier"], one, *args).exit_code == 2, args
    assert run_cli("predict", ft_setup["classifier"], one.parent / "missing.dcm").exit_code == 2


def test_quarantined_inputs_and_all_failed(ft_setup: dict[str, Path], run_cli: Callable[..., Any],
                                           tmp_path: Path) -> None:
    good = next(ft_setup["src"].rglob("*.dcm"))
    notdicom = tmp_path / "scan.dcm"
    notdicom.write_bytes(b"this is not a DICOM file at all" * 10)
    truncated = tmp_path / "cut.dcm"
    truncated.write_bytes(good.read_bytes()[:2000])
    doc, res = predict_json(run_cli, ft_setup["classifier"], good, notdicom, truncated)
    assert res.exit_code == 0
    assert [r["status"] for r in doc["predictions"]] == ["ok", "quarantined", "quarantined"]
    assert doc["predictions"][1]["reason"] == "not-dicom" and doc["predictions"][2]["reason"] == "truncated"
    assert doc["predictions"][1]["probability"] is None
    doc, res = predict_json(run_cli, ft_setup["classifier"], notdicom, truncated)
    assert res.exit_code == 1 and doc["counts"]["ok"] == 0 and "every input failed" in res.stderr
