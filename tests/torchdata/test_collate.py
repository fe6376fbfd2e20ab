"""LumpCollator: dynamic padding (B38), rows with a report / known manifestation only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from mvkl.torchdata import LumpCollator
from mvkl.torchdata.collate import batch_to_device

REPORTS = ["左乳外上象限见一肿块，边界不清，形态不规则，可见毛刺。", "Oval circumscribed mass, BI-RADS 2.",
           "右乳内下象限见卵圆形肿块", "Architectural distortion with fine pleomorphic calcifications."]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from mvkl.models import build_tiny_bert, load_tokenizer

    d = build_tiny_bert(REPORTS * 3, tmp_path_factory.mktemp("tok") / "bert", vocab_size=200, hidden=16, layers=1,
                        heads=1, intermediate=16, max_position=64)
    return load_tokenizer(d)


def _sample(i: int, report: str, known: int) -> dict[str, Any]:
    k = torch.zeros(35)
    k[:known] = 1
    return {"view1": torch.full((1, 8, 8), float(i)), "view2": torch.full((1, 8, 8), -float(i)), "report": report,
            "has_report": bool(report), "manifest": (torch.arange(35) % (i + 2) == 0).float() * k, "known": k,
            "has_manifest": known > 0, "label": i % 2, "index": 10 + i}


def test_dynamic_padding_and_rows(tokenizer: Any) -> None:
    samples = [_sample(0, REPORTS[1], 35), _sample(1, "", 0), _sample(2, REPORTS[3], 5), _sample(3, REPORTS[2], 35)]
    out = LumpCollator(tokenizer, max_length=64)(samples)
    assert out["view1"].shape == (4, 1, 8, 8) and float(out["view2"][2, 0, 0, 0]) == -2.0
    assert out["text_rows"].tolist() == [0, 2, 3]
    lengths = [len(tokenizer(r)["input_ids"]) for r in (REPORTS[1], REPORTS[3], REPORTS[2])]
    assert out["text"]["input_ids"].shape == (3, max(lengths))  # the longest of this batch, not 512
    assert out["text"]["attention_mask"].sum(1).tolist() == lengths
    for j, r in enumerate((REPORTS[1], REPORTS[3], REPORTS[2])):
        ids = tokenizer(r)["input_ids"]
        assert out["text"]["input_ids"][j, : len(ids)].tolist() == ids
    assert out["manifest_rows"].tolist() == [0, 2, 3]
    torch.testing.assert_close(out["manifest"][1], samples[2]["manifest"])
    torch.testing.assert_close(out["manifest_known"][1], samples[2]["known"])
    assert out["label"].tolist() == [0, 1, 0, 1] and out["index"].tolist() == [10, 11, 12, 13]
    assert out["size"] == 4 and out["text_rows"].device.type == "cpu"


def test_truncation_and_disabled_modalities(tokenizer: Any) -> None:
    long = " ".join(["mass"] * 300)
    out = LumpCollator(tokenizer, max_length=16)([_sample(0, long, 35), _sample(1, "short", 35)])
    assert out["text"]["input_ids"].shape == (2, 16)
    none = LumpCollator(use_text=False, use_manifest=False)([_sample(0, long, 35), _sample(1, "x", 3)])
    assert none["text"] is None and none["text_rows"] is None and none["manifest"] is None
    nobody = LumpCollator(tokenizer)([_sample(0, "", 0), _sample(1, "", 0)])
    assert nobody["text"] is None and nobody["manifest_rows"] is None
    with pytest.raises(ValueError, match="tokenizer"):
        LumpCollator(None)
    with pytest.raises(ValueError, match="max_length"):
        LumpCollator(tokenizer, max_length=1024)


def test_batch_to_device_keeps_cpu_bookkeeping(tokenizer: Any, tmp_path: Path) -> None:
    out = LumpCollator(tokenizer)([_sample(0, "a", 35), _sample(1, "b", 35)])
    moved = batch_to_device(out, torch.device("cpu"), channels_last=True)
    assert moved["view1"].is_contiguous(memory_format=torch.channels_last)
    assert moved["manifest_cpu"] is out["manifest"] and moved["text_rows"] is out["text_rows"]
