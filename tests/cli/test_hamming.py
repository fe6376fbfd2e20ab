"""`mvkl hamming` on the tiny fixture store and on a bigger store of structured manifestations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mvkl.store import Store, write_store
from tests.conftest import make_store_arrays


@pytest.fixture
def bigger_store(tmp_path: Path) -> Path:
    from mvkl.sampling.synthetic import structured_manifests

    a = make_store_arrays(900, image_size=4, seed=1, n_patients=450)
    m, k = structured_manifests(900, seed=2, partial=0.2, unknown=0.02)
    a["lumps"]["manifest"], a["lumps"]["manifest_known"] = m, k
    path = tmp_path / "bigger.h5"
    write_store(path, a["lumps"], a["images"], a["pixels"])
    return path


def test_tiny_store_tables_and_plot(run_cli, tiny_store: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "plots" / "hamming.png"
    r = run_cli("hamming", tiny_store, "--plot", out, "--batches", "20")
    assert r.exit_code == 0, r.stderr
    for text in ("Pairwise masked Hamming distances", "Simulated ManiNeg batches", "suggested upper bound",
                 "distinct manifestations for batches of 64"):
        assert text in r.stdout
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out.parent.iterdir() if p.name != "hamming.png"]  # no temporary left over


def test_json_document(run_cli, bigger_store: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("hamming", bigger_store, "--json", "--mu", "0,11", "--batch-size", "32", "--batches", "15",
                "--bounds", "1,16", "--dedup", "masked")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    with Store(bigger_store) as st:
        m, k = st.manifests("train")
    s = doc["summary"]
    assert s["n_lumps"] == len(m) and s["masks"]["n_no_known"] == int((k.sum(1) == 0).sum())
    assert doc["distances"]["exact"] and doc["settings"]["bounds"] == [1, 16]
    assert [x["mu"] for x in doc["simulation"]] == [0.0, 11.0]
    assert doc["simulation"][0]["batch_size_refill"]["min"] == 32
    assert any("masked" in n for n in doc["notes"])
    assert sum(doc["distances"]["pair_hist"]) == (len(m) - s["masks"]["n_no_known"]) * (
        len(m) - s["masks"]["n_no_known"] - 1) // 2
    assert np.isfinite(doc["distances"]["mean_distance"])


def test_bigger_store_plot_and_compat(run_cli, bigger_store: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "h.png"
    r = run_cli("hamming", bigger_store, "--plot", out, "--preset", "compat", "--batches", "10", "--quiet")
    assert r.exit_code == 0, r.stderr
    assert out.stat().st_size > 10_000 and "note" in r.stdout


@pytest.mark.parametrize("args", [("--bounds", "0,18"), ("--bounds", "1"), ("--mu", "a,b"), ("--split", "nope"),
                                  ("--preset", "x"), ("--dedup", "x")])
def test_bad_options_exit_2(run_cli, tiny_store: Path, args: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("hamming", tiny_store, *args)
    assert r.exit_code == 2


def test_missing_store_exit_2(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("hamming", tmp_path / "none.h5", "--json")
    assert r.exit_code == 2
    assert json.loads(r.stdout)["ok"] is False
