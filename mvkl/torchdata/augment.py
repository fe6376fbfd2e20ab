"""Training augmentation and the evaluation transform, on ``(1, H, W)`` float tensors in [0, 1].

Spec method.md §2.6 (the exact pipeline of the released code, used for pretraining and for
downstream training alike) and bug B27:

1. RandomResizedCrop to ``size``², scale (0.5, 1.0), aspect ratio (3/4, 4/3), **bicubic**
   (antialiased, like PIL), then clipped to [0, 1];
2. horizontal flip with p = 0.5 (no vertical flip);
3. ALBEF-style RandAugment: N = 2 ops drawn **with replacement** from the 10-op list
   Identity, AutoContrast, Equalize, Brightness, Sharpness, ShearX, ShearY, TranslateX,
   TranslateY, Rotate; each drawn op is applied with probability 0.5, at the fixed magnitude
   M = 7 of MAX_LEVEL 10:

   * Brightness / Sharpness: factor 0.1 + 1.8·M/10 = 1.36 in ``compat`` mode (only ever
     brighter / sharper, as in the code); in ``fixed`` mode with ``random_direction`` (default)
     the factor is 1 ± 0.36, the sign drawn 50/50 (B27);
   * Shear: ±0.3·M/10 = ±0.21 (shear factor; sign 50/50), about the image **centre** in ``fixed``
     mode, about the top-left corner in ``compat`` mode;
   * Translate: ±M/10·10 px = ±7 px at 256 px, scaled with the output size (7·size/256 px);
   * Rotate: ±30·M/10 = ±21° about the centre;
   * AutoContrast (cutoff 0) and Equalize with PIL semantics (torchvision's tensor kernels);
   * geometric ops fill with **0** (black background, B27) in ``fixed`` mode and grey 128/255 in
     ``compat`` mode; bilinear interpolation like the code's cv2 ``INTER_LINEAR``.

Every op clips to [0, 1]; the released code's uint8 wrap-around in Sharpness (B27) is a bug of its
integer arithmetic and is not reproduced in either mode. The CLIP normalisation and the grey → 3
channel replication happen inside the image encoder (B31), not here.

All randomness comes from the ``torch.Generator`` passed to :meth:`TrainAugment.__call__`; the
datasets derive it from (seed, step, rank, position, view) (:mod:`mvkl.torchdata.seeding`), so the
augmentation of a sample does not depend on workers or prefetching. :meth:`TrainAugment.sample`
draws the parameters and :meth:`TrainAugment.apply` applies them, so a draw can be inspected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

__all__ = ["OPS", "AugmentConfig", "AugmentParams", "EvalTransform", "TrainAugment", "build_transform"]

#: The RandAugment op list of the released code (spec §2.6), in its order.
OPS: tuple[str, ...] = ("Identity", "AutoContrast", "Equalize", "Brightness", "Sharpness", "ShearX", "ShearY",
                        "TranslateX", "TranslateY", "Rotate")
MAX_LEVEL = 10.0


@dataclass(frozen=True)
class AugmentConfig:
    """Options of the training augmentation (defaults: spec §2.6 with the B27 fixes).

    Attributes:
        size: output side in pixels (256 in the paper).
        scale: RandomResizedCrop area fraction range. ratio: its aspect-ratio range.
        hflip: probability of a horizontal flip.
        n_ops: RandAugment N (ops drawn with replacement). magnitude: M on the 0..10 scale.
        op_prob: probability that each drawn op is applied.
        mode: ``"fixed"`` (black fill, centre shear, factors in both directions) or ``"compat"``
            (the released code: grey 128 fill, corner shear, factors only above 1).
        random_direction: in ``fixed`` mode, Brightness/Sharpness factors 1 ± δ (else 1 + δ).
        ops: the op list to draw from.
        dihedral: also a random quarter turn and vertical flip (the 8 symmetries of the square), for
            lesion-centred crops, whose orientation carries no meaning; off for whole views.
    """

    size: int = 256
    scale: tuple[float, float] = (0.5, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    hflip: float = 0.5
    n_ops: int = 2
    magnitude: float = 7.0
    op_prob: float = 0.5
    mode: Literal["fixed", "compat"] = "fixed"
    random_direction: bool = True
    ops: tuple[str, ...] = field(default=OPS)
    dihedral: bool = False

    def __post_init__(self) -> None:
        if int(self.size) != self.size or self.size < 8:
            raise ValueError(f"size must be an integer >= 8, got {self.size!r}")
        lo, hi = self.scale
        if not 0.0 < lo <= hi <= 1.0:
            raise ValueError(f"scale must satisfy 0 < min <= max <= 1, got {self.scale!r}")
        if not 0.0 < self.ratio[0] <= self.ratio[1]:
            raise ValueError(f"ratio must satisfy 0 < min <= max, got {self.ratio!r}")
        for name in ("hflip", "op_prob"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
        if int(self.n_ops) != self.n_ops or self.n_ops < 0:
            raise ValueError(f"n_ops must be a non-negative integer, got {self.n_ops!r}")
        if not 0.0 <= self.magnitude <= MAX_LEVEL:
            raise ValueError(f"magnitude must be in [0, {MAX_LEVEL:g}], got {self.magnitude!r}")
        if self.mode not in ("fixed", "compat"):
            raise ValueError(f"mode must be 'fixed' or 'compat', got {self.mode!r}")
        bad = [o for o in self.ops if o not in OPS]
        if bad or not self.ops:
            raise ValueError(f"ops must be a non-empty subset of {OPS}, got unknown {bad}")


@dataclass(frozen=True)
class AugmentParams:
    """One draw: crop ``(top, left, height, width)`` in input pixels, flip, and the RandAugment ops
    as ``(name, applied, sign)`` with sign ±1 for the signed magnitudes."""

    crop: tuple[int, int, int, int]
    flip: bool
    ops: tuple[tuple[str, bool, int], ...]
    turns: int = 0  # quarter turns (dihedral mode)
    vflip: bool = False  # vertical flip (dihedral mode)


def _uniform(g: torch.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand((), generator=g, dtype=torch.float64))


def _randint(g: torch.Generator, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi] (inclusive)."""
    return int(torch.randint(lo, hi + 1, (1,), generator=g))


