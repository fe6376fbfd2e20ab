"""End to end on a small store: the reported numbers are recomputable from predictions.parquet,
--save-model reproduces the test predictions, failures leave no partial results."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mvkl.errors import InputError
from mvkl.evaluation.aggregate import aggregate_runs
from mvkl.evaluation.calibration import ece
from mvkl.evaluation.metrics import roc_auc, summarize_binary, threshold_metrics
from mvkl.evaluation.protocols import load_classifier, resolve_config, run_eval
from mvkl.evaluation.protocols.classifier import operating_points
from mvkl.evaluation.protocols.results import read_predictions
from mvkl.evaluation.protocols.runner import default_out_dir

FAST = {"image_size": 32, "workers": 0, "n_boot": 200, "device": "cpu"}


@pytest.fixture(scope="module")
def lp_run(eval_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = resolve_config("lp", "tiny", seeds=2, thresholds=(0.87, 0.74, 0.5), **FAST)
    out = tmp_path_factory.mktemp("lp") / "eval-lp"
    run_eval("random:resnet18:0", eval_store, cfg, out_dir=out)
    return out


@pytest.fixture(scope="module")
def ft_run(eval_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = resolve_config("ft", "tiny", seeds=2, epochs=1, lr=1e-3, save_model=True,
                         calibration_definition="positive", **FAST)
    out = tmp_path_factory.mktemp("ft") / "eval-ft"
    run_eval("random:resnet18:0", eval_store, cfg, out_dir=out)
    return out


def _recompute(out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    doc = json.loads((out / "results.json").read_text())
    cfg = doc["config"]
    pr = read_predictions(out)
    metrics = []
    for run in doc["runs"]:
        s = run["seed"]
        sel = {sp: (pr["seed"] == s) & (pr["split"] == sp) for sp in ("val", "test")}
        yv, pv = pr["label"][sel["val"]], pr["score"][sel["val"]]
        yt, pt = pr["label"][sel["test"]], pr["score"][sel["test"]]
        test = summarize_binary(yt, pt, cfg["thresholds"], n_boot=cfg["n_boot"], alpha=1 - cfg["ci_level"], seed=s)
        test["auc_ci_lo"], test["auc_ci_hi"] = test["auc_ci"]
        ops = operating_points(yv, pv)
        metrics.append({"test": test, "val": {"auc": roc_auc(yv, pv), "n": int(yv.size), "n_pos": int(yv.sum())},
                        "operating_points": {k.replace("_0.", "_"): threshold_metrics(yt, pt, t)
                                             for k, t in ops.items() if k != "0.5"},
                        "calibration": ece(yt, pt, definition=cfg["calibration_definition"])})
    return doc, metrics


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return set(a) == set(b) and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
            return (a is None or math.isnan(a)) and (b is None or math.isnan(b))
        return a == pytest.approx(b, rel=1e-12, abs=1e-12)
    return a == b


@pytest.mark.parametrize("which", ["lp_run", "ft_run"])
def test_metrics_recompute_from_predictions(which: str, request: pytest.FixtureRequest) -> None:
    out = request.getfixturevalue(which)
    doc, metrics = _recompute(out)
    from mvkl.evaluation.aggregate import jsonable

    for run, m in zip(doc["runs"], metrics, strict=True):
        assert _close(run["metrics"], jsonable(m)), run["seed"]
    agg = jsonable(aggregate_runs(metrics))
    assert _close(doc["aggregate"], agg)
    assert doc["aggregate"]["test.auc"]["std"] == pytest.approx(np.std([m["test"]["auc"] for m in metrics], ddof=1))
    pr = read_predictions(out)
    assert len(pr["seed"]) == 2 * (8 + 16) and set(pr["split"]) == {"val", "test"}
    assert set(pr) == {"seed", "split", "image_id", "view", "laterality", "label", "score"}


def test_results_directory(lp_run: Path) -> None:
    names = {p.name for p in lp_run.iterdir()}
    assert names == {"results.json", "results.md", "predictions.parquet", "roc.png", "reliability.png"}
    doc = json.loads((lp_run / "results.json").read_text())
    assert doc["environment"]["torch"] == torch.__version__ and doc["environment"]["device"] == "cpu"
    assert doc["store"]["splits"]["train"]["excluded_unknown"] == 4 and doc["config"]["lp_c"] == pytest.approx(0.3165,
                                                                                                              abs=1e-4)
    assert doc["seeds"] == [0, 1] and doc["files"] and "bootstrap" in doc["lp_variance_note"]
    pr = read_predictions(lp_run)  # the bootstrap of the training set makes the seeds differ (LP variance)
    test = pr["split"] == "test"
    assert not np.allclose(pr["score"][test & (pr["seed"] == 0)], pr["score"][test & (pr["seed"] == 1)])
    md = (lp_run / "results.md").read_text()
    for text in ("| 0.87 |", "| 0.74 |", "| 0.5 |", "ECE (paper)", "Per seed", "LP variance"):
        assert text in md
    assert str(Path.home()) not in (lp_run / "results.json").read_text()


def test_saved_classifier_reproduces_test_predictions(ft_run: Path, eval_store: Path) -> None:
    from mvkl.evaluation.protocols.data import load_task
    from mvkl.torchdata import EvalTransform

    doc = json.loads((ft_run / "results.json").read_text())
    model, card = load_classifier(ft_run)
    assert card["seed"] == doc["saved_model_seed"] and card["protocol"] == "ft" and card["image_size"] == 32
    vals = [r["metrics"]["val"]["auc"] for r in doc["runs"]]
    assert card["val_auc"] == max(vals) and card["seed"] == doc["runs"][int(np.argmax(vals))]["seed"]
    assert card["default_threshold"] == card["operating_points"]["youden"]
    from mvkl.store import Store

    with Store(eval_store) as st:  # predict re-runs the ingest pipeline at the training store's size
        assert (card["store"]["image_size"], card["store"]["pixel_dtype"]) == (st.info.image_size,
                                                                               st.info.pixel_dtype)
    task = load_task(eval_store)
    ds = task.dataset("test", EvalTransform(card["image_size"]))
    x = torch.stack([ds[i]["image"] for i in range(len(ds))])
    with torch.no_grad():
        p = model(x).double().numpy()
    pr = read_predictions(ft_run)
    sel = (pr["seed"] == card["seed"]) & (pr["split"] == "test")
    assert list(pr["image_id"][sel]) == ds.image_ids
    np.testing.assert_allclose(p, pr["score"][sel], rtol=0, atol=1e-6)
    assert card["test_auc"] == pytest.approx(roc_auc(pr["label"][sel], p), abs=1e-9)


def test_lp_without_variance_is_one_run(eval_store: Path, tmp_path: Path) -> None:
    cfg = resolve_config("lp", "tiny", seeds=3, lp_variance="none", **FAST)
    res = run_eval("random:resnet18:0", eval_store, cfg, out_dir=tmp_path / "o", write=False)
    assert res.doc["seeds"] == [0] and math.isnan(res.doc["aggregate"]["test.auc"]["std"])
    assert res.out_dir is None and not (tmp_path / "o").exists()


def test_le_at_a_fraction(eval_store: Path, tmp_path: Path) -> None:
    cfg = resolve_config("le", "tiny", seeds=2, epochs=1, fraction=0.5, **FAST)
    res = run_eval("random:resnet18:0", eval_store, cfg, out_dir=tmp_path / "le", write=False)
    n = [r["train_images"] for r in res.doc["runs"]]
    assert all(20 <= k <= 36 for k in n)  # about half of 56, whole patients
    assert res.doc["runs"][0]["fit"]["param_groups"][0]["name"] == "head"
    with pytest.raises(InputError, match="leaves no"):
        run_eval("random:resnet18:0", eval_store, cfg.replace(fraction=0.01), out_dir=tmp_path / "x", write=False)


def test_failure_leaves_previous_results_intact(lp_run: Path, eval_store: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import mvkl.evaluation.plots as plots

    out = tmp_path / "copy"
    out.mkdir()
    for f in lp_run.iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    before = {f.name: f.read_bytes() for f in out.iterdir()}

    def boom(*a: Any, **k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "plot_reliability", boom)
    cfg = resolve_config("lp", "tiny", seeds=1, **FAST)
    with pytest.raises(RuntimeError, match="disk full"):
        run_eval("random:resnet18:0", eval_store, cfg, out_dir=out)
    assert {f.name: f.read_bytes() for f in out.iterdir()} == before  # no staging left, nothing replaced
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        run_eval("random:resnet18:0", eval_store, cfg, out_dir=fresh)
    assert not (fresh / "results.json").exists() and list(fresh.iterdir()) == []


def test_default_out_dir(tmp_path: Path) -> None:
    cfg = resolve_config("ft", "tiny", fraction=0.4)
    run = tmp_path / "runs" / "vikl"
    run.mkdir(parents=True)
    assert default_out_dir(str(run), cfg) == run / "eval-ft-tiny-f0.4"
    assert default_out_dir("imagenet:resnet18", resolve_config("lp")) == Path("imagenet-resnet18") / "eval-lp"


def test_results_do_not_depend_on_workers(small_stores: list[Path]) -> None:
    cfg = resolve_config("le", "tiny", seeds=1, epochs=1, image_size=32, n_boot=50, device="cpu", workers=0)
    a = run_eval("random:resnet18:0", small_stores[0], cfg, write=False)
    b = run_eval("random:resnet18:0", small_stores[0], cfg.replace(workers=2), write=False)
    assert a.predictions["score"] == b.predictions["score"]
    assert a.doc["runs"][0]["fit"]["history"] == [{**h, "seconds": a.doc["runs"][0]["fit"]["history"][i]["seconds"]}
                                                  for i, h in enumerate(b.doc["runs"][0]["fit"]["history"])]


def test_le_on_cached_features_equals_le_through_the_encoder(eval_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LE without augmentation trains the head on features computed once; the slow path runs every
    batch through the frozen encoder. Same head initialisation, batches and schedule: same model."""
    from mvkl.evaluation.protocols import runner

    cfg = resolve_config("le", "tiny", seeds=2, epochs=3, patience=3, augment="none", le_standardize=False, **FAST)
    fast = run_eval("random:resnet18:0", eval_store, cfg, write=False)
    monkeypatch.setattr(runner, "CACHE_LE_FEATURES", False)
    slow = run_eval("random:resnet18:0", eval_store, cfg, write=False)
    assert fast.predictions["image_id"] == slow.predictions["image_id"]
    np.testing.assert_allclose(fast.predictions["score"], slow.predictions["score"], atol=2e-5)
    assert len(set(np.round(fast.predictions["score"], 4))) > 2  # the head learned something per image
    for a, b in zip(fast.doc["runs"], slow.doc["runs"], strict=True):
        assert a["fit"]["best_epoch"] == b["fit"]["best_epoch"]
        assert a["fit"]["features"].startswith("cached") and "features" not in b["fit"]


