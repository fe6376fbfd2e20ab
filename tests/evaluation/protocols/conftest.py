"""Fixtures for the protocol tests: small synthetic stores (session-scoped, written once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.evaluation.protocols.helpers import write_eval_store


@pytest.fixture(scope="session")
def eval_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 benign/malignant patient pairs at 32 px: train 56 images (+4 unknown), val 8, test 16."""
    return write_eval_store(tmp_path_factory.mktemp("evalstore") / "demo.h5", n_pairs=20, seed=0)


@pytest.fixture(scope="session")
def small_stores(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two smaller stores (10 pairs each) with different signal strengths, for the benchmarks."""
    d = tmp_path_factory.mktemp("stores")
    return [write_eval_store(d / "alpha.h5", n_pairs=10, seed=1, signal=0.6),
            write_eval_store(d / "beta.h5", n_pairs=10, seed=2, signal=0.25)]


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread(one_torch_thread: None) -> None:
    """Every module of this directory runs with one intra-op thread (tests/conftest.py)."""


