"""``mvkl eval``: one model, one store, one protocol, N seeds → metrics, predictions, figures.

Per seed ``s`` (``--seeds N`` runs ``s = 0..N-1``; B17, B46):

* the training subset at ``--fraction`` (:mod:`.subsets`, seeded by ``s``; all images at 1.0);
* LP: a probe on the frozen features, fitted on a seeded stratified bootstrap of the training
  subset (:mod:`.lp`); LE/FT: the head initialised from ``s``, the data order from ``(s, epoch)``
  and the augmentation from ``(s, step, position)`` (:mod:`.finetune`, :mod:`.data`);
* metrics from :mod:`mvkl.evaluation` unchanged: test AUC with its stratified bootstrap CI
  (``n_boot`` replicates, bootstrap seed = ``s``), accuracy / sensitivity / specificity / F1 / PPV /
  NPV at each ``--thresholds`` value and 0.5 (rule ``p >= t``), the same metrics at operating
  points chosen on the validation predictions (:func:`.classifier.operating_points`; metric keys
  ``operating_points.youden``, ``.sensitivity_90``, ``.sensitivity_95``, ``.specificity_90``), the
  validation AUC, and the calibration of the test predictions (ECE with 10 equal-width bins, bins
  under 10 samples excluded (paper Sec. 5.10) and the all-bins value, ``--calibration-definition``).

The aggregate is :func:`mvkl.evaluation.aggregate.aggregate_runs` over the per-seed metric dicts:
mean and sample std (ddof = 1). Every per-seed number can be recomputed from
``predictions.parquet`` (one row per seed × split × image: seed, split, image_id, view,
laterality, label, score).
"""

from __future__ import annotations

import logging
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.errors import InputError
from mvkl.evaluation.protocols.config import EvalConfig, resolve_image_size
from mvkl.fsutil import display_path

__all__ = ["EvalOutcome", "default_out_dir", "load_model", "model_name", "run_eval", "seed_metrics"]

log = logging.getLogger(__name__)
_KEYWORDS = ("imagenet", "random")


@dataclass
class EvalOutcome:
    """Result of :func:`run_eval`: the results document, where it was written, the predictions
    (column → list) and, when asked for, the best-validation seed's classifier (CPU, eval mode)."""

    doc: dict[str, Any]
    out_dir: Path | None
    predictions: dict[str, list[Any]]
    best_model: Any = None


def _is_keyword(spec: str) -> bool:
    """``imagenet[:ARCH]`` / ``random[:ARCH[:SEED]]``; keywords win over a same-named path, as in
    :func:`mvkl.models.load_image_encoder`."""
    if not isinstance(spec, str):
        return False
    head, *rest = spec.split(":")
    return head in _KEYWORDS and len(rest) <= (2 if head == "random" else 1)


def model_name(spec: str) -> str:
    """A short display name: keyword with its options (``random-resnet18-s1``), else the file or
    directory name (a run directory's name, a weights file's stem)."""
    if _is_keyword(spec):
        return "-".join(p for p in spec.replace(":", "-").split("-") if p)
    p = Path(spec)
    return p.stem if p.is_file() else p.resolve().name


def default_out_dir(spec: str, cfg: EvalConfig, name: str | None = None) -> Path:
    """``MODEL/eval-<protocol>`` for a model directory, else ``<name>/eval-<protocol>`` in the working
    directory; ``-tiny`` and ``-f<fraction>`` suffixes keep other settings from overwriting it."""
    leaf = f"eval-{cfg.protocol}" + ("-tiny" if cfg.setting == "tiny" else "") + \
        (f"-f{cfg.fraction:g}" if cfg.fraction < 1 else "")
    p = Path(spec)
    if not _is_keyword(spec) and p.is_dir():
        return p / leaf
    return Path(name or model_name(spec)) / leaf


def load_model(spec: str, *, arch: str = "resnet50", image_weights: str | None = None) -> tuple[Any, dict[str, Any]]:
    """``mvkl.models.load_image_encoder`` (strict keys, never a fallback; B25)."""
    from mvkl.models import load_image_encoder

    return load_image_encoder(spec, arch=arch, image_weights=image_weights)


def _backbone_mult(cfg: EvalConfig, card: dict[str, Any]) -> float:
    if cfg.backbone_lr_mult is not None:
        return float(cfg.backbone_lr_mult)
    kind = (card.get("source") or {}).get("kind")
    return 1.0 if kind in _KEYWORDS else float(cfg.backbone_lr_mult_pretrained)


