"""Benchmark `mvkl bench synth`: Synthetic study generation: exams/s at demo and MVKL scale."""

from __future__ import annotations

import typer

from mvkl.bench._stub import register_stub


def register(app: typer.Typer) -> None:
    register_stub(app, "synth", "Synthetic study generation: exams/s at demo and MVKL scale.")
