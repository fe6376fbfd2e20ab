"""Shared CLI conventions (README): results on stdout (a human table, or one JSON document with
``--json``), logs and progress on stderr (``--quiet`` silences them), exit codes 0 success,
1 runtime failure, 2 invalid usage or input.

Every command function is wrapped by :func:`command`, which turns :class:`mvkl.errors.MvklError`
into a one-line message on stderr (plus a JSON error document on stdout under ``--json``) and the
right exit code. Commands take ``json_out`` and ``quiet`` parameters by these names.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape

from mvkl import log
from mvkl.errors import MvklError

__all__ = ["JsonOpt", "QuietOpt", "command", "emit", "example", "print_json"]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of tables.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or logs on stderr.")]

F = TypeVar("F", bound=Callable[..., Any])


def example(*lines: str) -> str:
    """An epilog with examples for ``--help`` (every command shows one)."""
    body = "\n\n".join(f"  $ {ln}" for ln in lines)
    return f"[bold]Example{'s' if len(lines) > 1 else ''}:[/bold]\n\n{body}"


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return _jsonable(obj.item())
        if isinstance(obj, np.ndarray):
            return _jsonable(obj.tolist())
    except ImportError:  # pragma: no cover
        pass
    return obj


def print_json(obj: Any) -> None:
    """Write one JSON document on stdout (NaN/inf become null)."""
    sys.stdout.write(json.dumps(_jsonable(obj), indent=2, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def emit(result: dict[str, Any], json_out: bool, render: Callable[[], None]) -> None:
    """Print ``result`` as JSON under ``--json``, otherwise call ``render`` (rich on stdout)."""
    if json_out:
        print_json(result)
    else:
        render()


def command(fn: F) -> F:
    """Wrap a command: configure logging from ``quiet``, map errors to messages and exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        log.configure(quiet=bool(kwargs.get("quiet", False)))
        try:
            return fn(*args, **kwargs)
        except MvklError as exc:
            msg = str(exc)
            log.stderr_console().print(f"[bold red]error[/bold red]: {escape(msg)}")
            if kwargs.get("json_out"):
                problems = [p.to_dict() for p in getattr(exc, "problems", [])]
                print_json({"ok": False, "error": {"type": type(exc).__name__, "message": msg,
                                                   "exit_code": exc.exit_code, "problems": problems}})
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            log.stderr_console().print("[bold red]interrupted[/bold red]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]
