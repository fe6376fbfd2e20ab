"""`mvkl represent`: scalar metrics, the Fig. 8 figure for a 2-D model, labelled projections."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.analysis.fixtures import analysis_store, tiny_bert, tiny_store_arrays, tiny_vikl, tiny_vikl_2d

__all__ = ["analysis_store", "tiny_bert", "tiny_store_arrays", "tiny_vikl", "tiny_vikl_2d"]


def test_2d_model_gets_the_figure(tiny_vikl_2d: Path, analysis_store: Path, tmp_path: Path,
                                  run_cli: Callable[..., Any]) -> None:
    res = run_cli("represent", tiny_vikl_2d, analysis_store, "-o", tmp_path, "--device", "cpu", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    m = doc["models"][0]
    assert m["embed_dim"] == 2 and set(m["alignment"]) == {"image-text", "image-manifest", "cc-mlo"}
    assert all(v["value"] is not None and v["value"] >= 0 for v in m["alignment"].values())
    assert m["uniformity"]["image"]["value"] <= 0
    assert doc["figure"]["kind"] == "2-D embeddings" and (tmp_path / "alignment_uniformity.png").is_file()
    assert json.loads((tmp_path / "represent.json").read_text())["models"][0]["alignment"] == m["alignment"]


def test_128d_model_figure_only_as_a_labelled_projection(tiny_vikl: Path, tiny_vikl_2d: Path, analysis_store: Path,
                                                         tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    plain = run_cli("represent", tiny_vikl, analysis_store, "-o", tmp_path / "a", "--device", "cpu")
    assert plain.exit_code == 0 and "no figure" in plain.stdout and "alignment" in plain.stdout
    assert not (tmp_path / "a" / "alignment_uniformity.png").exists()
    res = run_cli("represent", tiny_vikl, analysis_store, "--compare", tiny_vikl_2d, "--project", "pca",
                  "--pairs", "image-text", "-o", tmp_path / "b", "--device", "cpu", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [m["embed_dim"] for m in doc["models"]] == [128, 2]
    assert doc["figure"]["kind"] == "includes PCA projections"
    assert (tmp_path / "b" / "alignment_uniformity.png").is_file()
    for bad in (["--pairs", "cc-cc"], ["--project", "tsne"], ["--split", "dev"]):
        assert run_cli("represent", tiny_vikl, analysis_store, *bad, "--device", "cpu").exit_code == 2
