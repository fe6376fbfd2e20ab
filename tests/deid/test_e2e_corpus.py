"""End to end (issue 15): the planted corpus of `mvkl bench deid` as the reports of synthetic zh and en
sources, ingested with both report-scrub modes; no planted identifier is in any output byte."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py

from mvkl.deid.bench import Planted, make_corpus
from tests.deid.sources import files, make_source
from tests.ingest.test_leak import find_leaks, hdf5_strings

_CJK = re.compile("[\u3400-\u9fff]")


def _needles(p: Planted) -> set[str]:
    """What must not survive of one planted identifier: the value (a line break as a space or as
    nothing), and for names every part of 2+ CJK or 4+ Latin characters; for an age over 89 the
    number with its unit."""
    if p.kind == "age":
        return {f"{p.value}岁", f"{p.value}-year"}
    out = {p.value.replace("\n", " "), p.value.replace("\n", "")}
    if p.kind == "name":
        out |= {t for t in p.value.split() if len(t) >= (2 if _CJK.search(t) else 4)}
    return out


def _reports(corpus: list[Planted], per: int) -> list[str]:
    out = []
    for lang in ("zh", "en"):
        texts = [p.text for p in corpus if p.lang == lang]
        out += ["\n".join(texts[i:i + per]) for i in range(0, len(texts), per)]
    return out


def _search(blobs: dict[str, bytes | str], needles: list[str]) -> list[tuple[str, str]]:
    """find_leaks (UTF-8 and UTF-16, any case) for needles of 3+ characters; shorter ones (two
    Chinese characters, 4 bytes in UTF-16, could match pixel bytes by chance) in text and UTF-8."""
    long_ = [n for n in needles if len(n) >= 3]
    hits = find_leaks(blobs, long_)
    for where, blob in blobs.items():
        text = blob if isinstance(blob, str) else blob.decode("utf-8", "ignore")
        hits += [(where, n) for n in needles if len(n) < 3 and n in text]
    return hits


def test_planted_corpus_never_reaches_any_output(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    corpus = make_corpus(480, seed=7, templates="all")
    assert {p.form for p in corpus} == {"plain", "mixed-script", "line-break", "fullwidth"}
    reports = _reports(corpus, per=8)
    src = tmp_path / "src"
    make_source(src, reports, hostile=False)
    needles = sorted({n for p in corpus for n in _needles(p)})
    assert len(_search({"manifest": (src / "manifest.csv").read_bytes()}, needles)) >= len(needles) * 0.9
    outdir, key = tmp_path / "out", tmp_path / "k.key"
    outdir.mkdir()
    printed: dict[str, bytes | str] = {}
    for mode in ("standard", "strict"):
        res = run_cli("ingest", src, "--format", "csv", "--out", outdir / f"{mode}.h5", "--image-size", "32",
                      "--key-file", key, "--workers", "1", "--report-scrub", mode, "--json")
        assert res.exit_code == 0, res.stderr
        printed[mode] = res.stdout + res.stderr
        printed[f"{mode} hdf5 strings"] = hdf5_strings(outdir / f"{mode}.h5")
    res = run_cli("ingest", src, "--format", "csv", "--out", outdir / "q.h5", "--image-size", "32",
                  "--key-file", key, "--workers", "1", "--strict", "--quarantine-report", outdir / "q.json")
    printed["--strict"] = res.stdout + res.stderr
    blobs: dict[str, bytes | str] = {**files(outdir), **printed}
    assert _search(blobs, needles) == []
    # positive controls: the reports are stored, scrubbed, their clinical clauses kept
    with h5py.File(outdir / "standard.h5", "r") as f:
        stored = [r.decode() for r in f["lumps/report"][()]]
    assert len(stored) == len(reports)
    assert all("[" in r for r in stored) and sum("BI-RADS 4A" in r for r in stored) >= len(reports) // 4
    assert any("边缘毛刺" in r for r in stored) and any("spiculated margins" in r for r in stored)
    for mode in ("standard", "strict"):  # the store records the mode
        with h5py.File(outdir / f"{mode}.h5", "r") as f:
            assert json.loads(f.attrs["deid"])["ingest"]["report_scrub"] == mode
