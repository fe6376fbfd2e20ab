"""Seeded, stratified, patient-aware fractions of a training split (paper Fig. 5, Sec. 5.8; B35).

The released code takes the *first* ``⌊f·N⌋`` rows of each table (a prefix, B35). Here:

* **patient-aware**: the sampling unit is the patient; all images of a patient are in or out
  together, so a patient's CC and MLO images are never separated;
* **stratified**: patients are stratified by label (malignant when any of their images is
  malignant, else benign); in each stratum the patients are taken in a seeded random order until
  the number of images is closest to ``fraction ×`` the stratum's images (ties: fewer), so the
  image class balance of the subset follows the split's;
* **seeded**: the order comes from ``numpy.random.SeedSequence([seed, 0x46524143])`` and the
  sorted patient ids, so it depends on nothing else (not on the store's row order);
* **nested**: for one seed the order does not depend on the fraction, so the subsets of a seed
  are nested (20 % ⊂ 40 % ⊂ … ⊂ 100 %). A data-fraction curve (Fig. 5) then adds data rather than
  redrawing it, which removes between-fraction sampling noise; different seeds draw different
  subsets.

A fraction that leaves a class without images raises :class:`~mvkl.errors.InputError` (exit 2).
``fraction = 1`` returns every position unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mvkl.errors import InputError

__all__ = ["fraction_subset"]

_TAG = 0x46524143  # "FRAC"


def fraction_subset(labels: Any, patients: Sequence[Any] | np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted positions of the images kept at ``fraction`` (module docstring).

    Args:
        labels: ``(n,)`` image labels in {0, 1}.
        patients: ``(n,)`` patient ids (any hashable, sortable values, e.g. pseudonym bytes).
        fraction: in (0, 1].
        seed: the run seed.
    """
    y = np.asarray(labels).astype(np.int64)
    pat = np.asarray(patients)
    if y.shape != pat.shape or y.ndim != 1:
        raise ValueError("labels and patients must be 1-D arrays of one length")
    if not 0.0 < float(fraction) <= 1.0:
        raise InputError(f"fraction must lie in (0, 1] (got {fraction})", code="option")
    n = y.size
    if fraction >= 1.0:
        return np.arange(n, dtype=np.int64)
    uniq, inverse = np.unique(pat, return_inverse=True)  # sorted ids: independent of row order
    n_img = np.bincount(inverse, minlength=uniq.size)
    malignant = np.bincount(inverse, weights=(y == 1).astype(np.float64), minlength=uniq.size) > 0
    order = np.random.default_rng(np.random.SeedSequence([int(seed), _TAG])).permutation(uniq.size)
    keep = np.zeros(uniq.size, dtype=bool)
    for stratum in (False, True):
        members = order[malignant[order] == stratum]  # this stratum's patients in the seeded order
        if members.size == 0:
            continue
        cum = np.concatenate([[0], np.cumsum(n_img[members])])
        target = float(fraction) * cum[-1]
        k = int(np.argmin(np.abs(cum - target)))  # first minimum: ties go to fewer patients
        keep[members[:k]] = True
    pos = np.flatnonzero(keep[inverse]).astype(np.int64)
    for cls, name in ((0, "benign"), (1, "malignant")):
        if (y == cls).any() and not (y[pos] == cls).any():
            raise InputError(f"--fraction {fraction:g} leaves no {name} training images ({int((y == cls).sum())} "
                             f"{name} images from {len(set(pat[y == cls].tolist()))} patients in the split); use "
                             "a larger fraction", code="empty-class")
    return pos
