"""Fault injection for ``mvkl ingest`` (issue 18 item 8).

:func:`install` wraps one point of the pipeline so that its ``n``-th event fails in one of these
modes: ``kill`` (the process SIGKILLs itself; only in a process of its own), ``raise`` (an
injected ``RuntimeError``), ``torn`` (half of a journal line is written, then the process is
killed) or ``enospc`` (``OSError(ENOSPC)``, a full disk). Points:

* ``tables``: after the tables were read, before planning;
* ``decode``: before the n-th image is decoded;
* ``pixels``: after the n-th unit's pixels were written, before its journal line;
* ``journal``: after the n-th unit was committed;
* ``finalize``: before the final store is written;
* ``store``: while the final store's pixels are written (after the first block), leaving a
  half-written ``store.h5`` in the work directory;
* ``enospc-pixels``: the n-th write of the pixel file (use with ``enospc``);
* ``cleanup``: after the final rename, before the work directory is removed.

``python -m tests.ingest.faultingest ARGS`` runs the real CLI with ``$MVKL_TEST_FAULT`` =
``point:n:mode`` installed.
"""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Callable
from typing import Any

POINTS = ("tables", "decode", "pixels", "journal", "finalize", "cleanup")


def fail(mode: str) -> None:
    """Fail now, in ``mode``."""
    if mode in ("kill", "torn"):
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    raise RuntimeError("injected fault")


class _Counter:
    def __init__(self, n: int, mode: str) -> None:
        self.n, self.mode, self.seen = n, mode, 0

    def hit(self) -> bool:
        self.seen += 1
        return self.seen == self.n


class _Proxy:
    """A file object whose n-th ``write`` fails (``torn``: after writing half of the data)."""

    def __init__(self, fh: Any, counter: _Counter) -> None:
        self._fh, self._c = fh, counter

    def write(self, data: Any) -> int:
        if self._c.hit():
            if self._c.mode == "torn":
                self._fh.write(data[: len(data) // 2])
                self._fh.flush()
            fail(self._c.mode)
        return int(self._fh.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def install(point: str, n: int, mode: str) -> Callable[[], None]:
    """Install the fault; returns a function that removes it."""
    from mvkl.ingest import decode, finalize, pipeline, writer

    c = _Counter(n, mode)
    undo: list[tuple[Any, str, Any]] = []

    def patch(obj: Any, name: str, new: Any) -> None:
        old = obj.__dict__[name] if isinstance(obj, type) else getattr(obj, name)  # keep a classmethod as one
        undo.append((obj, name, old))
        setattr(obj, name, new)

    if point == "tables":
        real_plan = pipeline.build_plan

        def plan(*a: Any, **k: Any) -> Any:
            if c.hit():
                fail(mode)
            return real_plan(*a, **k)

        patch(pipeline, "build_plan", plan)
    elif point == "decode":
        real_decode = decode.decode_image

        def dec(*a: Any, **k: Any) -> Any:
            if c.hit():
                fail(mode)
            return real_decode(*a, **k)

        patch(decode, "decode_image", dec)
    elif point in ("pixels", "enospc-pixels"):
        real_open = writer.WorkDir.open.__func__  # type: ignore[attr-defined]

        def open_(cls: Any, *a: Any, **k: Any) -> Any:
            wd = real_open(cls, *a, **k)
            if point == "pixels":
                wd._jnl = _Proxy(wd._jnl, c)
            else:
                wd._pix = _Proxy(wd._pix, c)
            return wd

        patch(writer.WorkDir, "open", classmethod(open_))
    elif point == "journal":
        real_commit = writer.WorkDir.commit

        def commit(self: Any, *a: Any, **k: Any) -> None:
            real_commit(self, *a, **k)
            if c.hit():
                fail(mode)

        patch(writer.WorkDir, "commit", commit)
    elif point == "finalize":
        real_final = finalize.write_final

        def final(*a: Any, **k: Any) -> Any:
            if c.hit():
                fail(mode)
            return real_final(*a, **k)

        patch(finalize, "write_final", final)
    elif point == "store":
        real_blocks = writer._blocks

        def blocks(*a: Any, **k: Any) -> Any:
            for i, b in enumerate(real_blocks(*a, **k)):
                if i == 1 or c.hit():
                    fail(mode)
                yield b

        patch(writer, "_blocks", blocks)
    elif point == "cleanup":
        real_remove = writer.WorkDir.remove

        def remove(self: Any) -> None:
            if self.fingerprint and c.hit():  # the remove after the final rename (not a stale-dir one)
                fail(mode)
            real_remove(self)

        patch(writer.WorkDir, "remove", remove)
    else:
        raise ValueError(f"unknown fault point {point!r}")

    def uninstall() -> None:
        for obj, name, old in reversed(undo):
            setattr(obj, name, old)

    return uninstall


if __name__ == "__main__":
    spec = os.environ.get("MVKL_TEST_FAULT", "")
    if spec:
        p, k, m = spec.split(":")
        install(p, int(k), m)
    from mvkl.cli.main import run

    run()
