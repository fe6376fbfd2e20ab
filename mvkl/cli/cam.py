"""`mvkl cam`: Grad-CAM overlays for a fine-tuned classifier."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "cam",
        "Grad-CAM overlays for a fine-tuned classifier.",
        "mvkl cam runs/ft demo.h5 -o cams/",
    )
