"""`mvkl info`: Describe an HDF5 store: counts per split/label/view, coverage, de-identification profile."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "info",
        "Describe an HDF5 store: counts per split/label/view, coverage, de-identification profile.",
        "mvkl info demo.h5",
    )
