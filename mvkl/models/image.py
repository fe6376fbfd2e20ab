"""Image encoder E_I: a torchvision ResNet trunk with the input normalisation inside ``forward``.

ResNet-50 (``fc`` replaced by identity, 2048-d pooled feature; ResNet-18 /
512-d for tiny presets and tests), B2 (use 2048, not Appendix B's 512), B31 (grey images are
loaded once and replicated to 3 channels at tensor level; the normalisation lives in the module so
training, evaluation and inference cannot disagree), B41 (explicit ``weights=`` enum, IMAGENET1K_V1
for parity with ``pretrained=True``) and B25 (every trunk key must load; never a silent fallback
to random or ImageNet weights).

Input: ``(B, 1, H, W)`` grey or ``(B, 3, H, W)`` float in [0, 1], or uint8 in [0, 255] (scaled by
1/255 here, so loaders may ship uint8 to the GPU). Output: ``(B, feature_dim)``.

ImageNet weights are never downloaded: they are read from the torch hub cache
(``torch.hub.get_dir()/checkpoints/<file>``) when the user already has them, or from a file.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import Tensor, nn

from mvkl.errors import InputError
from mvkl.fsutil import display_path

__all__ = [
    "ARCHS",
    "IMAGENET_ARCHS",
    "NORMALIZATIONS",
    "ConvNet4",
    "ImageEncoder",
    "extract_trunk_state_dict",
    "imagenet_weights_path",
    "load_trunk_weights",
    "read_state_dict_file",
]

#: Supported trunks and their pooled feature width.
ARCHS: dict[str, int] = {"resnet50": 2048, "resnet18": 512, "cnn4": 128}

#: Trunks with torchvision ImageNet weights (``cnn4`` has none: it is trained from scratch).
IMAGENET_ARCHS = ("resnet50", "resnet18")
_CNN4_WIDTHS = (16, 32, 64, 128)

#: Per-channel (mean, std) of the supported input normalisations.
NORMALIZATIONS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "clip": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}

# Prefixes under which other code bases store a ResNet trunk (released ViKL code, mvkl's ViKL and
# ImageEncoder), optionally under DDP ("module.") and torch.compile ("_orig_mod.") wrappers.
_BASE_PREFIXES = ("", "visual_encoder.vision_encoder.", "image_encoder.trunk.", "trunk.")
_WRAPPERS = ("", "module.", "_orig_mod.", "module._orig_mod.", "_orig_mod.module.")
_KNOWN_PREFIXES = tuple(w + p for p in _BASE_PREFIXES for w in _WRAPPERS if w + p)


def _check_arch(arch: str) -> None:
    if arch not in ARCHS:
        raise InputError(f"unknown image architecture {arch!r}; expected one of {', '.join(ARCHS)}")


class ConvNet4(nn.Module):
    """A small four-stage CNN for CPU presets (not in the paper, which uses ResNet-50, Sec. 4.1).

    ``layer1`` .. ``layer4``: two 3x3 conv-BN-ReLU each, then 2x2 max pooling; global average pooling
    gives a 128-d feature. At 64 px it trains about 3x faster than ResNet-18 on a CPU and, on a few
    hundred lesion crops, learns more from scratch (docs/PERFORMANCE.md). The stage names match
    ResNet's so that Grad-CAM's ``--layer layer3`` and the trunk-key checks apply unchanged.
    """

    def __init__(self, widths: tuple[int, ...] = _CNN4_WIDTHS) -> None:
        super().__init__()
        c_in = 3
        for i, c in enumerate(widths, start=1):
            self.add_module(f"layer{i}", nn.Sequential(
                nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                nn.MaxPool2d(2)))
            c_in = c
        self.n_layers = len(widths)
        self.fc: nn.Module = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        for i in range(1, self.n_layers + 1):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def _build_trunk(arch: str) -> nn.Module:
    if arch == "cnn4":
        return ConvNet4()
    import torchvision

    return getattr(torchvision.models, arch)(weights=None)


def _torchvision_weights(arch: str) -> Any:
    from torchvision.models import ResNet18_Weights, ResNet50_Weights

    return {"resnet50": ResNet50_Weights.IMAGENET1K_V1, "resnet18": ResNet18_Weights.IMAGENET1K_V1}[arch]


def imagenet_weights_path(arch: str = "resnet50") -> Path:
    """Where torchvision caches the IMAGENET1K_V1 weights of ``arch`` (the file may not exist)."""
    _check_arch(arch)
    if arch not in IMAGENET_ARCHS:
        raise InputError(f"there are no ImageNet weights for {arch}: it is trained from scratch (use random "
                         f"init or a weights file), or choose one of {', '.join(IMAGENET_ARCHS)}", code="option")
    name = os.path.basename(urlparse(_torchvision_weights(arch).url).path)
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def read_state_dict_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint file (``torch.save`` output) with ``weights_only=True``; InputError if unreadable."""
    p = Path(path)
    if not p.is_file():
        raise InputError("weights file not found", file=display_path(p))
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors, zip errors, truncated files
        raise InputError(f"cannot read weights ({type(exc).__name__}): not a PyTorch checkpoint or corrupted",
                         file=display_path(p)) from exc
    if not isinstance(obj, Mapping):
        raise InputError("weights file does not hold a state dict", file=display_path(p))
    return dict(obj)


