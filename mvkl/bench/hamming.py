"""Benchmark: Hamming distances from one manifestation vector to N others (packed popcount)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import typer

from mvkl.bench import machine_info, timeit
from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example
from mvkl.manifest import DIM, hamming, pack


def run(n: int = 1_000_000, seed: int = 0, repeat: int = 7) -> dict[str, Any]:
    """Time ``hamming(q, packed)`` for ``n`` random vectors, against a plain numpy
    ``(vectors != q).sum(1)`` on the unpacked 0/1 matrix (the straightforward approach)."""
    rng = np.random.default_rng(seed)
    vectors = (rng.random((n, DIM)) < 0.15).astype(np.uint8)
    t_pack = timeit(lambda: pack(vectors), repeat=3)
    packed = pack(vectors)
    q = packed[0]
    t_pop = timeit(lambda: hamming(q, packed), repeat=repeat)
    t_naive = timeit(lambda: (vectors != vectors[0]).sum(axis=1), repeat=3)
    assert np.array_equal(hamming(q, packed), (vectors != vectors[0]).sum(axis=1))
    return {
        "bench": "hamming",
        "n": n,
        "dim": DIM,
        "one_to_n_popcount_ms": t_pop["median_s"] * 1e3,
        "one_to_n_unpacked_numpy_ms": t_naive["median_s"] * 1e3,
        "speedup": t_naive["median_s"] / t_pop["median_s"],
        "pack_ms": t_pack["median_s"] * 1e3,
        "machine": machine_info(),
    }


def register(app: typer.Typer) -> None:
    """Add `mvkl bench hamming` to the bench Typer app."""

    @app.command("hamming", epilog=example("mvkl bench hamming --n 1000000"))
    @command
    def hamming_cmd(
        n: Annotated[int, typer.Option("--n", min=1, help="Number of vectors to compare against.")] = 1_000_000,
        seed: Annotated[int, typer.Option("--seed")] = 0,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Distances from one manifestation vector to N others (uint64 popcount vs unpacked numpy)."""
        from mvkl.cli.bench import render_figures

        doc = run(n=n, seed=seed)
        emit(doc, json_out, lambda: render_figures(doc))
