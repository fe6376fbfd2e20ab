"""`mvkl ingest` end to end on real DICOM files: quarantine, summary, strictness, workers, append."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import polars as pl
import pytest

from mvkl.store import Store, check_store
from tests.ingest.dicomfiles import make_mvkl_source
from tests.ingest.fixtures import key_file, mg_source, mg_store, run_ok, store_digest

__all__ = ["key_file", "mg_source", "mg_store"]  # fixtures used here


def test_end_to_end_quarantine_and_summary(mg_source: tuple[Path, dict[str, Any]], key_file: Path,
                                           tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    src, expect = mg_source
    out, qrep = tmp_path / "s.h5", tmp_path / "q.json"
    res = run_ok(run_cli, "ingest", src, "--out", out, "--image-size", "64", "--key-file", key_file,
                 "--workers", "1", "--json", "--quarantine-report", qrep)
    doc = json.loads(res.stdout)
    assert doc["ok"] and check_store(out) == []
    got = {(q["table"].split("/")[1], q["row"], q["view"]): q["reason"] for q in doc["quarantined"]}
    assert got == {(t, r, v): reason for (t, r, v), reason in expect["quarantine"].items()}
    assert doc["lumps"]["ingested"] == expect["lumps_stored"]
    assert doc["quarantined_by_reason"]["missing-file"] == 1
    # The local report has source-relative paths; the summary none.
    rep = json.loads(qrep.read_text())
    assert all(not Path(e["source_path"]).is_absolute() for e in rep["quarantined"])
    assert "source_path" not in json.dumps(doc) and str(src) not in res.stdout + res.stderr
    with Store(out) as st:
        assert st.n_lumps == expect["lumps_stored"]
        L = st.lumps
        n_img = st.n_images
        assert n_img == 2 * expect["lumps_stored"] - 3  # 3 lumps kept one good view
        # A lump with one bad view keeps the other (pointer -1).
        assert int(((L["cc"] < 0) | (L["mlo"] < 0)).sum()) == 3
        assert set(np.unique(L["split"])) == {0, 1, 2}  # the provided splits are kept
        assert st.info.attrs["sources"][0]["name"] == "batch-1"
        assert "20220901" not in json.dumps(st.info.attrs)
        assert all(r and "\n" not in r for r in L["report"])
        img = st.image(int(L["cc"][0]))
        assert img.shape == (64, 64) and img.dtype == np.uint8 and img.max() > 0
        # Chest wall on the left: the left half holds more tissue than the right.
        assert img[:, :32].sum() > img[:, 32:].sum()


def test_workers_do_not_change_the_store(mg_source: tuple[Path, dict[str, Any]], key_file: Path,
                                         mg_store: tuple[Path, dict[str, Any]], tmp_path: Path,
                                         run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "w2.h5"
    run_ok(run_cli, "ingest", mg_source[0], "--out", out, "--image-size", "64", "--key-file", key_file,
           "--workers", "2", "-q")
    assert store_digest(out) == store_digest(mg_store[0])


def test_strict_writes_nothing(mg_source: tuple[Path, dict[str, Any]], key_file: Path, tmp_path: Path,
                               run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "strict.h5"
    res = run_cli("ingest", mg_source[0], "--out", out, "--image-size", "64", "--key-file", key_file,
                  "--workers", "1", "--strict", "-q")
    assert res.exit_code == 1 and "--strict" in res.stderr
    assert not out.exists()


def test_invalid_tables_fail_before_pixels(tmp_path: Path, key_file: Path, run_cli: Callable[..., Any]) -> None:
    src = tmp_path / "src"
    make_mvkl_source(src, n_patients=4, hostile=False)
    p = src / "annotation" / "train_20220901.xlsx"
    df = pl.read_excel(p, infer_schema_length=0)
    df = df.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("未知")).otherwise(pl.col("label"))
                         .alias("label"))
    df = df.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("")).otherwise(pl.col("view_id"))
                         .alias("view_id"))
    df.write_excel(p)
    out = tmp_path / "bad.h5"
    res = run_cli("ingest", src, "--out", out, "--key-file", key_file, "--json")
    assert res.exit_code == 2
    doc = json.loads(res.stdout)
    probs = {(q["file"], q["row"], q["code"]) for q in doc["error"]["problems"]}
    assert probs == {("batch-1/train", 2, "view-id"), ("batch-1/train", 3, "label")}
    assert not out.exists() and not (tmp_path / "bad.h5.partial").exists()
    assert "未知" not in res.stdout + res.stderr and "P0901" not in res.stdout + res.stderr


def test_existing_output_needs_overwrite(mg_store: tuple[Path, dict[str, Any]], mg_source: tuple[Path, Any],
                                         key_file: Path, tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "o.h5"
    shutil.copy(mg_store[0], out)
    before = store_digest(out)
    res = run_cli("ingest", mg_source[0], "--out", out, "--key-file", key_file, "--image-size", "64", "-q")
    assert res.exit_code == 2 and "--overwrite" in res.stderr
    assert store_digest(out) == before
    run_ok(run_cli, "ingest", mg_source[0], "--out", out, "--key-file", key_file, "--image-size", "64",
           "--workers", "1", "--overwrite", "-q")
    assert store_digest(out) == before  # same inputs, same key: the same store


def test_append_a_batch(mg_store: tuple[Path, dict[str, Any]], mg_source: tuple[Path, Any], key_file: Path,
                        tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    out = tmp_path / "a.h5"
    shutil.copy(mg_store[0], out)
    with Store(out) as st:
        old_l = {k: v.copy() for k, v in st.lumps.items()}
        old_px = st.file["images/pixels"][()]
    # Batch 2: new patients, plus patient 0 of batch 1 again (same folder name prefix) under a
    # new study with no provided split in effect (all new rows are in train tables).
    src2 = tmp_path / "src2"
    make_mvkl_source(src2, n_patients=6, batch="20221123", seed=1, hostile=False,
                     stages=("train", "train", "valid", "test"), prefix="Q")
    # Reuse batch 1's table rows -> duplicates of lumps already in the store.
    shutil.copytree(mg_source[0] / "20220901", src2 / "20220901")
    shutil.copy(mg_source[0] / "annotation" / "train_20220901.xlsx", src2 / "annotation" / "train_20220901.xlsx")
    res = run_ok(run_cli, "ingest", src2, "--out", out, "--append", "--key-file", key_file, "--workers", "1",
                 "--json", "-q")
    doc = json.loads(res.stdout)
    assert check_store(out) == []
    dup = [q for q in doc["quarantined"] if q["reason"] == "duplicate"]
    expect = mg_source[1]
    not_stored = sum(1 for (t, _, v), r in expect["quarantine"].items() if t == "train" and r == "no-images")
    assert len(dup) == expect["rows"]["train"] - not_stored  # rows of batch 1 already in the store
    assert doc["lumps"]["ingested"] == 6 and doc["batches"] == ["batch-2", "batch-3"]
    # Messages number tables as the store names the batches: the copy of batch 1's folder sorts
    # first in this source, so it is stored as batch-2 and its rows are "batch-2/train row N".
    assert {q["table"] for q in dup} == {"batch-2/train"}
    assert all(q["table"].split("/")[0] in doc["batches"] for q in doc["quarantined"])
    with Store(out) as st:
        n_old = len(old_l["label"])
        for k, v in old_l.items():  # old content unchanged, first
            assert np.array_equal(st.lumps[k][:n_old], v), k
        assert np.array_equal(st.file["images/pixels"][: len(old_px)], old_px)
        assert st.n_lumps == n_old + 6
        assert [s["name"] for s in st.info.attrs["sources"]] == ["batch-1", "batch-2", "batch-3"]
        assert set(st.lumps["source"][n_old:].tolist()) == {2}
        sp = st.info.attrs["split_policy"]
        assert len(sp["history"]) == 2 and [h["method"] for h in sp["history"]] == ["provided by the source"] * 2
        assert sp["method"] == "provided by the source" and "ratios" not in sp  # MVKL tables give every split
    # Another key: refused.
    res = run_cli("ingest", src2, "--out", out, "--append", "--key-file", tmp_path / "other.key", "-q")
    assert res.exit_code == 2 and "key" in res.stderr


def _flat(text: str) -> str:
    """Help text with rich's box characters and line wrapping folded into single spaces."""
    return re.sub(r"[\s│╭╮╰╯─]+", " ", text)