def extract_trunk_state_dict(obj: Mapping[str, Any], expected: set[str]) -> dict[str, Tensor]:
    """Find the ResNet trunk in a checkpoint dict.

    Accepts a plain torchvision state dict, an mvkl export (``{"format": ..., "state_dict": ...}``),
    dicts with ``state_dict`` / ``model`` keys, and keys under ``module.``,
    ``visual_encoder.vision_encoder.`` (released ViKL code) or ``image_encoder.trunk.`` (mvkl ViKL)
    prefixes. The prefix that covers the most trunk keys wins; keys outside it (text encoder,
    aligners, heads) are ignored, and torchvision's classifier ``fc.*`` is dropped (replaced by
    identity). The result may still miss keys: :func:`load_trunk_weights` checks.
    """
    for _ in range(3):  # unwrap {"state_dict": ...}, {"model": ...}, nested at most a few levels
        inner = next((obj[k] for k in ("state_dict", "model") if isinstance(obj.get(k), Mapping)), None)
        if inner is None:
            break
        obj = inner
    tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, Tensor)}
    best: tuple[int, str] = (-1, "")
    for prefix in ("", *_KNOWN_PREFIXES):
        hits = sum(1 for k in tensors if k.startswith(prefix) and k[len(prefix):] in expected)
        if hits > best[0]:
            best = (hits, prefix)
    prefix = best[1]
    out = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    if prefix == "":
        # Keys of other modules (e.g. "text_encoder.*") are not the trunk's business; keep only the
        # ones that look like ResNet parameters so that real mismatches are still reported.
        roots = {k.split(".", 1)[0] for k in expected} | {"fc"}
        out = {
            k: v for k, v in out.items() if k.split(".", 1)[0] in roots or re.fullmatch(r"layer\d+", k.split(".", 1)[0])
        }
    return {k: v for k, v in out.items() if not k.startswith("fc.")}


def load_trunk_weights(trunk: nn.Module, obj: Mapping[str, Any], *, source: str) -> None:
    """Load ``obj`` into ``trunk`` strictly: every trunk key, no unexpected key, matching shapes.

    ``num_batches_tracked`` buffers may be absent (older torchvision files). Raises InputError
    naming the missing / unexpected / mis-shaped keys (B25) *before* touching the trunk.
    """
    own = trunk.state_dict()
    expected = set(own)
    sd = extract_trunk_state_dict(obj, expected)
    if not sd:
        sample = ", ".join(sorted(str(k) for k in obj)[:6])
        raise InputError(f"image weights from {source} hold no ResNet trunk keys (first keys: {sample}); "
                         "expected torchvision names such as layer3.0.conv1.weight")
    missing = sorted(k for k in expected - set(sd) if not k.endswith("num_batches_tracked"))
    unexpected = sorted(set(sd) - expected)
    shapes = sorted(f"{k} {tuple(sd[k].shape)} != {tuple(own[k].shape)}"
                    for k in expected & set(sd) if tuple(sd[k].shape) != tuple(own[k].shape))
    if missing or unexpected or shapes:
        parts = []
        for what, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", shapes)):
            if keys:
                shown = ", ".join(keys[:8]) + (f", ... ({len(keys)} in all)" if len(keys) > 8 else "")
                parts.append(f"{len(keys)} {what} key(s): {shown}")
        raise InputError(f"image weights from {source} do not fit the trunk: " + "; ".join(parts)
                         + ". Check the architecture (--arch) and that the file holds a ResNet trunk.")
    result = trunk.load_state_dict(sd, strict=False)
    left = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if left or result.unexpected_keys:  # pragma: no cover - guarded by the checks above
        raise InputError(f"image weights from {source} did not load: {left or result.unexpected_keys}")


