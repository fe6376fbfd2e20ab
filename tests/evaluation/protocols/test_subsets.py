"""Training fractions: stratified, seeded, patient-aware, nested, and errors when a class empties (B35)."""

from __future__ import annotations

import numpy as np
import pytest

from mvkl.errors import InputError
from mvkl.evaluation.protocols.subsets import fraction_subset


def _split(seed: int = 0, n_pat: int = 120) -> tuple[np.ndarray, np.ndarray]:
    """Patients with 1-4 images; ~1/3 malignant patients (all their images malignant), some mixed."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 5, n_pat)
    pat = np.repeat(np.array([f"p{i:04d}".encode() for i in range(n_pat)]), counts)
    mal = rng.random(n_pat) < 0.35
    y = np.repeat(mal.astype(int), counts)
    mixed = np.flatnonzero(mal & (counts > 1))[:5]  # a malignant patient may also have benign images
    for p in mixed:
        y[np.flatnonzero(pat == pat[np.searchsorted(pat, f"p{p:04d}".encode())])[0]] = 0
    order = rng.permutation(y.size)  # store order is not patient order
    return y[order], pat[order]


@pytest.mark.parametrize("fraction", [0.2, 0.4, 0.6, 0.8])
def test_patient_aware_and_stratified(fraction: float) -> None:
    y, pat = _split()
    pos = fraction_subset(y, pat, fraction, seed=3)
    assert np.all(np.diff(pos) > 0)
    chosen = set(pat[pos].tolist())
    # patient-aware: a patient's images are all in or all out
    assert set(np.flatnonzero(np.isin(pat, list(chosen))).tolist()) == set(pos.tolist())
    # stratified by patient label: in each stratum the image count is within half a patient's images of f·N
    mal_patients = {p for p, lab in zip(pat.tolist(), y.tolist(), strict=True) if lab == 1}
    per_pat = {p: int((pat == p).sum()) for p in set(pat.tolist())}
    for stratum in (True, False):
        members = [p for p in per_pat if (p in mal_patients) == stratum]
        total = sum(per_pat[p] for p in members)
        got = sum(per_pat[p] for p in members if p in chosen)
        assert abs(got - fraction * total) <= max(per_pat[p] for p in members) / 2 + 1e-9
    assert abs(y[pos].mean() - y.mean()) < 0.08


def test_seeded_and_nested() -> None:
    y, pat = _split()
    a = fraction_subset(y, pat, 0.4, seed=1)
    assert np.array_equal(a, fraction_subset(y, pat, 0.4, seed=1))
    assert not np.array_equal(a, fraction_subset(y, pat, 0.4, seed=2))
    prev: set[int] = set()
    for f in (0.2, 0.4, 0.6, 0.8, 1.0):
        cur = set(fraction_subset(y, pat, f, seed=1).tolist())
        assert prev <= cur
        prev = cur
    assert prev == set(range(y.size))


def test_independent_of_row_order() -> None:
    y, pat = _split()
    perm = np.random.default_rng(9).permutation(y.size)
    a = set(pat[fraction_subset(y, pat, 0.5, seed=4)].tolist())
    b = set(pat[perm][fraction_subset(y[perm], pat[perm], 0.5, seed=4)].tolist())
    assert a == b


def test_full_fraction_is_identity_and_errors() -> None:
    y, pat = _split()
    assert np.array_equal(fraction_subset(y, pat, 1.0, seed=0), np.arange(y.size))
    few_y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])  # one malignant patient with 2 images of 10
    few_p = np.array([b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"z", b"z"])
    with pytest.raises(InputError, match="leaves no malignant training images") as exc:
        fraction_subset(few_y, few_p, 0.2, seed=0)
    assert exc.value.exit_code == 2
    with pytest.raises(InputError, match="fraction must lie"):
        fraction_subset(few_y, few_p, 0.0, seed=0)
