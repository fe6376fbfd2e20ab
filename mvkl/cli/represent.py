"""`mvkl represent`: Alignment and uniformity of the embedding space."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "represent",
        "Alignment and uniformity of the embedding space.",
        "mvkl represent runs/vikl demo.h5",
    )