class ImageEncoder(nn.Module):
    """ResNet trunk + input normalisation (docs/fidelity.md, B31).

    Args:
        arch: ``"resnet50"`` (2048-d feature, the paper), ``"resnet18"`` (512-d) or ``"cnn4"``
            (:class:`ConvNet4`, 128-d, the tiny preset).
        weights: ``None`` (random init, ViKL-R), ``"imagenet"`` (torchvision IMAGENET1K_V1 read from
            the torch hub cache only, never downloaded), or a path to a state-dict file.
        normalization: ``"clip"`` (released code, default) or ``"imagenet"`` per-channel mean/std.
        seed: seeds the random initialisation (the global RNG is left untouched); None uses the
            global torch RNG.

    Attributes:
        trunk: the torchvision ResNet with ``fc = Identity``; its ``state_dict()`` keys are exactly
            torchvision's (``layer3.0.conv1.weight``, ...) minus ``fc``.
        feature_dim: width of the pooled feature.
    """

    def __init__(self, arch: str = "resnet50", weights: str | os.PathLike[str] | None = None,
                 normalization: str = "clip", seed: int | None = None) -> None:
        super().__init__()
        _check_arch(arch)
        if normalization not in NORMALIZATIONS:
            raise InputError(f"unknown normalization {normalization!r}; expected one of "
                             f"{', '.join(NORMALIZATIONS)}")
        self.arch = arch
        self.feature_dim = ARCHS[arch]
        self.normalization = normalization
        ctx = torch.random.fork_rng(devices=[]) if seed is not None else contextlib.nullcontext()
        with ctx:
            if seed is not None:
                torch.manual_seed(seed)
            self.trunk = _build_trunk(arch)
        self.trunk.fc = nn.Identity()
        mean, std = NORMALIZATIONS[normalization]
        # Non-persistent: the normalisation is configuration (card / model config), not weights.
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.weights_source = "random"
        if weights is not None:
            self.load_weights(weights)

    def load_weights(self, weights: str | os.PathLike[str]) -> None:
        """Load ``"imagenet"`` (hub cache only) or a state-dict file strictly into the trunk."""
        if isinstance(weights, str) and weights == "imagenet":
            path = imagenet_weights_path(self.arch)
            if not path.is_file():
                raise InputError(
                    f"ImageNet weights for {self.arch} are not in the torch hub cache and mvkl never "
                    f"downloads: put the file {path.name} (from {_torchvision_weights(self.arch).url}) into "
                    f"{display_path(path.parent)} (torch.hub.get_dir()/checkpoints, on a connected machine "
                    f"`python -c \"import torchvision; torchvision.models.{self.arch}(weights='IMAGENET1K_V1')\"` "
                    f"fills it), or pass the file with --image-weights FILE, or use --random-init.",
                    code="missing-weights")
            load_trunk_weights(self.trunk, read_state_dict_file(path), source=f"the ImageNet file {path.name}")
            self.weights_source = "imagenet"
        else:
            path = Path(weights)
            load_trunk_weights(self.trunk, read_state_dict_file(path), source=display_path(path))
            self.weights_source = "file"

    def normalize(self, x: Tensor) -> Tensor:
        """Scale uint8 to [0, 1], replicate grey input to 3 channels, apply the per-channel normalisation."""
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"expected images of shape (B, 1|3, H, W), got {tuple(x.shape)}")
        if x.dtype == torch.uint8:
            x = x.to(self.mean.dtype) / 255.0
        elif not x.is_floating_point():
            raise ValueError(f"expected float images in [0, 1] or uint8, got {x.dtype}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 1|3, H, W)`` in [0, 1] (or uint8) → ``(B, feature_dim)`` pooled trunk feature."""
        return self.trunk(self.normalize(x))

    def extra_repr(self) -> str:
        return f"arch={self.arch}, feature_dim={self.feature_dim}, normalization={self.normalization}"
