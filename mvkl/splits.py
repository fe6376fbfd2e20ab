"""Patient-level train/val/test splits (paper Sec. 5.1: MVKL split 7:1:2, no patient shared).

Properties (tested with hypothesis in ``tests/test_splits.py``):

* **Patient-disjoint**: the unit is the patient; every lump of a patient gets the patient's split.
* **Stratified by label**: a patient's label is malignant if any of their lumps is, else benign if
  any is, else unknown; each label stratum is split at the target ratios separately.
* **Seeded and order-free**: new patients are visited in an order given by a hash of
  ``(seed, stratum, pseudonym)``, so the result does not depend on the input order.
* **Largest deficit**: each visited patient goes to the split whose count falls furthest below
  its target share of the stratum (``ratio * (assigned + 1) - count``; ties go to the larger
  ratio, then to train/val/test order). Within a stratum every split count stays within one
  patient of ``ratio * n``.
* **Stable under append**: patients already assigned (in an existing store, or by the source's own
  split) keep their split and count towards the stratum totals; only new patients are assigned,
  so that the per-label ratios stay close to the target.

Provided splits (the MVKL release ships train/valid/test tables) are kept after a leakage check:
:func:`leakage_problems` reports every patient found in two splits, naming the rows (table label
and spreadsheet row), never the patient's identifier.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mvkl.errors import InputError, Problem
from mvkl.store.schema import SPLIT_NAMES

__all__ = ["DEFAULT_RATIOS", "Assignment", "assign_splits", "leakage_problems", "parse_ratios", "patient_labels"]

DEFAULT_RATIOS: tuple[float, float, float] = (0.7, 0.1, 0.2)


def parse_ratios(text: str) -> tuple[float, float, float]:
    """``"7:1:2"`` (also ``"0.7,0.1,0.2"``, ``"8:0:2"``) -> ratios summing to 1.

    Raises:
        InputError: not three non-negative numbers, or a zero train or total share.
    """
    parts = [p for p in re.split(r"[:,/ ]+", (text or "").strip()) if p]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        vals = []
    if len(vals) != 3 or any(v < 0 or v != v for v in vals) or sum(vals) <= 0 or vals[0] <= 0:
        raise InputError(f"--split must be three non-negative ratios train:val:test with train > 0, "
                         f"e.g. 7:1:2; got {text!r}", code="usage")
    s = sum(vals)
    return (vals[0] / s, vals[1] / s, vals[2] / s)


def patient_labels(lumps: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Patient label from lump labels: 1 if any lump is malignant, else 0 if any is benign, else -1."""
    out: dict[str, int] = {}
    for patient, label in lumps:
        cur = out.get(patient, -1)
        if cur == 1 or label == 1:
            out[patient] = 1
        elif cur == 0 or label == 0:
            out[patient] = 0
        else:
            out[patient] = -1
    return out


def _order_key(seed: int, stratum: int, patient: str) -> bytes:
    return hashlib.sha256(f"{seed}\x1f{stratum}\x1f{patient}".encode()).digest()


@dataclass(frozen=True)
class Assignment:
    """Result of :func:`assign_splits`: ``split`` maps every patient (fixed and new) to a split
    index into :data:`~mvkl.store.schema.SPLIT_NAMES`; ``counts[label][split]`` counts patients."""

    split: dict[str, int]
    counts: dict[int, list[int]]
    n_new: int
    n_fixed: int


def assign_splits(
    labels: Mapping[str, int],
    ratios: Sequence[float] = DEFAULT_RATIOS,
    seed: int = 0,
    fixed: Mapping[str, int] | None = None,
) -> Assignment:
    """Assign each patient of ``labels`` (pseudonym -> patient label) to a split.

    Args:
        labels: every patient to place (new ones and fixed ones), with their label.
        ratios: train/val/test shares (normalised here).
        seed: changes which patients go where, never the counts.
        fixed: patients whose split is already decided (existing store, provided split); they
            keep it. Fixed patients missing from ``labels`` still count in their stratum only if
            present in ``labels``.

    Returns:
        :class:`Assignment` covering every patient in ``labels``.
    """
    r = [float(x) for x in ratios]
    if len(r) != len(SPLIT_NAMES) or sum(r) <= 0 or min(r) < 0:
        raise ValueError(f"ratios must be {len(SPLIT_NAMES)} non-negative numbers; got {ratios}")
    total = sum(r)
    r = [x / total for x in r]
    fixed = dict(fixed or {})
    split: dict[str, int] = {}
    counts: dict[int, list[int]] = {}
    by_stratum: dict[int, list[str]] = {}
    for patient, label in labels.items():
        counts.setdefault(int(label), [0] * len(r))
        if patient in fixed:
            s = int(fixed[patient])
            if not 0 <= s < len(r):
                raise ValueError(f"fixed split index {s} out of range")
            split[patient] = s
            counts[int(label)][s] += 1
        else:
            by_stratum.setdefault(int(label), []).append(patient)
    # Tie-break: larger ratio first, then split order.
    pref = sorted(range(len(r)), key=lambda i: (-r[i], i))
    n_new = 0
    for stratum in sorted(by_stratum):
        cnt = counts[stratum]
        for patient in sorted(by_stratum[stratum], key=lambda p: _order_key(seed, stratum, p)):
            n = sum(cnt) + 1
            best = max(pref, key=lambda i: (round(r[i] * n - cnt[i], 9), -pref.index(i)))
            cnt[best] += 1
            split[patient] = best
            n_new += 1
    return Assignment(split, counts, n_new, len(labels) - n_new)


def leakage_problems(rows: Iterable[tuple[str, int, str, int | None]]) -> list[Problem]:
    """Patients found in more than one split.

    Args:
        rows: ``(patient pseudonym, split index, table label, spreadsheet row or None)`` for
            every row with a decided split (provided by a table, or ``("existing store", None)``).

    Returns:
        One :class:`Problem` per leaking patient, located at its first row and listing every
        row with its split; no identifier is named.
    """
    seen: dict[str, list[tuple[int, str, int | None]]] = {}
    for patient, s, table, row in rows:
        seen.setdefault(patient, []).append((int(s), table, row))
    problems = []
    for entries in seen.values():
        if len({s for s, _, _ in entries}) < 2:
            continue
        where = ", ".join(f"{SPLIT_NAMES[s]} ({t}{f' row {row}' if row is not None else ''})"
                          for s, t, row in entries[:12])
        if len(entries) > 12:
            where += f", ... {len(entries) - 12} more"
        first = entries[0]
        problems.append(Problem(first[1], first[2], "split",
                                f"patient leakage: the same patient appears in more than one split: {where}",
                                "split-leakage"))
    return problems
