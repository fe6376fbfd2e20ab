"""ImageEncoder: shapes, normalisation inside forward, strict weight loading, no download."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchvision

from mvkl.errors import InputError
from mvkl.models import NORMALIZATIONS, ImageEncoder, imagenet_weights_path


def _x(b: int = 2, c: int = 1, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.rand(b, c, size, size, generator=torch.Generator().manual_seed(seed))


def test_shapes_and_trunk_keys_are_torchvision() -> None:
    enc = ImageEncoder("resnet18", seed=0).eval()
    assert enc(_x(3)).shape == (3, 512) and enc.feature_dim == 512
    ref = torchvision.models.resnet18(weights=None).state_dict()
    assert set(enc.trunk.state_dict()) == {k for k in ref if not k.startswith("fc.")}
    assert "layer3.0.conv1.weight" in enc.trunk.state_dict()
    assert set(enc.state_dict()) == {f"trunk.{k}" for k in enc.trunk.state_dict()}  # mean/std are config


def test_grey_input_equals_replicated_three_channels_and_normalisation_is_inside() -> None:
    for norm in ("clip", "imagenet"):
        enc = ImageEncoder("resnet18", normalization=norm, seed=1).eval()
        x = _x(2)
        x3 = x.repeat(1, 3, 1, 1)
        with torch.no_grad():
            torch.testing.assert_close(enc(x), enc(x3))
            mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in NORMALIZATIONS[norm])
            torch.testing.assert_close(enc(x3), enc.trunk((x3 - mean) / std))
    with pytest.raises(ValueError, match=r"\(B, 1\|3, H, W\)"):
        enc(torch.rand(2, 2, 32, 32))


def test_seeded_init_is_deterministic_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = ImageEncoder("resnet18", seed=5), ImageEncoder("resnet18", seed=5)
    assert torch.equal(torch.rand(1), before)
    assert all(torch.equal(a.trunk.state_dict()[k], v) for k, v in b.trunk.state_dict().items())
    c = ImageEncoder("resnet18", seed=6)
    assert not torch.equal(a.trunk.conv1.weight, c.trunk.conv1.weight)


def test_channels_last_and_bf16_autocast() -> None:
    enc = ImageEncoder("resnet18", seed=0).eval()
    x = _x(2)
    with torch.no_grad():
        ref = enc(x)
        cl = enc.to(memory_format=torch.channels_last)(x)
        torch.testing.assert_close(cl, ref, rtol=1e-4, atol=1e-4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = enc(x)
    assert torch.isfinite(low.float()).all()
    torch.testing.assert_close(low.float(), ref, rtol=0.1, atol=0.1)


def test_unknown_arch_and_normalisation() -> None:
    with pytest.raises(InputError, match="resnet50"):
        ImageEncoder("vit")
    with pytest.raises(InputError, match="normalization"):
        ImageEncoder("resnet18", normalization="zscore")


def _fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    return hub


def test_missing_imagenet_file_gives_helpful_error_and_never_downloads(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    _fake_hub(monkeypatch, tmp_path)

    def no_download(*a: object, **k: object) -> None:
        raise AssertionError("attempted a download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    with pytest.raises(InputError) as info:
        ImageEncoder("resnet50", weights="imagenet")
    msg = str(info.value)
    assert "resnet50-0676ba61.pth" in msg and "--image-weights" in msg and "never downloads" in msg
    assert str(tmp_path) not in msg  # no absolute path in messages


def test_imagenet_file_from_the_hub_cache_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_hub(monkeypatch, tmp_path)
    src = torchvision.models.resnet18(weights=None)  # a stand-in for the real file: same keys, incl. fc
    path = imagenet_weights_path("resnet18")
    assert path.name == Path(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url).name
    path.parent.mkdir(parents=True)
    torch.save(src.state_dict(), path)
    enc = ImageEncoder("resnet18", weights="imagenet")
    assert enc.weights_source == "imagenet"
    assert torch.equal(enc.trunk.layer3[0].conv1.weight, src.layer3[0].conv1.weight)


@pytest.mark.parametrize("wrap", ["plain", "state_dict+module", "model+vikl-prefix", "nested"])
def test_state_dict_files_in_common_layouts(tmp_path: Path, wrap: str) -> None:
    src = torchvision.models.resnet18(weights=None)
    sd = src.state_dict()
    obj: object = {
        "plain": sd,
        "state_dict+module": {"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3},
        "model+vikl-prefix": {"model": {**{f"visual_encoder.vision_encoder.{k}": v for k, v in sd.items()
                                           if not k.startswith("fc.")},
                                        "text_encoder.bert.embeddings.word_embeddings.weight": torch.zeros(3, 2),
                                        "img_aligner.weight": torch.zeros(128, 512)}},
        "nested": {"model": {"state_dict": sd}},
    }[wrap]
    f = tmp_path / "w.pth"
    torch.save(obj, f)
    enc = ImageEncoder("resnet18", weights=f)
    assert all(torch.equal(enc.trunk.state_dict()[k], sd[k]) for k in enc.trunk.state_dict())


def test_mismatched_or_corrupted_weights_raise_with_key_names(tmp_path: Path) -> None:
    sd = torchvision.models.resnet18(weights=None).state_dict()
    missing = {k: v for k, v in sd.items() if k != "layer2.1.bn2.weight"}
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(InputError, match=r"missing key\(s\): layer2\.1\.bn2\.weight"):
        ImageEncoder("resnet18", weights=tmp_path / "missing.pth")
    extra = {**sd, "layer5.0.conv1.weight": torch.zeros(1)}
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(InputError, match=r"unexpected key\(s\): layer5\.0\.conv1\.weight"):
        ImageEncoder("resnet18", weights=tmp_path / "extra.pth")
    shaped = {**sd, "conv1.weight": torch.zeros(64, 1, 7, 7)}
    torch.save(shaped, tmp_path / "shape.pth")
    with pytest.raises(InputError, match=r"mis-shaped.*conv1\.weight"):
        ImageEncoder("resnet18", weights=tmp_path / "shape.pth")
    with pytest.raises(InputError, match=r"missing key\(s\).*layer1\.0\.conv3\.weight"):  # resnet18 file, resnet50
        ImageEncoder("resnet50", weights=tmp_path / "extra.pth")
    torch.save({"encoder.w": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(InputError, match="no ResNet trunk keys"):
        ImageEncoder("resnet18", weights=tmp_path / "other.pth")
    (tmp_path / "garbage.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read weights"):
        ImageEncoder("resnet18", weights=tmp_path / "garbage.pth")
    with pytest.raises(InputError, match="not found"):
        ImageEncoder("resnet18", weights=tmp_path / "absent.pth")


def test_failed_load_leaves_the_trunk_untouched(tmp_path: Path) -> None:
    enc = ImageEncoder("resnet18", seed=0)
    before = enc.trunk.conv1.weight.detach().clone()
    sd = {k: torch.zeros_like(v) for k, v in torchvision.models.resnet18(weights=None).state_dict().items()}
    del sd["layer4.1.bn2.bias"]
    torch.save(sd, tmp_path / "w.pth")
    with pytest.raises(InputError):
        enc.load_weights(tmp_path / "w.pth")
    assert torch.equal(enc.trunk.conv1.weight, before)


def test_uint8_input_is_scaled() -> None:
    enc = ImageEncoder("resnet18", seed=0).eval()
    x8 = (torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 255).to(torch.uint8)
    with torch.no_grad():
        torch.testing.assert_close(enc(x8), enc(x8.float() / 255))
    with pytest.raises(ValueError, match="uint8"):
        enc(torch.zeros(1, 1, 32, 32, dtype=torch.int32))


@pytest.mark.parametrize("prefix", ["_orig_mod.", "module._orig_mod.image_encoder.trunk."])
def test_compiled_and_ddp_prefixes(tmp_path: Path, prefix: str) -> None:
    sd = torchvision.models.resnet18(weights=None).state_dict()
    torch.save({f"{prefix}{k}": v for k, v in sd.items()}, tmp_path / "w.pth")
    enc = ImageEncoder("resnet18", weights=tmp_path / "w.pth")
    assert torch.equal(enc.trunk.layer1[0].conv2.weight, sd["layer1.0.conv2.weight"])


def test_cnn4_trunk_has_resnet_stage_names_and_no_imagenet_weights(tmp_path) -> None:
    import torch

    from mvkl.errors import InputError
    from mvkl.models.image import ImageEncoder

    enc = ImageEncoder("cnn4", seed=3)
    same = ImageEncoder("cnn4", seed=3)
    assert all(torch.equal(a, b) for a, b in zip(enc.state_dict().values(), same.state_dict().values(), strict=True))
    x = torch.rand(2, 1, 64, 64)
    assert enc(x).shape == (2, 128) and enc.feature_dim == 128
    assert [n for n, _ in enc.trunk.named_children()][:4] == ["layer1", "layer2", "layer3", "layer4"]
    torch.save(enc.trunk.state_dict(), tmp_path / "w.pt")
    loaded = ImageEncoder("cnn4", weights=tmp_path / "w.pt").eval()
    assert torch.allclose(loaded(x), enc.eval()(x))
    with pytest.raises(InputError, match="no ImageNet weights for cnn4"):
        ImageEncoder("cnn4", weights="imagenet")
