"""The ``mvkl`` command line (Typer). Each command group lives in its own module under
:mod:`mvkl.cli` and exposes ``register(app)``; modules only parse options, call the library and
render results (README "CLI conventions")."""

from __future__ import annotations

from typing import Annotated

import typer

from mvkl import __version__
from mvkl.cli import (
    bench,
    cam,
    deid,
    demo,
    embed,
    eval_cmd,
    hamming,
    info,
    ingest,
    manifest,
    predict,
    pretrain,
    represent,
    retrieve,
    synth,
)

app = typer.Typer(
    name="mvkl",
    help=(
        "mvkl: multimodal mammography pretraining. ViKL (visual-knowledge-linguistic contrastive "
        "pretraining) with ManiNeg hard negatives, from DICOM studies to evaluation.\n\n"
        "Results go to stdout (--json for one JSON document), progress and logs to stderr "
        "(--quiet). Exit codes: 0 success, 1 runtime failure, 2 invalid usage or input."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
    epilog=(
        "[bold]Example:[/bold]\n\n  $ mvkl synth demo-data/ && mvkl ingest demo-data/ --format mvkl --out demo.h5"
        "\n\n  $ mvkl pretrain demo.h5 --out runs/vikl --manineg --preset tiny"
    ),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mvkl {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """mvkl command line."""


# Order = order in `mvkl --help`: the pipeline from data to evaluation.
for _module in (synth, ingest, info, manifest, hamming, pretrain, eval_cmd,
                embed, retrieve, cam, represent, predict, deid, bench, demo):
    _module.register(app)


def run() -> None:
    """Console-script entry point."""
    app()
