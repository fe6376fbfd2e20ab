"""Filesystem helpers: atomic outputs (nothing half-written at a final path) and safe display
of paths (never an absolute path in outputs, README "CLI conventions")."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_json", "atomic_write_text", "display_path"]


@contextlib.contextmanager
def atomic_path(final: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``final``; on success rename it over ``final``.

    On any exception the temporary file is removed and ``final`` is left untouched, so a crash or
    a kill never leaves a half-written file at the final path. The rename is atomic on POSIX.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix + ".tmp", dir=final.parent)
    os.close(fd)
    # mkstemp creates 0600 files; give outputs the permissions a plain open() would (umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int = 2) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, ensure_ascii=False, default=str) + "\n")


def display_path(path: str | os.PathLike[str], base: str | os.PathLike[str] | None = None) -> str:
    """A path fit for messages: relative to ``base`` (default: the working directory) when it lies
    below it, otherwise only its final component. Never an absolute path."""
    p = Path(path)
    b = Path(base) if base is not None else Path.cwd()
    try:
        return str(p.resolve().relative_to(b.resolve()))
    except (ValueError, OSError):
        return p.name if p.is_absolute() else str(p)
