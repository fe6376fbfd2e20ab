"""Logging and progress on stderr (results go to stdout; README "CLI conventions").

Library modules log through ``logging.getLogger(__name__)``; the CLI installs one rich handler on
stderr and sets the level from ``--quiet``. Progress bars come from :func:`progress`, which is
silent when quiet. Nothing here may print identifying data: callers log counts and pseudonyms.
"""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["configure", "is_quiet", "progress", "stderr_console", "stdout_console"]

_state = {"quiet": False}
_stderr: Console | None = None
_stdout: Console | None = None


def stderr_console() -> Console:
    global _stderr
    if _stderr is None or _stderr.file is not sys.stderr:
        _stderr = Console(stderr=True, highlight=False, soft_wrap=True)
    return _stderr


def stdout_console() -> Console:
    global _stdout
    if _stdout is None or _stdout.file is not sys.stdout:
        _stdout = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    return _stdout


def configure(quiet: bool = False, verbose: bool = False) -> None:
    """Install the stderr log handler for the ``mvkl`` logger (idempotent)."""
    _state["quiet"] = quiet
    logger = logging.getLogger("mvkl")
    for h in list(logger.handlers):
        logger.removeHandler(h)
    handler = RichHandler(console=stderr_console(), show_path=False, show_time=False, markup=False)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO))
    logger.propagate = False


def is_quiet() -> bool:
    return bool(_state["quiet"])


def progress(transient: bool = False, quiet: bool | None = None) -> Progress:
    """A rich progress bar on stderr with rate and ETA; disabled when quiet."""
    q = is_quiet() if quiet is None else quiet
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),
        transient=transient,
        disable=q,
    )
