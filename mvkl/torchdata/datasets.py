"""Torch datasets over the HDF5 store (data flow: store → Dataset → sampler → model).

:class:`LumpDataset` (pretraining): one item per lump of a split, with

* ``view1``: the CC image (or the lump's only image), ``view2``: the MLO image, or the same image
  again when one view is missing, so a single-view lump becomes a SimCLR pair of two independent
  augmentations; both ``(1, S, S)`` float32 in [0, 1] (grey; the image encoder replicates to 3
  channels and normalises, B31);
* ``report`` (str, "" when none) and ``has_report``; ``manifest`` / ``known`` float32 (35,) and
  ``has_manifest`` (any dimension known); ``label`` (1/0/−1) and ``index`` (position in the split).

:class:`ImageDataset` (evaluation): one item per image of a split, with the image's label
(``/images/label``), pseudonymous ``image_id``, ``view`` name and ``index``.

Random augmentation is keyed, not stateful: an item is addressed either by a plain position
``i`` (generator from ``(seed, i)``: deterministic, meant for evaluation) or by a
:class:`SampleKey` ``(step, position, index)`` as produced by :class:`StepTaggedBatchSampler`; the
generator of view v is then ``derive_seed(seed, TAG_AUGMENT, step, rank, position, v)``. The HDF5
file is opened lazily in each worker process (:class:`mvkl.store.Store` reopens after fork).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from mvkl.store import Store
from mvkl.store import schema as SC
from mvkl.torchdata.seeding import TAG_AUGMENT, TAG_EVAL, make_generator

__all__ = ["ImageDataset", "LumpDataset", "SampleKey", "StepTaggedBatchSampler", "store_fingerprint", "to_float"]

Transform = Callable[[Tensor, torch.Generator], Tensor]
VIEW_MODES = ("pair", "same")


class SampleKey(NamedTuple):
    """Address of one sample of a training batch: global step, position in the batch, dataset index."""

    step: int
    position: int
    index: int


class StepTaggedBatchSampler:
    """Wrap a step-indexed batch sampler (:mod:`mvkl.sampling`) so each yielded index becomes a
    :class:`SampleKey`; the augmentation then depends on (step, position), not on the worker.

    The wrapped sampler's ``step`` is advanced by its own ``__iter__`` (it holds the next step after
    each yield), so the step of a yielded batch is ``sampler.step − 1``.
    """

    def __init__(self, sampler: Any) -> None:
        self.sampler = sampler

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[list[SampleKey]]:
        for batch in self.sampler:
            step = int(self.sampler.step) - 1
            yield [SampleKey(step, j, int(i)) for j, i in enumerate(batch)]


def to_float(pixels: np.ndarray) -> Tensor:
    """Stored uint8/uint16 ``(S, S)`` pixels → ``(1, S, S)`` float32 in [0, 1] (full dtype range)."""
    if pixels.dtype == np.uint8:
        scale = 255.0
    elif pixels.dtype == np.uint16:
        scale = 65535.0
    else:
        raise ValueError(f"stored pixels must be uint8 or uint16, got {pixels.dtype}")
    return torch.from_numpy(np.ascontiguousarray(pixels)).to(torch.float32).div_(scale).unsqueeze(0)


def _open(store: Store | str | os.PathLike[str]) -> Store:
    return store if isinstance(store, Store) else Store(store)


class _KeyedDataset(Dataset):
    """Shared key handling: ``int`` or :class:`SampleKey` → (index, generator per view)."""

    def __init__(self, seed: int, rank: int) -> None:
        self.seed = int(seed)
        self.rank = int(rank)

    def _resolve(self, key: int | SampleKey | tuple[int, int, int]) -> tuple[int, Callable[[int], torch.Generator]]:
        if isinstance(key, tuple):
            step, pos, index = (int(x) for x in key)
            return index, lambda view: make_generator(self.seed, TAG_AUGMENT, step, self.rank, pos, view)
        index = int(key)
        return index, lambda view: make_generator(self.seed, TAG_EVAL, index, view)

    def _check(self, index: int, n: int) -> int:
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} samples")
        return index % n


class LumpDataset(_KeyedDataset):
    """Pretraining samples: the two views, report, manifestation and label of each lump of a split.

    Args:
        store: a :class:`~mvkl.store.Store` or the path of one.
        split: ``"train"``, ``"val"``, ``"test"`` or None (every lump).
        transform: ``f(image (1, S, S), generator) -> tensor``: :class:`~mvkl.torchdata.augment.TrainAugment`
            for training, :class:`~mvkl.torchdata.augment.EvalTransform` for validation.
        view_mode: ``"pair"`` (CC + MLO) or ``"same"`` (two augmentations of view1 even
            when both views exist; an ablation).
        seed, rank: of the augmentation streams (see the module docstring).
    """

    def __init__(self, store: Store | str | os.PathLike[str], split: str | None, transform: Transform, *,
                 view_mode: str = "pair", seed: int = 0, rank: int = 0) -> None:
        super().__init__(seed, rank)
        if view_mode not in VIEW_MODES:
            raise ValueError(f"view_mode must be one of {VIEW_MODES}, got {view_mode!r}")
        self.store = _open(store)
        self.split = split
        self.transform = transform
        self.view_mode = view_mode
        self.rows = self.store.lump_indices(split)
        L = self.store.lumps
        cc, mlo = L["cc"][self.rows], L["mlo"][self.rows]
        self.first = np.where(cc >= 0, cc, mlo).astype(np.int64)
        self.second = np.where((mlo >= 0) & (cc >= 0), mlo, self.first).astype(np.int64)
        self.reports = [str(r) for r in L["report"][self.rows]]
        self.manifest = L["manifest"][self.rows].astype(np.float32)
        self.known = L["manifest_known"][self.rows].astype(np.float32)
        self.labels = L["label"][self.rows].astype(np.int64)

    def __len__(self) -> int:
        return int(self.rows.size)

    @property
    def has_report(self) -> np.ndarray:
        """``(n,)`` bool: the lump has a non-empty report."""
        return np.array([bool(r.strip()) for r in self.reports], dtype=bool)

    @property
    def has_manifest(self) -> np.ndarray:
        """``(n,)`` bool: at least one manifestation dimension is known."""
        return self.known.any(axis=1)

    def __getitem__(self, key: int | SampleKey | tuple[int, int, int]) -> dict[str, Any]:
        index, gen = self._resolve(key)
        i = self._check(index, len(self))
        a = to_float(self.store.image(int(self.first[i])))
        second = int(self.first[i] if self.view_mode == "same" else self.second[i])
        b = a if second == int(self.first[i]) else to_float(self.store.image(second))
        report = self.reports[i]
        return {
            "view1": self.transform(a, gen(0)),
            "view2": self.transform(b, gen(1)),
            "report": report,
            "has_report": bool(report.strip()),
            "manifest": torch.from_numpy(self.manifest[i].copy()),
            "known": torch.from_numpy(self.known[i].copy()),
            "has_manifest": bool(self.known[i].any()),
            "label": int(self.labels[i]),
            "index": i,
        }


class ImageDataset(_KeyedDataset):
    """Evaluation samples: one per image of a split, labelled from ``/images/label``.

    Items: ``image`` ``(1, S, S)`` float32, ``label`` (1/0/−1), ``image_id`` (pseudonym, str),
    ``view`` (``"CC"``, ``"MLO"``, ...), ``laterality``, ``index`` (position in the split) and
    ``row`` (image row in the store). ``labelled_only`` drops images whose label is −1.
    """

    def __init__(self, store: Store | str | os.PathLike[str], split: str | None, transform: Transform, *,
                 labelled_only: bool = False, seed: int = 0, rank: int = 0) -> None:
        super().__init__(seed, rank)
        self.store = _open(store)
        self.split = split
        self.transform = transform
        meta = self.store.images_meta
        rows = self.store.image_indices(split)
        if labelled_only:
            rows = rows[meta["label"][rows] >= 0]
        self.rows = rows.astype(np.int64)
        self.labels = meta["label"][self.rows].astype(np.int64)
        self.image_ids = [bytes(x).decode("ascii", "replace") for x in meta["image_id"][self.rows]]
        codes = self.store.info.attrs.get("view_codes") or list(SC.VIEW_CODES)
        self.views = [codes[int(v)] if int(v) < len(codes) else "other" for v in meta["view"][self.rows]]
        lat = self.store.info.attrs.get("laterality_codes") or list(SC.LATERALITY_CODES)
        self.lateralities = [lat[int(v)] if int(v) < len(lat) else "U" for v in meta["laterality"][self.rows]]

    def __len__(self) -> int:
        return int(self.rows.size)

    def __getitem__(self, key: int | SampleKey | tuple[int, int, int]) -> dict[str, Any]:
        index, gen = self._resolve(key)
        i = self._check(index, len(self))
        img = to_float(self.store.image(int(self.rows[i])))
        return {"image": self.transform(img, gen(0)), "label": int(self.labels[i]), "image_id": self.image_ids[i],
                "view": self.views[i], "laterality": self.lateralities[i], "index": i, "row": int(self.rows[i])}


def store_fingerprint(store: Store | str | os.PathLike[str]) -> str:
    """16 hex characters identifying a store's content for run records (not a file hash).

    Hashes the format, image size and pixel dtype, the pseudonym-key fingerprint, the lump table
    (ids, image pointers, labels, manifestations, known masks, splits, reports) and the image count;
    cheap even for large stores (pixels are not read).
    """
    st = _open(store)
    h = hashlib.sha256()
    info = st.info
    h.update(f"{info.format}|{info.image_size}|{info.pixel_dtype}|{info.attrs.get('key_fingerprint', '')}|"
             f"{st.n_images}".encode())
    L = st.lumps
    for k in ("lump_id", "cc", "mlo", "label", "manifest", "manifest_known", "split"):
        h.update(k.encode())
        h.update(np.ascontiguousarray(L[k]).tobytes())
    for r in L["report"]:
        h.update(str(r).encode("utf-8") + b"\x00")
    return h.hexdigest()[:16]