def crop_params(h: int, w: int, scale: tuple[float, float], ratio: tuple[float, float],
                g: torch.Generator) -> tuple[int, int, int, int]:
    """RandomResizedCrop's box (torchvision's algorithm: 10 tries, then a centre crop)."""
    area = h * w
    log_r = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * _uniform(g, *scale)
        aspect = math.exp(_uniform(g, *log_r))
        cw = round(math.sqrt(target * aspect))
        ch = round(math.sqrt(target / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            return _randint(g, 0, h - ch), _randint(g, 0, w - cw), ch, cw
    in_ratio = w / h
    if in_ratio < ratio[0]:
        cw, ch = w, round(w / ratio[0])
    elif in_ratio > ratio[1]:
        ch, cw = h, round(h * ratio[1])
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


class TrainAugment:
    """The training augmentation (module docstring); ``aug(img, generator) -> (1, size, size)``."""

    def __init__(self, config: AugmentConfig | None = None, **overrides: object) -> None:
        base = config or AugmentConfig()
        if overrides:
            base = AugmentConfig(**{**base.__dict__, **overrides})  # type: ignore[arg-type]
        self.config = base

    # -- magnitudes (spec §2.6) ------------------------------------------------------------------
    @property
    def level(self) -> float:
        return self.config.magnitude / MAX_LEVEL

    def enhance_factor(self, sign: int) -> float:
        """Brightness/Sharpness factor: 0.1 + 1.8·M/10 (compat), or 1 ± (that − 1) (fixed)."""
        up = 0.1 + 1.8 * self.level
        if self.config.mode == "compat" or not self.config.random_direction:
            return up
        return 1.0 + sign * (up - 1.0)

    def shear_degrees(self, sign: int) -> float:
        """Shear factor ±0.3·M/10 as torchvision's shear angle (atan)."""
        return sign * math.degrees(math.atan(0.3 * self.level))

    def translate_pixels(self, sign: int) -> float:
        """±M/10·10 px at 256 px, scaled with the output size."""
        return sign * self.level * 10.0 * self.config.size / 256.0

    def rotate_degrees(self, sign: int) -> float:
        return sign * 30.0 * self.level

    @property
    def fill(self) -> float:
        return 128.0 / 255.0 if self.config.mode == "compat" else 0.0

    # -- draw and apply --------------------------------------------------------------------------
    def sample(self, h: int, w: int, g: torch.Generator) -> AugmentParams:
        """Draw the parameters for an ``h × w`` input (a fixed number of draws per call)."""
        c = self.config
        crop = crop_params(h, w, c.scale, c.ratio, g)
        flip = _uniform(g, 0.0, 1.0) < c.hflip
        ops = []
        for _ in range(int(c.n_ops)):
            name = c.ops[_randint(g, 0, len(c.ops) - 1)]
            applied = _uniform(g, 0.0, 1.0) < c.op_prob
            sign = 1 if _uniform(g, 0.0, 1.0) < 0.5 else -1
            ops.append((name, applied, sign))
        if not c.dihedral:  # the draw sequence of the paper's augmentation is unchanged
            return AugmentParams(crop, flip, tuple(ops))
        turns = _randint(g, 0, 3)
        vflip = _uniform(g, 0.0, 1.0) < 0.5
        return AugmentParams(crop, flip, tuple(ops), turns, vflip)

    def apply_op(self, img: Tensor, name: str, sign: int) -> Tensor:
        """One RandAugment op on a ``(C, H, W)`` float image."""
        import torchvision.transforms.v2.functional as F
        from torchvision.transforms import InterpolationMode

        bil = InterpolationMode.BILINEAR
        fill = [self.fill] * img.shape[0]
        centre = [0.0, 0.0] if self.config.mode == "compat" else None
        if name == "Identity":
            return img
        if name == "AutoContrast":
            return F.autocontrast(img)
        if name == "Equalize":
            return F.equalize(img)
        if name == "Brightness":
            return F.adjust_brightness(img, self.enhance_factor(sign))
        if name == "Sharpness":
            return F.adjust_sharpness(img, self.enhance_factor(sign))
        if name in ("ShearX", "ShearY"):
            d = self.shear_degrees(sign)
            shear = [d, 0.0] if name == "ShearX" else [0.0, d]
            return F.affine(img, angle=0.0, translate=[0.0, 0.0], scale=1.0, shear=shear, interpolation=bil,
                            fill=fill, center=centre)
        if name in ("TranslateX", "TranslateY"):
            px = self.translate_pixels(sign)
            shift = [px, 0.0] if name == "TranslateX" else [0.0, px]
            return F.affine(img, angle=0.0, translate=shift, scale=1.0, shear=[0.0, 0.0], interpolation=bil,
                            fill=fill)
        if name == "Rotate":
            return F.rotate(img, self.rotate_degrees(sign), interpolation=bil, fill=fill)
        raise ValueError(f"unknown op {name!r}")

    def apply(self, img: Tensor, params: AugmentParams) -> Tensor:
        """Apply a draw to a ``(C, H, W)`` float image in [0, 1]; returns ``(C, size, size)``."""
        import torchvision.transforms.v2.functional as F
        from torchvision.transforms import InterpolationMode

        s = self.config.size
        top, left, ch, cw = params.crop
        out = F.resized_crop(img, top, left, ch, cw, [s, s], interpolation=InterpolationMode.BICUBIC,
                             antialias=True).clamp_(0.0, 1.0)
        if params.flip:
            out = out.flip(-1)
        if params.vflip:
            out = out.flip(-2)
        if params.turns:
            out = torch.rot90(out, params.turns, (-2, -1))
        for name, applied, sign in params.ops:
            if applied:
                out = self.apply_op(out, name, sign)
        return out.clamp_(0.0, 1.0).contiguous()

    def __call__(self, img: Tensor, generator: torch.Generator) -> Tensor:
        _check_image(img)
        return self.apply(img, self.sample(img.shape[-2], img.shape[-1], generator))

    def __repr__(self) -> str:
        return f"TrainAugment({self.config})"


class EvalTransform:
    """Deterministic evaluation transform: resize to ``size``² (bicubic, antialiased, clipped).

    Stored images are already square with the aspect ratio preserved by ingest (B29), so nothing
    is squashed. The generator argument is accepted and ignored (same call signature as
    :class:`TrainAugment`).
    """

    def __init__(self, size: int = 256) -> None:
        if int(size) != size or size < 8:
            raise ValueError(f"size must be an integer >= 8, got {size!r}")
        self.size = int(size)

    def __call__(self, img: Tensor, generator: torch.Generator | None = None) -> Tensor:
        import torchvision.transforms.v2.functional as F
        from torchvision.transforms import InterpolationMode

        _check_image(img)
        if img.shape[-2:] == (self.size, self.size):
            return img
        return F.resize(img, [self.size, self.size], interpolation=InterpolationMode.BICUBIC,
                        antialias=True).clamp_(0.0, 1.0)

    def __repr__(self) -> str:
        return f"EvalTransform(size={self.size})"


def _check_image(img: Tensor) -> None:
    if img.dim() != 3 or img.shape[0] not in (1, 3) or not img.is_floating_point():
        raise ValueError(f"expected a float (1|3, H, W) image, got {tuple(img.shape)} {img.dtype}")


def build_transform(kind: str, size: int, **options: object) -> TrainAugment | EvalTransform:
    """``"fixed"`` / ``"compat"``: :class:`TrainAugment` in that mode; ``"none"``: :class:`EvalTransform`."""
    if kind == "none":
        return EvalTransform(size)
    if kind not in ("fixed", "compat"):
        raise ValueError(f"augmentation must be 'fixed', 'compat' or 'none', got {kind!r}")
    return TrainAugment(AugmentConfig(size=size, mode=kind, **options))  # type: ignore[arg-type]
