"""Placeholder commands for capabilities not built yet: they say so and exit 1 (never pretend)."""

from __future__ import annotations

import typer

from mvkl.cli.common import command
from mvkl.errors import NotImplementedYet


def register_stub(root: typer.Typer, name: str, summary: str, example_line: str) -> None:
    """Register ``mvkl NAME`` that accepts any arguments and fails clearly with exit code 1."""

    @root.command(
        name,
        help=f"{summary} [not implemented yet in this version]",
        epilog=f"Example:\n\n  $ {example_line}",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    @command
    def _stub(ctx: typer.Context) -> None:
        raise NotImplementedYet(f"`mvkl {name}` is not implemented yet in this version of mvkl")
