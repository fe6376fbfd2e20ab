"""`mvkl hamming`: Hamming-distance structure of the manifestations and simulated ManiNeg batches."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "hamming",
        "Hamming-distance structure of the manifestations and simulated ManiNeg batches.",
        "mvkl hamming demo.h5 --plot hamming.png",
    )
