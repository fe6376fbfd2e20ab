"""Lesion boxes survive the whole-view pixel pipeline (crop, flip, square pad, resize) exactly.

A bright rectangle is planted in real written DICOM files (both lateralities, so flipped and
unflipped breasts; cropped background margins; MONOCHROME2 and MONOCHROME1); the CSV manifest
gives its source box. The stored box must predict the stored pixels: each stored pixel's share of
the box (a slow, obvious area overlap) equals its brightness above the tissue level.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from mvkl.ingest.lesions import stored_box
from mvkl.ingest.pipeline import IngestOptions, run_ingest
from mvkl.ingest.records import LESION_KINDS, SourceLesion
from mvkl.store import Store, check_store
from tests.ingest.dicomfiles import write_mg
from tests.ingest.fixtures import ingest_killed_after, key_file, mg_source, mg_store

__all__ = ["key_file", "mg_source", "mg_store"]

BITS = 12
TISSUE, BRIGHT = 1200, 3800  # stored levels (of 4095) of the breast and of the planted lesion
SIZE = 48


def _breast(rows: int, cols: int, laterality: str, box: tuple[int, int, int, int], mono1: bool) -> np.ndarray:
    """Uniform tissue in a half-ellipse at the chest wall with background margins above and below,
    and a uniform bright rectangle ``box = (xmin, ymin, xmax, ymax)`` (pixel edges)."""
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float64)
    x_wall = 0 if laterality == "L" else cols
    inside = ((yy + 0.5 - rows / 2) / (rows * 0.4)) ** 2 + ((xx + 0.5 - x_wall) / (cols * 0.75)) ** 2 < 1
    img = np.where(inside, TISSUE, 0).astype(np.uint16)
    x0, y0, x1, y1 = box
    img[y0:y1, x0:x1] = BRIGHT
    return (((1 << BITS) - 1) - img).astype(np.uint16) if mono1 else img


def _coverage(box: np.ndarray, size: int) -> np.ndarray:
    """Share of each stored pixel ``[j, j+1) x [i, i+1)`` inside ``box`` (one pixel at a time)."""
    cov = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            ox = max(0.0, min(j + 1, box[2]) - max(j, box[0]))
            oy = max(0.0, min(i + 1, box[3]) - max(i, box[1]))
            cov[i, j] = ox * oy
    return cov


def _check_box_on_pixels(img: np.ndarray, box: np.ndarray, scale: float) -> None:
    """The stored pixels around ``box`` are the tissue level plus the box's coverage.

    With an integer scale the resize is one exact block mean, so every pixel must match; with a
    fractional one the two-stage resize (:func:`mvkl.dicom.geometry.render`) smears an edge by up
    to one block, so only the planted mass and its centroid must match (both are kept by an area
    resize up to that smear), and the pixels well inside the box must be fully bright."""
    t, b = TISSUE / 4095, BRIGHT / 4095
    cov = _coverage(box, SIZE)
    x0, y0 = max(0, int(np.floor(box[0])) - 3), max(0, int(np.floor(box[1])) - 3)
    x1, y1 = int(np.ceil(box[2])) + 3, int(np.ceil(box[3])) + 3
    win = (slice(y0, y1), slice(x0, x1))
    excess = (img[win] - t) / (b - t)
    assert (cov == 1).any()
    if scale.is_integer():
        assert np.abs(excess - cov[win]).max() < 0.01
        return
    assert abs(excess.sum() - cov.sum()) < 0.02 * cov.sum()
    yy, xx = np.mgrid[win]
    cy, cx = (excess * (yy + 0.5)).sum() / excess.sum(), (excess * (xx + 0.5)).sum() / excess.sum()
    assert abs(cx - (box[0] + box[2]) / 2) < 0.25 and abs(cy - (box[1] + box[3]) / 2) < 0.25, (cx, cy, box)
    deep = cov.copy()
    deep[:int(np.ceil(box[1])) + 1] = 0
    deep[int(np.floor(box[3])) - 1:] = 0
    deep[:, :int(np.ceil(box[0])) + 1] = 0
    deep[:, int(np.floor(box[2])) - 1:] = 0
    assert (deep == 1).any() and np.abs(((img - t) / (b - t))[deep == 1] - 1).max() < 0.01


CASES = [  # laterality, MONOCHROME1, source shape, box (xmin, ymin, xmax, ymax)
    ("L", False, (300, 200), (40, 120, 70, 160)),
    ("R", False, (300, 200), (150, 100, 178, 150)),
    ("R", True, (260, 230), (160, 140, 200, 170)),
    ("L", True, (240, 260), (30, 90, 90, 130)),
]


def _write_source(src: Path, unlocated: bool = False) -> None:
    """One lump per case; ``unlocated`` adds a lump without a box (both views)."""
    rows = []
    for k, (lat, mono1, (h, w), box) in enumerate(CASES):
        extra = {"PhotometricInterpretation": "MONOCHROME1"} if mono1 else {}
        for view in ("CC", "MLO"):
            write_mg(src / f"p{k}_{view}.dcm", _breast(h, w, lat, box, mono1), laterality=lat, view=view,
                     bits=BITS, **extra)
        rows.append({"patient_id": f"p{k}", "study_id": f"s{k}", "laterality": lat, "cc_path": f"p{k}_CC.dcm",
                     "mlo_path": f"p{k}_MLO.dcm", "label": "malignant" if k % 2 else "benign",
                     "xmin": box[0], "ymin": box[1], "xmax": box[2], "ymax": box[3],
                     "lesion_kind": "mass" if k % 2 else "calcification"})
    if unlocated:
        rows.append({**rows[0], "patient_id": "px", "study_id": "sx", "xmin": None, "ymin": None, "xmax": None,
                     "ymax": None, "lesion_kind": None})
    pl.DataFrame(rows).write_csv(src / "manifest.csv")


@pytest.fixture(scope="module")
def lesion_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("les")
    _write_source(tmp / "src")
    out = tmp / "s.h5"
    run_ingest(IngestOptions(source=tmp / "src", out=out, format="csv", image_size=SIZE, key_file=tmp / "k",
                             quiet=True))
    return out


def test_resumed_ingest_keeps_the_boxes_and_append_offsets_them(lesion_store: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    src, out, key = lesion_store.parent / "src", tmp_path / "r.h5", lesion_store.parent / "k"
    ingest_killed_after(IngestOptions(source=src, out=out, format="csv", image_size=SIZE, key_file=key,
                                      quiet=True), 2, monkeypatch)
    doc = run_ingest(IngestOptions(source=src, out=out, format="csv", image_size=SIZE, key_file=key, quiet=True,
                                   resume=True))
    assert 0 < doc["resumed_images"] < doc["images"]["planned"]
    with Store(lesion_store) as a, Store(out) as b:
        for k, v in a.lesions().items():
            np.testing.assert_array_equal(v, b.lesions()[k])
    # --append: a second batch's boxes follow the first's, pointing at the appended rows
    src2 = tmp_path / "src2"
    _write_source(src2)
    df = pl.read_csv(src2 / "manifest.csv").with_columns(pl.col("patient_id") + "b", pl.col("study_id") + "b")
    df.write_csv(src2 / "manifest.csv")
    run_ingest(IngestOptions(source=src2, out=out, format="csv", key_file=key, quiet=True, append=True))
    assert check_store(out) == []
    with Store(out) as st:
        les, n = st.lesions(), 2 * len(CASES)
        assert len(les["image"]) == 2 * n
        np.testing.assert_array_equal(les["image"][n:], les["image"][:n] + n)
        np.testing.assert_array_equal(les["lump"][n:], les["lump"][:n] + len(CASES))
        np.testing.assert_array_equal(les["box"][n:], les["box"][:n])


def test_stored_boxes_land_on_the_planted_pixels(lesion_store: Path) -> None:
    assert check_store(lesion_store) == []
    with Store(lesion_store) as st:
        les = st.lesions()
        assert st.views == "whole" and st.lesion_kinds == list(LESION_KINDS)
        assert len(les["image"]) == 2 * len(CASES)
        L, meta = st.lumps, st.images_meta
        flips, scales = set(), set()
        for n in range(len(les["image"])):
            i, lump, box = int(les["image"][n]), int(les["lump"][n]), les["box"][n].astype(np.float64)
            assert i in (int(L["cc"][lump]), int(L["mlo"][lump]))
            flips.add(int(meta["flipped"][i]))
            img = st.image(i).astype(np.float64) / 255.0
            _check_box_on_pixels(img, box, float(meta["scale"][i]))
            scales.add(float(meta["scale"][i]).is_integer())
        assert flips == {0, 1} and scales == {True, False}


def test_kinds_and_lumps(lesion_store: Path) -> None:
    with Store(lesion_store) as st:
        les, lab = st.lesions(), st.lumps["label"]
        kinds = [st.lesion_kinds[int(k)] for k in les["kind"]]
        assert kinds == ["mass" if lab[int(j)] == 1 else "calcification" for j in les["lump"]]


def test_box_mapping_matches_the_geometry_formula() -> None:
    """The documented source->stored map (mvkl.dicom.geometry), edges of a flipped crop swap."""
    les = SourceLesion("mass", (30.0, 40.0, 50.0, 60.0))
    crop, size = (10, 0, 110, 80), 50  # y0, x0, y1, x1: h 100, w 80 -> L 100, scale 2, pad_top 0
    assert stored_box(les, crop, False, size) == (15.0, 15.0, 25.0, 25.0)
    assert stored_box(les, crop, True, size) == ((80 - 50) / 2, 15.0, (80 - 30) / 2, 25.0)
    assert stored_box(SourceLesion("mass", (90.0, 40.0, 99.0, 60.0)), crop, False, size) is None  # in the pad
    assert stored_box(SourceLesion("mass", (70.0, 0.0, 99.0, 20.0)), crop, False, size) == (35.0, 0.0, 40.0, 5.0)
    # chest wall on the right: the crop sits at the right edge of the square (col_off = L - w)
    assert stored_box(les, crop, False, size, "right") == (25.0, 15.0, 35.0, 25.0)


def test_store_without_lesions_has_an_empty_accessor(mg_store: tuple[Path, dict[str, object]]) -> None:
    with Store(mg_store[0]) as st:
        les = st.lesions()
        assert "lesions" not in st.file and st.views == "whole"
        assert les["box"].shape == (0, 4) and les["image"].dtype == np.int64 and les["kind"].dtype == np.uint8
