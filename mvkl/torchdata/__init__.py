"""Torch datasets over the HDF5 store, training augmentation and batch collation.

* :mod:`mvkl.torchdata.datasets`: :class:`LumpDataset` (pretraining: two views, report, manifestation,
  label of a lump) and :class:`ImageDataset` (evaluation: one sample per image of a split);
* :mod:`mvkl.torchdata.augment`: the training augmentation of the released code on tensors (with the
  B27 fixes, and a ``compat`` mode reproducing the released code) and the evaluation transform;
* :mod:`mvkl.torchdata.collate`: batching with dynamic-padding tokenisation of the reports (B38);
* :mod:`mvkl.torchdata.seeding`: the seed derivation that makes every random draw a pure function of
  (seed, global step, rank, sample position), independent of DataLoader workers and prefetching.

Importing this package imports torch; the CLI imports it inside command functions.
"""

from mvkl.torchdata.augment import AugmentConfig, EvalTransform, TrainAugment, build_transform
from mvkl.torchdata.collate import LumpCollator
from mvkl.torchdata.datasets import ImageDataset, LumpDataset, SampleKey, StepTaggedBatchSampler, store_fingerprint
from mvkl.torchdata.seeding import derive_seed, make_generator

__all__ = [
    "AugmentConfig",
    "EvalTransform",
    "ImageDataset",
    "LumpCollator",
    "LumpDataset",
    "SampleKey",
    "StepTaggedBatchSampler",
    "TrainAugment",
    "build_transform",
    "derive_seed",
    "make_generator",
    "store_fingerprint",
]
