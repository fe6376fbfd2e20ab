"""Benchmark `mvkl bench loader`: Augmentation and DataLoader throughput (samples/s)."""

from __future__ import annotations

import typer

from mvkl.bench._stub import register_stub


def register(app: typer.Typer) -> None:
    register_stub(app, "loader", "Augmentation and DataLoader throughput (samples/s).")
