"""`mvkl bench method`: the paper's ablations on one store, over several seeds (library side).

For each seed ``s`` and each row (:mod:`.rows`): train the encoder (pretraining rows: ``mvkl
pretrain`` with the preset, the row's modalities and hard negatives, ``seed = s``; ``supervised``:
fine-tuning from ``random:ARCH:s``), then evaluate it with each protocol (LP, LE) with evaluation
seed ``s`` (:func:`mvkl.evaluation.protocols.runner.run_eval`), and, for rows with a text branch,
image → report retrieval and zero-shot classification (:mod:`.alignment`, recorded as protocol
``zs``). Every test prediction goes to ``OUT/predictions.csv``; every figure of ``results.json``
is recomputed from that file by :func:`.stats.summarize` (``mvkl bench method --from OUT``).

A pretraining run that already finished in ``OUT/runs/ROW/seedS`` with the same configuration is
reused, so an interrupted benchmark continues where it stopped.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.errors import InputError
from mvkl.evaluation.method.rows import ROWS, Row
from mvkl.fsutil import atomic_path, atomic_write_json, display_path

__all__ = ["PREDICTION_COLUMNS", "MethodBenchOptions", "read_predictions", "run_method_bench", "summarize_run"]

log = logging.getLogger(__name__)

PREDICTION_COLUMNS = ("row", "protocol", "seed", "image_id", "label", "score")

#: Supervised fine-tuning from random init (the image ceiling): the FT protocol of the evaluation
#: setting with a learning rate and length that let a random trunk learn (the setting's FT values
#: are for fine-tuning a pretrained trunk).
SUPERVISED = {"tiny": {"lr": 2e-3, "min_lr": 1e-5, "weight_decay": 1e-4, "epochs": 15, "patience": 15,
                       "batch_size": 32},
              "paper": {"lr": 1e-3, "min_lr": 1e-6, "epochs": 200, "patience": 30}}


@dataclass
class MethodBenchOptions:
    """What `mvkl bench method` runs (defaults: CPU size)."""

    preset: str = "tiny"
    seeds: int = 3
    rows: list[Row] = field(default_factory=lambda: list(ROWS.values()))
    protocols: tuple[str, ...] = ("lp", "le")
    setting: str | None = None  # evaluation setting; None: tiny for the tiny preset, else paper
    steps: int | None = None
    batch_size: int | None = None
    config: str | None = None  # a TOML file on top of the preset (mvkl pretrain --config)
    n_boot: int = 1000
    workers: int = 0
    device: str = "auto"
    dihedral: bool | None = None  # quarter turns + vertical flips in training; None: on for lesion-view stores

    @property
    def eval_setting(self) -> str:
        return self.setting or ("tiny" if self.preset == "tiny" else "paper")


def _pretrain_config(opts: MethodBenchOptions, row: Row, seed: int) -> Any:
    from mvkl.train.config import resolve_config

    given: dict[str, Any] = {"modalities": row.modalities, "hard_negatives": row.hard_negatives, "seed": seed,
                             "workers": opts.workers, "device": opts.device, "dihedral": bool(opts.dihedral)}
    if opts.steps is not None:
        given["steps"] = opts.steps
    if opts.batch_size is not None:
        given["batch_size"] = opts.batch_size
    return resolve_config(opts.preset, opts.config, given)


def _finished_summary(run_dir: Path, cfg: Any) -> dict[str, Any] | None:
    """The summary of a completed run in ``run_dir`` with this configuration's fingerprint, else None."""
    from mvkl.train.config import PretrainConfig, config_fingerprint

    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
        saved = PretrainConfig.from_dict(json.loads((run_dir / "config.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, InputError):
        return None
    done = bool(summary.get("completed")) and config_fingerprint(saved) == config_fingerprint(cfg)
    return summary if done else None


def _pretrain(opts: MethodBenchOptions, row: Row, seed: int, store: Path, run_dir: Path) -> dict[str, Any]:
    from mvkl.train.loop import pretrain

    cfg = _pretrain_config(opts, row, seed)
    summary = _finished_summary(run_dir, cfg)
    if summary is not None:
        return {"reused": True, **summary}
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)  # an unfinished or different run of this benchmark: start it again
    return {"reused": False, **pretrain(cfg, store, run_dir, show_progress=False)}


def _eval_config(opts: MethodBenchOptions, protocol: str, seed: int, supervised: bool = False) -> Any:
    from mvkl.evaluation.protocols.config import resolve_config

    extra = SUPERVISED[opts.eval_setting] if supervised else {}
    return resolve_config(protocol, opts.eval_setting, seeds=1, n_boot=0, workers=opts.workers, device=opts.device,
                          dihedral=bool(opts.dihedral), **extra).replace(seeds=(seed,))


def _test_records(row: str, protocol: str, seed: int, preds: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [{"row": row, "protocol": protocol, "seed": seed, "image_id": i, "label": int(y), "score": float(p)}
            for sp, i, y, p in zip(preds["split"], preds["image_id"], preds["label"], preds["score"], strict=True)
            if sp == "test"]


def _arch(opts: MethodBenchOptions) -> str:
    from mvkl.train.config import resolve_config

    return str(resolve_config(opts.preset, opts.config, {}).arch)


def write_predictions(path: Path, records: list[dict[str, Any]]) -> None:
    """``predictions.csv`` with :data:`PREDICTION_COLUMNS` (scores with full float precision)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(PREDICTION_COLUMNS)
        for r in records:
            w.writerow([r["row"], r["protocol"], r["seed"], r["image_id"], r["label"], repr(float(r["score"]))])


def read_predictions(path: str | Path) -> list[dict[str, Any]]:
    """Records of a ``predictions.csv`` (or of a benchmark directory)."""
    p = Path(path)
    if p.is_dir():
        p = p / "predictions.csv"
    if not p.is_file():
        raise InputError("no predictions.csv here (the output of mvkl bench method)", file=display_path(p),
                         code="missing-file")
    with open(p, newline="", encoding="utf-8") as fh:
        rd = csv.DictReader(fh)
        if tuple(rd.fieldnames or ()) != PREDICTION_COLUMNS:
            raise InputError(f"expected the columns {', '.join(PREDICTION_COLUMNS)}", file=display_path(p))
        return [{"row": r["row"], "protocol": r["protocol"], "seed": int(r["seed"]), "image_id": r["image_id"],
                 "label": int(r["label"]), "score": float(r["score"])} for r in rd]


def summarize_run(records: list[dict[str, Any]], alignment: dict[str, Any], meta: dict[str, Any], *,
                  n_boot: int) -> dict[str, Any]:
    """The results document: :func:`.stats.summarize` of the predictions plus retrieval means."""
    from mvkl.evaluation.method.stats import summarize

    doc = {"format": "mvkl-method-bench", "version": 1, **meta, **summarize(records, n_boot=n_boot)}
    order = {name: i for i, name in enumerate(meta.get("rows", []))}
    protos = {p: i for i, p in enumerate(("lp", "le", "ft", "zs"))}
    doc["rows"].sort(key=lambda r: (order.get(r["row"], len(order)), protos.get(r["protocol"], 9)))
    retrieval = {}
    for row, per_seed in alignment.items():
        ks = sorted({k for a in per_seed.values() for k in a.get("recall", {})})
        retrieval[row] = {k: {"mean": float(np.mean([a["recall"][k] for a in per_seed.values()])),
                              "std": float(np.std([a["recall"][k] for a in per_seed.values()], ddof=1))
                              if len(per_seed) > 1 else math.nan,
                              "chance": float(np.mean([a["chance"][k] for a in per_seed.values()]))}
                          for k in ks}
    doc["retrieval"] = retrieval
    return doc


def recompute(run_dir: str | Path, *, n_boot: int = 1000) -> dict[str, Any]:
    """The results document of an earlier run, recomputed from its ``predictions.csv``,
    ``alignment.json`` and ``meta.json`` (no training); exit 2 naming a missing file."""
    run_dir = Path(run_dir)
    for name in ("meta.json", "alignment.json", "predictions.csv"):
        if not (run_dir / name).is_file():
            raise InputError(f"no {name} here: --from takes the --out directory of an earlier mvkl bench method",
                             file=display_path(run_dir / name), code="missing-file")
    meta = json.loads((run_dir / "meta.json").read_text(encoding="utf-8"))
    alignment = json.loads((run_dir / "alignment.json").read_text(encoding="utf-8"))
    return summarize_run(read_predictions(run_dir), alignment, meta, n_boot=n_boot)


def run_method_bench(store: str | Path, out: str | Path, opts: MethodBenchOptions,
                     on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the benchmark (module docstring); writes ``OUT/predictions.csv``, ``OUT/alignment.json``
    and ``OUT/results.json`` and returns the results document."""
    from mvkl.evaluation.method.alignment import text_alignment
    from mvkl.evaluation.protocols.data import load_task
    from mvkl.evaluation.protocols.runner import run_eval

    store, out = Path(store), Path(out)
    if opts.seeds < 1:
        raise InputError("--seeds must be at least 1", code="option")
    bad = [p for p in opts.protocols if p not in ("lp", "le")]
    if bad:
        raise InputError(f"protocols of the method benchmark are lp and le (got {', '.join(bad)})", code="option")
    task = load_task(store)
    if opts.dihedral is None:  # lesion-centred crops have no orientation: train with all eight symmetries
        opts = dataclasses.replace(opts, dihedral=task.store.views.startswith("lesion"))
    out.mkdir(parents=True, exist_ok=True)
    arch = _arch(opts)
    records: list[dict[str, Any]] = []
    alignment: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    for seed in range(opts.seeds):
        for row in opts.rows:
            t = time.perf_counter()
            if on_step is not None:
                on_step(f"{row.name} seed {seed}")
            if row.kind == "supervised":
                oc = run_eval(f"random:{arch}:{seed}", task, _eval_config(opts, "ft", seed, supervised=True),
                              write=False)
                records += _test_records(row.name, "ft", seed, oc.predictions)
            else:
                if row.kind == "random":
                    spec = f"random:{arch}:{seed}"
                else:
                    run_dir = out / "runs" / row.name / f"seed{seed}"
                    _pretrain(opts, row, seed, store, run_dir)
                    spec = str(run_dir)
                for p in opts.protocols:
                    oc = run_eval(spec, task, _eval_config(opts, p, seed), write=False)
                    records += _test_records(row.name, p, seed, oc.predictions)
                if row.aligned:
                    a = text_alignment(spec, task.store, n_boot=0, seed=seed)
                    records += [{"row": row.name, "protocol": "zs", "seed": seed, "image_id": i, "label": y,
                                 "score": s} for i, y, s in zip(a.pop("image_ids"), a.pop("labels"),
                                                                a.pop("zero_shot_scores"), strict=True) if y >= 0]
                    alignment.setdefault(row.name, {})[str(seed)] = a
            timings[f"{row.name}/seed{seed}"] = round(time.perf_counter() - t, 1)
    write_predictions(out / "predictions.csv", records)
    atomic_write_json(out / "alignment.json", alignment)
    meta = {"store": display_path(store), "preset": opts.preset, "eval_setting": opts.eval_setting,
            "seeds": opts.seeds, "rows": [r.name for r in opts.rows], "protocols": list(opts.protocols),
            "arch": arch, "steps": opts.steps, "dihedral": opts.dihedral, "batch_size": opts.batch_size,
            "seconds": timings,
            "total_seconds": round(time.perf_counter() - t0, 1)}
    atomic_write_json(out / "meta.json", meta)
    doc = summarize_run(records, alignment, meta, n_boot=opts.n_boot)
    atomic_write_json(out / "results.json", doc)
    return doc
