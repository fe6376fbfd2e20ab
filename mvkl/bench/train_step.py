"""Benchmark `mvkl bench train-step`: Pretraining samples/s for a preset on this machine (CPU or GPU)."""

from __future__ import annotations

import typer

from mvkl.bench._stub import register_stub


def register(app: typer.Typer) -> None:
    register_stub(app, "train-step", "Pretraining samples/s for a preset on this machine (CPU or GPU).")
