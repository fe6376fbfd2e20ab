"""`mvkl eval`: Linear probe / linear evaluation / fine-tuning of an image encoder, with calibration."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "eval",
        "Linear probe / linear evaluation / fine-tuning of an image encoder, with calibration.",
        "mvkl eval runs/vikl demo.h5 --protocol lp",
    )
