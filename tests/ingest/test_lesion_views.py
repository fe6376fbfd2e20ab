"""`--views lesion[:CONTEXT]`: lesion-centred crops land on the lesion; no location, no crop."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mvkl.dicom.lesionview import LesionCrop, lesion_square
from mvkl.errors import InputError
from mvkl.ingest.lesions import parse_views
from mvkl.ingest.pipeline import IngestOptions, run_ingest
from mvkl.store import Store, check_store
from tests.ingest.fixtures import ingest_killed_after
from tests.ingest.test_lesions import BRIGHT, CASES, TISSUE, _write_source

SIZE = 32


def _opts(src: Path, out: Path, **kw: object) -> IngestOptions:
    return IngestOptions(source=src, out=out, format="csv", image_size=SIZE, key_file=out.parent / "k",
                         quiet=True, views="lesion:2.5", **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lesion_view_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    tmp = tmp_path_factory.mktemp("lv")
    _write_source(tmp / "src", unlocated=True)
    out = tmp / "lv.h5"
    return out, run_ingest(_opts(tmp / "src", out))


def test_crops_are_centred_on_the_lesion(lesion_view_store: tuple[Path, dict[str, object]]) -> None:
    out, _ = lesion_view_store
    assert check_store(out) == []
    with Store(out) as st:
        assert st.views == "lesion:2.5" and st.n_lumps == len(CASES) and st.n_images == 2 * len(CASES)
        les, meta = st.lesions(), st.images_meta
        assert sorted(les["image"].tolist()) == list(range(st.n_images))
        t, b = TISSUE / 4095, BRIGHT / 4095
        for n, i in enumerate(les["image"].tolist()):
            box = les["box"][n]
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            assert abs(cx - SIZE / 2) < 1 and abs(cy - SIZE / 2) < 1  # the stored box is centred
            # side = 2.5 x the lesion's largest side: the box spans 1/2.5 of the crop on that axis
            assert max(box[2] - box[0], box[3] - box[1]) == pytest.approx(SIZE / 2.5, abs=0.6)
            img = st.image(int(i)).astype(np.float64) / 255.0
            excess = np.clip((img - t) / (b - t), 0, None)  # the planted rectangle, from the pixels
            yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
            assert abs((excess * xx).sum() / excess.sum() - SIZE / 2) < 1.5
            assert abs((excess * yy).sum() / excess.sum() - SIZE / 2) < 1.5
        assert set(meta["flipped"].tolist()) == {0, 1}


def test_missing_location_is_quarantined(lesion_view_store: tuple[Path, dict[str, object]]) -> None:
    _, doc = lesion_view_store
    assert doc["quarantined_by_reason"] == {"no-lesion-location": 3}  # the lump, and each of its views


def test_crop_geometry() -> None:
    # 20 x 10 px box, context 2.5 -> 50 px; the 10 mm floor at 0.1 mm/px -> 100 px wins
    assert lesion_square(LesionCrop((100, 200, 120, 210), 2.5, 10.0), (0.1, 0.1)) == (155, 60, 255, 160)
    assert lesion_square(LesionCrop((100, 200, 120, 210), 2.5, 0.0), (0.1, 0.1)) == (180, 85, 230, 135)
    assert lesion_square(LesionCrop((100, 200, 120, 210), 2.5, 10.0), None) == (180, 85, 230, 135)
    assert parse_views("whole") is None and parse_views("lesion") == 2.5 and parse_views("Lesion:3") == 3.0
    for bad in ("lesions", "lesion:x", "lesion:0.5"):
        with pytest.raises(InputError):
            parse_views(bad)


def test_lesion_view_ingest_resumes(lesion_view_store: tuple[Path, dict[str, object]], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ref, _ = lesion_view_store
    src, out = ref.parent / "src", tmp_path / "r.h5"
    (tmp_path / "k").write_bytes((ref.parent / "k").read_bytes())
    ingest_killed_after(_opts(src, out), 2, monkeypatch)
    with pytest.raises(InputError, match="fingerprint"):  # the views are part of the plan
        run_ingest(_opts(src, out, resume=True, lesion_min_mm=5.0))
    doc = run_ingest(_opts(src, out, resume=True))
    assert 0 < doc["resumed_images"] < doc["images"]["planned"]
    with Store(ref) as a, Store(out) as b:
        np.testing.assert_array_equal(a.file["images/pixels"][()], b.file["images/pixels"][()])
        for k, v in a.lesions().items():
            np.testing.assert_array_equal(v, b.lesions()[k])
    with pytest.raises(InputError, match="views"):
        run_ingest(IngestOptions(source=src, out=out, format="csv", key_file=tmp_path / "k", quiet=True,
                                 append=True))




def test_info_says_which_views_and_preview_draws_boxes(lesion_view_store: tuple[Path, dict[str, object]],
                                                       tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    out, _ = lesion_view_store
    res = run_cli("info", out)
    assert res.exit_code == 0 and "lesion-centred crops (side 2.5" in res.stdout
    assert "lesion boxes 8 on 8 images" in res.stdout
    res = run_cli("info", out, "--json")
    doc = json.loads(res.stdout)
    assert doc["image_kind"] == "lesion:2.5" and doc["lesions"]["kinds"] == {"calcification": 4, "mass": 4}
    sheet = tmp_path / "sheet.png"
    assert run_cli("info", out, "--preview", sheet).exit_code == 0 and sheet.stat().st_size > 0
