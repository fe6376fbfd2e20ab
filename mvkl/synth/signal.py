"""The "modality glance" of paper Table 3 on synthetic cases, without pixels.

Paper Table 3 (MVKL, malignancy AUC): image 68.3 %, text 86.3 %, manifestation 84.8 %, each from a
simple classifier on one modality. :func:`modality_glance` fits a logistic regression on the
35-dim manifestation vectors and one on a bag of words of the reports (word 1-2-grams in English,
character 1-3-grams in Chinese), trained on the train split and scored on the test split, so that
the synthetic data can be checked to carry a comparable signal (AUC in [0.78, 0.92]) while the
labels stay a noisy, not deterministic, function of either modality.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mvkl.synth.cases import CaseSet

__all__ = ["label_conflicts", "modality_glance"]


def label_conflicts(manifests: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    """(number of distinct manifestation vectors seen more than once, how many of them carry both
    labels). A non-zero second number shows labels are not a function of the manifestation."""
    groups: dict[bytes, set[int]] = {}
    counts: dict[bytes, int] = {}
    for m, y in zip(manifests, labels, strict=True):
        key = m.tobytes()
        groups.setdefault(key, set()).add(int(y))
        counts[key] = counts.get(key, 0) + 1
    repeated = [k for k, c in counts.items() if c > 1]
    return len(repeated), sum(1 for k in repeated if len(groups[k]) > 1)


def modality_glance(cases: CaseSet, seed: int = 0) -> dict[str, Any]:
    """Test AUCs of logistic regressions on manifestations and on report bags of words."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    m = cases.manifests().astype(np.float64)
    y = cases.labels().astype(int)
    split = np.array(cases.splits())
    reports = [r.replace("\n", " ") for r in cases.reports()]
    train = split != "test"
    test = split == "test"
    if len(set(y[train])) < 2 or len(set(y[test])) < 2:
        raise ValueError("both labels must occur in the train and test splits")
    lr = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
    auc_m = roc_auc_score(y[test], lr.fit(m[train], y[train]).predict_proba(m[test])[:, 1])
    if cases.lang == "zh":
        vec = CountVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, binary=True)
    else:
        vec = CountVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, binary=True, token_pattern=r"[\w\-]+")
    x_train = vec.fit_transform([r for r, t in zip(reports, train, strict=True) if t])
    x_test = vec.transform([r for r, t in zip(reports, test, strict=True) if t])
    lr_t = LogisticRegression(C=0.3, max_iter=4000, random_state=seed)
    auc_t = roc_auc_score(y[test], lr_t.fit(x_train, y[train]).predict_proba(x_test)[:, 1])
    repeated, mixed = label_conflicts(cases.manifests(), y)
    return {
        "lumps": len(y),
        "train_lumps": int(train.sum()),
        "test_lumps": int(test.sum()),
        "malignant_fraction": round(float(y.mean()), 4),
        "auc_manifestation": round(float(auc_m), 4),
        "auc_text": round(float(auc_t), 4),
        "lang": cases.lang,
        "repeated_manifestations": repeated,
        "repeated_with_both_labels": mixed,
        "paper_table3_auc": {"image": 0.6834, "text": 0.8630, "manifestation": 0.8484},
    }
