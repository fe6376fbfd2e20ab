"""`mvkl bench cross-dataset` (paper Table 4) on two small stores, and the table's markings."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mvkl.evaluation.protocols.crossdataset import render_cross_table, unique_names

TINY = ("--preset", "tiny", "--seeds", "2", "--epochs", "1", "--image-size", "32", "--workers", "0",
        "--device", "cpu")


def test_cross_dataset_cli(small_stores: list[Path], tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "xd"
    stores = ",".join(str(s) for s in small_stores)
    res = run_cli("bench", "cross-dataset", "--models", "random:resnet18:0", "--stores", stores,
                  "--supervised-baselines", "--baseline-init", "random:resnet18:1", "--out", out, *TINY, "--quiet")
    assert res.exit_code == 0, res.stdout + res.stderr
    for text in ("alpha", "beta", "random-resnet18-0", "supervised on alpha", "supervised on beta", "±"):
        assert text in res.stdout
    doc = json.loads((out / "cross-dataset.json").read_text())
    assert doc["columns"] == ["alpha", "beta"] and doc["protocol"] == "lp"
    assert [r["row"] for r in doc["rows"]] == ["random-resnet18-0", "supervised on alpha", "supervised on beta"]
    for r in doc["rows"]:
        for col, cell in r["cells"].items():
            sub = json.loads((out / cell["results"] / "results.json").read_text())
            assert sub["store"]["name"] == f"{col}.h5" and sub["protocol"] == "lp" and sub["seeds"] == [0, 1]
            assert cell["mean"] == sub["aggregate"]["test.auc"]["mean"]
            assert cell["std"] == sub["aggregate"]["test.auc"]["std"]
    sup = doc["rows"][1]
    assert sup["home"] == "alpha" and sup["supervised_pretraining"]["val_auc"] is not None
    from mvkl.models import load_image_encoder

    _, card = load_image_encoder(out / "supervised-on-alpha" / "encoder")
    assert card["source"]["kind"] == "supervised" and card["source"]["store"] == "alpha.h5"
    assert card["source"]["init"] == "random:resnet18:1" and card["image_size"] == 32
    pre = json.loads((out / "supervised-on-alpha" / "pretrain" / "results.json").read_text())
    assert pre["protocol"] == "ft" and pre["seeds"] == [0] and pre["store"]["name"] == "alpha.h5"
    md = (out / "cross-dataset.md").read_text()
    assert "| *" in md  # same-store cells of supervised rows in italics


def test_cross_table_markings() -> None:
    def cell(m: float) -> dict[str, Any]:
        return {"mean": m, "std": 0.01, "n": 2, "values": [m, m]}

    doc = {"protocol": "lp", "setting": "paper", "seeds": [0, 1], "columns": ["A", "B"],
           "rows": [{"row": "sup A", "home": "A", "cells": {"A": cell(0.70), "B": cell(0.60)}},
                    {"row": "sup B", "home": "B", "cells": {"A": cell(0.58), "B": cell(0.69)}},
                    {"row": "ViKL", "home": None, "cells": {"A": cell(0.61), "B": cell(0.655)}}]}
    md = render_cross_table(doc)
    lines = {ln.split("|")[1].strip(): ln for ln in md.splitlines() if ln.startswith("| sup") or ln.startswith("| Vi")}
    assert "*70.00 ± 1.00*" in lines["sup A"] and "**" not in lines["sup A"].split("|")[2]
    assert "**61.00 ± 1.00**" in lines["ViKL"] and "**65.50 ± 1.00**" in lines["ViKL"]  # best cross-dataset cells
    assert "*69.00 ± 1.00*" in lines["sup B"] and "**58.00" not in lines["sup B"]


def test_unique_names() -> None:
    assert unique_names(["demo", "demo", "x", "demo"]) == ["demo", "demo-2", "x", "demo-3"]


def test_cross_dataset_needs_rows(small_stores: list[Path], tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    res = run_cli("bench", "cross-dataset", "--stores", str(small_stores[0]), "--out", tmp_path / "o", *TINY)
    assert res.exit_code == 2 and "no row" in res.stderr


@pytest.mark.parametrize("bad", ["nope/run", "imagenet:resnet99"])
def test_cross_dataset_bad_model(bad: str, small_stores: list[Path], tmp_path: Path,
                                 run_cli: Callable[..., Any]) -> None:
    res = run_cli("bench", "cross-dataset", "--models", bad, "--stores", str(small_stores[0]), "--out",
                  tmp_path / "o", *TINY)
    assert res.exit_code == 2
