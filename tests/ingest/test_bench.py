"""The ingest and store benchmarks run and report their figures (tiny sizes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mvkl.bench import ingest as bench_ingest
from mvkl.bench import store as bench_store


def test_bench_ingest_figures() -> None:
    doc = bench_ingest.run(n=3, n_full=2, unique=2, image_size=32, workers=(1,), repeat=1,
                           sizes={"synthetic": (96, 80), "full_field": (160, 128)})
    for kind in ("synthetic", "full_field"):
        assert doc[f"{kind}_load_image_per_s_1_core"] > 0
        assert doc[f"{kind}_pipeline_1w_per_s"] > 0 and doc[f"{kind}_pipeline_1w_decode_per_s"] > 0
    assert doc["full_field_shape"] == "160x128" and doc["machine"]["cpu_count"]


def test_bench_store_figures(run_cli: Callable[..., Any]) -> None:
    doc = bench_store.run(n=40, size=32, reads=200)
    assert doc["images"] == 40 and doc["random_reads_per_s"] > 0 and doc["worker_random_reads_per_s"] > 0
    res = run_cli("bench", "store", "--help")
    assert res.exit_code == 0 and "mvkl bench store" in res.stdout
