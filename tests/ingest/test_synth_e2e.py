"""`mvkl synth --hostile` -> `mvkl ingest` -> `mvkl info`, checked against synth_manifest.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mvkl.store import Store, check_store
from tests.ingest.test_leak import find_leaks, hdf5_strings


@pytest.fixture(scope="session")
def synth_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    orchestrate = pytest.importorskip("mvkl.synth.orchestrate")
    root = tmp_path_factory.mktemp("synth") / "src"
    orchestrate.generate(root, exams=12, seed=3, lang="zh", image_size=128, hostile=True, workers=1)
    return root, json.loads((root / "synth_manifest.json").read_text(encoding="utf-8"))


def test_synth_hostile_end_to_end(synth_source: tuple[Path, dict[str, Any]], tmp_path: Path,
                                  run_cli: Callable[..., Any]) -> None:
    src, manifest = synth_source
    out, qrep = tmp_path / "s.h5", tmp_path / "q.json"
    res = run_cli("ingest", src, "--out", out, "--image-size", "64", "--key-file", tmp_path / "k.key",
                  "--workers", "1", "--json", "--quarantine-report", qrep)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert check_store(out) == []
    quarantined = {e["source_path"]: e["reason"] for e in json.loads(qrep.read_text())["quarantined"]
                   if e["view"] is not None}
    bad = [h for h in manifest["hostile"] if h["expected"] != "ok"]
    good = [h for h in manifest["hostile"] if h["expected"] == "ok"]
    assert bad and good
    assert {h["path"]: h["expected"] for h in bad} == {p: quarantined.get(p) for p in (h["path"] for h in bad)}
    assert not any(h["path"] in quarantined for h in good)  # compressed files decode
    assert set(quarantined) == {h["path"] for h in bad}  # nothing else was quarantined
    assert doc["lumps"]["ingested"] == manifest["lumps_expected_in_store"]
    with Store(out) as st:
        assert st.n_lumps == manifest["lumps_expected_in_store"]
    info = json.loads(run_cli("info", out, "--json").stdout)
    assert info["lumps"] == manifest["lumps_expected_in_store"] and info["ok"]
    assert sum(s["lumps"] for s in info["splits"].values()) == info["lumps"]
    assert sum(info["labels"].values()) == info["lumps"]
    assert info["images"] == doc["images"]["ingested"]
    # The generator's planted identifiers (names, IDs, UIDs, dates) reach no output.
    blobs: dict[str, bytes | str] = {"store": out.read_bytes(), "hdf5": hdf5_strings(out),
                                     "printed": res.stdout + res.stderr}
    idents = [i for i in manifest["identifiers"] if len(i) >= 4]
    assert idents and find_leaks(blobs, idents) == []
