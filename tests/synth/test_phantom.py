from __future__ import annotations

import itertools

import numpy as np

from mvkl.synth.phantom import BreastSide, make_geometry, power_noise, render_parenchyma


def _render(view: str, composition: int, seed: int = 0, size: tuple[int, int] = (512, 416)):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    side = BreastSide.draw(rng, composition)
    g = make_geometry(side, view, size, 0.47, rng)
    return g, *render_parenchyma(g, composition, rng)


def test_power_noise_spectrum_slope() -> None:
    n = power_noise(np.random.default_rng(0), (256, 256), 3.0)
    assert abs(n.mean()) < 1e-3 and abs(n.std() - 1) < 1e-3
    p = np.abs(np.fft.fft2(n)) ** 2
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(256), np.fft.fftfreq(256), indexing="ij"))
    sel = (k > 0.02) & (k < 0.3)
    slope = np.polyfit(np.log(k[sel]), np.log(p[sel]), 1)[0]
    assert abs(slope + 3.0) < 0.2


def test_breast_against_the_chest_wall_with_skin_and_muscle() -> None:
    g, img, inside, dist = _render("MLO", 1)
    h, _w = img.shape
    assert inside[:, 0].mean() > 0.5 and inside[:, -1].max() == 0  # chest wall left, air right
    assert img[inside == 0].max() == 0
    # Skin line: brighter than the tissue 3 mm inside, along the contour.
    skin = (dist > 0) & (dist < g.px(1.5))
    deeper = (dist > g.px(4)) & (dist < g.px(6))
    assert img[skin].mean() > img[deeper].mean()
    # Pectoral muscle: the top-left corner is denser than the breast below it.
    pw, ph, _ = g.pectoral
    assert img[: int(ph * 0.2), : int(pw * 0.2)].mean() > img[int(h * 0.7): int(h * 0.8), 5: int(pw * 0.2)].mean()
    gcc, _cc, _, _ = _render("CC", 1)
    assert gcc.pectoral is None


def test_composition_controls_density() -> None:
    means = []
    for comp in range(4):
        _, img, _inside, dist = _render("CC", comp, seed=3)
        means.append(img[dist > 30].mean())
    assert all(a < b for a, b in itertools.pairwise(means)), means
