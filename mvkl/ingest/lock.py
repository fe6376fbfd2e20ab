"""One writer per store: an exclusive lock on ``--out`` and its work directory (issue 18).

The lock is the file ``STORE.h5.lock`` next to the store (named from the store path resolved
through symlinks, so two spellings of one store share it). It holds a JSON line with the
holder's PID, host and start time (UTC), and it is held with ``flock(LOCK_EX | LOCK_NB)``: the
kernel drops the lock when the holder exits in any way (``kill -9`` included), so a lock file
left behind by a dead run is stale by construction and simply taken over (a log line says
so). Where ``flock`` is unavailable the file is created with ``O_EXCL`` and a file naming a
process that no longer runs on this host is stale.

A second ingest on the same store (``--overwrite``, ``--resume`` and ``--append`` included) is
refused with exit 2 naming the running process, before it reads or deletes anything.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from mvkl.errors import InputError
from mvkl.fsutil import display_path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["StoreLock", "lock_path"]

log = logging.getLogger(__name__)


def lock_path(out: Path) -> Path:
    """The lock file of the store ``out`` (resolved through symlinks)."""
    real = Path(os.path.realpath(out))
    return real.with_name(real.name + ".lock")


def _holder_text(info: dict[str, Any]) -> str:
    pid, host, started = info.get("pid", "?"), info.get("host", "?"), info.get("started", "?")
    return f"PID {pid} on host {host}, started {started}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


class StoreLock:
    """An exclusive lock on one store; use as a context manager or :meth:`acquire`/:meth:`release`."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.path = lock_path(self.out)
        self._fd: int | None = None

    @staticmethod
    def _read(fd_or_path: int | Path) -> dict[str, Any]:
        try:
            if isinstance(fd_or_path, int):
                os.lseek(fd_or_path, 0, os.SEEK_SET)
                raw = os.read(fd_or_path, 4096)
            else:
                raw = Path(fd_or_path).read_bytes()[:4096]
            doc = json.loads(raw.decode("utf-8") or "{}")
            return doc if isinstance(doc, dict) else {}
        except (OSError, ValueError):
            return {}

    def _refuse(self, info: dict[str, Any]) -> InputError:
        return InputError(f"another ingest is writing this store ({_holder_text(info)}); wait for it to finish "
                          "or stop it. Nothing was changed (not even with --overwrite)",
                          file=display_path(self.out), code="locked")

    def _write_info(self, fd: int) -> None:
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(info) + "\n").encode("utf-8"))
        os.fsync(fd)

    def acquire(self) -> StoreLock:
        """Take the lock.

        Raises:
            InputError: (exit 2, code ``locked``) another live process holds it.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover - not POSIX
            return self._acquire_excl()
        for _ in range(20):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                info = self._read(fd)
                os.close(fd)
                raise self._refuse(info) from None
            # the holder may have released and unlinked the file between our open and flock
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            old = self._read(fd)
            if old.get("pid"):
                log.info("took over a stale ingest lock (%s; that process has ended)", _holder_text(old))
            self._write_info(fd)
            self._fd = fd
            return self
        raise InputError("could not take the ingest lock (it changed hands repeatedly)",  # pragma: no cover
                         file=display_path(self.out), code="locked")

    def _acquire_excl(self) -> StoreLock:  # pragma: no cover - the non-POSIX fallback
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                info = self._read(self.path)
                pid = info.get("pid")
                if info.get("host") == socket.gethostname() and isinstance(pid, int) and not _pid_alive(pid):
                    log.info("removed a stale ingest lock (%s; that process has ended)", _holder_text(info))
                    with contextlib.suppress(FileNotFoundError):
                        self.path.unlink()
                    continue
                raise self._refuse(info) from None
            self._write_info(fd)
            self._fd = fd
            return self
        raise InputError("could not take the ingest lock", file=display_path(self.out), code="locked")

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)  # closing drops the flock
        self._fd = None

    def __enter__(self) -> StoreLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
