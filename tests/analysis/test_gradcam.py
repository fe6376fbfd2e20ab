"""Grad-CAM: equality with a hook-free reference, localisation of a learnt blob, contexts, pictures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mvkl.analysis.gradcam import (
    grad_cam,
    malignant_score,
    overlay_rgb,
    resolve_layer,
    save_overlay,
    save_sheet,
    write_cams,
)
from mvkl.analysis.inputs import InputImage
from mvkl.errors import InputError


class BlobNet(nn.Module):
    """Three conv stages; ``layer3`` keeps 1/4 of the input resolution; max-pooled head."""

    def __init__(self) -> None:
        super().__init__()
        self.layer1 = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.layer2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.layer3 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(32, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer3(self.layer2(self.layer1(x)))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).amax(dim=(2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=1)[:, 1]


def blobs(n: int, g: torch.Generator, size: int = 64, sigma: float = 3.0) -> tuple[torch.Tensor, ...]:
    """Noisy images, half with a bright Gaussian blob at a random position (label 1)."""
    yy, xx = torch.meshgrid(torch.arange(float(size)), torch.arange(float(size)), indexing="ij")
    x = 0.3 + 0.05 * torch.randn(n, 1, size, size, generator=g)
    y = (torch.rand(n, generator=g) < 0.5).long()
    c = 10 + (size - 20) * torch.rand(n, 2, generator=g)
    blob = torch.exp(-((yy - c[:, 0, None, None]) ** 2 + (xx - c[:, 1, None, None]) ** 2) / (2 * sigma**2))
    return (x + 0.5 * blob[:, None] * y[:, None, None, None]).clamp(0, 1), y, c


def reference_cam(acts: torch.Tensor, score: torch.Tensor, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Selvaraju et al. Eq. 1-2 by autograd on the activations themselves (no hooks)."""
    (g,) = torch.autograd.grad(score.sum(), acts)
    raw = F.relu((g.mean(dim=(2, 3), keepdim=True) * acts).sum(1))
    up = F.interpolate(raw[:, None], size=size, mode="bilinear", align_corners=False)[:, 0].clamp_min(0)
    cams = []
    for u in up:
        m = float(u.detach().max())
        cams.append((u / m).detach().numpy() if m > 0 else np.zeros(u.shape, np.float32))
    return np.stack(cams), raw.detach().numpy()


def test_grad_cam_equals_reference_on_a_small_cnn() -> None:
    torch.manual_seed(0)
    net = BlobNet().eval()
    x = torch.rand(3, 1, 32, 32)
    res = grad_cam(net, x, net.layer3)
    acts = net.features(x)
    ref_cam, ref_raw = reference_cam(acts, net.head(acts.amax(dim=(2, 3)))[:, 1], (32, 32))
    assert res.cam.shape == (3, 32, 32) and res.raw.shape == (3, 8, 8)
    np.testing.assert_allclose(res.raw, ref_raw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.cam, ref_cam, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res.score, net.logits(x)[:, 1].detach().numpy(), rtol=1e-6)


