"""Test decoders (importable by worker processes): one that crashes its process on some files."""

from __future__ import annotations

import os
from typing import Any


def load(path: str, policy: Any) -> Any:
    """Kill the worker process on files named ``*crash*`` (like a segfaulting codec)."""
    if "crash" in os.path.basename(path):
        os._exit(3)
    from mvkl.dicom import load_image

    return load_image(path, policy)


def boom(path: str, policy: Any) -> Any:
    raise ValueError(f"secret content of {path}")
