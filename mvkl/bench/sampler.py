"""Benchmark `mvkl bench sampler`: ManiNeg batch construction time and set-up at 2.7k, 100k and 1M lumps."""

from __future__ import annotations

import typer

from mvkl.bench._stub import register_stub


def register(app: typer.Typer) -> None:
    register_stub(app, "sampler", "ManiNeg batch construction time and set-up at 2.7k, 100k and 1M lumps.")
