"""Benchmark `mvkl bench eval`: Evaluation throughput: feature extraction and LP/LE epochs."""

from __future__ import annotations

import typer

from mvkl.bench._stub import register_stub


def register(app: typer.Typer) -> None:
    register_stub(app, "eval", "Evaluation throughput: feature extraction and LP/LE epochs.")
