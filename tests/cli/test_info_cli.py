"""`mvkl info`: counts against the store's own arrays, preview sheet, contract violations."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from mvkl.store import Store
from tests.ingest.fixtures import key_file, mg_source, mg_store, run_ok

__all__ = ["key_file", "mg_source", "mg_store"]


def test_info_counts_match_the_store(mg_store: tuple[Path, dict[str, Any]], run_cli: Callable[..., Any]) -> None:
    path, summary = mg_store
    doc = json.loads(run_ok(run_cli, "info", path, "--json").stdout)
    with Store(path) as st:
        L, IM = st.lumps, st.images_meta
        assert doc["lumps"] == st.n_lumps == summary["store_totals"]["lumps"]
        assert doc["images"] == st.n_images
        for si, name in enumerate(("train", "val", "test")):
            sel = L["split"] == si
            assert doc["splits"][name]["lumps"] == int(sel.sum()) == summary["splits"][name]["lumps"]
            assert doc["splits"][name]["patients"] == len(set(L["patient_id"][sel].tolist()))
            assert doc["splits"][name]["labels"]["malignant"] == int((L["label"][sel] == 1).sum())
        assert doc["views"]["images"]["CC"] == int((IM["view"] == 0).sum())
        assert doc["views"]["lumps"]["CC+MLO"] == int(((L["cc"] >= 0) & (L["mlo"] >= 0)).sum())
        assert sum(doc["birads"].values()) == st.n_lumps
        k = L["manifest_known"].astype(bool)
        irr = 0
        assert doc["manifestations"]["prevalence_among_known"]["mass_shape.irregular"] == round(
            float(L["manifest"][k[:, irr], irr].mean()), 4)
    assert doc["key_fingerprint"] and doc["deid"]["ingest"]["allow_burned_in"] is False
    assert doc["sources"][0]["name"] == "batch-1" and doc["violations"] == [] and doc["ok"]
    human = run_ok(run_cli, "info", path).stdout
    assert "train" in human and "key fingerprint" in human and "batch-1" in human


def test_preview_sheet(mg_store: tuple[Path, dict[str, Any]], tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    png = tmp_path / "sheet.png"
    doc = json.loads(run_ok(run_cli, "info", mg_store[0], "--json", "--preview", png, "--preview-lumps", "4").stdout)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 4 <= doc["preview"]["images"] <= 8


def test_violations_exit_1(mg_store: tuple[Path, dict[str, Any]], tmp_path: Path,
                           run_cli: Callable[..., Any]) -> None:
    bad = tmp_path / "bad.h5"
    shutil.copy(mg_store[0], bad)
    with h5py.File(bad, "r+") as f:
        split = f["lumps/split"][()]
        pid = f["lumps/patient_id"][()]
        # Put a second lump of patient 0 into another split: patient leakage.
        pid[1] = pid[0]
        split[1] = (split[0] + 1) % 3
        f["lumps/patient_id"][...] = pid
        f["lumps/split"][...] = split
        f["lumps/label"][0] = 7
    res = run_cli("info", bad, "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert not doc["ok"] and any("split" in v for v in doc["violations"])
    assert np.isin(["labels outside {-1, 0, 1}"], doc["violations"]).all()
    res = run_cli("info", bad)
    assert res.exit_code == 1 and "contract violation" in res.stderr


def test_info_missing_store(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    res = run_cli("info", tmp_path / "nope.h5")
    assert res.exit_code == 2 and "nope.h5" in res.stderr


def test_preview_cells_pairs_two_view_stores_and_skips_missing_single_views() -> None:
    from mvkl.store.inspect import preview_cells

    cc, mlo = np.array([0, 2, -1, 4]), np.array([1, -1, 3, 5])
    assert preview_cells(cc, mlo, [1, 2, 0]) == [(1, 2, "CC"), (1, -1, "MLO"), (2, -1, "CC"), (2, 3, "MLO"),
                                                 (0, 0, "CC"), (0, 1, "MLO")]
    cc, mlo = np.array([0, -1, 2, -1]), np.array([-1, 1, -1, 3])  # one image per lump (public data sets)
    assert preview_cells(cc, mlo, [3, 0, 1]) == [(3, 3, "MLO"), (0, 0, "CC"), (1, 1, "MLO")]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def test_preview_of_a_single_view_store_draws_only_images(mg_store: tuple[Path, dict[str, Any]], key_file: Path,
                                                          tmp_path: Path, run_cli: Callable[..., Any],
                                                          monkeypatch: Any) -> None:
    """A CBIS-DDSM store (one image per lump): no "no CC"/"no MLO" cells, one cell per image, so 12
    lumps fill 2 rows of 6, like 6 two-view lumps of the MVKL store do."""
    import matplotlib.axes

    from tests.sources import _layouts as L

    src = tmp_path / "cbis"
    src.mkdir()
    L.make_cbis(src, "tcia")
    cbis = tmp_path / "cbis.h5"
    run_ok(run_cli, "ingest", src, "--format", "cbis-ddsm", "--out", cbis, "--image-size", "32", "--key-file",
           key_file, "--workers", "1", "-q")
    texts: list[str] = []
    real = matplotlib.axes.Axes.text
    monkeypatch.setattr(matplotlib.axes.Axes, "text",
                        lambda self, x, y, s, *a, **k: (texts.append(str(s)), real(self, x, y, s, *a, **k))[1])
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    doc = json.loads(run_ok(run_cli, "info", cbis, "--json", "--preview", one, "--preview-lumps", "12").stdout)
    assert doc["preview"]["images"] == 12 and texts == []
    doc = json.loads(run_ok(run_cli, "info", mg_store[0], "--json", "--preview", two, "--preview-lumps", "6").stdout)
    assert doc["preview"]["images"] + len(texts) == 12  # two-view store: a lump that lost a view shows it
    assert all(t in ("no CC", "no MLO") for t in texts)
    assert _png_size(one) == _png_size(two)
