"""Evaluation throughput benchmark (`mvkl bench eval`).

The paper protocols that the CLI also files under ``mvkl bench`` (``cross-dataset``, Table 4, and
``data-fraction``, Fig. 5) are evaluation code: :mod:`mvkl.evaluation.protocols.crossdataset` and
:mod:`mvkl.evaluation.protocols.datafraction`.

:func:`run_throughput` writes a temporary synthetic store of ``--n-images`` images and times, through the
real data pipeline (store → ImageDataset → transform → DataLoader → model): frozen feature
extraction (images/s, as for LP), one LE epoch and one FT epoch (seconds and images/s, after one
warm-up epoch), plus the model-only forward throughput on in-memory tensors.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


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
