"""`mvkl synth`: Write realistic synthetic MVKL-like mammography studies (DICOM + tables)."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "synth",
        "Write realistic synthetic MVKL-like mammography studies (DICOM + tables).",
        "mvkl synth demo-data/ --exams 60 --seed 0",
    )
