"""Benchmark `mvkl bench loader`: pretraining input pipeline throughput (samples/s).

Measures :class:`mvkl.torchdata.LumpDataset` (two views read from the HDF5 store, training
augmentation of each) + :class:`mvkl.torchdata.LumpCollator` (dynamic-padding tokenisation of the
reports) through a ``DataLoader`` driven by the step-tagged random batch sampler, for each worker
count of ``--workers`` (default 0, 1, 2), plus the augmentation alone per image in this process.
``samples_per_s`` excludes the first batch (worker start-up), reported as ``first_batch_s``.

Without a STORE a temporary one is written (``--lumps`` lumps of 256² uint8 images with reports
of about 300 characters). The tokenizer is a tiny WordPiece one trained on the store's reports
(``--text-model DIR`` uses a local one, e.g. bert-base-chinese).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.bench import machine_info

_WORDS = ("mass", "irregular", "oval", "round", "margin", "spiculated", "circumscribed", "obscured", "density",
          "high", "calcification", "fine", "pleomorphic", "linear", "upper", "outer", "quadrant", "left", "right",
          "breast", "architectural", "distortion", "asymmetry", "skin", "thickening", "nipple", "retraction",
          "lymph", "node", "BI-RADS", "4A", "4B", "5", "no", "with", "and", "of", "the", "in", "seen", "cm")


def synthetic_store(path: Path, n_lumps: int = 256, size: int = 256, seed: int = 0) -> Path:
    """A valid store of ``n_lumps`` lumps (CC + MLO, smooth random images, ~300-character reports)."""
    from mvkl.store import schema as SC
    from mvkl.store import write_store

    rng = np.random.default_rng(seed)
    n_img = 2 * n_lumps
    yy, xx = np.mgrid[0:size, 0:size] / size
    pixels = np.empty((n_img, size, size), np.uint8)
    for i in range(n_img):
        cy, cx = rng.random(2)
        pixels[i] = np.clip(255 * (0.6 * (1 - xx) + 0.5 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) * 30)), 0, 255)
    ids = [f"{i:016x}".encode() for i in range(n_img)]
    man = (rng.random((n_lumps, 35)) < 0.15).astype(np.uint8)
    reports = [" ".join(rng.choice(_WORDS, int(rng.integers(40, 60)))) for _ in range(n_lumps)]
    lumps = {"lump_id": ids[:n_lumps], "patient_id": ids[:n_lumps], "exam_id": ids[:n_lumps],
             "cc": np.arange(n_lumps) * 2, "mlo": np.arange(n_lumps) * 2 + 1, "laterality": np.zeros(n_lumps),
             "label": rng.integers(0, 2, n_lumps), "birads": [b""] * n_lumps, "density": np.full(n_lumps, -1),
             "age_bucket": np.full(n_lumps, -1), "report": reports, "manifest": man,
             "manifest_known": np.ones_like(man), "split": np.zeros(n_lumps), "source": np.zeros(n_lumps)}
    images = {"image_id": ids, "patient_id": [ids[i // 2] for i in range(n_img)],
              "view": np.tile([SC.VIEW_CODES.index("CC"), SC.VIEW_CODES.index("MLO")], n_lumps),
              "laterality": np.zeros(n_img), "flipped": np.zeros(n_img), "pixel_spacing": np.full((n_img, 2), 0.1),
              "source_shape": np.full((n_img, 2), 4096), "crop_box": np.tile([0, 0, 4096, 3328], (n_img, 1)),
              "scale": np.full(n_img, 4096 / size)}
    write_store(path, lumps, images, pixels, attrs={"sources": [{"name": "bench"}]})
    return path


def run(store: Path | None = None, preset: str = "tiny", batch_size: int | None = None,
        workers: tuple[int, ...] = (0, 1, 2), batches: int = 20, text_model: Path | None = None,
        lumps: int = 256, seed: int = 0) -> dict[str, Any]:
    """Samples/s of the training input pipeline for each worker count (module docstring)."""
    import torch

    from mvkl.models import build_tiny_bert, load_tokenizer
    from mvkl.sampling import RandomBatchSampler
    from mvkl.store import Store
    from mvkl.torchdata import LumpCollator, LumpDataset, StepTaggedBatchSampler
    from mvkl.train.build import augment_for
    from mvkl.train.config import resolve_config

    cfg = resolve_config(preset, overrides={"text_model": "tiny"})
    b = batch_size or cfg.batch_size
    with tempfile.TemporaryDirectory(prefix="mvkl-bench-loader-") as tmp:
        path = store or synthetic_store(Path(tmp) / "bench.h5", lumps, seed=seed)
        st = Store(path)
        if text_model is not None:
            tok = load_tokenizer(text_model)
        else:
            reports = [str(r) for r in st.lumps["report"] if str(r).strip()] or ["empty"]
            tok = load_tokenizer(build_tiny_bert(reports, Path(tmp) / "tok", vocab_size=cfg.tiny_text_vocab,
                                                 hidden=16, layers=1, heads=1, intermediate=16))
        ds = LumpDataset(st, "train", augment_for(cfg), seed=seed)
        collate = LumpCollator(tok, max_length=cfg.text_max_length)
        img = ds[0]["view1"]  # warm-up (imports, first read)
        aug = ds.transform
        raw = torch.from_numpy(st.image(0)).float().div(255).unsqueeze(0)
        t0 = time.perf_counter()
        for i in range(50):
            aug(raw, torch.Generator().manual_seed(i))
        aug_ms = (time.perf_counter() - t0) / 50 * 1e3
        rows = []
        n_batches = min(batches, len(ds) // b)
        if n_batches < 2:
            from mvkl.errors import InputError

            raise InputError(f"the training split has {len(ds)} lumps: fewer than 2 batches of {b}", code="usage")
        for w in workers:
            sampler = RandomBatchSampler(len(ds), b, seed=seed)
            loader = torch.utils.data.DataLoader(ds, batch_sampler=StepTaggedBatchSampler(sampler), num_workers=w,
                                                 collate_fn=collate)
            t0 = time.perf_counter()
            it = iter(loader)
            next(it)
            t1 = time.perf_counter()
            for _ in range(n_batches - 1):
                next(it)
            t2 = time.perf_counter()
            del it
            rows.append({"workers": w, "samples_per_s": (n_batches - 1) * b / (t2 - t1), "first_batch_s": t1 - t0})
        return {"bench": "loader", "preset": preset, "image_size": cfg.image_size,
                "store_image_size": st.info.image_size, "batch_size": b, "batches": n_batches,
                "augment": cfg.augment, "augment_ms_per_image": aug_ms,
                "view_shape": list(img.shape), "best_samples_per_s": max(r["samples_per_s"] for r in rows),
                "workers": rows, "machine": machine_info()}
