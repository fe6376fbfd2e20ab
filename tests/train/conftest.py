"""Fixtures for the training tests: a store with train/val lumps and one small local BERT."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_store_arrays

#: Shrunk ``tiny`` preset: ResNet-18 at 32 px, batch 8, a few steps (keeps the suite fast on 2 cores).
SMALL: dict[str, Any] = {"image_size": 32, "batch_size": 8, "warmup_steps": 2, "log_every": 1, "ckpt_every": 100,
                         "tiny_text_hidden": 32, "tiny_text_intermediate": 64, "tiny_text_vocab": 300,
                         "text_max_length": 64, "workers": 0, "lr": 1e-3, "val_every": 0}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread(one_torch_thread: None) -> None:
    """Every module of this directory runs with one intra-op thread (tests/conftest.py)."""


def write_arrays(path: Path, **kw: Any) -> Path:
    from mvkl.store import write_store

    a = make_store_arrays(**kw)
    write_store(path, a["lumps"], a["images"], a["pixels"])
    return path


@pytest.fixture(scope="session")
def train_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """48 lumps (about 31 train, a few val) at 32 px."""
    return write_arrays(tmp_path_factory.mktemp("store") / "train.h5", n_lumps=48, image_size=32, seed=1)


@pytest.fixture(scope="session")
def bert_dir(tmp_path_factory: pytest.TempPathFactory, train_store: Path) -> Path:
    """A tiny BERT (hidden 32) built once from the store's training reports."""
    from mvkl.models import build_tiny_bert
    from mvkl.store import Store

    st = Store(train_store)
    reports = [str(r) for r in st.lumps["report"][st.lump_indices("train")]]
    return build_tiny_bert(reports, tmp_path_factory.mktemp("bert") / "bert", vocab_size=300, hidden=32, layers=2,
                           heads=2, intermediate=64, max_position=64, seed=0)
