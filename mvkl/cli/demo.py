"""`mvkl demo`: The whole method on built-in synthetic data, end to end."""

from __future__ import annotations

import typer

from mvkl.cli.stub import register_stub


def register(root: typer.Typer) -> None:
    register_stub(
        root,
        "demo",
        "The whole method on built-in synthetic data, end to end.",
        "mvkl demo --out demo-run --quick",
    )
