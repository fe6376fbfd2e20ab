"""Structured random manifestation vectors for tests, benchmarks and demos (paper Table 1).

Uniform random 0/1 vectors are unrealistic: real lumps follow the schema (at most one option per
exclusive group, few signs) and cluster, so many lumps share a manifestation and the Hamming
distances concentrate. This generator draws, per lump, a latent malignancy, a lesion type (mass,
calcification or both), then for every exclusive group of that type "present" with high
probability and one option from a skewed, malignancy-dependent distribution, and each
miscellaneous sign with a small malignancy-dependent probability. The number of distinct
manifestations grows with N (about 10⁵ at 10⁶ lumps).

Optionally some lumps come from a "public" source that only annotates the groups of its lesion
type (partial known-masks), and a few know nothing at all.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mvkl.manifest.schema import DIM, MISC_GROUP, exclusive_groups

__all__ = ["structured_manifests"]

_SIGN_BASE = np.array([0.12, 0.10, 0.03, 0.02, 0.05, 0.04, 0.03, 0.03, 0.06])


def structured_manifests(
    n: int, seed: int = 0, *, partial: float = 0.0, unknown: float = 0.0
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """``(manifests, known)``, each ``(n, 35)`` uint8, from the structured model above.

    Args:
        n: number of lumps.
        seed: seed of the option profiles and of the draws.
        partial: fraction of lumps whose known-mask covers only their lesion type's groups
            (plus the miscellaneous signs for masses), like CBIS-DDSM.
        unknown: fraction of lumps with no known dimension at all.
    """
    prof = np.random.default_rng([seed, 1])
    rng = np.random.default_rng([seed, 2])
    groups = exclusive_groups()
    z = rng.random(n) < 0.45
    kind = rng.choice(3, size=n, p=[0.5, 0.2, 0.3])  # 0 mass, 1 calcification, 2 both
    has_mass = kind != 1
    has_calc = kind != 0
    m = np.zeros((n, DIM), dtype=np.uint8)
    for g in groups:
        is_mass = g.key.startswith("mass")
        typed = has_mass if is_mass else has_calc
        present = typed & (rng.random(n) < 0.9)
        k = len(g.options)
        for zval in (False, True):
            probs = prof.dirichlet(np.full(k, 0.8))
            sel = present & (z == zval)
            choice = rng.choice(k, size=int(sel.sum()), p=probs)
            m[np.flatnonzero(sel), g.options[0].index + choice] = 1
    sign_p = np.where(z[:, None], np.minimum(_SIGN_BASE * 2.0, 0.5), _SIGN_BASE)
    m[:, MISC_GROUP.slice] = rng.random((n, len(MISC_GROUP.options))) < sign_p
    known = np.ones((n, DIM), dtype=np.uint8)
    if partial > 0:
        part = rng.random(n) < partial
        for g in groups:
            is_mass = g.key.startswith("mass")
            hide = part & ~(has_mass if is_mass else has_calc)
            known[np.ix_(np.flatnonzero(hide), np.arange(g.slice.start, g.slice.stop))] = 0
        known[np.ix_(np.flatnonzero(part & ~has_mass), np.arange(MISC_GROUP.slice.start, MISC_GROUP.slice.stop))] = 0
    if unknown > 0:
        known[rng.random(n) < unknown] = 0
    m &= known
    return m, known
