"""Manifestation estimation against a hand loop on small fixed embeddings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mvkl.errors import InputError
from mvkl.evaluation.manifest_estimation import estimate_manifestations, manifest_metrics, threshold_sweep
from mvkl.manifest.schema import DIM, OPTIONS


def _unit(deg: float) -> list[float]:
    r = math.radians(deg)
    return [math.cos(r), math.sin(r)]


def _hand_estimate(test, train, man, known, t_distance, t_cls, empty):
    est, scores, nbs = [], [], []
    for q in test:
        qn = np.asarray(q) / np.linalg.norm(q)
        cos = [float(qn @ (np.asarray(k) / np.linalg.norm(k))) for k in train]
        nb = [j for j, c in enumerate(cos) if 1 - c < t_distance]
        nbs.append(len(nb))
        row = []
        for d in range(man.shape[1]):
            voters = [j for j in nb if known[j][d]]
            knowers = [j for j in range(len(train)) if known[j][d]]
            if voters:
                s = sum(man[j][d] for j in voters) / len(voters)
            elif not knowers:
                s = math.nan
            elif empty == "zeros":
                s = 0.0
            elif empty == "prior":
                s = sum(man[j][d] for j in knowers) / len(knowers)
            else:
                best = max(knowers, key=lambda j: (cos[j], -j))
                s = float(man[best][d])
            row.append(s)
        scores.append(row)
        est.append([1 if (not math.isnan(s) and s > t_cls) else 0 for s in row])
    return np.array(est), np.array(scores), np.array(nbs)


@pytest.fixture
def toy():
    # training manifestations on the unit circle at 0, 10, 20, 90, 180 degrees; 4 dimensions
    train = np.array([_unit(a) for a in (0, 10, 20, 90, 180)]) * np.array([[1.0], [2.0], [0.5], [1.0], [3.0]])
    man = np.array([[1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 1]])
    known = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 0], [1, 1, 1, 0]])
    # queries: near the 0-20 cluster, near 90, and at 290 degrees (empty neighbourhood)
    test = np.array([_unit(5), _unit(80), _unit(290), _unit(15)])
    return test, train, man, known


@pytest.mark.parametrize("empty", ["nearest", "prior", "zeros"])
@pytest.mark.parametrize(("t_distance", "t_cls"), [(0.4, 0.15), (0.02, 0.5), (1.2, 0.12)])
def test_estimate_against_hand_loop(toy, empty, t_distance, t_cls) -> None:
    test, train, man, known = toy
    est, sc, nb = estimate_manifestations(
        test, train, man, known, t_distance=t_distance, t_cls=t_cls, empty=empty, chunk_size=3
    )
    h_est, h_sc, h_nb = _hand_estimate(test, train, man, known, t_distance, t_cls, empty)
    np.testing.assert_array_equal(nb, h_nb)
    np.testing.assert_allclose(sc, h_sc, equal_nan=True)
    np.testing.assert_array_equal(est, h_est)
    assert est.dtype == np.uint8 and sc.shape == (4, 4)


def test_empty_neighbourhood_and_masking(toy) -> None:
    test, train, man, known = toy
    est, sc, nb = estimate_manifestations(test, train, man, known, t_distance=0.4, t_cls=0.15)
    assert nb[2] == 0  # 290 degrees: nothing within cosine distance 0.4
    # the nearest training sample of 290 degrees is the one at 0 degrees (70 degrees away)
    assert sc[2, :3].tolist() == man[0, :3].tolist()
    assert np.isnan(sc[:, 3]).all() and (est[:, 3] == 0).all()  # no training sample knows dim 3
    # query at 5 degrees: neighbours 0, 10, 20 degrees; dim 2 is known only by the first and third
    assert nb[0] == 3 and sc[0, 2] == pytest.approx(1.0) and sc[0, 0] == pytest.approx(2 / 3)
    _, sc_zero, _ = estimate_manifestations(test, train, man, known, empty="zeros")
    assert sc_zero[2, :3].tolist() == [0.0, 0.0, 0.0]
    _, sc_prior, _ = estimate_manifestations(test, train, man, known, empty="prior")
    assert sc_prior[2, :3] == pytest.approx([2 / 5, 2 / 5, 2 / 4])
    with pytest.raises(InputError):
        estimate_manifestations(test, train, man, known, empty="skip")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        estimate_manifestations(test, train, man[:3], known[:3])


def _hand_metrics(true, known, est):
    acc, sens, spec = [], [], []
    for d in range(true.shape[1]):
        rows = [i for i in range(true.shape[0]) if known[i, d]]
        if not rows:
            continue
        acc.append(sum(true[i, d] == est[i, d] for i in rows) / len(rows))
        pos = [i for i in rows if true[i, d] == 1]
        neg = [i for i in rows if true[i, d] == 0]
        if pos:
            sens.append(sum(est[i, d] == 1 for i in pos) / len(pos))
        if neg:
            spec.append(sum(est[i, d] == 0 for i in neg) / len(neg))
    return float(np.mean(acc)), float(np.mean(sens)), float(np.mean(spec)), len(sens)


def test_manifest_metrics_against_hand_loop() -> None:
    rng = np.random.default_rng(0)
    true = (rng.random((40, DIM)) < 0.2).astype(np.uint8)
    true[:, 5] = 0  # a dimension without positives
    known = (rng.random((40, DIM)) < 0.9).astype(np.uint8)
    known[:, 7] = 0  # a dimension nobody knows
    est = (rng.random((40, DIM)) < 0.3).astype(np.uint8)
    m = manifest_metrics(true, known, est)
    acc, sens, spec, n_sens = _hand_metrics(true, known, est)
    assert m["accuracy"] == pytest.approx(acc)
    assert m["sensitivity"] == pytest.approx(sens)
    assert m["specificity"] == pytest.approx(spec)
    assert m["n_dims_sensitivity"] == n_sens == DIM - 2 and m["n_dims_accuracy"] == DIM - 1
    assert OPTIONS[5].key in m["dims_without_positives"] and OPTIONS[7].key in m["dims_without_positives"]
    per = m["per_dimension"]
    assert len(per) == DIM and per[0]["key"] == OPTIONS[0].key and per[0]["zh"] == OPTIONS[0].zh
    assert math.isnan(per[5]["sensitivity"]) and per[7]["support"] == 0 and math.isnan(per[7]["accuracy"])
    cells = known > 0
    assert m["micro_accuracy"] == pytest.approx(np.mean((true == est)[cells]))
    # all known by default
    assert manifest_metrics(true, None, est)["n_dims_accuracy"] == DIM


def test_threshold_sweep_matches_manual_thresholds(toy) -> None:
    test, train, man, known = toy
    est, sc, _ = estimate_manifestations(test, train, man, known, t_cls=0.15)
    true = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 1], [1, 1, 0, 0]])
    rows = threshold_sweep(sc, true, None, (0.12, 0.15, 0.25))
    assert [r["t_cls"] for r in rows] == [0.12, 0.15, 0.25]
    direct = manifest_metrics(true, None, est)
    assert rows[1]["accuracy"] == pytest.approx(direct["accuracy"])
    assert rows[1]["sensitivity"] == pytest.approx(direct["sensitivity"], nan_ok=True)
