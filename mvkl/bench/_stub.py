"""Placeholder for benchmark entries not built yet: they say so and exit 1."""

from __future__ import annotations

import typer

from mvkl.cli.common import command
from mvkl.errors import NotImplementedYet


def register_stub(app: typer.Typer, name: str, summary: str) -> None:
    @app.command(
        name,
        help=f"{summary} [not implemented yet in this version]",
        epilog=f"Example:\n\n  $ mvkl bench {name}",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )
    @command
    def _stub(ctx: typer.Context) -> None:
        raise NotImplementedYet(f"`mvkl bench {name}` is not implemented yet in this version of mvkl")
