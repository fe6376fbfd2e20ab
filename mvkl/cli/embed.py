"""`mvkl embed`: Normalised embeddings of a store's images, reports or manifestations."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "embed",
        "Normalised embeddings of a store's images, reports or manifestations.",
        "mvkl embed runs/vikl demo.h5 --modality image -o emb.h5",
    )
