"""The CBIS-DDSM and VinDr-Mammo fixture trees (real layouts) ingest with their lesion boxes:
every box of a stored image reaches the store or is counted as lying in the cropped-away
background, and each stored box keeps its kind."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from mvkl.ingest.pipeline import IngestOptions, run_ingest
from mvkl.store import Store, check_store
from tests.sources import _layouts as L


@pytest.mark.parametrize("fmt", ["cbis-ddsm", "vindr"])
def test_fixture_boxes_reach_the_store(tmp_path: Path, fmt: str, caplog: pytest.LogCaptureFixture) -> None:
    fx: dict[str, Any] = (L.make_cbis if fmt == "cbis-ddsm" else L.make_vindr)(tmp_path / "src")
    with caplog.at_level(logging.WARNING):
        doc = run_ingest(IngestOptions(source=tmp_path / "src", out=tmp_path / "s.h5", format=fmt, image_size=32,
                                       key_file=tmp_path / "k", quiet=True))
    stored = [e for e in fx["expect"].values() if e.stored]
    assert doc["images"]["ingested"] == len(stored)
    assert check_store(tmp_path / "s.h5") == []
    m = re.search(r"(\d+) lesion box\(es\) lie wholly outside", caplog.text)
    dropped = int(m.group(1)) if m else 0
    with Store(tmp_path / "s.h5") as st:
        les = st.lesions()
        kinds = [st.lesion_kinds[int(k)] for k in les["kind"]]
    want = [k for e in stored for k, _ in e.boxes]
    assert len(kinds) + dropped == len(want) and len(kinds) > 0
    assert all(kinds.count(k) <= want.count(k) for k in set(kinds))
