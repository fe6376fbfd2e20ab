from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from mvkl.manifest import schema as S
from tests.manifest.test_table import readable_frame


def test_show_json(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("manifest", "show", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["dim"] == 35 and len(doc["groups"]) == 9
    r = run_cli("manifest", "show", "--lang", "zh")
    assert r.exit_code == 0 and "肿块形状" in r.stdout


def test_validate_lists_all_problems_and_exits_2(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    df = readable_frame([{"lump_id": "1", "mass shape": "rund"}, {"lump_id": "1", "duct sign": "7"}])
    p = tmp_path / "bad.xlsx"
    df.write_excel(p)
    r = run_cli("manifest", "validate", str(p), "--json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert {(x["row"], x["code"]) for x in doc["problems"]} == {(2, "unknown-option"), (3, "value"),
                                                                 (3, "duplicate-id")}
    r = run_cli("manifest", "validate", str(p))
    assert r.exit_code == 2 and "3 problem" in r.stderr
    # the row, the column and a suggestion from the vocabulary; never the cell itself (issue 15)
    assert "mass shape (B)" in r.stdout and "round" in r.stdout and "rund" not in r.stdout + r.stderr


def test_validate_clean_exit_0_encode_decode(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    df = readable_frame([{"lump_id": "1", "mass shape": "分叶形", "comet tail sign": "1"},
                         {"lump_id": "2", "mass edge": "obscured"}])
    src = tmp_path / "readable.csv"
    df.write_csv(src)
    assert run_cli("manifest", "validate", str(src)).exit_code == 0
    wide = tmp_path / "wide.parquet"
    r = run_cli("manifest", "encode", str(src), "-o", str(wide), "--json")
    assert r.exit_code == 0, r.stderr
    w = pl.read_parquet(wide)
    assert w.columns[1:36] == S.dim_keys()
    assert w["mass_shape.lobulated"].to_list() == ["1", "0"]
    back = tmp_path / "back.csv"
    assert run_cli("manifest", "decode", str(wide), "-o", str(back)).exit_code == 0
    b = pl.read_csv(back, infer_schema=False)
    assert b["mass shape"].to_list() == ["lobulated", None]
    assert b["mass edge"].to_list() == [None, "obscured"]
    r = run_cli("manifest", "textualize", str(wide), "--json")
    rows = json.loads(r.stdout)["rows"]
    assert rows[0]["text"] == "mass shape: lobulated, miscellaneous: comet tail sign"


def test_bench_hamming_prints_figures(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("bench", "hamming", "--n", "20000", "--json")
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert doc["n"] == 20000 and doc["one_to_n_popcount_ms"] > 0 and "cpu_count" in doc["machine"]
