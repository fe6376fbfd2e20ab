"""`mvkl pretrain`: ViKL tri-modal contrastive pretraining (optionally with ManiNeg hard negatives)."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "pretrain",
        "ViKL tri-modal contrastive pretraining (optionally with ManiNeg hard negatives).",
        "mvkl pretrain demo.h5 --out runs/vikl --manineg",
    )
