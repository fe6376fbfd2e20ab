"""Lesion boxes of the public data sets land on the planted pixels after the whole pixel pipeline.

Each adapter gets a tree in its release layout whose DICOM files hold a bright rectangle in a
breast with cropped-away background (both lateralities, so flipped and unflipped breasts;
MONOCHROME2 and MONOCHROME1), annotated the data set's way: INbreast ``AllXML`` ``Point_px``
outlines, CBIS-DDSM ROI masks (full-size DICOM, next to a smaller crop), VinDr-Mammo
``finding_annotations.csv`` boxes. After ``mvkl ingest`` the stored box must predict the stored
pixels (:func:`tests.ingest.test_lesions._check_box_on_pixels`), and ``mvkl info`` must count them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from mvkl.cli.main import app
from mvkl.ingest.pipeline import IngestOptions, run_ingest
from mvkl.store import Store, check_store
from tests.ingest.dicomfiles import write_mg
from tests.ingest.test_lesions import BITS, CASES, SIZE, _breast, _check_box_on_pixels
from tests.sources import _layouts as L

KIND = ["mass", "calcification", "mass", "asymmetry"]  # per CASES entry


def _mg(path: Path, k: int, view: str) -> None:
    lat, mono1, (h, w), box = CASES[k]
    extra = {"PhotometricInterpretation": "MONOCHROME1"} if mono1 else {}
    write_mg(path, _breast(h, w, lat, box, mono1), laterality=lat, view=view, bits=BITS, **extra)


def _inbreast(root: Path) -> None:
    rows = []
    for k, (lat, _m, _s, (x0, y0, x1, y1)) in enumerate(CASES):
        h = f"{k:016x}"
        for j, view in enumerate(("CC", "MLO")):
            fname = f"{20586900 + 10 * k + j}"
            _mg(root / "AllDICOMs" / f"{fname}_{h}_MG_{lat}_{'ML' if view == 'MLO' else view}_ANON.dcm", k, view)
            name = {"mass": "Mass", "calcification": "Cluster", "asymmetry": "Asymmetry"}[KIND[k]]
            pts = [(x0, y0), (x1 - 1, y0), (x1 - 1, y1 - 1), (x0, y1 - 1)]  # the outline's pixels
            (root / "AllXML").mkdir(parents=True, exist_ok=True)
            (root / "AllXML" / f"{fname}.xml").write_text(L._plist([name], {name: pts}), encoding="utf-8")
            rows.append(["removed", "removed", lat, view, "201001", fname, "2", "4a" if k % 2 else "2",
                         "X" if KIND[k] == "mass" else "", "", "", "", "", "", "ANNOTATED", "", ""])
    with open(root / "INbreast.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(L.INBREAST_HEADER)
        w.writerows(rows)


def _cbis(root: Path) -> None:
    from mvkl.synth.cases import make_uid

    tables: dict[str, list[list[str]]] = {"mass": [], "calc": []}
    for k, (lat, _m, (h, w), box) in enumerate(CASES):
        kind = "calc" if KIND[k] == "calcification" else "mass"
        side = {"L": "LEFT", "R": "RIGHT"}[lat]
        for view in ("CC", "MLO"):
            case = f"{'Calc' if kind == 'calc' else 'Mass'}-Training_P_{k + 1:05d}_{side}_{view}"
            study, series = make_uid("s", case), make_uid("se", case)
            c_study, c_series = make_uid("cs", case), make_uid("cse", case)
            _mg(root / "CBIS-DDSM" / case / study / series / "000000.dcm", k, view)
            crop_dir = root / "CBIS-DDSM" / f"{case}_1" / c_study / c_series
            L.write_mask(crop_dir / "000000.dcm", (h, w), box, patient_id=f"{case}_1", study_uid=c_study,
                         series_uid=c_series)  # here the mask is 000000 and the crop 000001
            L.write_mask(crop_dir / "000001.dcm", (48, 48), (8, 8, 40, 40), patient_id=f"{case}_1",
                         study_uid=c_study, series_uid=c_series)
            shape = "FOCAL_ASYMMETRIC_DENSITY" if KIND[k] == "asymmetry" else "IRREGULAR"
            desc = ([shape, "SPICULATED"] if kind == "mass" else ["PLEOMORPHIC", "CLUSTERED"])
            tables[kind].append([f"P_{k + 1:05d}", "2", side, view, "1", "mass" if kind == "mass" else
                                 "calcification", *desc, "4", "MALIGNANT" if k % 2 else "BENIGN", "3",
                                 f"{case}/{study}/{series}/000000.dcm", f"{case}_1/{c_study}/{c_series}/000000.dcm",
                                 f"{case}_1/{c_study}/{c_series}/000001.dcm\n"])
    for kind, header in (("mass", L.MASS_HEADER), ("calc", L.CALC_HEADER)):
        with open(root / f"{kind}_case_description_train_set.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(tables[kind])


def _vindr(root: Path) -> None:
    breast, finding = [], []
    cats = {"mass": "['Mass']", "calcification": "['Suspicious Calcification']",
            "asymmetry": "['Focal Asymmetry']"}
    for k, (lat, _m, (h, w), box) in enumerate(CASES):
        study = L.hexid("study", k)
        for view in ("CC", "MLO"):
            img, ser = L.hexid(k, view), L.hexid("series", k, view)
            _mg(root / "images" / study / f"{img}.dicom", k, view)
            base = [study, ser, img, lat, view, str(h), str(w), f"BI-RADS {4 if k % 2 else 2}", "DENSITY C"]
            breast.append([*base, "training"])
            finding.append([*base, cats[KIND[k]], "BI-RADS 4", *(f"{v:.10g}" for v in box), "training"])
    for name, header, rows in (("breast-level_annotations.csv", L.VINDR_BREAST_HEADER, breast),
                               ("finding_annotations.csv", L.VINDR_FINDING_HEADER, finding)):
        with open(root / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(header)
            w.writerows(rows)


BUILD = {"inbreast": _inbreast, "cbis-ddsm": _cbis, "vindr": _vindr}


@pytest.fixture(scope="module", params=sorted(BUILD))
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    tmp = tmp_path_factory.mktemp(request.param)
    BUILD[request.param](tmp / "src")
    out = tmp / "s.h5"
    run_ingest(IngestOptions(source=tmp / "src", out=out, format=request.param, image_size=SIZE,
                             key_file=tmp / "k", quiet=True))
    return request.param, out


def test_boxes_land_on_the_planted_pixels(store: tuple[str, Path]) -> None:
    fmt, out = store
    assert check_store(out) == []
    with Store(out) as st:
        les, meta = st.lesions(), st.images_meta
        assert len(les["image"]) == st.n_images == 2 * len(CASES)  # one box per image, none lost
        assert sorted(int(i) for i in les["image"]) == list(range(st.n_images))
        flips, scales = set(), set()
        for n in range(len(les["image"])):
            i, box = int(les["image"][n]), les["box"][n].astype(np.float64)
            flips.add(int(meta["flipped"][i]))
            scales.add(float(meta["scale"][i]).is_integer())
            _check_box_on_pixels(st.image(i).astype(np.float64) / 255.0, box, float(meta["scale"][i]))
        assert flips == {0, 1} and scales == {True, False}
        kinds = sorted(st.lesion_kinds[int(k)] for k in les["kind"])
        assert kinds == sorted(2 * KIND), fmt


def test_info_counts_and_draws_the_boxes(store: tuple[str, Path], tmp_path: Path) -> None:
    fmt, out = store
    res: Any = CliRunner().invoke(app, ["info", str(out), "--json", "--preview", str(tmp_path / "p.png")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["lesions"]["boxes"] == doc["lesions"]["images_with_box"] == 2 * len(CASES)
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = CliRunner().invoke(app, ["info", str(out)]).stdout
    assert f"lesion boxes {2 * len(CASES)} on {2 * len(CASES)} images" in text
    if fmt == "inbreast":  # the release's "removed" cells are reported, not errors
        assert f"values read as unknown: Patient ID {2 * len(CASES)}, Patient age {2 * len(CASES)}" in text


def test_lesion_views_work_on_each_adapter(store: tuple[str, Path]) -> None:
    fmt, out = store
    les_out = out.with_name("lv.h5")
    run_ingest(IngestOptions(source=out.parent / "src", out=les_out, format=fmt, image_size=SIZE,
                             key_file=out.parent / "k", quiet=True, views="lesion"))
    assert check_store(les_out) == []
    with Store(les_out) as st:
        assert st.views.startswith("lesion") and st.n_images == 2 * len(CASES)
