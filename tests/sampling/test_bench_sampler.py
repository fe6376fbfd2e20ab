"""Smoke test of `mvkl bench sampler` (mvkl/bench/sampler.py) on tiny sizes."""

from __future__ import annotations

import json

from mvkl.bench.sampler import run


def test_run_small() -> None:
    doc = run((300,), batch_size=16, batches=5, reference_max=300)
    row = doc["sizes"][0]
    assert row["n_lumps"] == 300 and row["batch_median_ms"] > 0 and row["setup_s"] > 0
    assert row["reference_batch_median_ms"] > 0 and row["speedup_setup"] > 0
    assert doc["meets_targets"] in (True, False)


def test_cli_json(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("bench", "sampler", "--sizes", "200", "--batch-size", "16", "--batches", "3",
                "--reference-max", "0", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["bench"] == "sampler" and "reference_setup_s" not in doc["sizes"][0]
    r = run_cli("bench", "sampler", "--sizes", "abc")
    assert r.exit_code == 2
