"""Small synthetic data sets shared by the synth tests (generated once per session, 256 px)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SEED = 3


@pytest.fixture(scope="session")
def hostile_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """(root, summary, manifest) of 14 exams with --hostile, English reports."""
    from mvkl.synth import generate

    root = tmp_path_factory.mktemp("synth") / "hostile"
    summary = generate(root, exams=14, seed=SEED, image_size=256, hostile=True, workers=1)
    return root, summary, json.loads((root / "synth_manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def clean_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """The same options and seed as ``hostile_set`` without --hostile."""
    from mvkl.synth import generate

    root = tmp_path_factory.mktemp("synth") / "clean"
    summary = generate(root, exams=14, seed=SEED, image_size=256, hostile=False, workers=1)
    return root, summary, json.loads((root / "synth_manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def zh_set(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """45 exams (two batches) with Chinese reports."""
    from mvkl.synth import generate

    root = tmp_path_factory.mktemp("synth") / "zh"
    summary = generate(root, exams=45, seed=11, image_size=128, lang="zh", workers=1)
    return root, summary, json.loads((root / "synth_manifest.json").read_text(encoding="utf-8"))
