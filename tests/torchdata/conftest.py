"""Fixtures for the data tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread(one_torch_thread: None) -> None:
    """Every module of this directory runs with one intra-op thread (tests/conftest.py)."""


