"""`mvkl bench method`: statistics against slow references, and a real tiny run that recomputes."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from mvkl.evaluation.method.alignment import chance_recall, report_language, zero_shot_scores
from mvkl.evaluation.method.rows import parse_rows
from mvkl.evaluation.method.stats import summarize
from mvkl.evaluation.metrics import bootstrap_auc_replicates

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _records(rng: np.random.Generator, n: int = 40) -> tuple[list[dict], np.ndarray]:
    y = (np.arange(n) % 3 != 0).astype(int)
    recs = []
    for row, strength in (("random", 0.0), ("vikl-none", 1.0), ("vikl-manineg", 3.0)):
        for seed in range(3):
            p = rng.normal(size=n) + strength * y
            recs += [{"row": row, "protocol": "lp", "seed": seed, "image_id": f"i{j:03d}", "label": int(y[j]),
                      "score": float(p[j])} for j in range(n)]
    return recs, y


def _auc_slow(y: np.ndarray, p: np.ndarray) -> float:
    pos, neg = p[y == 1], p[y == 0]
    return float(np.mean([(a > b) + 0.5 * (a == b) for a in pos for b in neg]))


def test_summary_matches_slow_reference() -> None:
    recs, y = _records(np.random.default_rng(0))
    doc = summarize(recs, n_boot=300, boot_seed=7)
    by = {(r["row"], r["protocol"]): r for r in doc["rows"]}
    for row in ("random", "vikl-none", "vikl-manineg"):
        aucs = []
        reps = []
        for seed in range(3):
            sel = sorted((r for r in recs if r["row"] == row and r["seed"] == seed), key=lambda r: r["image_id"])
            p = np.array([r["score"] for r in sel])
            aucs.append(_auc_slow(y, p))
            reps.append(bootstrap_auc_replicates(y, p, n_boot=300, seed=7))
        e = by[(row, "lp")]
        assert e["auc_mean"] == pytest.approx(np.mean(aucs))
        assert e["auc_std"] == pytest.approx(np.std(aucs, ddof=1))
        lo, hi = np.quantile(np.mean(reps, axis=0), [0.025, 0.975])
        assert e["ci"] == pytest.approx([lo, hi])
    strong = by[("vikl-manineg", "lp")]["vs_random"]
    assert strong["diff"] > 0.3 and strong["ci"][0] > 0 and strong["p_not_better"] == 0.0
    comp = {(c["a"], c["b"]): c for c in doc["comparisons"]}
    assert comp[("vikl-manineg", "vikl-none")]["diff"] == pytest.approx(
        by[("vikl-manineg", "lp")]["auc_mean"] - by[("vikl-none", "lp")]["auc_mean"])


def test_summary_refuses_runs_on_different_images() -> None:
    recs, _ = _records(np.random.default_rng(1))
    recs = [r for r in recs if not (r["row"] == "vikl-none" and r["seed"] == 1 and r["image_id"] == "i000")]
    with pytest.raises(ValueError, match="does not score every test image"):
        summarize(recs, n_boot=10)


@pytest.mark.parametrize("groups", [[0, 1, 2, 3, 4, 5, 6, 7], [0, 0, 1, 1, 2, 2, 3, 3, 4, 5]])
@pytest.mark.parametrize("k", [1, 3])
def test_chance_recall_is_the_random_ranking_expectation(groups: list[int], k: int) -> None:
    g = np.array(groups)
    n = g.size
    hits = []
    for q in range(n):  # every ordering of the keys, counted exactly over a sample of permutations
        rng = np.random.default_rng(q)
        perms = [rng.permutation(n) for _ in range(4000)]
        hits.append(np.mean([any(g[perm[:k]] == g[q]) for perm in perms]))
    assert chance_recall(g, k) == pytest.approx(float(np.mean(hits)), abs=0.02)


def test_zero_shot_score_and_language() -> None:
    img = np.array([[1.0, 0.0], [0.0, 1.0]])
    s = zero_shot_scores(img, benign_emb=np.array([[1.0, 0.0]]), malignant_emb=np.array([[0.0, 1.0]]))
    assert s.tolist() == pytest.approx([-1.0, 1.0])
    assert report_language(["左乳外上象限见肿块", "BI-RADS 4A", "右乳未见异常"]) == "zh"
    assert report_language(["an oval mass", ""]) == "en"


def test_from_a_folder_without_a_run_is_exit_2(tmp_path: Path, run_cli) -> None:
    res = run_cli("bench", "method", "--from", tmp_path, "--quiet")
    assert res.exit_code == 2 and "meta.json" in res.stderr


def test_rows_always_include_random() -> None:
    assert [r.name for r in parse_rows("vikl-manineg")] == ["random", "vikl-manineg"]
    assert len(parse_rows("all")) == 8
    with pytest.raises(Exception, match="unknown row"):
        parse_rows("vikl-magic")


def test_tiny_bench_runs_and_recomputes_from_predictions(tmp_path: Path, run_cli) -> None:
    from mvkl.store import write_store
    from tests.conftest import make_store_arrays

    arrays = make_store_arrays(n_lumps=40, seed=2)  # both labels in every split
    store = tmp_path / "s.h5"
    write_store(store, arrays["lumps"], arrays["images"], arrays["pixels"],
                attrs={"sources": [{"name": "fixture", "format": "arrays"}]})
    out = tmp_path / "mb"
    res = run_cli("bench", "method", store, "--out", out, "--rows", "supervised,vikl-manineg",
                  "--seeds", "2", "--steps", "2", "--batch-size", "4", "--n-boot", "50", "--json", "--quiet")
    assert res.exit_code == 0, res.stdout
    doc = json.loads(res.stdout)
    keys = {(r["row"], r["protocol"]) for r in doc["rows"]}
    assert keys == {("random", "lp"), ("random", "le"), ("supervised", "ft"), ("vikl-manineg", "lp"),
                    ("vikl-manineg", "le"), ("vikl-manineg", "zs")}
    assert all(len(r["aucs"]) == 2 for r in doc["rows"])
    assert set(doc["retrieval"]["vikl-manineg"]) == {"R@1", "R@5"}
    for name in ("predictions.csv", "results.json", "method.md", "method.png", "alignment.json"):
        assert (out / name).is_file()
    lines = (out / "predictions.csv").read_text().splitlines()
    assert len(lines) - 1 == 6 * 2 * doc["n_test"]
    again = run_cli("bench", "method", "--from", out, "--n-boot", "50", "--json", "--quiet")
    assert again.exit_code == 0
    redo = json.loads(again.stdout)
    for a, b in itertools.zip_longest(doc["rows"], redo["rows"]):
        assert (a["row"], a["protocol"]) == (b["row"], b["protocol"])
        assert a["aucs"] == pytest.approx(b["aucs"]) and a["ci"] == pytest.approx(b["ci"])
    assert not math.isnan(doc["rows"][0]["auc_mean"])


def _doc_for_findings(ceiling: float, vikl: float, random: float, ci: float) -> dict:
    def e(row: str, protocol: str, m: float) -> dict:
        return {"row": row, "protocol": protocol, "auc_mean": m, "ci": [m - ci, m + ci]}

    rows = [e("supervised", "ft", ceiling), e("random", "le", random), e("vikl-manineg", "le", vikl),
            e("vikl-none", "le", vikl - 0.01), e("vikl-manineg", "zs", 0.6)]
    comps = [{"a": "vikl-manineg", "b": "image-only", "protocol": "le", "diff": 0.01, "ci": [-0.02, 0.04],
              "p_not_better": 0.3},
             {"a": "vikl-manineg", "b": "vikl-none", "protocol": "le", "diff": -0.04, "ci": [-0.06, -0.02],
              "p_not_better": 1.0}]
    return {"rows": rows, "comparisons": comps,
            "retrieval": {"vikl-manineg": {"R@5": {"mean": 0.05, "chance": 0.024}}}}


def test_findings_mark_each_target_from_the_figures() -> None:
    from mvkl.evaluation.method.findings import findings

    f = {x["target"]: x for x in findings(_doc_for_findings(0.85, 0.70, 0.50, 0.04))}
    assert f["image ceiling"]["met"] is True and f["ViKL LE vs random LE"]["met"] is True
    assert f["ViKL vs image-only"]["met"] is True and f["text branch R@5"]["met"] is True  # 0.05 ≥ 2 × 0.024
    assert "worse" in f["hard negatives"]["text"] and "vikl-none +0.190 (met)" in f["ViKL LE vs random LE"]["text"]
    g = {x["target"]: x for x in findings(_doc_for_findings(0.70, 0.58, 0.50, 0.04))}
    assert g["image ceiling"]["met"] is False
    assert g["ViKL LE vs random LE"]["met"] is False and "overlap" in g["ViKL LE vs random LE"]["text"]
    h = {x["target"]: x for x in findings(_doc_for_findings(0.70, 0.62, 0.50, 0.07))}
    assert h["ViKL LE vs random LE"]["met"] is False  # +0.12, but the CIs overlap
    assert findings({"rows": [], "comparisons": []})[0]["met"] is None  # nothing measured: not claimed
