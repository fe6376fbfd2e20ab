"""Fixtures for the model tests: one tiny local BERT per session (never downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPORTS = [
    "左乳外上象限见一肿块，边界不清，形态不规则，可见毛刺。",
    "右乳内下象限见卵圆形肿块，边界清晰，密度均匀。BI-RADS 3",
    "Irregular high-density mass with spiculated margins in the left upper outer quadrant.",
    "Oval circumscribed mass, no calcifications, BI-RADS 2.",
    "左乳未见明显肿块，可见散在钙化。",
    "Architectural distortion with fine pleomorphic calcifications.",
]


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mvkl.models import build_tiny_bert

    out = tmp_path_factory.mktemp("bert") / "tiny-bert"
    return build_tiny_bert(REPORTS * 2, out, vocab_size=400, hidden=32, layers=2, heads=2, intermediate=64, seed=0)
