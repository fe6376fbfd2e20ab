"""Evaluation benchmarks: `mvkl bench eval` (throughput), `mvkl bench cross-dataset` (paper Table 4)
and `mvkl bench data-fraction` (paper Fig. 5).

``bench eval`` writes a temporary synthetic store of ``--n-images`` images and times, through the
real data pipeline (store → ImageDataset → transform → DataLoader → model): frozen feature
extraction (images/s, as for LP), one LE epoch and one FT epoch (seconds and images/s, after one
warm-up epoch), plus the model-only forward throughput on in-memory tensors.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example
from mvkl.cli.eval_cmd import (
    ArchOpt,
    BatchOpt,
    DeviceOpt,
    EpochsOpt,
    ImageSizeOpt,
    ImageWeightsOpt,
    LrOpt,
    PatienceOpt,
    SeedsOpt,
    SettingOpt,
    WorkersOpt,
    build_config,
)

ListOpt = Annotated[str, typer.Option(help="Comma-separated list.")]


def _split_list(text: str, what: str) -> list[str]:
    from mvkl.errors import InputError

    items = [t.strip() for t in (text or "").split(",") if t.strip()]
    if not items and what:
        raise InputError(f"{what}: give a comma-separated list", code="option")
    return items


def synthetic_store(path: Path, n_images: int, size: int, seed: int = 0) -> Path:
    """A valid store of ``n_images`` (at least 20) random-blob images (one lump = CC + MLO), labels
    alternating, lump pairs split 70/10/20 (timing only; no signal)."""
    from mvkl.store import write_store

    rng = np.random.default_rng(seed)
    n_l = max(10, (n_images + 1) // 2)
    n_img = 2 * n_l
    split = np.array([0, 1, 2, 0, 0, 2, 0, 0, 0, 0])[(np.arange(n_l) // 2) % 10]  # val and test from 3 pairs on
    hexid = lambda k, i: f"{k}{i:015x}"[:16].encode()  # noqa: E731
    yy, xx = np.mgrid[0:size, 0:size] / size
    pixels = np.empty((n_img, size, size), np.uint8)
    for i in range(n_img):
        cy, cx = rng.random(2)
        pixels[i] = np.clip(255 * (0.4 * (1 - xx) + 0.6 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) * 30)), 0, 255)
    man = np.zeros((n_l, 35), np.uint8)
    lumps = {"lump_id": [hexid("a", i) for i in range(n_l)], "patient_id": [hexid("b", i) for i in range(n_l)],
             "exam_id": [hexid("c", i) for i in range(n_l)], "cc": np.arange(n_l) * 2, "mlo": np.arange(n_l) * 2 + 1,
             "laterality": np.zeros(n_l), "label": np.arange(n_l) % 2, "birads": [b"3"] * n_l,
             "density": np.full(n_l, -1), "age_bucket": np.full(n_l, -1), "report": [""] * n_l, "manifest": man,
             "manifest_known": man, "split": split, "source": np.zeros(n_l)}
    images = {"image_id": [hexid("d", i) for i in range(n_img)],
              "patient_id": [lumps["patient_id"][i // 2] for i in range(n_img)],
              "view": np.tile([0, 1], n_l), "laterality": np.zeros(n_img), "flipped": np.zeros(n_img),
              "pixel_spacing": np.full((n_img, 2), np.nan), "source_shape": np.full((n_img, 2), size),
              "crop_box": np.tile([0, 0, size, size], (n_img, 1)), "scale": np.ones(n_img)}
    write_store(path, lumps, images, pixels, attrs={"sources": [{"name": "bench", "format": "synthetic"}]})
    return path


def run_throughput(*, arch: str, image_size: int, batch_size: int, n_images: int, device: str = "auto",
                   workers: int = -1, amp: bool = True, seed: int = 0) -> dict[str, Any]:
    """Time feature extraction, an LE epoch and an FT epoch (module docstring)."""
    import torch

    from mvkl.bench import machine_info
    from mvkl.evaluation.protocols.classifier import build_head
    from mvkl.evaluation.protocols.data import TrainBatches, auto_workers, load_task, loader
    from mvkl.evaluation.protocols.features import autocast, extract_features, resolve_device
    from mvkl.evaluation.protocols.finetune import fit, fresh_model
    from mvkl.models import ImageEncoder
    from mvkl.torchdata import EvalTransform, build_transform

    dev = resolve_device(device)
    nw = auto_workers(workers, dev.type)
    enc = ImageEncoder(arch, seed=seed).eval()
    doc: dict[str, Any] = {"bench": "eval", "arch": arch, "image_size": image_size, "batch_size": batch_size,
                           "n_images": n_images, "device": str(dev), "workers": nw, "amp": amp and dev.type == "cuda"}
    with tempfile.TemporaryDirectory(prefix="mvkl-bench-eval-") as tmp:
        task = load_task(synthetic_store(Path(tmp) / "bench.h5", n_images, image_size, seed))
        tr = task.splits["train"]
        ev_loader = loader(task.dataset("train", EvalTransform(image_size)), batch_size=batch_size * 2, workers=nw,
                           pin=dev.type == "cuda")
        enc.to(dev)
        extract_features(enc, ev_loader, dev, amp=amp)  # warm-up (cuDNN autotune, worker start)
        sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
        t0 = time.perf_counter()
        extract_features(enc, ev_loader, dev, amp=amp)
        sync()
        doc["features_images_per_s"] = tr.n / (time.perf_counter() - t0)
        x = torch.rand(batch_size * 2, 1, image_size, image_size, device=dev)
        with torch.inference_mode(), autocast(dev, amp):
            enc(x)
            sync()
            t0 = time.perf_counter()
            for _ in range(3):
                enc(x)
            sync()
        doc["forward_only_images_per_s"] = 3 * x.shape[0] / (time.perf_counter() - t0)
        doc["train_images"] = tr.n
        for proto, lr in (("le", 1e-3), ("ft", 5e-5)):
            model = fresh_model(enc, build_head(enc.feature_dim, seed))
            batches = TrainBatches(np.arange(tr.n), batch_size, seed)
            tl = loader(task.dataset("train", build_transform("fixed", image_size), seed=seed), batch_sampler=batches,
                        workers=nw, pin=dev.type == "cuda")

            def epoch(e: int, _b: Any = batches, _l: Any = tl) -> Any:
                _b.epoch = e
                return ((b["image"], b["label"]) for b in _l)

            res = fit(model, protocol=proto, train_epoch=epoch, val_auc=lambda m: 0.5, steps_per_epoch=len(batches),
                      lr=lr, min_lr=lr / 100, weight_decay=0.0, epochs=2, patience=10, device=dev, amp=amp)
            sec = res.history[-1]["seconds"]  # second epoch: after warm-up
            doc[f"{proto}_epoch_s"] = sec
            doc[f"{proto}_images_per_s"] = tr.n / sec
            doc["steps_per_epoch"] = len(batches)
            del tl
    doc["machine"] = machine_info()
    return doc


def _render_grid(doc: dict[str, Any], first: str, cols: list[str], cell: Any, title: str) -> None:
    from rich.table import Table

    from mvkl.log import stdout_console

    t = Table(title=title)
    t.add_column(first)
    for c in cols:
        t.add_column(c, justify="right")
    for r in doc["rows"]:
        t.add_row(r.get("row", r.get("model")), *[cell(r, c) for c in cols])
    stdout_console().print(t)


def register(app: typer.Typer) -> None:
    """Add `mvkl bench eval`, `mvkl bench cross-dataset` and `mvkl bench data-fraction`."""

    @app.command("eval", epilog=example("mvkl bench eval", "mvkl bench eval --arch resnet50 --image-size 256 "
                                        "--batch-size 48 --n-images 480 --device cuda"))
    @command
    def eval_bench(
        arch: Annotated[str | None, typer.Option("--arch", help="resnet50 or resnet18 (default: resnet50 on CUDA, "
                                                 "resnet18 on CPU).")] = None,
        image_size: Annotated[int | None, typer.Option("--image-size", help="Side in px (256 CUDA, 64 CPU).")] = None,
        batch_size: Annotated[int | None, typer.Option("--batch-size", help="48 CUDA, 16 CPU.")] = None,
        n_images: Annotated[int | None, typer.Option("--n-images", help="Synthetic images (480 CUDA, 128 CPU).")
                            ] = None,
        device: DeviceOpt = "auto",
        workers: WorkersOpt = -1,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Evaluation throughput: feature extraction images/s and LE/FT epoch time on this machine."""
        from mvkl.cli.bench import render_figures
        from mvkl.evaluation.protocols.features import resolve_device

        cuda = resolve_device(device).type == "cuda"
        doc = run_throughput(arch=arch or ("resnet50" if cuda else "resnet18"),
                             image_size=image_size or (256 if cuda else 64),
                             batch_size=batch_size or (48 if cuda else 16),
                             n_images=n_images or (480 if cuda else 128), device=device, workers=workers)
        emit(doc, json_out, lambda: render_figures(doc))

    @app.command("cross-dataset", epilog=example(
        "mvkl bench cross-dataset --models runs/vikl --stores mvkl.h5,cbis.h5,inbreast.h5 --supervised-baselines",
        "mvkl bench cross-dataset --models random:resnet18 --stores a.h5,b.h5 --setting tiny --supervised-baselines "
        "--baseline-init random:resnet18"))
    @command
    def cross_dataset(
        stores: Annotated[str, typer.Option("--stores", help="Comma-separated evaluation stores (columns).")],
        models: Annotated[str, typer.Option("--models", help="Comma-separated encoders (rows): run directories, "
                                            "exports, imagenet, random.")] = "",
        protocol: Annotated[str, typer.Option("--protocol", "-p", help="Downstream protocol (paper: lp).")] = "lp",
        supervised_baselines: Annotated[bool, typer.Option("--supervised-baselines", help="Add one row per store: "
                                        "--baseline-init fine-tuned on that store (the paper's supervised rows).")
                                        ] = False,
        baseline_init: Annotated[str, typer.Option("--baseline-init", help="Start of the supervised rows (paper: "
                                                   "imagenet).")] = "imagenet",
        setting: SettingOpt = "paper", seeds: SeedsOpt = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("cross-dataset"),
        arch: ArchOpt = "resnet50", image_weights: ImageWeightsOpt = None, image_size: ImageSizeOpt = None,
        epochs: EpochsOpt = None, patience: PatienceOpt = None, batch_size: BatchOpt = None, lr: LrOpt = None,
        device: DeviceOpt = "auto", workers: WorkersOpt = -1, json_out: JsonOpt = False, quiet: QuietOpt = False,
    ) -> None:
        """Cross-dataset evaluation (paper Table 4): rows = pretraining sources, columns = evaluation stores."""
        from mvkl import log
        from mvkl.evaluation.aggregate import format_pm
        from mvkl.evaluation.protocols.crossdataset import run_cross_dataset

        common = {"image_size": image_size, "epochs": epochs, "patience": patience, "batch_size": batch_size,
                  "device": device, "workers": workers}
        cfg = build_config(protocol, setting, seeds, lr=lr, **common)
        ft_cfg = build_config("ft", setting, 1, save_model=False, **common) if supervised_baselines else None
        with log.progress(transient=True) as prog:
            doc = run_cross_dataset(_split_list(models, ""), _split_list(stores, "--stores"), cfg, out,
                                    supervised_baselines=supervised_baselines, baseline_init=baseline_init,
                                    ft_cfg=ft_cfg, arch=arch, progress=prog,
                                    image_weights=str(image_weights) if image_weights else None)
        emit(doc, json_out, lambda: _render_grid(
            doc, "pretraining ↓ / evaluation →", doc["columns"],
            lambda r, c: format_pm(r["cells"][c]["mean"], r["cells"][c]["std"]),
            f"Cross-dataset {doc['protocol'].upper()}: test AUC % (mean ± std over {len(doc['seeds'])} seeds)"))

    @app.command("data-fraction", epilog=example(
        "mvkl bench data-fraction --models runs/vikl,imagenet --store demo.h5",
        "mvkl bench data-fraction --models random:resnet18 --store demo.h5 --setting tiny --fractions 0.5,1"))
    @command
    def data_fraction(
        store: Annotated[Path, typer.Option("--store", help="The store (train / val / test splits).")],
        models: Annotated[str, typer.Option("--models", help="Comma-separated encoders.")],
        fractions: Annotated[str, typer.Option("--fractions", help="Training fractions.")] = "0.2,0.4,0.6,0.8,1.0",
        protocol: Annotated[str, typer.Option("--protocol", "-p", help="Protocol (paper: ft).")] = "ft",
        setting: SettingOpt = "paper", seeds: SeedsOpt = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path("data-fraction"),
        arch: ArchOpt = "resnet50", image_weights: ImageWeightsOpt = None, image_size: ImageSizeOpt = None,
        epochs: EpochsOpt = None, patience: PatienceOpt = None, batch_size: BatchOpt = None, lr: LrOpt = None,
        device: DeviceOpt = "auto", workers: WorkersOpt = -1, json_out: JsonOpt = False, quiet: QuietOpt = False,
    ) -> None:
        """Fine-tuning on 20/40/60/80/100 % of the training split (paper Fig. 5), with the plot."""
        from mvkl import log
        from mvkl.evaluation.aggregate import format_pm
        from mvkl.evaluation.protocols.config import parse_floats
        from mvkl.evaluation.protocols.datafraction import run_data_fraction

        cfg = build_config(protocol, setting, seeds, lr=lr, image_size=image_size, epochs=epochs, patience=patience,
                           batch_size=batch_size, device=device, workers=workers)
        with log.progress(transient=True) as prog:
            doc = run_data_fraction(_split_list(models, "--models"), store, cfg, out,
                                    fractions=parse_floats(fractions, "--fractions"), arch=arch,
                                    image_weights=str(image_weights) if image_weights else None, progress=prog)
        cols = [f"{f:g}" for f in doc["fractions"]]
        emit(doc, json_out, lambda: _render_grid(
            doc, "model", cols, lambda r, c: format_pm(r["cells"][c]["mean"], r["cells"][c]["std"]),
            f"{doc['protocol'].upper()} by training fraction: test AUC % (mean ± std over {len(doc['seeds'])} seeds)"))
