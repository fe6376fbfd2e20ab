"""ViKL model: shapes, unit norm, pooled projector BN, dropout, single-modality embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from mvkl.models import ImageEncoder, TextEncoder, ViKL

from .conftest import REPORTS

B, SIZE = 4, 32


def _model(tiny_bert_dir: Path | None, **kw: Any) -> ViKL:
    torch.manual_seed(0)
    text = TextEncoder(tiny_bert_dir) if tiny_bert_dir is not None else None
    return ViKL(ImageEncoder("resnet18", seed=0), text, **kw)


def _batch(model: ViKL, seed: int = 0) -> dict[str, Any]:
    g = torch.Generator().manual_seed(seed)
    batch: dict[str, Any] = {"view1": torch.rand(B, 1, SIZE, SIZE, generator=g),
                             "view2": torch.rand(B, 1, SIZE, SIZE, generator=g)}
    if model.text_encoder is not None:
        batch["text"] = model.text_encoder.tokenize(REPORTS[:3])
        batch["text_rows"] = torch.tensor([0, 2, 3])
    if model.manifest_encoder is not None:
        batch["manifest"] = (torch.rand(2, 35, generator=g) < 0.3).float()
        batch["manifest_rows"] = torch.tensor([1, 3])
    return batch


def test_output_shapes_unit_norm_and_row_indices(tiny_bert_dir: Path) -> None:
    model = _model(tiny_bert_dir)
    out = model(**_batch(model))
    assert out["z1"].shape == out["z2"].shape == (B, 128)
    assert out["zt"].shape == (3, 128) and out["zm"].shape == (2, 128)
    assert out["h1"].shape == (B, 512) and out["ht"].shape == (3, 32) and out["hm"].shape == (2, 512)
    for k in ("z1", "z2", "zt", "zm"):
        torch.testing.assert_close(out[k].norm(dim=1), torch.ones(out[k].shape[0]))
        assert out[k].dtype == torch.float32
    assert out["text_rows"].tolist() == [0, 2, 3] and out["manifest_rows"].tolist() == [1, 3]
    assert model.image_aligner.bias is None and model.image_aligner.out_features == 128
    assert isinstance(model.text_aligner[1], torch.nn.Dropout) and model.text_aligner[1].p == 0.5
    assert isinstance(model.manifest_aligner[1], torch.nn.Dropout) and model.manifest_aligner[1].p == 0.5
    assert model.default_terms() == ("ii", "it", "im", "tm")


def test_shared_projector_sees_the_concatenation(tiny_bert_dir: Path) -> None:
    model = _model(tiny_bert_dir)
    seen: list[tuple[int, ...]] = []
    model.projector.bn.register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
    model(**_batch(model))
    assert seen == [(2 * B + 3 + 2, 128)]  # one BN call over [view1; view2; text; manifest]


def test_per_modality_batchnorm(tiny_bert_dir: Path) -> None:
    model = _model(tiny_bert_dir, projector_bn="per_modality")
    seen: dict[str, list[int]] = {}
    for name, bn in model.projector.bns.items():
        bn.register_forward_hook(lambda m, i, o, name=name: seen.setdefault(name, []).append(i[0].shape[0]))
    out = model(**_batch(model))
    assert seen == {"image": [2 * B], "text": [3], "manifest": [2]}
    assert out["z1"].shape == (B, 128)


def test_dropout_only_in_train_mode(tiny_bert_dir: Path) -> None:
    model = _model(tiny_bert_dir)
    batch = _batch(model)
    aligned: list[torch.Tensor] = []
    model.text_aligner.register_forward_hook(lambda m, i, o: aligned.append(o.detach().clone()))
    model.train()
    model(**batch)
    model(**batch)
    assert not torch.equal(aligned[0], aligned[1])  # dropout active
    assert (aligned[0] == 0).float().mean() > 0.3
    model.eval()
    with torch.no_grad():
        a, b = model(**batch), model(**batch)
    assert torch.equal(aligned[2], aligned[3]) and torch.equal(a["z1"], b["z1"]) and torch.equal(a["zm"], b["zm"])


def test_single_modality_embeddings_match_forward_in_eval_mode(tiny_bert_dir: Path) -> None:
    model = _model(tiny_bert_dir)
    batch = _batch(model)
    model.train()
    for _ in range(2):  # give the BatchNorms non-trivial running statistics
        model(**batch)
    model.eval()
    with torch.no_grad():
        out = model(**batch)
        torch.testing.assert_close(model.embed_image(batch["view1"]), out["z1"], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(model.embed_text(batch["text"]), out["zt"], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(model.embed_manifest(batch["manifest"]), out["zm"], rtol=1e-5, atol=1e-5)


def test_embed_dim_2_and_image_only_models() -> None:
    model = _model(None, embed_dim=2)
    out = model(**_batch(model))
    assert out["z1"].shape == (B, 2) and out["zt"] is None and out["zm"].shape == (2, 2)
    torch.testing.assert_close(out["zm"].norm(dim=1), torch.ones(2))
    assert model.default_terms() == ("ii", "im")
    image_only = _model(None, use_manifest=False)
    assert image_only.default_terms() == ("ii",)
    out = image_only(torch.rand(B, 3, SIZE, SIZE), torch.rand(B, 3, SIZE, SIZE))
    assert out["zm"] is None and out["z2"].shape == (B, 128)
    with pytest.raises(ValueError, match="no text encoder"):
        image_only(torch.rand(B, 1, SIZE, SIZE), torch.rand(B, 1, SIZE, SIZE),
                   text={"input_ids": torch.ones(2, 3, dtype=torch.long), "attention_mask": torch.ones(2, 3)})
    with pytest.raises(ValueError, match="no manifestation"):
        image_only(torch.rand(B, 1, SIZE, SIZE), torch.rand(B, 1, SIZE, SIZE), manifest=torch.zeros(B, 35))


def test_row_arguments_are_validated_and_tiny_manifest_batches_skipped() -> None:
    model = _model(None)
    batch = _batch(model)
    with pytest.raises(ValueError, match="manifest_rows"):
        model(batch["view1"], batch["view2"], manifest=batch["manifest"])  # 2 rows, batch of 4, no index
    with pytest.raises(ValueError, match="differ"):
        model(batch["view1"], batch["view2"][:2])
    out = model(batch["view1"], batch["view2"], manifest=batch["manifest"][:1], manifest_rows=torch.tensor([2]))
    assert out["zm"] is None  # one row cannot pass BatchNorm in train mode; its loss terms need 2 anyway
    model.eval()
    with torch.no_grad():
        out = model(batch["view1"], batch["view2"], manifest=batch["manifest"][:1], manifest_rows=torch.tensor([2]))
    assert out["zm"].shape == (1, 128)


def test_bf16_autocast_and_channels_last(tiny_bert_dir: Path) -> None:
    model = _model(tiny_bert_dir).to(memory_format=torch.channels_last)
    batch = _batch(model)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(**batch)
    for k in ("z1", "z2", "zt", "zm"):
        assert out[k].dtype == torch.float32 and torch.isfinite(out[k]).all()
    (out["z1"] * out["z2"]).sum().backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


def test_rejects_bad_options() -> None:
    enc = ImageEncoder("resnet18")
    with pytest.raises(ValueError, match="projector_bn"):
        ViKL(enc, projector_bn="none")
    with pytest.raises(ValueError, match="dropout"):
        ViKL(enc, text_dropout=1.0)
    with pytest.raises(ValueError, match="embed_dim"):
        ViKL(enc, embed_dim=0)
