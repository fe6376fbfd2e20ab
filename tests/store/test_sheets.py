"""Crop sheets sorted by manifestation option: every drawn lump has the option of its row."""

from __future__ import annotations

import json
from pathlib import Path

from mvkl.manifest import schema as M
from mvkl.store import Store
from mvkl.store.sheets import option_sheet


def test_each_row_shows_lumps_with_its_option(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    from mvkl.synth import generate

    generate(tmp_path / "d", exams=14, seed=3, image_size=256)
    store = tmp_path / "s.h5"
    assert run_cli("ingest", tmp_path / "d", "--format", "mvkl", "--out", store, "--views", "lesion",
                   "--image-size", "32", "--key-file", tmp_path / "k").exit_code == 0
    with Store(store) as st:
        man, known, cc = st.lumps["manifest"][:], st.lumps["manifest_known"][:], st.lumps["cc"][:]
    for group in ("mass_shape", "calc_distribution", "misc"):
        drawn = option_sheet(store, group, tmp_path / f"{group}.png", per_option=4)
        assert set(drawn) == {o.key for o in M.OPTIONS if o.group == group}
        assert (tmp_path / f"{group}.png").stat().st_size > 1000
        for key, lumps in drawn.items():
            i = M.option_by_key()[key].index
            assert len(lumps) <= 4 and len(set(lumps)) == len(lumps)
            assert all(man[li, i] == 1 and known[li, i] == 1 for li in lumps), key
            assert len(lumps) == min(4, int(((man[:, i] == 1) & (known[:, i] == 1) & (cc >= 0)).sum()))
    res = run_cli("info", store, "--option-sheets", tmp_path / "sheets", "--json")
    assert res.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "sheets").iterdir()) == sorted(f"{g.key}.png" for g in M.GROUPS)
    doc = json.loads(res.stdout)["option_sheets"]
    assert sum(doc["mass_shape"]["lumps"].values()) > 0 and set(doc) == {g.key for g in M.GROUPS}
