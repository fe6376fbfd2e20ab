"""`run_ingest` wiring: seed and adapter options reach the adapter and the plan fingerprint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mvkl.errors import InputError
from mvkl.ingest.pipeline import IngestOptions, run_ingest
from mvkl.sources import ADAPTERS
from tests.sources import _layouts as L


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


def test_split_warnings_name_empty_and_single_class_splits() -> None:
    from mvkl.ingest.summary import split_warnings

    def c(m: int, b: int, u: int = 0) -> dict[str, int]:
        return {"lumps": m + b + u, "patients": m + b + u, "malignant": m, "benign": b, "unknown": u}

    assert split_warnings({"train": c(5, 5), "val": c(1, 1), "test": c(2, 1, 3)}) == []
    got = split_warnings({"train": c(5, 5), "val": c(0, 0), "test": c(0, 2, 1)})
    assert len(got) == 2 and "'val' is empty" in got[0] and "'test' holds only benign lumps (3)" in got[1]
    assert split_warnings({"train": c(0, 0, 4), "val": c(1, 1), "test": c(1, 1)}) == []  # unlabelled only


def test_ingest_warns_when_a_split_cannot_be_evaluated(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """5 INbreast fixture patients at 7:1:2 leave a split empty or one-class: the summary and the log say so."""
    src = tmp_path / "src"
    src.mkdir()
    L.make_inbreast(src)
    with caplog.at_level("WARNING", logger="mvkl.ingest.finalize"):
        doc = run_ingest(IngestOptions(source=src, out=tmp_path / "i.h5", format="inbreast", image_size=32,
                                       key_file=tmp_path / "k.key", quiet=True))
    bad = [n for n, c in doc["splits"].items()
           if c["lumps"] == 0 or (c["malignant"] + c["benign"] and not (c["malignant"] and c["benign"]))]
    assert bad, doc["splits"]  # the fixture is small enough to leave one
    assert [w.split("'")[1] for w in doc["split_warnings"]] == bad
    assert [r.getMessage() for r in caplog.records if "split '" in r.getMessage()] == doc["split_warnings"]