def seed_metrics(y_val: np.ndarray, p_val: np.ndarray, y_test: np.ndarray, p_test: np.ndarray, cfg: EvalConfig,
                 seed: int) -> dict[str, Any]:
    """Every per-seed number (module docstring), from :mod:`mvkl.evaluation` functions only."""
    from mvkl.evaluation.calibration import ece
    from mvkl.evaluation.metrics import roc_auc, summarize_binary, threshold_metrics
    from mvkl.evaluation.protocols.classifier import operating_points

    test = summarize_binary(y_test, p_test, cfg.thresholds, n_boot=cfg.n_boot, alpha=1.0 - cfg.ci_level, seed=seed)
    test["auc_ci_lo"], test["auc_ci_hi"] = test["auc_ci"]
    ops = operating_points(y_val, p_val)
    return {
        "test": test,
        "val": {"auc": roc_auc(y_val, p_val), "n": int(y_val.size), "n_pos": int(y_val.sum())},
        "operating_points": {_op_key(k): threshold_metrics(y_test, p_test, t) for k, t in ops.items() if k != "0.5"},
        "calibration": ece(y_test, p_test, n_bins=cfg.ece_bins, min_count=cfg.ece_min_count,
                           definition=cfg.calibration_definition),  # type: ignore[arg-type]
    }


def _op_key(name: str) -> str:
    """``sensitivity_0.90`` → ``sensitivity_90``: metric keys are dotted paths, so no dots inside names."""
    return name.replace("_0.", "_")


def _safe_auc(y: np.ndarray, p: np.ndarray) -> float:
    from mvkl.evaluation.metrics import roc_auc

    if not np.all(np.isfinite(p)):
        log.warning("validation scores are not finite (training diverged?): AUC counted as NaN")
        return math.nan
    return roc_auc(y, p)


