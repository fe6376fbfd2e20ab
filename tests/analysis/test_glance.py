"""Paper Table 3 glance (mvkl.analysis.glance, `mvkl info --glance`) against a slow re-implementation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mvkl.analysis.glance import glance
from mvkl.errors import InputError
from mvkl.store import Store, write_store
from tests.conftest import make_store_arrays


def _store(tmp_path: Path, **edit: Any) -> Path:
    a = make_store_arrays(n_lumps=120, image_size=8, seed=3)
    a["lumps"].update(edit)
    path = tmp_path / "g.h5"
    write_store(path, a["lumps"], a["images"], a["pixels"], attrs={"sources": [{"name": "f", "format": "arrays"}]})
    return path


def _slow_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Probability that a random malignant lump scores above a random benign one (ties count half)."""
    pos, neg = p[y == 1], p[y == 0]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def test_rows_equal_a_plain_logistic_regression(tmp_path: Path) -> None:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    path = _store(tmp_path)
    g = glance(path, seed=0, n_boot=200)
    with Store(path) as st:
        y = np.asarray(st.lumps["label"])
        tr, te = st.lump_indices("train"), st.lump_indices("test")
        m = np.asarray(st.lumps["manifest"], float)
        k = np.asarray(st.lumps["manifest_known"], float)
        reports = [str(r) for r in st.lumps["report"]]
    x = np.hstack([m * k, k])
    p = LogisticRegression(max_iter=2000, random_state=0).fit(x[tr], y[tr]).predict_proba(x[te])[:, 1]
    row = g["rows"]["manifestation"]
    assert row["auc"] == pytest.approx(_slow_auc(y[te], p), abs=1e-12)
    pred = p >= 0.5
    assert row["sensitivity"] == pytest.approx(np.mean(pred[y[te] == 1]))
    assert row["specificity"] == pytest.approx(np.mean(~pred[y[te] == 0]))
    assert row["accuracy"] == pytest.approx(np.mean(pred == (y[te] == 1)))
    assert row["auc_ci"][0] <= row["auc"] <= row["auc_ci"][1]
    assert row["auc"] > 0.7  # the fixture's label follows mass shape and edge
    vec = CountVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2)
    xt = vec.fit_transform([reports[i] for i in tr])
    pt = LogisticRegression(max_iter=2000, random_state=0).fit(xt, y[tr]).predict_proba(
        vec.transform([reports[i] for i in te]))[:, 1]
    assert g["rows"]["report"]["auc"] == pytest.approx(_slow_auc(y[te], pt), abs=1e-12)
    assert g["n_train"] == tr.size and g["n_test"] == te.size


def test_unknown_labels_missing_reports_and_one_class_rows(tmp_path: Path) -> None:
    a = make_store_arrays(n_lumps=120, image_size=8, seed=3)
    lab = np.asarray(a["lumps"]["label"]).copy()
    lab[:10] = -1
    path = _store(tmp_path, label=lab, report=[""] * 120)
    g = glance(path, n_boot=50)
    with Store(path) as st:
        y, split = np.asarray(st.lumps["label"]), np.asarray(st.lumps["split"])
    assert g["n_train"] == int(np.sum((split == 0) & (y >= 0)))
    assert "skipped" in g["rows"]["report"] and "auc" in g["rows"]["manifestation"]
    one = np.where(split == 2, 1, lab).astype(np.int8)  # every test lump malignant
    g1 = glance(_store(tmp_path / "b", label=one), n_boot=50)
    assert g1["rows"]["manifestation"]["skipped"].startswith("the test lumps")


def test_no_test_lump_is_an_input_error(tmp_path: Path) -> None:
    a = make_store_arrays(n_lumps=120, image_size=8, seed=3)
    with pytest.raises(InputError, match="train and the test split"):
        glance(_store(tmp_path, split=np.where(np.asarray(a["lumps"]["split"]) == 2, 1, a["lumps"]["split"])))


def test_cli_info_glance(tmp_path: Path, run_cli: Any) -> None:
    path = _store(tmp_path)
    r = run_cli("info", str(path), "--glance", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["glance"]["rows"]["manifestation"]["auc"] == pytest.approx(glance(path)["rows"]["manifestation"]["auc"])
    r = run_cli("info", str(path), "--glance")
    assert r.exit_code == 0 and "Table 3" in r.stdout and "manifestation" in r.stdout
