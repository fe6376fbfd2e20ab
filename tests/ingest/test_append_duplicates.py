"""Issue 18 item 3: appends that cannot duplicate images or leak a patient across splits."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import polars as pl
import pytest

from tests.ingest.dicomfiles import phantom, write_mg

Run = Callable[..., Any]


def _source(root: Path, n: int = 8, uid: bool = True, prefix: str = "p", study: str = "s1") -> Path:
    rows = []
    for i in range(n):
        mutate = None if uid else (lambda ds: delattr(ds, "SOPInstanceUID"))
        for view in ("CC", "MLO"):
            write_mg(root / f"{prefix}{i}" / f"{study}_{view}.dcm", phantom(seed=10 * i + (view == "MLO")),
                     view=view, mutate=mutate)
        rows.append({"patient_id": f"{prefix}{i}", "study_id": study, "cc_path": f"{prefix}{i}/{study}_CC.dcm",
                     "mlo_path": f"{prefix}{i}/{study}_MLO.dcm", "label": "malignant" if i % 2 else "benign"})
    pl.DataFrame(rows).write_csv(root / f"manifest_{study}.csv")
    return root / f"manifest_{study}.csv"


def _ingest(run_cli: Run, table: Path, out: Path, *extra: Any) -> dict[str, Any]:
    res = run_cli("ingest", table, "--format", "csv", "--out", out, "--image-size", "32", "--key-file",
                  out.parent / "k.key", "--workers", "1", "--quiet", "--json", *extra)
    assert res.exit_code == 0, res.stdout + res.stderr
    return dict(json.loads(res.stdout))


def _n_images(out: Path) -> int:
    with h5py.File(out) as f:
        return int(f["images/pixels"].shape[0])


def test_appending_the_same_source_twice_without_the_dataset_name_adds_nothing(tmp_path: Path,
                                                                              run_cli: Run) -> None:
    table = _source(tmp_path / "src")
    out = tmp_path / "s.h5"
    first = _ingest(run_cli, table, out, "--dataset", "site-a")
    assert first["images"]["ingested"] == 16
    again = _ingest(run_cli, table, out, "--append")  # no --dataset: the store's name
    assert again["dataset"] == "site-a"
    assert again["images"]["ingested"] == 0 and again["lumps"]["ingested"] == 0
    assert again["quarantined_by_reason"] == {"duplicate": 8}
    assert _n_images(out) == 16


def test_the_same_images_under_another_dataset_name_are_skipped_by_sop_instance_uid(tmp_path: Path,
                                                                                      run_cli: Run) -> None:
    table = _source(tmp_path / "src")
    out = tmp_path / "s.h5"
    _ingest(run_cli, table, out, "--dataset", "site-a")
    doc = _ingest(run_cli, table, out, "--append", "--dataset", "site-b")  # explicit: new pseudonyms
    assert doc["images"]["ingested"] == 0
    assert doc["quarantined_by_reason"].get("duplicate") == 16  # every image skipped and counted
    assert all("already in the store" in q["detail"] for q in doc["quarantined"] if q["reason"] == "duplicate")
    assert _n_images(out) == 16


def test_without_sop_instance_uid_the_pixels_identify_the_image(tmp_path: Path, run_cli: Run) -> None:
    table = _source(tmp_path / "src", uid=False)
    out = tmp_path / "s.h5"
    _ingest(run_cli, table, out, "--dataset", "site-a")
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "src", copy)
    doc = _ingest(run_cli, copy / table.name, out, "--append", "--dataset", "site-b")
    assert doc["quarantined_by_reason"].get("duplicate") == 16 and _n_images(out) == 16
    new = _source(tmp_path / "src2", uid=False, prefix="q")  # other images are still added
    for k, p in enumerate(sorted((tmp_path / "src2").rglob("*.dcm"))):
        write_mg(p, phantom(seed=1000 + k), view="MLO" if "MLO" in p.name else "CC",
                 mutate=lambda ds: delattr(ds, "SOPInstanceUID"))
    doc = _ingest(run_cli, new, out, "--append", "--dataset", "site-b")
    assert doc["images"]["ingested"] == 16 and _n_images(out) == 32


def test_a_patient_already_in_the_store_keeps_its_split(tmp_path: Path, run_cli: Run) -> None:
    src = tmp_path / "src"
    first = _source(src, n=10, study="s1")
    out = tmp_path / "s.h5"
    _ingest(run_cli, first, out, "--dataset", "site-a")
    second = _source(src, n=10, study="s2")  # the same patients, new exams
    _ingest(run_cli, second, out, "--append")
    with h5py.File(out) as f:
        pats = [bytes(x) for x in f["lumps/patient_id"][()]]
        splits = [int(x) for x in f["lumps/split"][()]]
    assert len(pats) == 20 and len(set(pats)) == 10  # same pseudonyms: the store's data set name
    by_patient: dict[bytes, set[int]] = {}
    for p, s in zip(pats, splits, strict=True):
        by_patient.setdefault(p, set()).add(s)
    assert all(len(s) == 1 for s in by_patient.values())


@pytest.mark.parametrize("flag", [[], ["--dataset", "site-a"]])
def test_source_keys_are_stored_as_keyed_pseudonyms(flag: list[str], tmp_path: Path, run_cli: Run) -> None:
    import pydicom

    table = _source(tmp_path / "src", n=2)
    out = tmp_path / "s.h5"
    _ingest(run_cli, table, out, *flag)
    uids = {str(pydicom.dcmread(p).SOPInstanceUID) for p in (tmp_path / "src").rglob("*.dcm")}
    with h5py.File(out) as f:
        keys = [x.decode() for x in f["ingest/source_key"][()]]
    assert len(keys) == 4 and len(set(keys)) == 4 and all(k.startswith("u") for k in keys)
    raw = out.read_bytes()
    assert not any(u.encode() in raw for u in uids)  # never the raw UID
