"""`run_ingest` wiring: seed and adapter options reach the adapter and the plan fingerprint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mvkl.datasets import ADAPTERS
from mvkl.errors import InputError
from mvkl.ingest.pipeline import IngestOptions, run_ingest
from tests.datasets import _layouts as L


class _Killed(BaseException):
    """Stands for a kill after every unit was journalled, before the store was written."""


def _interrupted(monkeypatch: pytest.MonkeyPatch, opts: IngestOptions) -> None:
    import mvkl.ingest.pipeline as P

    def die(*_a: Any, **_k: Any) -> None:
        raise _Killed

    with monkeypatch.context() as m:
        m.setattr(P, "finalize", die)
        with pytest.raises(_Killed):
            run_ingest(opts)
    assert Path(str(opts.out) + ".partial").is_dir() and not Path(opts.out).exists()


def test_resume_with_other_seed_or_options_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed and the adapter options are part of the plan fingerprint, even where (as here, on a
    tiny VinDr tree with the default 10 % validation) they do not change a single record."""
    src = tmp_path / "src"
    src.mkdir()
    L.make_vindr(src)
    ad = ADAPTERS["vindr"]
    base = [(r.lump_key, r.split, r.label) for r in ad.read(src).records]
    assert base == [(r.lump_key, r.split, r.label) for r in ad.read(src, seed=1, options={"birads3": "benign"}).records]
    out = tmp_path / "v.h5"

    def opts(**kw: Any) -> IngestOptions:
        return IngestOptions(source=src, out=out, format="vindr", image_size=32, key_file=tmp_path / "k.key",
                             quiet=True, **kw)

    _interrupted(monkeypatch, opts())
    for other in ({"seed": 1}, {"adapter_options": {"birads3": "benign"}}):
        with pytest.raises(InputError, match="fingerprint"):
            run_ingest(opts(resume=True, **other))
    doc = run_ingest(opts(resume=True))
    assert doc["resumed_images"] == doc["images"]["planned"] > 0 and out.is_file()