def test_append_messages_use_the_stored_batch_numbers(mg_store: tuple[Path, dict[str, Any]], key_file: Path,
                                                      tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    """A table problem in a batch being appended to a 1-batch store is reported as batch-2, the
    name the batch would get in the store (not batch-1, its number within the source)."""
    out = tmp_path / "a.h5"
    shutil.copy(mg_store[0], out)
    before = store_digest(out)
    src = tmp_path / "src"
    make_mvkl_source(src, n_patients=3, batch="20230105", hostile=False, stages=("train", "train", "test"),
                     prefix="R")
    p = src / "annotation" / "train_20230105.xlsx"
    df = pl.read_excel(p, infer_schema_length=0)
    df.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("未知")).otherwise(pl.col("label"))
                    .alias("label")).write_excel(p)
    res = run_cli("ingest", src, "--out", out, "--append", "--key-file", key_file, "--json")
    assert res.exit_code == 2
    probs = json.loads(res.stdout)["error"]["problems"]
    assert [(q["file"], q["row"], q["code"]) for q in probs] == [("batch-2/train", 3, "label")]
    assert store_digest(out) == before
    # Without --append, the same source is batch-1.
    res = run_cli("ingest", src, "--out", tmp_path / "new.h5", "--key-file", key_file, "--json")
    assert res.exit_code == 2 and json.loads(res.stdout)["error"]["problems"][0]["file"] == "batch-1/train"


