"""Shared ingest test fixtures (import them into a test module to use them)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from mvkl.ingest.pipeline import run_ingest
from mvkl.ingest.writer import WorkDir
from tests.ingest.dicomfiles import make_mvkl_source


@pytest.fixture(scope="session")
def mg_source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """An MVKL-layout source with real DICOM files (10 patients, 4 with hostile files)."""
    root = tmp_path_factory.mktemp("mg") / "src"
    return root, make_mvkl_source(root)


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pseudonym key path (created by the first ingest)."""
    return tmp_path_factory.mktemp("key") / "pseudonym.key"


@pytest.fixture(scope="session")
def mg_store(mg_source: tuple[Path, dict[str, Any]], key_file: Path,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """``mg_source`` ingested once (64 px, 1 worker); returns the store and the summary."""
    from mvkl.ingest.pipeline import IngestOptions, run_ingest

    out = tmp_path_factory.mktemp("store") / "mg.h5"
    doc = run_ingest(IngestOptions(source=mg_source[0], out=out, image_size=64, key_file=key_file, quiet=True))
    return out, doc


def store_digest(path: Path) -> str:
    """Hash of every dataset (values and dtypes) and the content attributes of a store."""
    h = hashlib.sha256()
    with h5py.File(path, "r") as f:
        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                h.update(name.encode())
                h.update(str(obj.dtype).encode())
                if data.dtype == object:
                    h.update(json.dumps([x.decode() if isinstance(x, bytes) else str(x) for x in data]).encode())
                else:
                    h.update(np.ascontiguousarray(data).tobytes())

        f.visititems(visit)
        for k in sorted(f.attrs):
            h.update(k.encode())
            h.update(str(f.attrs[k]).encode())
    return h.hexdigest()


def run_ok(run_cli: Callable[..., Any], *args: Any) -> Any:
    res = run_cli(*args)
    assert res.exit_code == 0, res.stdout + res.stderr
    return res


class Killed(BaseException):
    """Stands for a kill right after a unit was journalled (:func:`ingest_killed_after`)."""


def ingest_killed_after(opts: Any, units: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run an ingest that dies (:class:`Killed`) right after its ``units``-th journal commit,
    leaving an interrupted work directory for a ``--resume`` to continue."""
    real = WorkDir.commit

    def commit_then_die(self: WorkDir, entry: dict[str, object], pixels: list[np.ndarray]) -> None:
        real(self, entry, pixels)
        if len(self.units) == units:
            raise Killed

    with monkeypatch.context() as m:
        m.setattr(WorkDir, "commit", commit_then_die)
        with pytest.raises(Killed):
            run_ingest(opts)