def _environment(device: Any) -> dict[str, Any]:
    import sklearn
    import torch
    import torchvision

    from mvkl import __version__

    env = {"mvkl": __version__, "python": platform.python_version(), "numpy": np.__version__,
           "torch": torch.__version__, "torchvision": torchvision.__version__, "scikit_learn": sklearn.__version__,
           "device": str(device), "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
    return env


def run_eval(model: str | tuple[Any, dict[str, Any]], store: str | os.PathLike[str] | Any, cfg: EvalConfig, *,
             out_dir: str | os.PathLike[str] | None = None, name: str | None = None, arch: str = "resnet50",
             image_weights: str | None = None, keep_model: bool = False, write: bool = True,
             progress: Any = None) -> EvalOutcome:
    """Run one evaluation (module docstring) and write its results directory (:mod:`.report`).

    Args:
        model: an encoder spec for :func:`mvkl.models.load_image_encoder`, or ``(encoder, card)``.
        store: a store path or a loaded :class:`~.data.TaskData`.
        out_dir: results directory (default :func:`default_out_dir`; required for an in-memory model).
        keep_model: return the best-validation seed's classifier in ``EvalOutcome.best_model``.
        write: write the results directory (False: compute only).
        progress: a :class:`rich.progress.Progress` to report epochs and seeds on, or None.
    """
    from mvkl.evaluation.aggregate import aggregate_runs
    from mvkl.evaluation.calibration import reliability
    from mvkl.evaluation.protocols import results as report
    from mvkl.evaluation.protocols.data import TaskData, load_task
    from mvkl.evaluation.protocols.features import resolve_device

    t_start = time.perf_counter()
    task = store if isinstance(store, TaskData) else load_task(store)
    if isinstance(model, str):
        spec_display = model if _is_keyword(model) else display_path(model)
        name = name or model_name(model)
        out = Path(out_dir) if out_dir is not None else default_out_dir(model, cfg, name)
        encoder, card = load_model(model, arch=arch, image_weights=image_weights)
    else:
        encoder, card = model
        spec_display = name or "in-memory encoder"
        name = name or "model"
        if out_dir is None and write:
            raise ValueError("out_dir is required for an in-memory model")
        out = Path(out_dir) if out_dir is not None else Path(name)
    if cfg.protocol == "lp" and cfg.lp_variance == "none" and cfg.fraction >= 1.0 and len(cfg.seeds) > 1:
        log.info("LP without a variance source: one deterministic fit instead of %d identical seeds", len(cfg.seeds))
        cfg = cfg.replace(seeds=cfg.seeds[:1])
    device = resolve_device(cfg.device)
    size = resolve_image_size(cfg, card, task.store.info.image_size)
    mult = _backbone_mult(cfg, card) if cfg.protocol == "ft" else None
    log.info("%s %s on %s: %d seed(s), %d px, device %s%s", name, cfg.protocol.upper(), task.path.name,
             len(cfg.seeds), size, device, f"; results → {display_path(out)}" if write else "")
    seeds_out, preds, best = _run_seeds(encoder, card, task, cfg, device, size, mult, keep_model, progress)
    runs = [r for r, _ in seeds_out]
    agg = aggregate_runs([r["metrics"] for r in runs])
    y_pool = np.concatenate([ys for _, (ys, _) in seeds_out])
    p_pool = np.concatenate([ps for _, (_, ps) in seeds_out])
    pooled = reliability(y_pool, p_pool, n_bins=cfg.ece_bins, min_count=cfg.ece_min_count,
                         definition=cfg.calibration_definition)  # type: ignore[arg-type]
    doc: dict[str, Any] = {
        "format": "mvkl-eval-results", "version": 1, "name": name, "protocol": cfg.protocol, "setting": cfg.setting,
        "model": {"spec": spec_display, "arch": getattr(encoder, "arch", None),
                  "feature_dim": int(encoder.feature_dim), "encoder_card": card},
        "store": task.summary(), "image_size": size,
        "config": {**cfg.to_dict(), "image_size_resolved": size, "backbone_lr_mult_resolved": mult},
        "seeds": list(cfg.seeds), "runs": runs, "aggregate": agg,
        "calibration_pooled": pooled, "environment": _environment(device),
        "lp_variance_note": report.LP_VARIANCE_NOTE[cfg.lp_variance] if cfg.protocol == "lp" else None,
        "seconds": time.perf_counter() - t_start,
    }
    if best is not None and cfg.save_model:
        doc["saved_model_seed"] = best[0]
    written = None
    if write:
        written = report.write_results(out, doc, preds, seeds_out, cfg, task,
                                       classifier=best if cfg.save_model else None, size=size)
    return EvalOutcome(doc=doc, out_dir=written, predictions=preds,
                       best_model=best[1] if (best is not None and keep_model) else None)


#: LE without augmentation trains its head on features computed once (False: through the encoder
#: every step, the slow path the tests compare it with).
CACHE_LE_FEATURES = True


def _feature_identity(feature_dim: int) -> Any:
    """An identity "encoder" over precomputed features (the cached LE path of :func:`_run_seeds`)."""
    from torch import nn

    mod = nn.Identity()
    mod.feature_dim = int(feature_dim)  # type: ignore[assignment]
    return mod


def _cached_le(encoder: Any, feats: dict[str, np.ndarray], y_train: np.ndarray, y_val: np.ndarray,
               positions: np.ndarray, cfg: EvalConfig, seed: int) -> tuple[Any, np.ndarray, np.ndarray, dict[str, Any]]:
    """LE (paper App. A) of one seed on frozen features: the head is trained by :func:`.finetune.fit`
    exactly as on images (Adam, cosine schedule, early stopping on validation AUC, batches from
    ``(seed, epoch)``); returns (classifier over ``encoder``, p_val, p_test, fit info).

    With ``cfg.le_standardize`` the head sees the features standardised with the training images'
    mean and std, as the LP does; the returned head has the standardisation folded into its weights
    (``W/σ``, ``b − W·μ/σ``), so the classifier is still a linear head on the encoder's features."""
    import torch

    from mvkl.evaluation.protocols.classifier import Classifier, build_head
    from mvkl.evaluation.protocols.data import TrainBatches
    from mvkl.evaluation.protocols.finetune import fit

    dim = int(encoder.feature_dim)
    probe = Classifier(_feature_identity(dim), build_head(dim, seed))
    x = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in feats.items()}
    mu, sd = torch.zeros(dim), torch.ones(dim)
    if cfg.le_standardize:
        fit_x = x["train"][torch.from_numpy(np.asarray(positions, dtype=np.int64))]
        mu, sd = fit_x.mean(0), fit_x.std(0).clamp_min(1e-6)
        x = {k: (v - mu) / sd for k, v in x.items()}
    labels = torch.from_numpy(np.asarray(y_train, dtype=np.int64))
    batches = TrainBatches(positions, cfg.batch_size, seed)

    def train_epoch(e: int) -> Any:
        batches.epoch = e
        for keys in batches:
            idx = torch.tensor([k.index for k in keys], dtype=torch.long)
            yield x["train"][idx], labels[idx]

    def proba(split: str) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(probe.head(x[split]).float(), dim=1)[:, 1].double().numpy()

    res = fit(probe, protocol="le", train_epoch=train_epoch, val_auc=lambda _m: _safe_auc(y_val, proba("val")),
              steps_per_epoch=len(batches), lr=cfg.lr, min_lr=cfg.min_lr, weight_decay=cfg.weight_decay,
              epochs=cfg.epochs, patience=cfg.patience, device=torch.device("cpu"), amp=False)
    info = res.info()
    info["history"] = res.history
    info["features"] = "cached (augment none, frozen BatchNorm)" + (", standardised" if cfg.le_standardize else "")
    p_val, p_test = proba("val"), proba("test")
    head = probe.head
    with torch.no_grad():  # fold the standardisation: head((f − μ)/σ) = (W/σ) f + (b − W·μ/σ)
        w = head.weight / sd
        head.bias -= (head.weight * (mu / sd)).sum(1)
        head.weight.copy_(w)
    return Classifier(encoder, head), p_val, p_test, info


