"""`mvkl predict`: Malignancy probability for new DICOM studies from a fine-tuned model."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "predict",
        "Malignancy probability for new DICOM studies from a fine-tuned model.",
        "mvkl predict runs/ft study/ --json",
    )
