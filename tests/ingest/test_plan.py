"""The ingest plan: pseudonyms, image de-duplication, plan-time quarantine, units, splits."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import numpy as np
import pytest

from mvkl.errors import ValidationFailed
from mvkl.ingest.plan import build_plan
from mvkl.ingest.records import AdapterResult, ImageRef, LeftOut, LumpRecord, RowRef, SourceInfo
from mvkl.quarantine import Reason


def pseudo(kind: str, raw: str) -> str:
    return hmac.new(b"k", f"{kind}|{raw}".encode(), hashlib.sha256).hexdigest()[:16]


def rec(root: Path, pid: str, row: int, cc: str | None, mlo: str | None, label: int = 1,
        split: str | None = None, batch: str = "b1") -> LumpRecord:
    images = {}
    for view, name in (("CC", cc), ("MLO", mlo)):
        if name:
            images[view] = ImageRef(root / name, name, view)
    return LumpRecord("ds", batch, pid, f"{pid}|e", f"lump{row}", images, None, label, "", -1, None, "",
                      np.zeros(35), np.ones(35), split, RowRef("t", row))


def result(recs: list[LumpRecord], batches: tuple[str, ...] = ("b1",)) -> AdapterResult:
    return AdapterResult(recs, [], "test", "ds", [SourceInfo(b, "test", "ds") for b in batches])


@pytest.fixture
def files(tmp_path: Path) -> Path:
    for n in ("a", "b", "c", "d", "e", "f"):
        (tmp_path / n).write_bytes(n.encode() * 10)
    return tmp_path


def test_units_dedup_and_quarantine(files: Path) -> None:
    recs = [
        rec(files, "P1", 2, "a", "b"),
        rec(files, "P2", 3, "c", "missing"),          # MLO file missing
        rec(files, "P1", 4, "a", "d"),                # shares 'a' with row 2 (same patient)
        rec(files, "P3", 5, "e", None),
        rec(files, "P4", 6, "e", "f"),                # 'e' belongs to P3: duplicate for P4
        rec(files, "P5", 7, "nope", None),            # nothing left: no-images
    ]
    plan = build_plan(result(recs), pseudo, ratios=(0.7, 0.1, 0.2), seed=0)
    q = {(e.row, e.view, e.reason) for e in plan.quarantined}
    assert q == {(3, "MLO", Reason.MISSING_FILE), (6, "CC", Reason.DUPLICATE), (7, "CC", Reason.MISSING_FILE),
                 (7, None, Reason.NO_IMAGES)}
    assert len(plan.lumps) == 5
    assert [im.rel for im in plan.images] == ["a", "b", "d", "c", "e", "f"]
    assert [u.lumps for u in plan.units] == [[0, 2], [1], [3], [4]]
    assert [u.images for u in plan.units] == [[0, 1, 2], [3], [4], [5]]
    assert plan.lumps[2].image == {"CC": 0, "MLO": 2}
    # Pseudonyms: keyed, namespaced by kind and data set; no raw value.
    assert plan.lumps[0].patient_id == pseudo("patient", "ds\x1fP1") == plan.lumps[2].patient_id
    assert plan.images[0].image_id == pseudo("image", "ds\x1fa")
    assert all("P1" not in x for pl in plan.lumps for x in (pl.lump_id, pl.patient_id, pl.exam_id))
    # One split per patient.
    split_of: dict[str, set[int]] = {}
    for pl in plan.lumps:
        split_of.setdefault(pl.patient_id, set()).add(pl.split)
    assert all(len(s) == 1 for s in split_of.values())


def test_left_out_rows_become_quarantine_entries(files: Path) -> None:
    res = result([rec(files, "P1", 2, "a", "b")])
    res.left_out = [LeftOut(RowRef("t", 5), "FB", Reason.UNSUPPORTED_VIEW, "no slot"),
                    LeftOut(RowRef("u", 3), "CC", Reason.SPLIT_CONFLICT)]
    plan = build_plan(res, pseudo, ratios=(0.7, 0.1, 0.2), seed=0)
    assert [e.to_dict(with_path=True) for e in plan.quarantined] == [
        {"table": "t", "row": 5, "view": "FB", "reason": "unsupported-view", "detail": "no slot", "source_path": ""},
        {"table": "u", "row": 3, "view": "CC", "reason": "split-conflict", "detail": "", "source_path": ""}]
    assert len(plan.lumps) == 1 and len(plan.images) == 2


def test_provided_splits_kept_and_leakage_fails(files: Path) -> None:
    ok = [rec(files, "P1", 2, "a", None, split="test"), rec(files, "P2", 3, "b", None, split="val"),
          rec(files, "P3", 4, "c", None)]
    plan = build_plan(result(ok), pseudo, ratios=(0.7, 0.1, 0.2), seed=0)
    assert [pl.split for pl in plan.lumps][:2] == [2, 1]
    bad = [rec(files, "P1", 2, "a", None, split="train"), rec(files, "P1", 9, "b", None, split="test")]
    with pytest.raises(ValidationFailed) as ei:
        build_plan(result(bad), pseudo, ratios=(0.7, 0.1, 0.2), seed=0)
    msg = str(ei.value)
    assert "t row 9" in msg and "P1" not in msg


def test_append_duplicates_existing_splits_and_source_numbers(files: Path) -> None:
    first = build_plan(result([rec(files, "P1", 2, "a", None), rec(files, "P2", 3, "b", None)]), pseudo,
                       ratios=(0.7, 0.1, 0.2), seed=0)
    existing_lumps = {pl.lump_id for pl in first.lumps}
    existing_splits = {pl.patient_id: 2 for pl in first.lumps}
    recs = [rec(files, "P1", 2, "a", None, batch="b2"), rec(files, "P1", 5, "c", None, batch="b2"),
            rec(files, "P9", 6, "d", None, batch="b2")]
    # Same lump key as before (P1, row 2 -> lump2): duplicate; P1's new lump keeps split 2.
    plan = build_plan(result(recs, ("b2",)), pseudo, ratios=(0.7, 0.1, 0.2), seed=0,
                      existing_lumps=existing_lumps, existing_splits=existing_splits, n_existing_sources=1)
    assert [(e.row, e.reason) for e in plan.quarantined] == [(2, Reason.DUPLICATE)]
    assert plan.lumps[0].split == 2 and plan.source_names == ["batch-2"] and plan.lumps[0].source == 1
    with pytest.raises(ValidationFailed):
        build_plan(result([rec(files, "P1", 5, "c", None, split="train", batch="b2")], ("b2",)), pseudo,
                   ratios=(0.7, 0.1, 0.2), seed=0, existing_splits=existing_splits)
