"""Patient-level splits: disjointness, ratios, stratification, stability under append, leakage."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mvkl.errors import InputError
from mvkl.splits import assign_splits, leakage_problems, parse_ratios, patient_labels

ratios_st = st.tuples(st.integers(1, 10), st.integers(0, 5), st.integers(0, 5)).map(
    lambda t: tuple(x / sum(t) for x in t))
labels_st = st.dictionaries(st.text("abcdef0123456789", min_size=4, max_size=8), st.sampled_from([-1, 0, 1]),
                            max_size=60)


def _strata(labels: dict[str, int], split: dict[str, int]) -> dict[int, list[int]]:
    """Slow recount of patients per (label, split) from the raw assignment."""
    out: dict[int, list[int]] = {}
    for p, lab in labels.items():
        out.setdefault(lab, [0, 0, 0])[split[p]] += 1
    return out


@settings(max_examples=150, deadline=None)
@given(labels_st, ratios_st, st.integers(0, 2**31))
def test_fresh_assignment_ratios_within_one_patient_per_stratum(labels: dict[str, int],
                                                                ratios: tuple[float, float, float],
                                                                seed: int) -> None:
    a = assign_splits(labels, ratios, seed)
    assert set(a.split) == set(labels)  # every patient exactly once: disjoint by construction
    assert all(0 <= s < 3 for s in a.split.values())
    recount = _strata(labels, a.split)
    assert recount == {k: v for k, v in a.counts.items() if sum(v)}
    for cnt in recount.values():
        n = sum(cnt)
        for c, r in zip(cnt, ratios, strict=True):
            assert abs(c - r * n) < 1 + 1e-9
            if r == 0:
                assert c == 0


@settings(max_examples=100, deadline=None)
@given(labels_st, ratios_st, st.integers(0, 2**31), st.integers(0, 2**31), st.data())
def test_append_is_stable_and_keeps_ratios(labels: dict[str, int], ratios: tuple[float, float, float],
                                           seed1: int, seed2: int, data: st.DataObject) -> None:
    names = sorted(labels)
    k = data.draw(st.integers(0, len(names)))
    first = {p: labels[p] for p in names[:k]}
    a = assign_splits(first, ratios, seed1)
    b = assign_splits(labels, ratios, seed2, fixed=a.split)
    assert all(b.split[p] == a.split[p] for p in first)  # nobody moves
    for cnt in _strata(labels, b.split).values():
        n = sum(cnt)
        for c, r in zip(cnt, ratios, strict=True):
            assert abs(c - r * n) < 1 + 1e-9


@settings(max_examples=60, deadline=None)
@given(labels_st, st.integers(0, 2**31))
def test_input_order_does_not_matter(labels: dict[str, int], seed: int) -> None:
    items = list(labels.items())
    random.Random(seed).shuffle(items)
    assert assign_splits(dict(items), seed=seed).split == assign_splits(labels, seed=seed).split


def test_seed_changes_who_goes_where_not_how_many() -> None:
    labels = {f"patient{i:03d}": i % 2 for i in range(200)}
    a, b = assign_splits(labels, seed=1), assign_splits(labels, seed=2)
    assert a.counts == b.counts
    assert a.split != b.split
    assert a.counts[1] == [70, 10, 20] and a.counts[0] == [70, 10, 20]


def test_patient_labels_malignant_if_any() -> None:
    got = patient_labels([("a", 0), ("a", 1), ("b", -1), ("b", 0), ("c", -1)])
    assert got == {"a": 1, "b": 0, "c": -1}


def test_leakage_names_rows_not_patients() -> None:
    rows = [("secretpid", 0, "batch-1/train", 5), ("secretpid", 2, "batch-1/test", 9),
            ("other", 0, "batch-1/train", 6), ("other", 0, "batch-1/train", 7)]
    probs = leakage_problems(rows)
    assert len(probs) == 1
    p = probs[0]
    assert (p.file, p.row, p.code) == ("batch-1/train", 5, "split-leakage")
    assert "batch-1/test row 9" in p.message and "train" in p.message and "test" in p.message
    assert "secretpid" not in str(p)


@pytest.mark.parametrize(("text", "want"), [("7:1:2", (0.7, 0.1, 0.2)), ("0.8,0.1,0.1", (0.8, 0.1, 0.1)),
                                            ("8:0:2", (0.8, 0.0, 0.2))])
def test_parse_ratios(text: str, want: tuple[float, float, float]) -> None:
    assert parse_ratios(text) == pytest.approx(want)


@pytest.mark.parametrize("text", ["7:1", "a:b:c", "0:1:1", "-1:1:1", "0:0:0", ""])
def test_parse_ratios_rejects(text: str) -> None:
    with pytest.raises(InputError):
        parse_ratios(text)
