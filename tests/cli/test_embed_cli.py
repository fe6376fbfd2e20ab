"""`mvkl embed`: files, counts, JSON, exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mvkl.analysis.embed import read_embeddings
from mvkl.store import Store
from tests.analysis.fixtures import analysis_store, tiny_bert, tiny_store_arrays, tiny_vikl

__all__ = ["analysis_store", "tiny_bert", "tiny_store_arrays", "tiny_vikl"]


@pytest.mark.parametrize(("modality", "name", "split"), [("image", "i.h5", "all"), ("text", "t.parquet", "all"),
                                                          ("manifest", "m.hdf5", "test")])
def test_embed_writes_each_modality(tiny_vikl: Path, analysis_store: Path, tmp_path: Path,
                                    run_cli: Callable[..., Any], modality: str, name: str, split: str) -> None:
    out = tmp_path / name
    res = run_cli("embed", tiny_vikl, analysis_store, "--modality", modality, "--split", split, "-o", out,
                  "--device", "cpu", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    table = read_embeddings(out)
    with Store(analysis_store) as st:
        lumps = st.lump_indices(None if split == "all" else split)
        n_img = int((st.lumps["cc"][lumps] >= 0).sum() + (st.lumps["mlo"][lumps] >= 0).sum())
    expect = {"image": (n_img, 0), "text": (len(lumps) - 1, 1), "manifest": (len(lumps) - 1, 1)}[modality]
    assert (doc["n"], doc["n_skipped"]) == expect == (len(table), table.n_skipped)
    assert doc["dim"] == 128 and table.modality == modality
    np.testing.assert_allclose(np.linalg.norm(table.embedding, axis=1), 1.0, atol=1e-5)
    assert str(tmp_path) not in res.stdout + res.stderr


def test_embed_human_output_and_errors(tiny_vikl: Path, analysis_store: Path, tmp_path: Path,
                                       run_cli: Callable[..., Any]) -> None:
    res = run_cli("embed", tiny_vikl, analysis_store, "-m", "text", "-o", tmp_path / "t.h5", "--device", "cpu")
    assert res.exit_code == 0 and "1 lump(s) without a report skipped" in res.stdout
    for args in (["-m", "audio", "-o", tmp_path / "x.h5"], ["-o", tmp_path / "x.csv"],
                 ["--split", "dev", "-o", tmp_path / "x.h5"]):
        bad = run_cli("embed", tiny_vikl, analysis_store, *args)
        assert bad.exit_code == 2, args
    assert run_cli("embed", tiny_vikl, tmp_path / "none.h5", "-o", tmp_path / "x.h5").exit_code == 2
    assert not (tmp_path / "x.h5").exists()
    assert "Example" in run_cli("embed", "--help").stdout
