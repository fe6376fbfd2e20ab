from __future__ import annotations

import numpy as np
import pytest

from mvkl.manifest import schema as S
from mvkl.synth.cases import _size, draw_cases
from mvkl.synth.clinical import LumpClinical
from mvkl.synth.scene import render_view

OK = S.option_by_key()
BASE_MASS = ["mass_shape.ovoid", "mass_edge.well_circumscribed", "mass_density.median", "mass_size.le_2cm"]
BASE_CALC = ["calc_shape.crescentic", "calc_size.tiny", "calc_density.high", "calc_distribution.clustered"]


def _render(keys: list[str], size_mm: tuple[float, float] | None = (16.0, 12.0), view: str = "CC", seed: int = 0,
            image_size: int = 512):  # type: ignore[no-untyped-def]
    """Render one lump with the options ``keys``; ``size_mm=None`` derives the size from the
    manifestation exactly as :func:`mvkl.synth.cases.draw_cases` does."""
    cases = draw_cases(1, seed=seed)
    exam = cases.exams[0]
    lump = exam.lumps[0]
    m = np.zeros(S.DIM, np.uint8)
    for k in keys:
        m[OK[k].index] = 1
    has_mass = any(k.startswith("mass") for k in keys)
    has_calc = any(k.startswith("calc") for k in keys)
    kind = "mass+calc" if has_mass and has_calc else "mass" if has_mass else "calc" if has_calc else "signs"
    lump.clinical = LumpClinical(kind, m, 0.0, 1, "4B", 0.0)
    lump.size_mm = size_mm or _size(np.random.default_rng(seed), lump.clinical)
    exam.lumps = [lump]
    image = exam.files_for(lump.laterality, view)[0]
    return render_view(exam, image, image_size)


def _variants(key: str) -> list[str]:
    """A reference lump and the same lump with ``key`` swapped in (same group) or added (signs)."""
    group = key.split(".")[0]
    base = [*BASE_CALC, *BASE_MASS] if group.startswith("calc") else list(BASE_MASS)
    keys = [k for k in base if k.split(".")[0] != group]
    return [*keys, key]


def _reference(key: str) -> list[str]:
    group = key.split(".")[0]
    base = BASE_CALC + BASE_MASS if group.startswith("calc") else list(BASE_MASS)
    if group == "misc":
        return base
    alt = next(o.key for o in S.group_by_key()[group].options if o.key != key)
    return [*(k for k in base if k.split(".")[0] != group), alt]


@pytest.mark.parametrize("key", [o.key for o in S.OPTIONS])
def test_every_option_changes_the_rendering(key: str) -> None:
    size = None if key.startswith("mass_size") else (16.0, 12.0)
    a = _render(_variants(key), size, view="MLO").image
    b = _render(_reference(key), size, view="MLO").image
    diff = np.abs(a - b)
    assert diff.max() > 0.02, key


def _excess(keys: list[str], **kw):  # type: ignore[no-untyped-def]
    with_lump = _render(keys, **kw)
    without = _render([], **kw).image  # signs-only kind with no sign set: the bare breast
    return with_lump, with_lump.image - without


def test_size_and_density_follow_the_manifestation() -> None:
    _small, d_small = _excess(BASE_MASS, size_mm=(12, 10))
    _big, d_big = _excess([*BASE_MASS[:3], "mass_size.2_5cm"], size_mm=(35, 30))
    assert (np.abs(d_big) > 0.03).sum() > 4 * (np.abs(d_small) > 0.03).sum()
    lows, highs = [], []
    for seed in range(3):
        lo, d_lo = _excess(["mass_shape.ovoid", "mass_edge.well_circumscribed", "mass_density.low"], seed=seed)
        _hi, d_hi = _excess(["mass_shape.ovoid", "mass_edge.well_circumscribed", "mass_density.high"], seed=seed)
        b = lo.boxes[0]
        core = (slice(int(b.cy) - 3, int(b.cy) + 4), slice(int(b.cx) - 3, int(b.cx) + 4))
        lows.append(d_lo[core].mean())
        highs.append(d_hi[core].mean())
    assert all(h > lo for h, lo in zip(highs, lows, strict=True))


def test_spicules_reach_beyond_the_mass_border() -> None:
    def outer_energy(margin: str) -> float:
        view, d = _excess(["mass_shape.irregular", margin, "mass_density.high"], size_mm=(16, 14))
        b = view.boxes[0]
        yy, xx = np.mgrid[: d.shape[0], : d.shape[1]]
        r = np.hypot(yy - b.cy, xx - b.cx)
        ring = (r > 1.6 * b.radius) & (r < 2.6 * b.radius)
        return float(np.abs(d[ring]).mean())

    assert outer_energy("mass_edge.spiculated") > 3 * outer_energy("mass_edge.well_circumscribed")


def test_lymph_node_shows_in_the_axilla_on_mlo() -> None:
    _view, d = _excess(["misc.abnormal_lymph_node"], view="MLO")
    h, _w = d.shape
    upper = np.abs(d[: h // 2]).sum()
    assert upper > 5.0
