"""What the text branch learnt: image → report retrieval and zero-shot classification.

* Retrieval (paper Sec. 5.7): every test image queries the test reports; a hit at k is its own
  lump's report (identical reports count as one positive) among the k most similar
  (:func:`mvkl.analysis.retrieval.metrics.recall_at_k`). Chance is computed exactly: a query with
  ``p`` positives among ``n`` keys hits at k by chance with probability ``1 - C(n-p, k)/C(n, k)``.
* Zero-shot classification (as Mammo-CLIP offers it; not in the ViKL paper): the image embedding
  against the mean embedding of a few benign and a few malignant report prompts; the score is
  ``cos(image, malignant) - cos(image, benign)``, its test AUC comes with a stratified bootstrap CI
  (:func:`mvkl.evaluation.metrics.bootstrap_auc_ci`). The prompts are generic BI-RADS phrasing in
  the store's report language, not sentences of the store.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["PROMPTS", "chance_recall", "report_language", "text_alignment", "zero_shot_scores"]

#: Zero-shot prompts per language and class.
PROMPTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "malignant": (
            "Assessment: BI-RADS category 5 – highly suggestive of malignancy.",
            "There is an irregular high-density mass with spiculated margins. BI-RADS 5.",
            "Fine linear branching calcifications in a segmental distribution. BI-RADS 4C – high suspicion for "
            "malignancy.",
        ),
        "benign": (
            "Assessment: BI-RADS category 2 – benign finding.",
            "There is an oval mass with circumscribed margins. BI-RADS 3 – probably benign.",
            "Coarse popcorn calcifications in a scattered distribution. BI-RADS 2.",
        ),
    },
    "zh": {
        "malignant": (
            "诊断意见：高度提示恶性，考虑乳腺癌，BI-RADS分类：5类。",
            "见不规则高密度肿块，边缘毛刺。BI-RADS 5类。",
            "见细线样分支状钙化，呈段样分布。BI-RADS 4C类，高度可疑恶性。",
        ),
        "benign": (
            "诊断意见：考虑良性病变，BI-RADS分类：2类。",
            "见椭圆形肿块，边缘清晰。BI-RADS 3类，考虑良性可能大。",
            "见粗大爆米花样钙化，散在分布。BI-RADS 2类。",
        ),
    },
}


def report_language(reports: list[str]) -> str:
    """``"zh"`` when most non-empty reports contain CJK characters, else ``"en"``."""
    texts = [r for r in reports if r.strip()]
    cjk = sum(1 for r in texts if any("\u4e00" <= ch <= "\u9fff" for ch in r))
    return "zh" if texts and cjk * 2 >= len(texts) else "en"


def chance_recall(groups: np.ndarray, k: int) -> float:
    """Expected recall@k of a random ranking (module docstring) for pair groups ``groups`` (n,)."""
    g = np.asarray(groups)
    n = g.size
    if n == 0:
        return math.nan
    keys, counts = np.unique(g, return_counts=True)
    p_of = dict(zip(keys.tolist(), counts.tolist(), strict=True))
    k = min(int(k), n)
    vals = []
    for gi in g.tolist():
        p = p_of[gi]
        vals.append(1.0 - (math.comb(n - p, k) / math.comb(n, k) if n - p >= k else 0.0))
    return float(np.mean(vals))


def zero_shot_scores(image_emb: np.ndarray, benign_emb: np.ndarray, malignant_emb: np.ndarray) -> np.ndarray:
    """``cos(image, mean malignant prompt) - cos(image, mean benign prompt)`` per image (n,)."""
    from mvkl.analysis.retrieval.metrics import l2_normalize

    img = l2_normalize(image_emb)
    mal = l2_normalize(np.asarray(malignant_emb, np.float64).mean(axis=0, keepdims=True))
    ben = l2_normalize(np.asarray(benign_emb, np.float64).mean(axis=0, keepdims=True))
    return np.asarray((img @ mal.T - img @ ben.T)[:, 0], dtype=np.float64)


def text_alignment(run_dir: Any, store: Any, *, split: str = "test", ks: tuple[int, ...] = (1, 5),
                   n_boot: int = 1000, seed: int = 0, lang: str | None = None) -> dict[str, Any]:
    """Retrieval R@k (with chance) and zero-shot AUC (with CI) of a pretraining run with a text branch.

    Returns ``{"recall": {"R@1", "R@5", ...}, "chance": {...}, "n_queries", "zero_shot": {"auc",
    "ci", "lang"}, "image_ids", "labels", "zero_shot_scores"}`` (scores per test image, for
    recomputation).
    """
    from mvkl.analysis.embed import embed_image_rows, embed_texts, lump_images
    from mvkl.analysis.retrieval.metrics import recall_at_k
    from mvkl.evaluation.metrics import bootstrap_auc_ci, roc_auc
    from mvkl.models.export import load_vikl

    model, tokenizer, config = load_vikl(run_dir)
    L = store.lumps
    lumps = store.lump_indices(split)
    pos, rows, _views = lump_images(store, lumps)
    size = int(config.get("image_size") or store.info.image_size)
    emb = embed_image_rows(model, store, rows, input_size=size)
    reports = [str(L["report"][lumps[p]]) for p in pos]
    has = np.array([bool(r.strip()) for r in reports], dtype=bool)
    out: dict[str, Any] = {"n_queries": int(has.sum())}
    if has.any():
        texts = [r for r, h in zip(reports, has, strict=True) if h]
        groups = np.unique(np.asarray(texts, dtype=object), return_inverse=True)[1].reshape(-1)
        rec = recall_at_k(emb[has], embed_texts(model, tokenizer, texts), ks, groups=groups)
        out["recall"] = {f"R@{k}": rec["image_to_text"][f"R@{k}"] for k in ks}
        out["chance"] = {f"R@{k}": chance_recall(groups, k) for k in ks}
    lang = lang or report_language([str(r) for r in L["report"]])
    prompts = PROMPTS[lang]
    scores = zero_shot_scores(emb, embed_texts(model, tokenizer, list(prompts["benign"])),
                              embed_texts(model, tokenizer, list(prompts["malignant"])))
    labels = np.asarray(store.images_meta["label"])[rows].astype(int)
    known = labels >= 0
    auc = roc_auc(labels[known], scores[known])
    ci = (bootstrap_auc_ci(labels[known], scores[known], n_boot=n_boot, seed=seed) if n_boot
          else (math.nan, math.nan))
    ids = [bytes(x).decode("ascii") for x in np.asarray(store.images_meta["image_id"])[rows]]
    out["zero_shot"] = {"auc": auc, "ci": list(ci), "lang": lang}
    out.update(image_ids=ids, labels=labels.tolist(), zero_shot_scores=scores.tolist())
    return out
