"""`mvkl ingest`: De-identify and downsample DICOM studies + tables into one HDF5 store."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "ingest",
        "De-identify and downsample DICOM studies + tables into one HDF5 store.",
        "mvkl ingest demo-data/ --format mvkl --out demo.h5",
    )
