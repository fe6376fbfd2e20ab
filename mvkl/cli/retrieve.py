"""`mvkl retrieve`: Image-to-report retrieval (BI-RADS) and manifestation estimation."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "retrieve",
        "Image-to-report retrieval (BI-RADS) and manifestation estimation.",
        "mvkl retrieve runs/vikl demo.h5 --task report",
    )