def test_grad_cam_of_the_classifier_layer3_equals_reference() -> None:
    from mvkl.evaluation.protocols.classifier import Classifier, build_head
    from mvkl.models import ImageEncoder

    clf = Classifier(ImageEncoder("resnet18", seed=0), build_head(512, 0)).eval()
    x = torch.rand(2, 1, 64, 64)
    layer = resolve_layer(clf, "layer3")
    assert layer is clf.encoder.trunk.layer3
    res = grad_cam(clf, x, layer, out_size=(48, 48))
    t = clf.encoder.trunk
    h = t.maxpool(t.relu(t.bn1(t.conv1(clf.encoder.normalize(x)))))
    acts = t.layer3(t.layer2(t.layer1(h)))
    z = clf.head(torch.flatten(t.avgpool(t.layer4(acts)), 1))
    ref_cam, ref_raw = reference_cam(acts, z[:, 1], (48, 48))
    assert res.cam.shape == (2, 48, 48) and res.raw.shape == (2, 4, 4)
    np.testing.assert_allclose(res.raw, ref_raw, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(res.cam, ref_cam, rtol=1e-4, atol=1e-5)


def test_grad_cam_finds_the_blob_a_model_learnt() -> None:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    net = BlobNet()
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for _ in range(30):
        x, y, _ = blobs(32, g)
        loss = F.cross_entropy(net.logits(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    x, y, c = blobs(96, g)
    with torch.no_grad():
        acc = float(((net(x) >= 0.5).long() == y).float().mean())
    assert acc >= 0.9, f"the blob detector did not learn (accuracy {acc:.2f})"
    pos = y == 1
    res = grad_cam(net, x[pos], net.layer3)
    assert res.cam.shape == (int(pos.sum()), 64, 64)
    yy, xx = np.mgrid[0:64, 0:64]
    for cam, (cy, cx) in zip(res.cam, c[pos].numpy(), strict=True):
        d = np.hypot(yy - cy, xx - cx)  # blob sigma 3 px: its visible extent is a radius of ~6-8 px
        py, px = np.unravel_index(int(np.argmax(cam)), cam.shape)
        assert d[py, px] <= 6.0, "CAM peak outside the blob"
        assert cam[d <= 8].mean() > 1.5 * cam[d > 8].mean(), "CAM not denser on the blob than elsewhere"


def test_grad_cam_under_no_grad_inference_mode_train_mode_and_frozen_weights() -> None:
    torch.manual_seed(1)
    net = BlobNet().eval()
    x = torch.rand(2, 1, 32, 32)
    ref = grad_cam(net, x, net.layer3).cam
    with torch.no_grad():
        np.testing.assert_allclose(grad_cam(net, x, net.layer3).cam, ref, atol=1e-6)
    with torch.inference_mode():
        xi = torch.rand(2, 1, 32, 32) * 0 + x  # an inference tensor
        np.testing.assert_allclose(grad_cam(net, xi, net.layer3).cam, ref, atol=1e-6)
    for p in net.parameters():
        p.requires_grad_(False)
    np.testing.assert_allclose(grad_cam(net, x, net.layer3).cam, ref, atol=1e-6)
    net.train()
    np.testing.assert_allclose(grad_cam(net, x, net.layer3).cam, ref, atol=1e-6)
    assert net.training, "the module's mode must be restored"
    assert all(p.grad is None for p in net.parameters())
    assert not net.layer3._forward_hooks and not x.requires_grad


def test_hooks_are_removed_after_an_error() -> None:
    net = BlobNet().eval()
    with pytest.raises(ValueError):
        grad_cam(net, torch.rand(1, 1, 32, 32), net.layer3, score_fn=lambda m, x: m.logits(x))  # (B, 2): bad
    assert not net.layer3._forward_hooks


def test_resolve_layer_and_score_fallback() -> None:
    net = BlobNet()
    assert resolve_layer(net, "layer2") is net.layer2
    assert resolve_layer(net, "layer3.0") is net.layer3[0]
    with pytest.raises(InputError, match="layer1, layer2, layer3, head"):
        resolve_layer(net, "layer9")

    class ProbOnly(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

    x = torch.rand(2, 1, 16, 16)
    z = net.logits(x)
    torch.testing.assert_close(malignant_score(ProbOnly(), x), z[:, 1] - z[:, 0], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(malignant_score(net, x), z[:, 1])


def test_overlay_sheet_and_arrays(tmp_path: Path) -> None:
    img = (np.arange(16 * 16).reshape(16, 16) % 256).astype(np.uint8)
    cam = np.zeros((16, 16), np.float32)
    np.testing.assert_array_equal(overlay_rgb(img, cam), np.repeat(img[..., None], 3, axis=2))
    cam[4, 4] = 1.0
    assert not np.array_equal(overlay_rgb(img, cam)[4, 4], np.repeat(img[4, 4], 3))
    from PIL import Image

    p = save_overlay(tmp_path / "o.png", img, cam)
    assert Image.open(p).size == ((16 * 2 + 4) * 16, 16 * 16)
    save_sheet(tmp_path / "s.png", [img, img], [cam, cam], ["a", "b"])
    assert Image.open(tmp_path / "s.png").size[0] > 100
    torch.manual_seed(0)
    net = BlobNet().eval()
    items = [InputImage(position=i, key=f"k{i}", name=f"k{i}", pixels=np.full((32, 32), 40 * (i + 1), np.uint8))
             for i in range(3)]
    items.append(InputImage(position=3, key="bad", name="bad", reason="not-dicom"))
    res = write_cams(net, items, tmp_path / "cams", layer="layer3", input_size=32, save_arrays=True,
                     probs=[0.1, 0.2, 0.3, float("nan")])
    assert res["overlays"] == ["cam_000_k0.png", "cam_001_k1.png", "cam_002_k2.png"]
    with np.load(tmp_path / "cams" / "cam_arrays.npz") as z:
        assert z["cam"].shape == (3, 32, 32) and z["raw"].shape == (3, 8, 8)
        assert list(z["key"]) == ["k0", "k1", "k2"] and np.allclose(z["prob"], [0.1, 0.2, 0.3])
        x = torch.stack([torch.from_numpy(it.pixels).float()[None] / 255 for it in items[:3]])
        np.testing.assert_allclose(z["cam"], grad_cam(net, x, net.layer3).cam, atol=1e-6)
    assert (tmp_path / "cams" / "cam_sheet.png").is_file() and res["sheet_images"] == 3
    assert write_cams(net, items, tmp_path / "two", input_size=32, sheet_limit=2)["sheet_images"] == 2
    write_cams(net, items[1:2], tmp_path / "cams", input_size=32)  # a second run into the same folder
    assert sorted(p.name for p in (tmp_path / "cams").iterdir()) == ["cam_001_k1.png", "cam_sheet.png"]
