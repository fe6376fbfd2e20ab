"""Where the benign/malignant signal is in a store, per modality (paper Sec. 5.4, Table 3, "a glance
on the MVKL dataset").

The paper trains "the untrained encoders of each modality, followed by a linear layer" and finds
text and manifestations far more informative than images (AUC 86.3 and 84.8 against 68.3). This
module gives the two non-image rows with linear models on fixed features, trained on the lumps of
the train split and tested on the test split:

* **manifestation**: logistic regression on the 35-dim vector and its known mask (70 features; a
  dimension a data set does not describe is 0 in both the vector and the mask, so "unknown" and
  "absent" stay distinguishable);
* **report**: logistic regression on character 1–3-gram counts of the (scrubbed) reports
  (``char_wb``, n-grams seen in at least two training reports). Character n-grams need no
  tokenizer and work for Chinese and English alike.

These are linear probes of the raw modality, not the paper's trained-from-scratch encoders; the
image row of Table 3 is ``mvkl eval random:resnet50 STORE --protocol ft``. Metrics: test AUC with a
stratified bootstrap CI and the threshold metrics at p ≥ 0.5 (paper Table 3 columns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mvkl.errors import InputError

__all__ = ["MODALITIES", "glance"]

#: Rows of the glance, in the paper's order (the image row comes from ``mvkl eval``).
MODALITIES: tuple[str, ...] = ("report", "manifestation")


def _fit_predict(x_tr: Any, y_tr: np.ndarray, x_te: Any, seed: int, c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(max_iter=2000, C=c, random_state=seed).fit(x_tr, y_tr)
    return lr.predict_proba(x_te)[:, 1]


def _metrics(y: np.ndarray, p: np.ndarray, seed: int, n_boot: int) -> dict[str, Any]:
    from mvkl.evaluation.metrics import bootstrap_auc_ci, roc_auc, threshold_metrics

    lo, hi = bootstrap_auc_ci(y, p, n_boot=n_boot, seed=seed)
    at = threshold_metrics(y, p, 0.5)
    return {"auc": roc_auc(y, p), "auc_ci": [lo, hi], **{k: at[k] for k in ("accuracy", "sensitivity",
                                                                            "specificity", "f1")}}


def glance(store: str | Path, *, seed: int = 0, c: float = 1.0, n_boot: int = 1000) -> dict[str, Any]:
    """Table 3's report and manifestation rows on ``store`` (see the module docstring).

    Returns ``{"n_train", "n_test", "rows": {modality: {auc, auc_ci, accuracy, sensitivity,
    specificity, f1, n_train, n_test} | {"skipped": reason}}}``. Lumps with an unknown label are
    left out; a row is skipped (with the reason) when its train or test lumps lack a class or, for
    reports, when no training lump has a report. InputError when the store has no train or test lump.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    from mvkl.store import Store

    with Store(store) as st:
        y_all = np.asarray(st.lumps["label"])
        tr, te = st.lump_indices("train"), st.lump_indices("test")
        tr, te = tr[y_all[tr] >= 0], te[y_all[te] >= 0]
        if tr.size == 0 or te.size == 0:
            raise InputError("the glance needs labelled lumps in the train and the test split",
                             file=Path(store).name, code="empty")
        manifest = np.asarray(st.lumps["manifest"], dtype=np.float64)
        known = np.asarray(st.lumps["manifest_known"], dtype=np.float64)
        reports = [str(r) for r in st.lumps["report"]]
    out: dict[str, Any] = {"n_train": int(tr.size), "n_test": int(te.size), "seed": seed, "C": c, "rows": {}}

    def run(name: str, rows_tr: np.ndarray, rows_te: np.ndarray, feats: Any) -> None:
        y_tr, y_te = y_all[rows_tr], y_all[rows_te]
        for split, y in (("train", y_tr), ("test", y_te)):
            if np.unique(y).size < 2:
                out["rows"][name] = {"skipped": f"the {split} lumps{' with a report' if name == 'report' else ''} "
                                                "hold one class"}
                return
        x_tr, x_te = feats(rows_tr, rows_te)
        p = _fit_predict(x_tr, y_tr, x_te, seed, c)
        out["rows"][name] = {**_metrics(y_te, p, seed, n_boot), "n_train": int(rows_tr.size),
                             "n_test": int(rows_te.size)}

    has = np.array([bool(r.strip()) for r in reports])
    r_tr, r_te = tr[has[tr]], te[has[te]]
    if r_tr.size == 0 or r_te.size == 0:
        out["rows"]["report"] = {"skipped": "no report in the train or the test split"}
    else:
        def text_feats(a: np.ndarray, b: np.ndarray) -> tuple[Any, Any]:
            vec = CountVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2 if a.size > 1 else 1)
            return vec.fit_transform([reports[i] for i in a]), vec.transform([reports[i] for i in b])

        run("report", r_tr, r_te, text_feats)
    x_m = np.concatenate([manifest * known, known], axis=1)
    run("manifestation", tr, te, lambda a, b: (x_m[a], x_m[b]))
    return out