def _run_seeds(encoder: Any, card: dict[str, Any], task: Any, cfg: EvalConfig, device: Any, size: int,
               mult: float | None, keep_model: bool, progress: Any) -> tuple[list[Any], dict[str, list[Any]], Any]:
    """Train/fit and evaluate every seed; returns ([(run record, (y_test, p_test))], predictions, best)."""
    import torch

    from mvkl.evaluation.protocols.classifier import Classifier, build_head
    from mvkl.evaluation.protocols.data import SPLITS, TrainBatches, auto_workers, bootstrap_positions, loader
    from mvkl.evaluation.protocols.features import extract_features, predict_proba
    from mvkl.evaluation.protocols.finetune import fit, fresh_model
    from mvkl.evaluation.protocols.lp import fit_probe, probe_head
    from mvkl.evaluation.protocols.subsets import fraction_subset
    from mvkl.torchdata import EvalTransform, build_transform

    workers = auto_workers(cfg.workers, device.type)
    pin = device.type == "cuda"
    ev = EvalTransform(size)
    eval_loaders = {s: loader(task.dataset(s, ev), batch_size=cfg.eval_batch_size, workers=workers, pin=pin)
                    for s in SPLITS}
    tr, va, te = (task.splits[s] for s in SPLITS)
    feats: dict[str, np.ndarray] = {}
    # LE without augmentation and with frozen BatchNorm sees the same features every epoch: compute
    # them once, as LP does, and train the head on them (same optimiser, schedule, early stopping).
    cached_le = CACHE_LE_FEATURES and cfg.protocol == "le" and cfg.augment == "none" and cfg.bn_mode == "frozen"
    if cfg.protocol == "lp" or cached_le:
        encoder.to(device)
        for s in SPLITS:
            t0 = time.perf_counter()
            fid = progress.add_task(f"features ({s})", total=task.splits[s].n, rate="") if progress else None
            feats[s], _ = extract_features(encoder, eval_loaders[s], device, amp=cfg.amp,
                                           progress=(lambda k, _i=fid: progress.update(_i, advance=k))
                                           if progress else None)
            if progress is not None:
                progress.remove_task(fid)
            log.info("features of %s: %d × %d in %.1f s", s, *feats[s].shape, time.perf_counter() - t0)
        encoder.cpu()
    preds: dict[str, list[Any]] = {k: [] for k in ("seed", "split", "image_id", "view", "laterality", "label",
                                                   "score")}
    out: list[Any] = []
    best: Any = None
    task_id = progress.add_task(f"{cfg.protocol.upper()} seeds", total=len(cfg.seeds), rate="") if progress else None
    for seed in cfg.seeds:
        t0 = time.perf_counter()
        positions = fraction_subset(tr.labels, tr.patients, cfg.fraction, seed)
        if cfg.protocol == "lp":
            fit_pos = bootstrap_positions(tr.labels, positions, seed) if cfg.lp_variance == "bootstrap" else positions
            probe = fit_probe(feats["train"][fit_pos], tr.labels[fit_pos], C=cfg.lp_c, max_iter=cfg.lp_max_iter,
                              standardize=cfg.lp_standardize)
            p_val, p_test = probe.predict_proba(feats["val"]), probe.predict_proba(feats["test"])
            fit_info: dict[str, Any] = probe.info()
            if not probe.converged:
                log.warning("seed %d: L-BFGS stopped at %d iterations without converging", seed, cfg.lp_max_iter)
            model = Classifier(encoder, probe_head(probe)) if (cfg.save_model or keep_model) else None
        elif cached_le:
            model, p_val, p_test, fit_info = _cached_le(encoder, feats, tr.labels, va.labels, positions, cfg, seed)
        else:
            model = fresh_model(encoder, build_head(encoder.feature_dim, seed))
            aug = EvalTransform(size) if cfg.augment == "none" else build_transform(
                cfg.augment, size, scale=tuple(cfg.crop_scale), op_prob=cfg.randaug_prob, dihedral=cfg.dihedral)
            batches = TrainBatches(positions, cfg.batch_size, seed)
            train_loader = loader(task.dataset("train", aug, seed=seed), batch_sampler=batches, workers=workers,
                                  pin=pin)

            def train_epoch(e: int, _b: Any = batches, _l: Any = train_loader) -> Any:
                _b.epoch = e
                return ((b["image"], b["label"]) for b in _l)

            def val_auc(m: Any) -> float:
                return _safe_auc(va.labels, predict_proba(m, eval_loaders["val"], device, amp=cfg.amp))

            ep_id = progress.add_task(f"seed {seed} epochs", total=cfg.epochs, rate="") if progress else None

            def on_epoch(rec: dict[str, float], _id: Any = ep_id, _s: int = seed) -> None:
                log.debug("seed %d epoch %d: loss %.4f, val AUC %.4f", _s, rec["epoch"], rec["train_loss"],
                          rec["val_auc"])
                if progress is not None:
                    progress.update(_id, advance=1, rate=f"val AUC {rec['val_auc']:.3f}")

            res = fit(model, protocol=cfg.protocol, train_epoch=train_epoch, val_auc=val_auc,
                      steps_per_epoch=len(batches), lr=cfg.lr, min_lr=cfg.min_lr, weight_decay=cfg.weight_decay,
                      epochs=cfg.epochs, patience=cfg.patience, backbone_lr_mult=mult if mult is not None else 1.0,
                      bn_mode=cfg.bn_mode, device=device, amp=cfg.amp, on_epoch=on_epoch)
            del train_loader
            if progress is not None:
                progress.remove_task(ep_id)
            p_val = predict_proba(model, eval_loaders["val"], device, amp=cfg.amp)
            p_test = predict_proba(model, eval_loaders["test"], device, amp=cfg.amp)
            fit_info = res.info()
            fit_info["history"] = res.history
            model.cpu()
        if not (np.all(np.isfinite(p_val)) and np.all(np.isfinite(p_test))):
            raise InputError(f"seed {seed}: the {cfg.protocol.upper()} model produced non-finite scores (training "
                             "diverged); lower --lr", code="diverged")
        metrics = seed_metrics(va.labels, p_val, te.labels, p_test, cfg, seed)
        record = {"seed": seed, "train_images": int(positions.size), "fit": fit_info, "metrics": metrics,
                  "seconds": time.perf_counter() - t0}
        out.append((record, (te.labels.astype(np.int8), p_test)))
        for split, sd, p in (("val", va, p_val), ("test", te, p_test)):
            preds["seed"] += [seed] * sd.n
            preds["split"] += [split] * sd.n
            preds["image_id"] += sd.image_ids
            preds["view"] += sd.views
            preds["laterality"] += sd.lateralities
            preds["label"] += sd.labels.astype(int).tolist()
            preds["score"] += p.tolist()
        log.info("seed %d: val AUC %.4f, test AUC %.4f [%.4f, %.4f] (%.1f s)", seed, metrics["val"]["auc"],
                 metrics["test"]["auc"], *metrics["test"]["auc_ci"], record["seconds"])
        if model is not None and (cfg.save_model or keep_model) and (best is None or metrics["val"]["auc"] > best[2]):
            best = (seed, model, metrics["val"]["auc"], metrics, p_val)
        if progress is not None:
            progress.update(task_id, advance=1, rate=f"test AUC {metrics['test']['auc']:.3f}")
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return out, preds, best
