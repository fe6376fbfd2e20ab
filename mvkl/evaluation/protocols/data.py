"""The downstream task's data: labelled images of each split, and their data loaders.

Task (paper Sec. 5.2): benign/malignant classification of **whole single-view
images**. Every image of a split is a sample (an image that shows a malignant lump is malignant,
``/images/label``); images with label −1 (unknown) are excluded and counted. Validation and test
images go through the deterministic evaluation transform (:class:`mvkl.torchdata.EvalTransform`);
training images through the pretraining augmentation (:class:`mvkl.torchdata.TrainAugment`),
keyed by ``(seed, step, position)`` so that a run does not depend on the number of workers.

Every split must hold both classes (the AUC, early stopping and operating points need them):
otherwise :class:`~mvkl.errors.InputError` names the split (exit 2).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.errors import InputError
from mvkl.fsutil import display_path

__all__ = ["SPLITS", "SplitData", "TaskData", "TrainBatches", "auto_workers", "collate", "load_task"]

SPLITS = ("train", "val", "test")


@dataclass
class SplitData:
    """Labelled images of one split, in store order (positions index these arrays)."""

    name: str
    rows: np.ndarray  # store image rows
    labels: np.ndarray  # int8 0/1
    image_ids: list[str]
    views: list[str]
    lateralities: list[str]
    patients: np.ndarray  # pseudonymous patient ids (bytes)
    n_unknown: int  # images of the split excluded for label -1

    @property
    def n(self) -> int:
        return int(self.rows.size)

    def counts(self) -> dict[str, int]:
        pos = int(self.labels.sum())
        return {"images": self.n, "malignant": pos, "benign": self.n - pos, "excluded_unknown": self.n_unknown,
                "patients": len(set(self.patients.tolist()))}


@dataclass
class TaskData:
    """The store and its three labelled splits."""

    path: Path
    store: Any  # mvkl.store.Store
    splits: dict[str, SplitData]

    @property
    def name(self) -> str:
        return self.path.stem

    def dataset(self, split: str, transform: Any, seed: int = 0) -> Any:
        """An :class:`mvkl.torchdata.ImageDataset` of the split's labelled images (positions = ours)."""
        from mvkl.torchdata import ImageDataset

        ds = ImageDataset(self.store, split, transform, labelled_only=True, seed=seed)
        if not np.array_equal(ds.rows, self.splits[split].rows):  # pragma: no cover - same store, same rule
            raise RuntimeError("ImageDataset rows differ from the task's rows")
        return ds

    def summary(self) -> dict[str, Any]:
        """Non-identifying description for results.json: name, fingerprint, format, splits."""
        from mvkl.torchdata import store_fingerprint

        info = self.store.info
        sources = [{k: s.get(k) for k in ("name", "format", "dataset", "lumps") if k in s}
                   for s in (info.attrs.get("sources") or []) if isinstance(s, dict)]
        return {"name": self.path.name, "fingerprint": store_fingerprint(self.store), "mvkl_format": info.format,
                "written_by": info.mvkl_version, "image_size": info.image_size, "pixel_dtype": info.pixel_dtype,
                "sources": sources, "splits": {k: v.counts() for k, v in self.splits.items()}}


def load_task(path: str | os.PathLike[str], *, require: Sequence[str] = SPLITS) -> TaskData:
    """Open a store and collect the labelled images of each split; check both classes per split."""
    from mvkl.store import Store
    from mvkl.torchdata.datasets import ImageDataset

    p = Path(path)
    store = Store(p)
    meta = store.images_meta
    splits: dict[str, SplitData] = {}
    for name in SPLITS:
        ds = ImageDataset(store, name, _Never(), labelled_only=True)
        all_rows = store.image_indices(name)
        splits[name] = SplitData(
            name=name, rows=ds.rows.astype(np.int64), labels=ds.labels.astype(np.int8), image_ids=list(ds.image_ids),
            views=list(ds.views), lateralities=list(ds.lateralities),
            patients=np.asarray(meta["patient_id"][ds.rows]),
            n_unknown=int((meta["label"][all_rows] < 0).sum()))
    for name in require:
        s = splits[name]
        if s.n == 0:
            raise InputError(f"split {name!r} has no labelled images ({s.n_unknown} with unknown label); the "
                             "downstream task needs labelled train, val and test images",
                             file=display_path(p), code="empty-split")
        pos = int(s.labels.sum())
        if pos in (0, s.n):
            only = "malignant" if pos else "benign"
            raise InputError(f"split {name!r} holds only {only} images ({s.n}); AUC, early stopping and operating "
                             "points need both classes in every split", file=display_path(p), code="one-class")
    return TaskData(p, store, splits)


