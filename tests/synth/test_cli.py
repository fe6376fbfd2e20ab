from __future__ import annotations

import json
from pathlib import Path


def test_cli_end_to_end_json(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "demo"
    png = tmp_path / "sheet.png"
    r = run_cli("synth", out, "--exams", "10", "--image-size", "256", "--seed", "2", "--hostile",
                "--preview", png, "--json", "--workers", "1")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["exams"] == 10 and doc["lumps"] >= 10 and doc["files"] > 0 and doc["seconds"] >= 0
    assert doc["labels"]["malignant"] + doc["labels"]["benign"] == doc["lumps"]
    assert sum(doc["hostile"].values()) == 10
    assert png.stat().st_size > 10_000 and doc["preview"]
    assert (out / "synth_manifest.json").is_file()
    assert str(tmp_path) not in r.stdout + r.stderr


def test_cli_human_output_and_errors(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "demo"
    r = run_cli("synth", out, "--exams", "2", "--image-size", "64", "--quiet")
    assert r.exit_code == 0 and "lumps" in r.stdout and "malignant" in r.stdout
    r = run_cli("synth", out, "--exams", "2", "--image-size", "64")
    assert r.exit_code == 2 and "not empty" in r.stderr
    r = run_cli("synth", tmp_path / "x", "--lang", "fr", "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["ok"] is False
    r = run_cli("synth", tmp_path / "y", "--preview", tmp_path / "a.jpg")
    assert r.exit_code == 2
    r = run_cli("synth", "--help")
    assert r.exit_code == 0 and "Example" in r.stdout