def test_standardised_cached_le_folds_into_a_linear_head(eval_store: Path, tmp_path: Path) -> None:
    """Tiny LE standardises the cached features; the saved classifier, a plain linear head on the
    encoder, reproduces the recorded test predictions from the images."""
    from mvkl.evaluation.protocols.data import load_task
    from mvkl.torchdata import EvalTransform

    cfg = resolve_config("le", "tiny", seeds=2, epochs=3, patience=3, save_model=True, **FAST)
    assert cfg.le_standardize and cfg.augment == "none"
    out = tmp_path / "le"
    run_eval("random:resnet18:0", eval_store, cfg, out_dir=out)
    doc = json.loads((out / "results.json").read_text())
    assert all(r["fit"]["features"].endswith("standardised") for r in doc["runs"])
    model, card = load_classifier(out)
    ds = load_task(eval_store).dataset("test", EvalTransform(card["image_size"]))
    with torch.no_grad():
        p = model(torch.stack([ds[i]["image"] for i in range(len(ds))])).double().numpy()
    pr = read_predictions(out)
    sel = (pr["seed"] == card["seed"]) & (pr["split"] == "test")
    np.testing.assert_allclose(p, pr["score"][sel], rtol=0, atol=2e-5)
    plain = run_eval("random:resnet18:0", eval_store, cfg.replace(le_standardize=False), write=False)
    assert not np.allclose(plain.predictions["score"], np.asarray(pr["score"]), atol=1e-3)  # it changes the fit
