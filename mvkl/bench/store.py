"""Benchmark `mvkl bench store`: Random single-image reads/s from an HDF5 store on one core."""

from __future__ import annotations

import typer

from mvkl.bench._stub import register_stub


def register(app: typer.Typer) -> None:
    register_stub(app, "store", "Random single-image reads/s from an HDF5 store on one core.")
