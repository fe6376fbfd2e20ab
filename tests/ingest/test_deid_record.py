"""The store's de-identification record claims only the PS3.15 options actually applied."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from mvkl.store import Store
from tests.ingest.dicomfiles import phantom, write_mg


def _drop_age(ds: object) -> None:
    if hasattr(ds, "PatientAge"):
        del ds.PatientAge  # type: ignore[attr-defined]


def _ingest(tmp_path: Path, header_age: bool, table_age: str) -> Path:
    from mvkl.ingest.pipeline import IngestOptions, run_ingest

    src = tmp_path / "src"
    rows = []
    for i, lat in enumerate("LR"):
        for view in ("CC", "MLO"):
            write_mg(src / f"p{i}_{view}.dcm", phantom(laterality=lat, seed=i), laterality=lat, view=view,
                     mutate=None if header_age else _drop_age)
        rows.append({"patient_id": f"p{i}", "study_id": f"s{i}", "cc_path": f"p{i}_CC.dcm",
                     "mlo_path": f"p{i}_MLO.dcm", "label": "malignant" if i else "benign",
                     "age": table_age if i else ""})
    pl.DataFrame(rows).write_csv(src / "manifest.csv")
    out = tmp_path / "s.h5"
    run_ingest(IngestOptions(source=src, out=out, format="csv", image_size=32, key_file=tmp_path / "k",
                             quiet=True))
    return out


@pytest.mark.parametrize(("header_age", "table_age", "buckets", "codes"), [
    (False, "", [-1, -1], ["113100"]),
    (False, "52", [-1, 50], ["113100", "113108"]),
])
def test_retain_patient_characteristics_only_when_age_kept(tmp_path: Path, header_age: bool, table_age: str,
                                                           buckets: list[int], codes: list[str]) -> None:
    out = _ingest(tmp_path, header_age, table_age)
    with Store(out) as st:
        assert sorted(st.lumps["age_bucket"].tolist()) == buckets
        assert [o["code"] for o in st.info.attrs["deid"]["options"]] == codes
