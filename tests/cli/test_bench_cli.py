"""`mvkl bench` shells: the speed benchmarks render their figures as tables, and bad lists exit 2."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mvkl.cli.bench_speed import parse_counts
from mvkl.errors import InputError


def test_hamming_and_sampler_render_tables(run_cli: Callable[..., Any]) -> None:
    r = run_cli("bench", "hamming", "--n", "2000")
    assert r.exit_code == 0, r.stderr
    assert "one_to_n_popcount_ms" in r.stdout and "machine:" in r.stdout
    r = run_cli("bench", "sampler", "--sizes", "300", "--batch-size", "16", "--batches", "3", "--reference-max", "0")
    assert r.exit_code == 0, r.stderr
    assert "ManiNeg batch of 16" in r.stdout and "300 lumps" in r.stdout and "set-up (s)" in r.stdout


def test_bad_lists_exit_2(run_cli: Callable[..., Any]) -> None:
    r = run_cli("bench", "sampler", "--sizes", "10", "--batch-size", "16")
    assert r.exit_code == 2 and "--sizes" in r.stderr
    r = run_cli("bench", "ingest", "--workers", "0")
    assert r.exit_code == 2 and "--workers" in r.stderr
    r = run_cli("bench", "train-step", "--preset", "huge")
    assert r.exit_code == 2 and "code-compat" in r.stderr


def test_parse_counts() -> None:
    assert parse_counts("0, 2,4", "--workers", 0) == (0, 2, 4)
    with pytest.raises(InputError, match="comma-separated integers"):
        parse_counts("one", "--workers", 0)
    with pytest.raises(InputError, match=">= 1"):
        parse_counts("1,0", "--workers", 1)
