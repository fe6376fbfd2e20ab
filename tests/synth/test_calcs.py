from __future__ import annotations

import numpy as np

from mvkl.manifest import schema as S
from mvkl.synth.calcs import calc_particles
from mvkl.synth.lesions import LesionSpec
from mvkl.synth.phantom import BreastSide, make_geometry

OK = S.option_by_key()


def _spec(keys: list[str], seed: int = 0) -> tuple[LesionSpec, object]:
    m = np.zeros(S.DIM, np.uint8)
    for k in keys:
        m[OK[k].index] = 1
    rng = np.random.default_rng(seed)
    g = make_geometry(BreastSide.draw(rng, 1), "CC", (1024, 832), 0.1, rng)
    return LesionSpec(500.0, 300.0, 40, 30, 0.3, m, "calc", 1234 + seed, 99), g


def _spread(keys: list[str]) -> tuple[float, float]:
    """Spread of the calcification samples along and across the direction to the nipple."""
    vals = []
    for seed in range(4):
        spec, g = _spec(keys, seed)
        ys, xs, _ = calc_particles(spec, g, 200.0)  # type: ignore[arg-type]
        ny, nx = g.nipple  # type: ignore[attr-defined]
        th = np.arctan2(ny - spec.cy, nx - spec.cx)
        along = (xs - xs.mean()) * np.cos(th) + (ys - ys.mean()) * np.sin(th)
        across = -(xs - xs.mean()) * np.sin(th) + (ys - ys.mean()) * np.cos(th)
        vals.append((along.std(), across.std()))
    return tuple(np.mean(vals, axis=0))  # type: ignore[return-value]


def test_distribution_shapes_the_layout() -> None:
    base = ["calc_shape.crescentic", "calc_size.tiny", "calc_density.high"]
    sc = _spread([*base, "calc_distribution.scattered"])
    cl = _spread([*base, "calc_distribution.clustered"])
    li = _spread([*base, "calc_distribution.linear_segmental"])
    assert li[0] / li[1] > 1.8 > 1.3 > sc[0] / sc[1]        # linear: elongated towards the nipple
    assert cl[0] < sc[0] and cl[1] < sc[1]             # clustered: tighter than scattered


def test_size_and_density_scale_the_particles() -> None:
    def total(keys: list[str]) -> tuple[int, float]:
        spec, g = _spec(keys)
        _, _, w = calc_particles(spec, g, 100.0)  # type: ignore[arg-type]
        return len(w), float(w.mean())

    g = ["calc_shape.granular"]
    c = ["calc_distribution.clustered"]
    n_tiny, w_high = total([*g, "calc_size.tiny", "calc_density.high", *c])
    n_coarse, _ = total([*g, "calc_size.coarse", "calc_density.high", *c])
    _, w_low = total([*g, "calc_size.tiny", "calc_density.low", *c])
    assert n_coarse > 4 * n_tiny and w_high > 2 * w_low