def test_help_has_an_example(run_cli: Callable[..., Any]) -> None:
    res = run_cli("ingest", "--help", env={"COLUMNS": "100"})
    text = _flat(res.stdout)
    assert res.exit_code == 0 and "mvkl ingest" in text and "--resume" in text
    for ex in ("mvkl ingest cbis/ --format cbis-ddsm --out cbis.h5",
               "mvkl ingest inbreast/ --format inbreast --out inbreast.h5 --seed 1",
               "mvkl ingest vindr/ --format vindr --out vindr.h5"):
        assert ex in text
    assert all(x in text for x in ("MVKL release", "CBIS-DDSM", "INbreast", "VinDr-Mammo", "manifest table"))
    assert "--adapter-option" in text and "val_fraction" in text and "birads3" in text


def test_format_help_lists_every_registered_adapter() -> None:
    """The --format help is generated from the registry: a newly registered adapter shows up."""
    import typer
    from typer.testing import CliRunner

    from mvkl.cli.ingest import register as register_ingest
    from mvkl.sources import ADAPTERS, register

    class Dummy:
        name = "dummy-layout"
        description = "test only"
        options_help: ClassVar[dict[str, str]] = {"knob": "a test option"}

        def detect(self, source: Path) -> bool:
            return False

        def read(self, source, tables=None, dataset=None, *, seed=0, options=None, first_batch=1):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    register(Dummy())
    try:
        app = typer.Typer()
        app.callback()(lambda: None)
        register_ingest(app)
        res = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "100"})
    finally:
        ADAPTERS.pop("dummy-layout", None)
    text = _flat(res.stdout)
    fmt = text[text.index("--format"):text.index("--table")]
    assert all(name in fmt for name in [*ADAPTERS, "dummy-layout"]), fmt
    assert "dummy-layout: knob" in text


def test_adapter_option_parsing() -> None:
    from mvkl.cli.ingest import parse_adapter_options
    from mvkl.errors import InputError

    assert parse_adapter_options(["a=1", " b = x=y "]) == {"a": "1", "b": "x=y"}
    assert parse_adapter_options(None) == {}
    for bad in (["a"], ["=1"], ["a=1", "a=2"]):
        with pytest.raises(InputError):
            parse_adapter_options(bad)


def test_provided_split_leakage_fails_loudly(tmp_path: Path, key_file: Path, run_cli: Callable[..., Any]) -> None:
    src = tmp_path / "src"
    make_mvkl_source(src, n_patients=10, hostile=False)
    train = pl.read_excel(src / "annotation" / "train_20220901.xlsx", infer_schema_length=0)
    test_p = src / "annotation" / "test_20220901.xlsx"
    test = pl.read_excel(test_p, infer_schema_length=0)
    leaked = train["patient_id"][2]
    test.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(leaked)).otherwise(pl.col("patient_id"))
                      .alias("patient_id")).write_excel(test_p)
    out = tmp_path / "leak.h5"
    res = run_cli("ingest", src, "--out", out, "--key-file", key_file, "--json")
    assert res.exit_code == 2
    probs = json.loads(res.stdout)["error"]["problems"]
    assert len(probs) == 1 and probs[0]["code"] == "split-leakage"
    assert "batch-1/train row 4" in probs[0]["message"] and "batch-1/test row 3" in probs[0]["message"]
    assert leaked not in res.stdout + res.stderr and not out.exists()
