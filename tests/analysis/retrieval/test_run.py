"""Report retrieval and manifestation estimation: hand-computed small examples and a store whose
reports, BI-RADS and embeddings (angles of a fake model) we control."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from mvkl.analysis.retrieval.run import (
    manifest_estimation,
    manifest_estimation_from_embeddings,
    report_retrieval,
    report_retrieval_from_embeddings,
)
from mvkl.errors import InputError
from mvkl.store import Store
from tests.analysis.fixtures import FakeTokenizer, FakeViKL, unit, write_controlled_store

CATS = ["0", "1", "2", "3", "4", "5", "6"]


def at(*deg: float) -> np.ndarray:
    return unit(list(deg)).numpy()


def test_report_retrieval_hand_example() -> None:
    # queries at 0, 90, 180, 100, 270 degrees; keys at 10 (3), 85 (4B), 200 (5), 260 (2), 97 (4A)
    # nearest: 10 -> 3 (true 3), 85 -> 4B=4 (true 4C=4), 200 -> 5 (true 5), 97 -> 4A=4 (true 2),
    # 260 -> 2 (true unknown: excluded)
    doc = report_retrieval_from_embeddings(at(0, 90, 180, 100, 270), at(10, 85, 200, 260, 97),
                                           ["3", "4B", "5", "2", "4a"], ["3", "4C", "5", "2", None])
    assert doc["nearest"] == [0, 1, 2, 4, 3]
    assert doc["retrieved"] == ["3", "4B", "5", "4A", "2"]
    m = np.zeros((7, 7), int)
    m[3, 3] = m[4, 4] = m[5, 5] = m[2, 4] = 1
    np.testing.assert_array_equal(doc["confusion"]["matrix"], m)
    assert doc["confusion"]["accuracy"] == pytest.approx(0.75)
    assert doc["confusion"]["n_excluded"] == 1 and doc["confusion"]["n_unknown_true"] == 1
    np.testing.assert_allclose(doc["similarity"], np.cos(np.radians([10, 5, 20, 3, 10])), atol=1e-6)
    assert doc["recall"] is None


def test_exact_pair_recall_hand_example() -> None:
    # images 0, 90, 180, 100, 300; own reports 5, 80, 170, 150, 5 (the last repeats the first
    # report's text: group 0). Ranks image->report: 1, 1, 1, 2 (80 is nearer 100 than 150), 1;
    # report->image: 1, 1, 1, 2 (180 is nearer 150 than 100), 1.
    img, rep = at(0, 90, 180, 100, 300), at(5, 80, 170, 150, 5)
    doc = report_retrieval_from_embeddings(img, rep, ["1"] * 5, ["1"] * 5, pair_image_emb=img, pair_report_emb=rep,
                                           pair_groups=np.array([0, 1, 2, 3, 0]))
    r = doc["recall"]
    for direction in ("image_to_text", "text_to_image"):
        assert r[direction]["R@1"] == pytest.approx(0.8)
        assert r[direction]["R@5"] == pytest.approx(1.0)
        assert r[direction]["mean_rank"] == pytest.approx(1.2)
    # without groups the duplicate report ties with the own report of images 0 and 4 (ties count against)
    no_groups = report_retrieval_from_embeddings(img, rep, ["1"] * 5, ["1"] * 5, pair_image_emb=img,
                                                 pair_report_emb=rep)["recall"]
    assert no_groups["image_to_text"]["R@1"] == pytest.approx(0.4)


def test_manifest_estimation_hand_example() -> None:
    # train manifestations at 0, 30, 100, 180, 200 degrees; the last does not know dimension 0.
    train_m = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [0, 1, 1]])
    train_k = np.ones_like(train_m)
    train_k[4, 0] = 0
    # queries at 10 (neighbours 0, 30), 70 (30, 100), 190 (180, 200), 300 (none: 0 is 60 deg away,
    # distance 0.5 >= 0.4; the nearest training sample, at 0, votes alone)
    true = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1]])
    true_k = np.ones_like(true)
    true_k[2, 0] = 0
    doc = manifest_estimation_from_embeddings(at(10, 70, 190, 300), true, true_k, at(0, 30, 100, 180, 200), train_m,
                                              train_k, t_distance=0.4, t_cls=[0.15, 0.6])
    assert doc["n_empty"] == 1 and doc["n_queries"] == 4
    assert doc["neighbours"] == {"min": 0, "median": 2.0, "max": 2}
    # scores: [1, .5, 0], [.5, 1, 0], [0, .5, 1], [1, 0, 0]
    # T=0.15: est [1,1,0], [1,1,0], [0,1,1], [1,0,0] -> per dim acc 1/3, 3/4, 3/4; sens 1, 1, 1/2; spec 0, 1/2, 1
    # T=0.6:  est [1,0,0], [0,1,0], [0,0,1], [1,0,0] -> acc 2/3, 3/4, 3/4; sens 1, 1/2, 1/2; spec 1/2, 1, 1
    want = [(0.15, (1 / 3 + 0.75 + 0.75) / 3, (1 + 1 + 0.5) / 3, (0 + 0.5 + 1) / 3),
            (0.6, (2 / 3 + 0.75 + 0.75) / 3, (1 + 0.5 + 0.5) / 3, (0.5 + 1 + 1) / 3)]
    for row, (t, acc, sens, spec) in zip(doc["rows"], want, strict=True):
        assert row["t_cls"] == t
        assert (row["accuracy"], row["sensitivity"], row["specificity"]) == pytest.approx((acc, sens, spec))
    per = doc["metrics"][0]["per_dimension"]
    assert [(p["tp"], p["fp"], p["tn"], p["fn"]) for p in per] == [(1, 2, 0, 0), (2, 1, 1, 0), (1, 0, 2, 1)]
    with pytest.raises(InputError):
        manifest_estimation_from_embeddings(at(0), true[:1], None, at(0), train_m[:1], None, t_cls=[1.5])


# --- the same pipeline on a store ------------------------------------------------------------------


def controlled_lumps() -> list[dict]:
    return [
        # training reports: BI-RADS from the report (T0, T5), from the field (T1-T3); T4 has no report
        {"split": "train", "report": "angle 10 oval mass. BI-RADS 3", "birads": ""},
        {"split": "train", "report": "angle 85 irregular mass", "birads": "4B"},
        {"split": "train", "report": "angle 200 spiculated mass", "birads": "5"},
        {"split": "train", "report": "angle 260 benign calcification", "birads": "2"},
        {"split": "train", "report": "", "birads": "4A"},
        {"split": "train", "report": "angle 10 oval mass. BI-RADS 3", "birads": ""},
        # a validation report near the test images must never be retrieved
        {"split": "val", "report": "angle 90 mass", "birads": "1", "angles": (90, 90)},
        # test lumps: images at the given angles
        {"split": "test", "report": "angle 15 BI-RADS 3", "birads": "3", "angles": (0, 20)},
        {"split": "test", "report": "angle 88 irregular mass, BI-RADS 4C", "birads": "", "angles": (90, None)},
        {"split": "test", "report": "angle 190 mass", "birads": "5", "angles": (180, 235)},
        {"split": "test", "report": "angle 120 no assessment", "birads": "", "angles": (120, 125)},
        {"split": "test", "report": "angle 88 irregular mass, BI-RADS 4C", "birads": "", "angles": (60, None)},
    ]


@pytest.fixture
def controlled_store(tmp_path: Path) -> Path:
    return write_controlled_store(tmp_path / "c.h5", controlled_lumps())


def test_report_retrieval_on_a_controlled_store(controlled_store: Path) -> None:
    with Store(controlled_store) as st:
        doc = report_retrieval(FakeViKL(), FakeTokenizer(), st, input_size=32)
        ids = [bytes(x).decode() for x in st.lumps["lump_id"]]
    # 0->10 (3), 20->10 (3), 90->85 (4B), 180->200 (5), 235->260 (2), 120/125->85 (4B; truth unknown),
    # 60->85 (4B; truth 4C)
    assert [q["retrieved"] for q in doc["queries"]] == ["3", "3", "4B", "5", "2", "4B", "4B", "4B"]
    assert [q["true"] for q in doc["queries"]] == ["3", "3", "4C", "5", "5", None, None, "4C"]
    m = np.zeros((7, 7), int)
    m[3, 3], m[4, 4], m[5, 5], m[5, 2] = 2, 2, 1, 1
    np.testing.assert_array_equal(doc["confusion"]["matrix"], m)
    assert doc["confusion"]["n_excluded"] == 2 and doc["confusion"]["accuracy"] == pytest.approx(5 / 6)
    assert doc["queries"][2]["retrieved_lump_id"] == ids[1] and doc["queries"][0]["retrieved_lump_id"] == ids[0]
    assert doc["counts"] == {"queries": 8, "query_lumps": 5, "keys": 4, "key_lumps": 5, "recall_pairs": 8,
                             "distinct_test_reports": 4}
    assert doc["birads_source"] == {"test_lumps": {"field": 2, "report": 2, "none": 1},
                                    "train_lumps": {"field": 3, "report": 2, "none": 0}}
    # recall@k: the images and their own reports, identical report texts as one group
    from mvkl.analysis.retrieval.metrics import recall_at_k

    img = at(0, 20, 90, 180, 235, 120, 125, 60)
    rep = at(15, 15, 88, 190, 190, 120, 120, 88)
    assert doc["recall"] == recall_at_k(img, rep, (1, 5, 10), groups=np.array([0, 0, 1, 2, 2, 3, 3, 1]))


def test_report_retrieval_needs_training_reports(tmp_path: Path) -> None:
    path = write_controlled_store(tmp_path / "n.h5", [{"split": "train", "report": ""},
                                                      {"split": "test", "report": "angle 3"}])
    with Store(path) as st, pytest.raises(InputError, match="no train lump has a report"):
        report_retrieval(FakeViKL(), FakeTokenizer(), st, input_size=32)


def test_manifest_estimation_on_a_controlled_store(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lumps = []
    for i in range(30):
        split = "train" if i < 20 else "test"
        man = (rng.random(35) < 0.1).astype(np.uint8)
        known = np.ones(35, np.uint8)
        if i % 7 == 3:
            known[:8] = 0
            man[:8] = 0
        if i == 25:
            known[:] = 0  # a test lump with nothing known: not a query
            man[:] = 0
        lumps.append({"split": split, "manifest": man, "known": known,
                      "angles": tuple(int(a) for a in rng.integers(0, 256, 2))})
    path = write_controlled_store(tmp_path / "m.h5", lumps)
    for t_distance in (0.3, 0.02):  # the small radius leaves some neighbourhoods empty
        check_manifest_store(path, lumps, t_distance)


def check_manifest_store(path: Path, lumps: list[dict], t_distance: float) -> None:
    with Store(path) as st:
        doc = manifest_estimation(FakeViKL(), st, t_distance=t_distance, t_cls=[0.15, 0.25], empty="zeros",
                                  input_size=32)
    # slow re-computation straight from the lump list
    w = FakeViKL.MANIFEST_WEIGHTS
    train = [s for s in lumps if s["split"] == "train"]
    est, true, known, n_empty = [], [], [], 0
    for s in lumps:
        if s["split"] != "test" or not s["known"].any():
            continue
        for ang in s["angles"]:
            num, den, n = np.zeros(35), np.zeros(35), 0
            for tr in train:
                d = 1 - math.cos(math.radians(ang - float(tr["manifest"] @ w)))
                if d < t_distance:
                    n += 1
                    num += tr["manifest"] * tr["known"]
                    den += tr["known"]
            n_empty += n == 0
            est.append(np.where(den > 0, num / np.maximum(den, 1), 0.0))
            true.append(s["manifest"])
            known.append(s["known"])
    assert doc["n_queries"] == len(est) == 18 and doc["n_empty"] == n_empty
    assert (n_empty > 0) == (t_distance < 0.1)
    assert doc["counts"]["query_lumps_unknown"] == 1
    est, true, known = np.array(est), np.array(true), np.array(known).astype(bool)
    for row in doc["rows"]:
        e = est > row["t_cls"]
        accs, sens, specs = [], [], []
        for j in range(35):
            k = known[:, j]
            t, p = true[k, j] == 1, e[k, j]
            accs.append(np.mean(t == p))
            if t.any():
                sens.append(np.mean(p[t]))
            if (~t).any():
                specs.append(np.mean(~p[~t]))
        assert (row["accuracy"], row["sensitivity"], row["specificity"]) == pytest.approx(
            (np.mean(accs), np.mean(sens), np.mean(specs)))


def test_fake_model_is_what_the_tests_assume() -> None:
    x = torch.full((1, 1, 4, 4), 90 / 255)
    np.testing.assert_allclose(FakeViKL().embed_image(x).numpy(), at(90), atol=1e-6)