class _Never:
    """Placeholder transform for metadata-only datasets (never called)."""

    def __call__(self, img: Any, g: Any = None) -> Any:  # pragma: no cover
        raise RuntimeError("metadata-only dataset")


def collate(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack images; labels and dataset positions as int64 tensors."""
    import torch

    return {"image": torch.stack([s["image"] for s in samples]),
            "label": torch.tensor([int(s["label"]) for s in samples], dtype=torch.long),
            "index": torch.tensor([int(s["index"]) for s in samples], dtype=torch.long)}


class TrainBatches:
    """Shuffled training batches over ``positions``, one epoch per ``__iter__`` call.

    Epoch ``e`` uses a permutation drawn from ``(seed, e)``; each yielded item is a
    :class:`mvkl.torchdata.SampleKey` ``(step, position in batch, dataset position)`` so the
    augmentation is keyed by the global step (independent of workers and prefetching). The last
    batch is kept unless it would hold a single sample (BatchNorm in train mode needs two; that
    sample is dropped for this epoch only, a different one each epoch).
    """

    def __init__(self, positions: np.ndarray, batch_size: int, seed: int) -> None:
        self.positions = np.asarray(positions, dtype=np.int64)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.epoch = 0
        n = self.positions.size
        self.steps_per_epoch = n // self.batch_size + (1 if n % self.batch_size > 1 else 0)
        if self.steps_per_epoch == 0:
            raise InputError(f"{n} training image(s) are too few for a training batch")

    def __len__(self) -> int:
        return self.steps_per_epoch

    def __iter__(self) -> Iterator[list[Any]]:
        from mvkl.torchdata import SampleKey

        e = self.epoch
        self.epoch += 1
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0x5452, e]))
        order = self.positions[rng.permutation(self.positions.size)]
        for b in range(self.steps_per_epoch):
            chunk = order[b * self.batch_size:(b + 1) * self.batch_size]
            step = e * self.steps_per_epoch + b
            yield [SampleKey(step, j, int(i)) for j, i in enumerate(chunk)]


def auto_workers(requested: int, device_type: str) -> int:
    """``-1`` → 0 on machines with at most 2 cores, else ``min(8, cores // 2)`` (CUDA) or
    ``min(4, cores // 2)`` (CPU, where the workers compete with the model for cores)."""
    if requested >= 0:
        return requested
    cores = os.cpu_count() or 1
    if cores <= 2:
        return 0
    return min(8 if device_type == "cuda" else 4, cores // 2)


def loader(dataset: Any, *, batch_size: int | None = None, batch_sampler: Any = None, workers: int = 0,
           pin: bool = False) -> Any:
    """A DataLoader with :func:`collate`; evaluation loaders are never shuffled nor truncated (B37)."""
    from torch.utils.data import DataLoader

    kw: dict[str, Any] = {"num_workers": workers, "collate_fn": collate, "pin_memory": pin}
    if workers > 0:
        kw["persistent_workers"] = batch_sampler is not None
        kw["prefetch_factor"] = 2
    if batch_sampler is not None:
        return DataLoader(dataset, batch_sampler=batch_sampler, **kw)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, drop_last=False, **kw)


def bootstrap_positions(labels: np.ndarray, positions: np.ndarray, seed: int) -> np.ndarray:
    """Stratified bootstrap of ``positions`` (resample each class with replacement, class counts kept)."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x4C50]))
    lab = labels[positions]
    out = [rng.choice(positions[lab == c], size=int((lab == c).sum()), replace=True) for c in (0, 1)]
    return np.sort(np.concatenate(out))
