"""`mvkl bench`: benchmarks of the hot paths, printing JSON figures (docs/PERFORMANCE.md).

The measurements are library functions in :mod:`mvkl.bench` (speed) and
:mod:`mvkl.evaluation.protocols` (the paper's Table 4 and Fig. 5); their Typer shells are
:mod:`mvkl.cli.bench_speed` and :mod:`mvkl.cli.bench_paper`; the method benchmark (paper Tables 5, 6) is
:mod:`mvkl.evaluation.method` with its shell :mod:`mvkl.cli.bench_method`.
"""

from __future__ import annotations

import typer

from mvkl.cli import bench_method, bench_paper, bench_speed, deid

app = typer.Typer(
    help="Benchmarks of the hot paths; each prints figures (JSON with --json) and the machine.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

bench_method.register(app)  # the paper's ablations first in `mvkl bench --help`
bench_speed.register(app)
bench_paper.register(app)
deid.register_bench(app)


def register(root: typer.Typer) -> None:
    """Add `mvkl bench` to the root Typer app."""
    root.add_typer(app, name="bench")
