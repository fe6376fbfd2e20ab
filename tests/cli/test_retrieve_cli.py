"""`mvkl retrieve`: report task (confusion table, PNG, CSV, recall@k) and manifest task (Table 8)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mvkl.store import Store
from tests.analysis.fixtures import analysis_store, tiny_bert, tiny_store_arrays, tiny_vikl

__all__ = ["analysis_store", "tiny_bert", "tiny_store_arrays", "tiny_vikl"]


def test_report_retrieval_writes_the_figure_and_tables(tiny_vikl: Path, analysis_store: Path, tmp_path: Path,
                                                       run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "ret"
    res = run_cli("retrieve", tiny_vikl, analysis_store, "--task", "report", "-o", out, "--device", "cpu", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    with Store(analysis_store) as st:
        test = st.lump_indices("test")
        n_images = int((st.lumps["cc"][test] >= 0).sum() + (st.lumps["mlo"][test] >= 0).sum())
        with_report = [li for li in test if str(st.lumps["report"][li]).strip()]
    c = doc["confusion"]
    assert doc["counts"]["queries"] == n_images == len(doc["queries"])
    assert np.sum(c["matrix"]) + c["n_excluded"] == n_images
    assert doc["recall"]["n"] == doc["counts"]["recall_pairs"] == 2 * len(with_report)
    assert {"R@1", "R@5", "R@10"} <= set(doc["recall"]["image_to_text"])
    for name in ("report_confusion.png", "report_confusion.csv", "report_queries.csv", "report_retrieval.json"):
        assert (out / name).is_file(), name
    from PIL import Image

    assert Image.open(out / "report_confusion.png").size[0] > 800
    rows = list(csv.reader((out / "report_confusion.csv").open()))
    assert rows[0] == ["true\\retrieved", "0", "1", "2", "3", "4", "5"]
    assert sum(int(v) for r in rows[1:] for v in r[1:]) == np.sum(c["matrix"])
    assert json.loads((out / "report_retrieval.json").read_text())["confusion"]["matrix"] == c["matrix"]
    human = run_cli("retrieve", tiny_vikl, analysis_store, "--device", "cpu")
    assert human.exit_code == 0 and "4A/4B/4C counted as 4" in human.stdout and "image → report" in human.stdout


def test_manifest_estimation_rows_per_threshold(tiny_vikl: Path, analysis_store: Path, tmp_path: Path,
                                                run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "man"
    res = run_cli("retrieve", tiny_vikl, analysis_store, "--task", "manifest", "--t-cls", "0.12,0.15",
                  "--t-cls", "0.25", "--t-distance", "0.5", "--empty", "prior", "-o", out, "--device", "cpu",
                  "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [r["t_cls"] for r in doc["rows"]] == [0.12, 0.15, 0.25] and doc["empty"] == "prior"
    assert doc["t_distance"] == 0.5 and 0 <= doc["n_empty"] <= doc["n_queries"]
    assert len(doc["metrics"][0]["per_dimension"]) == 35
    rows = list(csv.DictReader((out / "manifest_per_dimension.csv").open()))
    assert len(rows) == 3 * 35 and {r["t_cls"] for r in rows} == {"0.12", "0.15", "0.25"}
    human = run_cli("retrieve", tiny_vikl, analysis_store, "--task", "manifest", "--device", "cpu")
    assert human.exit_code == 0 and "Table 8" in human.stdout and "policy 'nearest'" in human.stdout


@pytest.mark.parametrize("args", [["--task", "caption"], ["--task", "report", "--t-cls", "0.2"],
                                  ["--task", "manifest", "--t-cls", "abc"], ["--task", "manifest", "--t-cls", "1.5"],
                                  ["--task", "manifest", "--empty", "mean"], ["--split", "dev"]])
def test_bad_options_exit_2(tiny_vikl: Path, analysis_store: Path, run_cli: Callable[..., Any],
                            args: list[str]) -> None:
    assert run_cli("retrieve", tiny_vikl, analysis_store, *args, "--device", "cpu").exit_code == 2
