"""`mvkl synth` lesion boxes (annotation/lesions.csv) -> MVKL adapter -> lesion views on the lesion."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mvkl.ingest.pipeline import IngestOptions, run_ingest
from mvkl.sources.mvkl_release import MvklReleaseAdapter, side_boxes
from mvkl.store import Store, check_store
from mvkl.synth import generate

SIZE = 32


@pytest.fixture(scope="module")
def synth_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "src"
    generate(root, exams=10, seed=5, image_size=384, workers=1)
    return root


def test_side_boxes_hold_the_rendered_lesion_centres(synth_src: Path) -> None:
    manifest = json.loads((synth_src / "synth_manifest.json").read_text(encoding="utf-8"))
    boxes, problems = side_boxes(synth_src / "annotation" / "lesions.csv")
    assert problems == []
    checked = 0
    for lump in manifest["lumps_detail"]:
        got = boxes[(lump["table"].rsplit("/", 1)[-1], lump["row"])]
        for view, hits in lump["views"].items():
            x0, y0, x1, y1 = got[view].box
            h = hits[0]
            # edge coordinates: the rendered centre (a pixel index) sits at index + 0.5
            assert (x0 + x1) / 2 == pytest.approx(h["cx"] + 0.5, abs=0.11)
            assert (y0 + y1) / 2 == pytest.approx(h["cy"] + 0.5, abs=0.11)
            assert (x1 - x0) / 2 == pytest.approx(h["r"], abs=0.11)
            checked += 1
    assert checked >= 10


def test_adapter_attaches_boxes_and_lesion_views_centre_them(synth_src: Path, tmp_path: Path) -> None:
    res = MvklReleaseAdapter().read(synth_src)
    assert res.problems == []
    assert all(ref.lesions for rec in res.records for ref in rec.images.values())
    out = tmp_path / "lv.h5"
    run_ingest(IngestOptions(source=synth_src, out=out, format="mvkl", image_size=SIZE, key_file=tmp_path / "k",
                             quiet=True, views="lesion"))
    assert check_store(out) == []
    with Store(out) as st:
        assert st.views == "lesion:2.5"
        les = st.lesions()
        assert st.n_images == len(res.records) * 2 and len(les["image"]) >= st.n_images
        own = les["lump"] >= 0
        for n in np.flatnonzero(own):
            i, lump = int(les["image"][n]), int(les["lump"][n])
            if i not in (st.lumps["cc"][lump], st.lumps["mlo"][lump]):
                continue  # another lump's lesion that falls inside this crop
            b = les["box"][n]
            assert abs((b[0] + b[2]) / 2 - SIZE / 2) < 1 and abs((b[1] + b[3]) / 2 - SIZE / 2) < 1
        assert set(st.images_meta["flipped"].tolist()) == {0, 1}  # both breasts
