"""Training augmentation (spec §2.6, B27) against PIL / numpy references, and its draw statistics."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image, ImageEnhance, ImageOps

from mvkl.torchdata.augment import OPS, AugmentConfig, EvalTransform, TrainAugment, build_transform, crop_params


def _u8(size: int = 40, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((size, size)) * 255).astype(np.uint8)


def _t(u8: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(u8).float().div(255).unsqueeze(0)


def _pil_diff(out: torch.Tensor, ref: Image.Image) -> float:
    return float(np.abs(out.squeeze(0).numpy() * 255 - np.asarray(ref, dtype=np.float64)).mean())


def test_output_shape_range_and_determinism() -> None:
    img = torch.rand(1, 50, 60, generator=torch.Generator().manual_seed(0))
    for mode in ("fixed", "compat"):
        aug = TrainAugment(AugmentConfig(size=32, mode=mode))
        outs = [aug(img, torch.Generator().manual_seed(s)) for s in range(20)]
        for o in outs:
            assert o.shape == (1, 32, 32) and o.dtype == torch.float32
            assert float(o.min()) >= 0.0 and float(o.max()) <= 1.0
        again = aug(img, torch.Generator().manual_seed(3))
        assert torch.equal(again, outs[3])
        assert not torch.equal(outs[0], outs[1])


def test_crop_params_respect_scale_and_ratio() -> None:
    g = torch.Generator().manual_seed(1)
    h = w = 256
    areas, ratios = [], []
    for _ in range(2000):
        top, left, ch, cw = crop_params(h, w, (0.5, 1.0), (3 / 4, 4 / 3), g)
        assert 0 <= top <= h - ch and 0 <= left <= w - cw
        areas.append(ch * cw / (h * w))
        ratios.append(cw / ch)
    # rounding of the sides to pixels allows a hair outside the continuous ranges
    assert min(areas) >= 0.5 - 0.01 and max(areas) <= 1.0
    assert min(ratios) >= 3 / 4 - 0.01 and max(ratios) <= 4 / 3 + 0.01
    assert 0.65 < float(np.mean(areas)) < 0.76


def test_randaugment_draws_with_replacement_and_p_half() -> None:
    aug = TrainAugment(AugmentConfig(size=32))
    g = torch.Generator().manual_seed(2)
    names, applied, signs, pairs_equal = Counter(), [], [], 0
    n = 3000
    for _ in range(n):
        p = aug.sample(64, 64, g)
        assert len(p.ops) == 2
        pairs_equal += p.ops[0][0] == p.ops[1][0]
        for name, a, s in p.ops:
            names[name] += 1
            applied.append(a)
            signs.append(s)
    assert set(names) == set(OPS)
    for op in OPS:  # uniform over the 10 ops: 600 expected each, sd ~ 23
        assert abs(names[op] - 2 * n / len(OPS)) < 120
    assert abs(np.mean(applied) - 0.5) < 0.03 and abs(np.mean(np.array(signs) > 0) - 0.5) < 0.03
    assert abs(pairs_equal / n - 0.1) < 0.03  # with replacement: the same op twice 1 time in 10


@pytest.mark.parametrize("mode", ["fixed", "compat"])
def test_shear_matches_pil_about_centre_or_corner(mode: str) -> None:
    u8 = _u8()
    aug = TrainAugment(AugmentConfig(size=40, mode=mode))
    m = 0.3 * 0.7
    c = 0.0 if mode == "compat" else 20.0  # PIL's data maps output -> input; centre = size / 2
    fill = 128 if mode == "compat" else 0
    for sign in (1, -1):
        out = aug.apply_op(_t(u8), "ShearX", sign)
        ref = Image.fromarray(u8).transform((40, 40), Image.AFFINE, (1, sign * m, -sign * m * c, 0, 1, 0),
                                            Image.BILINEAR, fillcolor=fill)
        wrong = Image.fromarray(u8).transform((40, 40), Image.AFFINE, (1, sign * m, -sign * m * (20.0 - c), 0, 1, 0),
                                              Image.BILINEAR, fillcolor=fill)
        assert _pil_diff(out, ref) < 2.0
        assert _pil_diff(out, wrong) > 20.0


@pytest.mark.parametrize("mode", ["fixed", "compat"])
def test_rotate_matches_pil_and_fill(mode: str) -> None:
    u8 = _u8()
    aug = TrainAugment(AugmentConfig(size=40, mode=mode))
    fill = 128 if mode == "compat" else 0
    out = aug.apply_op(_t(u8), "Rotate", 1)
    ref = Image.fromarray(u8).rotate(21.0, Image.BILINEAR, fillcolor=fill)
    assert _pil_diff(out, ref) < 2.0
    ones = aug.apply_op(torch.ones(1, 40, 40), "Rotate", -1)
    assert float(ones[0, 0, 0]) == pytest.approx(fill / 255, abs=1e-6)  # corner is background


def test_translate_is_seven_pixels_at_256_and_scales() -> None:
    for size, px in ((256, 7), (128, 3.5)):
        img = torch.zeros(1, size, size)
        img[:, :, size // 2] = 1.0
        out = TrainAugment(AugmentConfig(size=size)).apply_op(img, "TranslateX", 1)
        cols = out[0].sum(0)
        centre = float((cols * torch.arange(size)).sum() / cols.sum())
        assert centre == pytest.approx(size // 2 + px, abs=1e-3)


def test_enhance_factors_compat_only_up_fixed_both_ways() -> None:
    grey = torch.full((1, 8, 8), 0.5)
    compat = TrainAugment(AugmentConfig(size=8, mode="compat"))
    fixed = TrainAugment(AugmentConfig(size=8))
    one_way = TrainAugment(AugmentConfig(size=8, random_direction=False))
    for sign in (1, -1):
        assert float(compat.apply_op(grey, "Brightness", sign).mean()) == pytest.approx(0.68)
        assert float(one_way.apply_op(grey, "Brightness", sign).mean()) == pytest.approx(0.68)
    assert float(fixed.apply_op(grey, "Brightness", 1).mean()) == pytest.approx(0.68)
    assert float(fixed.apply_op(grey, "Brightness", -1).mean()) == pytest.approx(0.32)
    u8 = _u8(16)
    for factor, sign in ((1.36, 1), (0.64, -1)):
        ref = ImageEnhance.Brightness(Image.fromarray(u8)).enhance(factor)
        assert _pil_diff(fixed.apply_op(_t(u8), "Brightness", sign), ref) < 1.0


def test_sharpness_clips_instead_of_wrapping() -> None:
    """B27: a bright dot on a dark field sharpened by 1.36 saturates at 1 (the code wrapped to ~0)."""
    u8 = np.full((9, 9), 20, np.uint8)
    u8[4, 4] = 250
    out = TrainAugment(AugmentConfig(size=9, mode="compat")).apply_op(_t(u8), "Sharpness", 1)
    # PIL semantics: out = degenerate + f·(img − degenerate), degenerate = 3×3 smoothing (centre 5/13)
    img = u8.astype(np.float64) / 255
    k = np.ones((3, 3)) / 13
    k[1, 1] = 5 / 13
    blur = img.copy()
    for y in range(1, 8):
        for x in range(1, 8):
            blur[y, x] = (img[y - 1 : y + 2, x - 1 : x + 2] * k).sum()
    ref = np.clip(blur + 1.36 * (img - blur), 0, 1)
    np.testing.assert_allclose(out[0].numpy(), ref, atol=1e-5)
    assert float(out[0, 4, 4]) == 1.0


def test_autocontrast_and_equalize_match_pil() -> None:
    u8 = (_u8(32).astype(np.float64) * 0.5 + 40).astype(np.uint8)
    aug = TrainAugment(AugmentConfig(size=32))
    for name, ref in (("AutoContrast", ImageOps.autocontrast(Image.fromarray(u8))),
                      ("Equalize", ImageOps.equalize(Image.fromarray(u8)))):
        out = aug.apply_op(_t(u8), name, 1)
        assert _pil_diff(out, ref) < 0.6, name


def test_flip_and_identity_pipeline() -> None:
    aug = TrainAugment(AugmentConfig(size=16, scale=(1.0, 1.0), ratio=(1.0, 1.0), n_ops=0, hflip=1.0))
    img = torch.rand(1, 16, 16, generator=torch.Generator().manual_seed(0))
    out = aug(img, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, img.flip(-1), atol=1e-6, rtol=0)


def test_eval_transform_and_builder() -> None:
    img = torch.rand(1, 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.equal(EvalTransform(32)(img), img)
    big = EvalTransform(64)(img)
    assert big.shape == (1, 64, 64) and float(big.min()) >= 0 and float(big.max()) <= 1
    assert isinstance(build_transform("none", 32), EvalTransform)
    assert build_transform("compat", 32).config.mode == "compat"
    with pytest.raises(ValueError):
        build_transform("strong", 32)
    with pytest.raises(ValueError, match="scale"):
        AugmentConfig(scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="ops"):
        AugmentConfig(ops=("Solarize",))
    with pytest.raises(ValueError, match="float"):
        EvalTransform(32)(torch.zeros(1, 32, 32, dtype=torch.uint8))
    assert math.isclose(TrainAugment().enhance_factor(1), 1.36)


def test_dihedral_adds_quarter_turns_and_vertical_flips_after_the_same_draws() -> None:
    img = torch.rand(1, 40, 48, generator=torch.Generator().manual_seed(3))
    plain = TrainAugment(AugmentConfig(size=32, n_ops=0))
    dihedral = TrainAugment(AugmentConfig(size=32, n_ops=0, dihedral=True))
    seen = set()
    for s in range(24):
        p0 = plain.sample(40, 48, torch.Generator().manual_seed(s))
        p1 = dihedral.sample(40, 48, torch.Generator().manual_seed(s))
        assert (p1.crop, p1.flip, p1.ops) == (p0.crop, p0.flip, p0.ops)  # the paper's draws are unchanged
        assert (p0.turns, p0.vflip) == (0, False)
        seen.add((p1.turns, p1.vflip))
        want = plain.apply(img, p0)
        if p1.vflip:
            want = want.flip(-2)
        want = torch.rot90(want, p1.turns, (-2, -1))
        assert torch.equal(dihedral.apply(img, p1), want)
    assert len(seen) == 8  # all eight symmetries of the square occur
