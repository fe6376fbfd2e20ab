"""Benchmark `mvkl bench ingest`: Ingest throughput: images/s per worker at synthetic and full-field size."""

from __future__ import annotations

import typer

from mvkl.bench._stub import register_stub


def register(app: typer.Typer) -> None:
    register_stub(app, "ingest", "Ingest throughput: images/s per worker at synthetic and full-field size.")
