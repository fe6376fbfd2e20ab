"""Encoder export/load contract and whole-model save/load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torchvision

from mvkl import __version__
from mvkl.errors import InputError
from mvkl.models import (
    ImageEncoder,
    TextEncoder,
    ViKL,
    export_image_encoder,
    load_image_encoder,
    load_vikl,
    save_vikl,
    tokenize,
)
from mvkl.models.export import CARD_FILE, WEIGHTS_FILE

from .conftest import REPORTS


def _x(seed: int = 0) -> torch.Tensor:
    return torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(seed))


def _trained_encoder() -> ImageEncoder:
    enc = ImageEncoder("resnet18", seed=3)
    enc.train()
    with torch.no_grad():
        enc(_x(1))  # move BN running statistics away from their init
    return enc.eval()


def test_export_then_load_gives_identical_features(tmp_path: Path) -> None:
    enc = _trained_encoder()
    source = {"kind": "vikl", "run": "runs/x", "step": 9000, "preset": "paper", "hard_negatives": "manineg"}
    export_image_encoder(enc, tmp_path / "run" / "encoder", {"image_size": 32, "source": source})
    card = json.loads((tmp_path / "run" / "encoder" / CARD_FILE).read_text())
    assert card == {"format": "mvkl-image-encoder", "version": 1, "arch": "resnet18", "feature_dim": 512,
                    "image_size": 32, "in_channels": 1,
                    "normalization": {"name": "clip", "mean": [0.48145466, 0.4578275, 0.40821073],
                                      "std": [0.26862954, 0.26130258, 0.27577711]},
                    "source": source, "mvkl_version": __version__}
    payload = torch.load(tmp_path / "run" / "encoder" / WEIGHTS_FILE, weights_only=True)
    assert payload["format"] == "mvkl-image-encoder" and payload["arch"] == "resnet18"
    assert "layer3.0.conv1.weight" in payload["state_dict"]
    assert not any(k.startswith("fc.") for k in payload["state_dict"])
    # a plain torchvision ResNet takes the state dict as is
    tv = torchvision.models.resnet18(weights=None)
    tv.fc = torch.nn.Identity()
    tv.load_state_dict(payload["state_dict"])
    for spec in (tmp_path / "run" / "encoder", tmp_path / "run", str(tmp_path / "run")):
        loaded, got_card = load_image_encoder(spec)
        assert got_card == card and not loaded.training
        with torch.no_grad():
            assert torch.equal(loaded(_x()), enc(_x()))
    assert sorted(p.name for p in (tmp_path / "run" / "encoder").iterdir()) == [CARD_FILE, WEIGHTS_FILE]


def test_card_fields_owned_by_the_exporter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="arch"):
        export_image_encoder(ImageEncoder("resnet18"), tmp_path, {"arch": "resnet50"})
    assert not list(tmp_path.iterdir())


def test_corrupted_or_mismatched_exports_raise_input_error(tmp_path: Path) -> None:
    enc = ImageEncoder("resnet18", seed=0)
    d = export_image_encoder(enc, tmp_path / "enc", {"source": {"kind": "random"}})
    payload = torch.load(d / WEIGHTS_FILE, weights_only=True)
    del payload["state_dict"]["layer4.0.downsample.1.running_var"]
    payload["state_dict"]["head.weight"] = torch.zeros(2)
    torch.save(payload, d / WEIGHTS_FILE)
    with pytest.raises(InputError, match=r"layer4\.0\.downsample\.1\.running_var") as info:
        load_image_encoder(d)
    assert info.value.exit_code == 2
    card = json.loads((d / CARD_FILE).read_text())
    (d / CARD_FILE).write_text(json.dumps({**card, "arch": "resnet50"}))
    with pytest.raises(InputError, match="card says 'resnet50'"):
        load_image_encoder(d)
    (d / CARD_FILE).write_text(json.dumps({**card, "version": 7}))
    with pytest.raises(InputError, match="newer mvkl"):
        load_image_encoder(d)
    (d / CARD_FILE).write_text(json.dumps({**card, "normalization": {"name": "clip", "mean": [0.5] * 3,
                                                                     "std": [0.5] * 3}}))
    with pytest.raises(InputError, match="mean/std"):
        load_image_encoder(d)
    (d / CARD_FILE).write_text("{")
    with pytest.raises(InputError, match="cannot read encoder card"):
        load_image_encoder(d)
    with pytest.raises(InputError, match="no image encoder here"):
        load_image_encoder(tmp_path / "enc" / ".." / "enc" / "..")
    with pytest.raises(InputError, match="not found"):
        load_image_encoder(tmp_path / "missing")


def test_keywords_random_and_imagenet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a, card = load_image_encoder("random")
    assert a.arch == "resnet50" and card["source"] == {"kind": "random", "seed": 0} and card["feature_dim"] == 2048
    b, _ = load_image_encoder("random:resnet18")
    c, _ = load_image_encoder("random:resnet18")
    d, _ = load_image_encoder("random:resnet18:1")
    assert b.arch == "resnet18" and torch.equal(b.trunk.conv1.weight, c.trunk.conv1.weight)
    assert not torch.equal(b.trunk.conv1.weight, d.trunk.conv1.weight)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(InputError, match="--image-weights"):
        load_image_encoder("imagenet")
    sd = torchvision.models.resnet18(weights=None).state_dict()
    torch.save(sd, tmp_path / "r18.pth")
    e, card = load_image_encoder("imagenet", arch="resnet18", image_weights=tmp_path / "r18.pth")
    assert card["source"] == {"kind": "imagenet", "weights": "IMAGENET1K_V1", "file": "r18.pth"}
    assert torch.equal(e.trunk.conv1.weight, sd["conv1.weight"])
    f, card = load_image_encoder(tmp_path / "r18.pth", arch="resnet18")
    assert card["source"]["kind"] == "file" and torch.equal(f.trunk.conv1.weight, sd["conv1.weight"])
    with pytest.raises(InputError, match="seed"):
        load_image_encoder("random:resnet18:x")


def _vikl(tiny_bert_dir: Path, pooling: str = "pooler") -> ViKL:
    torch.manual_seed(0)
    model = ViKL(ImageEncoder("resnet18", seed=0), TextEncoder(tiny_bert_dir, pooling=pooling), embed_dim=16)
    model.train()
    with torch.no_grad():  # one train-mode pass: non-trivial BatchNorm running statistics
        model(_x(), _x(1), model.text_encoder.tokenize(REPORTS[:3]), None, torch.rand(3, 35), None)
    return model.eval()


@pytest.mark.parametrize("pooling", ["pooler", "mean"])
def test_save_and_load_whole_model(tmp_path: Path, tiny_bert_dir: Path, pooling: str) -> None:
    model = _vikl(tiny_bert_dir, pooling)
    save_vikl(model, tmp_path / "run" / "vikl", {"image_size": 32, "source": {"kind": "vikl", "step": 30}})
    assert sorted(p.name for p in (tmp_path / "run" / "vikl").iterdir()) == ["text", "vikl.pt"]
    loaded, tokenizer, config = load_vikl(tmp_path / "run")
    assert config == {"image_size": 32, "source": {"kind": "vikl", "step": 30}} and not loaded.training
    assert loaded.model_config() == model.model_config()
    assert loaded.text_encoder.pooling == pooling == loaded.model_config()["text_pooling"]
    texts = REPORTS[3:6]
    with torch.no_grad():
        text_ref = model.embed_text(model.text_encoder.tokenize(texts))
        for got, ref in ((loaded.embed_image(_x(2)), model.embed_image(_x(2))),
                         (loaded.embed_text(tokenize(tokenizer, texts)), text_ref),
                         (loaded.embed_manifest(torch.eye(3, 35)), model.embed_manifest(torch.eye(3, 35)))):
            assert torch.equal(got, ref)
    # the image encoder alone, straight from the whole-model file
    enc, card = load_image_encoder(tmp_path / "run")
    assert card["source"] == {"kind": "vikl", "step": 30} and card["image_size"] == 32
    with torch.no_grad():
        assert torch.equal(enc(_x(4)), model.image_encoder(_x(4)))


def test_load_vikl_rejects_tampered_files(tmp_path: Path) -> None:
    model = ViKL(ImageEncoder("resnet18", seed=0), None, use_manifest=True)
    out = save_vikl(model, tmp_path / "m", {})
    payload = torch.load(out / "vikl.pt", weights_only=True)
    del payload["state_dict"]["projector.fc2.weight"]
    torch.save(payload, out / "vikl.pt")
    with pytest.raises(InputError, match=r"projector\.fc2\.weight"):
        load_vikl(out)
    with pytest.raises(InputError, match=r"vikl\.pt"):
        load_vikl(tmp_path / "elsewhere")
    with pytest.raises(TypeError):
        save_vikl(model, tmp_path / "n", {"bad": object()})
    assert not (tmp_path / "n" / "vikl.pt").exists()


def test_wrapped_models_are_unwrapped_on_export(tmp_path: Path) -> None:
    class Wrapper(torch.nn.Module):  # stands in for DDP (.module) / torch.compile (._orig_mod)
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.module = inner

    enc = ImageEncoder("resnet18", seed=2).eval()
    export_image_encoder(Wrapper(enc), tmp_path / "e")
    loaded, _ = load_image_encoder(tmp_path / "e")
    with torch.no_grad():
        assert torch.equal(loaded(_x()), enc(_x()))
    model = ViKL(ImageEncoder("resnet18", seed=2), None)
    save_vikl(Wrapper(model), tmp_path / "m")
    assert load_vikl(tmp_path / "m")[0].model_config() == model.model_config()
