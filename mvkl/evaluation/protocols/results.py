"""The results directory of ``mvkl eval`` and its paper-style markdown (``results.md``).

Layout (``--out DIR``)::

    results.json          resolved config, versions, device, store summary, per-seed metrics, aggregate
    results.md            tables in the paper's layout (Tables 3, 5, 7; Fig. 7's ECE) and per-seed rows
    predictions.parquet   seed, split (val/test), image_id, view, laterality, label, score
    roc.png               test ROC curve of every seed, thresholds marked (Fig. 3)
    reliability.png       reliability diagram of the test predictions pooled over seeds (Fig. 7)
    classifier/           with --save-model: the best-validation seed's classifier (:mod:`.classifier`)

Everything is first written into a staging folder inside ``DIR``; then the previous
``results.json`` is removed, the files are moved into place, and ``results.json`` comes last. A
failure or a kill therefore never leaves a ``results.json`` next to files of another run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.evaluation.aggregate import format_pm, jsonable, markdown_table
from mvkl.fsutil import atomic_write_json, atomic_write_text

__all__ = ["LP_VARIANCE_NOTE", "PREDICTION_COLUMNS", "read_predictions", "render_markdown", "write_results"]

PREDICTION_COLUMNS = ("seed", "split", "image_id", "view", "laterality", "label", "score")
LP_VARIANCE_NOTE = {
    "bootstrap": "LP variance over seeds: each seed fits the probe on a seeded stratified bootstrap resample of the "
                 "training images (features are fixed).",
    "none": "LP variance over seeds: none (one deterministic fit on fixed features); the bootstrap CI of the test "
            "AUC is the uncertainty.",
}
_FILES = ("results.md", "predictions.parquet", "roc.png", "reliability.png")


def _pm(agg: dict[str, Any], key: str, scale: float = 100.0, digits: int = 2) -> str:
    a = agg.get(key)
    return format_pm(a["mean"], a["std"], scale, digits) if a else "n/a"


def _num(v: Any, digits: int = 3) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def _pct(v: Any) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{100 * v:.2f}"


def render_markdown(doc: dict[str, Any]) -> str:
    """Paper-style tables of one evaluation (percentages, mean ± sample std over seeds)."""
    agg, cfg, st = doc["aggregate"], doc["config"], doc["store"]
    proto = doc["protocol"].upper()
    seeds = doc["seeds"]
    test = st["splits"]["test"]
    lines = [f"# {doc['name']}: {proto} on {st['name']} ({doc['setting']} setting)", "",
             f"{len(seeds)} seed(s) ({', '.join(map(str, seeds))}); mean ± sample std (ddof = 1) over seeds, in %. "
             f"Test split: {test['images']} images ({test['malignant']} malignant, {test['benign']} benign), "
             f"{test['excluded_unknown']} excluded for unknown label. Images {doc['image_size']} px; "
             f"training fraction {cfg['fraction']:g}.", ""]
    if doc.get("lp_variance_note"):
        lines += [doc["lp_variance_note"], ""]
    lines += ["## Test AUC (cell of Tables 4-6)", "",
              markdown_table([{"model": doc["name"], "protocol": proto, "store": st["name"],
                               "auc": _pm(agg, "test.auc"), "val": _pm(agg, "val.auc")}],
                             [("model", "model"), ("protocol", "protocol"), ("store", "store"),
                              ("auc", "test AUC (%)"), ("val", "val AUC (%)")], align={"auc": "right", "val": "right"})]
    rows3 = []
    for t in cfg["thresholds"]:
        k = f"test.thresholds@{float(t):g}."
        rows3.append({"t": f"{float(t):g}", "auc": _pm(agg, "test.auc"), "acc": _pm(agg, k + "accuracy"),
                      "sens": _pm(agg, k + "sensitivity"), "spec": _pm(agg, k + "specificity"),
                      "f1": _pm(agg, k + "f1"), "ppv": _pm(agg, k + "ppv"), "npv": _pm(agg, k + "npv")})
    cols = [("t", "threshold"), ("auc", "AUC"), ("acc", "Accuracy"), ("sens", "Sensitivity"),
            ("spec", "Specificity"), ("f1", "F1"), ("ppv", "PPV"), ("npv", "NPV")]
    lines += ["", "## Threshold metrics (Table 3 at 0.5; Table 7 rows at 0.87 / 0.74 / 0.50)", "",
              "Rule: malignant when p ≥ threshold.", "",
              markdown_table(rows3, cols, align={k: "right" for k, _ in cols[1:]})]
    ops = sorted({k.split(".")[1] for k in agg if k.startswith("operating_points.")}, key=lambda s: (s != "youden", s))
    rows_op = [{"op": o, "t": _pm(agg, f"operating_points.{o}.threshold", 1.0, 3),
                "sens": _pm(agg, f"operating_points.{o}.sensitivity"),
                "spec": _pm(agg, f"operating_points.{o}.specificity"),
                "acc": _pm(agg, f"operating_points.{o}.accuracy")} for o in ops]
    lines += ["", "## Operating points chosen on the validation predictions, applied to test", "",
              markdown_table(rows_op, [("op", "operating point"), ("t", "threshold"), ("sens", "Sensitivity"),
                                       ("spec", "Specificity"), ("acc", "Accuracy")],
                             align={"t": "right", "sens": "right", "spec": "right", "acc": "right"})]
    pooled = doc["calibration_pooled"]
    lines += ["", "## Calibration of the test predictions (Fig. 7)", "",
              f"Definition {cfg['calibration_definition']!r} "
              f"({'confidence = max(p, 1 − p), accuracy of the p ≥ 0.5 prediction' if cfg['calibration_definition'] == 'top-label' else 'confidence = P(malignant), observed malignant fraction'}); "  # noqa: E501
              f"{cfg['ece_bins']} equal-width bins; the paper's ECE excludes bins with fewer than "
              f"{cfg['ece_min_count']} samples (weights n_b / N, N = all samples).", "",
              markdown_table([{"what": "per seed, mean ± std", "ece": _pm(agg, "calibration.ece_paper", 1.0, 3),
                               "all": _pm(agg, "calibration.ece_all_bins", 1.0, 3),
                               "mce": _pm(agg, "calibration.mce", 1.0, 3)},
                              {"what": f"all seeds pooled (n = {pooled['n']})", "ece": _num(pooled["ece_paper"]),
                               "all": _num(pooled["ece_all_bins"]), "mce": _num(pooled["mce"])}],
                             [("what", ""), ("ece", "ECE (paper)"), ("all", "ECE (all bins)"), ("mce", "MCE")],
                             align={"ece": "right", "all": "right", "mce": "right"})]
    rows_s = []
    for r in doc["runs"]:
        m, f = r["metrics"], r["fit"]
        lo, hi = m["test"]["auc_ci"]
        rows_s.append({"seed": r["seed"], "n": r["train_images"], "ep": f.get("best_epoch", "-"),
                       "val": _pct(m["val"]["auc"]), "auc": _pct(m["test"]["auc"]),
                       "ci": f"[{_pct(lo)}, {_pct(hi)}]", "ece": _num(m["calibration"]["ece_paper"])})
    lines += ["", f"## Per seed (test AUC with its {100 * cfg['ci_level']:g} % stratified bootstrap CI, "
                  f"{cfg['n_boot']} replicates)", "",
              markdown_table(rows_s, [("seed", "seed"), ("n", "train images"), ("ep", "best epoch"),
                                      ("val", "val AUC"), ("auc", "test AUC"), ("ci", "95 % CI"), ("ece", "ECE")],
                             align={k: "right" for k in ("n", "ep", "val", "auc", "ece")})]
    keys: tuple[str, ...] = ("image_size_resolved", "fraction")
    if doc["protocol"] == "lp":
        keys += ("lp_c", "lp_max_iter", "lp_standardize", "lp_variance")
    else:
        keys += ("batch_size", "epochs", "patience", "lr", "min_lr", "weight_decay", "augment")
        keys += ("bn_mode",) if doc["protocol"] == "le" else ("backbone_lr_mult_resolved",)
    conf = ", ".join(f"{k} = {cfg[k]}" for k in keys if cfg.get(k) is not None)
    lines += ["", "## Configuration", "", conf, "",
              f"Model: {doc['model']['spec']} ({doc['model']['arch']}, {doc['model']['feature_dim']}-d); store "
              f"fingerprint {st['fingerprint']}; mvkl {doc['environment']['mvkl']}, torch "
              f"{doc['environment']['torch']}, device {doc['environment']['device']}.", ""]
    return "\n".join(lines)


def _write_predictions(path: Path, preds: dict[str, list[Any]]) -> None:
    import polars as pl

    df = pl.DataFrame({"seed": pl.Series(preds["seed"], dtype=pl.Int32),
                       "split": pl.Series(preds["split"], dtype=pl.Utf8),
                       "image_id": pl.Series(preds["image_id"], dtype=pl.Utf8),
                       "view": pl.Series(preds["view"], dtype=pl.Utf8),
                       "laterality": pl.Series(preds["laterality"], dtype=pl.Utf8),
                       "label": pl.Series(preds["label"], dtype=pl.Int8),
                       "score": pl.Series(preds["score"], dtype=pl.Float64)})
    df.write_parquet(path)


def read_predictions(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """``predictions.parquet`` (or a results directory) → column → numpy array."""
    import polars as pl

    p = Path(path)
    if p.is_dir():
        p = p / "predictions.parquet"
    df = pl.read_parquet(p)
    return {c: df[c].to_numpy() for c in df.columns}


def _classifier_card(doc: dict[str, Any], seed: int, metrics: dict[str, Any], y_val: np.ndarray,
                     p_val: np.ndarray, size: int, cfg: Any) -> dict[str, Any]:
    from mvkl.evaluation.protocols.classifier import operating_points

    ops = operating_points(y_val, p_val)
    st = doc["store"]
    return {"image_size": int(size), "protocol": cfg.protocol, "seed": int(seed), "setting": cfg.setting,
            "encoder": (doc["model"]["encoder_card"] or {}).get("source", {}),
            "store": {"name": st["name"], "fingerprint": st["fingerprint"], "splits": st["splits"],
                      "image_size": st["image_size"], "pixel_dtype": st["pixel_dtype"]},
            "val_auc": float(metrics["val"]["auc"]), "test_auc": float(metrics["test"]["auc"]),
            "operating_points": ops, "default_operating_point": "youden", "default_threshold": float(ops["youden"])}


def write_results(out: Path, doc: dict[str, Any], preds: dict[str, list[Any]], seeds_out: list[Any], cfg: Any,
                  task: Any, *, classifier: Sequence[Any] | None, size: int) -> Path:
    """Write the results directory (module docstring); returns ``out``."""
    from mvkl.evaluation.plots import plot_reliability, plot_roc

    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        _write_predictions(stage / "predictions.parquet", preds)
        curves = {f"seed {r['seed']}": ys_ps for r, ys_ps in seeds_out}
        plot_roc(curves, stage / "roc.png", mark_thresholds=cfg.thresholds,
                 title=f"{doc['name']}: {cfg.protocol.upper()} on {task.path.stem} (test)")
        plot_reliability(doc["calibration_pooled"], stage / "reliability.png",
                         title=f"{doc['name']}: {cfg.protocol.upper()} on {task.path.stem}, test, "
                               f"{len(seeds_out)} seed(s) pooled")
        atomic_write_text(stage / "results.md", render_markdown(doc))
        files = list(_FILES)
        if classifier is not None:
            from mvkl.evaluation.protocols.classifier import save_classifier

            seed, model, _val_auc, metrics, p_val = classifier
            card = _classifier_card(doc, seed, metrics, task.splits["val"].labels, p_val, size, cfg)
            save_classifier(model, stage / "classifier", card)
            files.append("classifier/")
        doc["files"] = files
        final_json = out / "results.json"
        with contextlib.suppress(FileNotFoundError):
            final_json.unlink()
        for f in _FILES:
            os.replace(stage / f, out / f)
        old = out / "classifier"
        if old.is_dir() and (old / "card.json").is_file():
            shutil.rmtree(old)
        if classifier is not None:
            os.replace(stage / "classifier", old)
        atomic_write_json(final_json, jsonable(doc))
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return out
