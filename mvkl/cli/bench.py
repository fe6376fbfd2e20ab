"""`mvkl bench`: benchmarks of the hot paths, printing JSON figures (docs/PERFORMANCE.md).

Each entry lives in its own module under :mod:`mvkl.bench` and exposes ``register(app)``.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer

app = typer.Typer(
    help="Benchmarks of the hot paths; each prints figures (JSON with --json) and the machine.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

#: Entry modules under mvkl.bench, in the order of `mvkl bench --help`.
ENTRIES = ("hamming", "synth", "ingest", "store", "loader", "sampler", "train_step", "eval")


def render_figures(doc: dict[str, Any]) -> None:
    """Default human rendering of a benchmark document: one row per scalar figure."""
    from rich.table import Table

    from mvkl.log import stdout_console

    t = Table(title=f"mvkl bench {doc.get('bench', '')}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for k, v in doc.items():
        if k in ("bench", "machine") or isinstance(v, (dict, list)):
            continue
        t.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    con = stdout_console()
    con.print(t)
    m = doc.get("machine", {})
    con.print(f"machine: {m.get('cpu_model', m.get('processor'))}, {m.get('cpu_count')} cores, "
              f"torch threads {m.get('torch_threads')}" + (f", GPU {m['gpu']}" if m.get("gpu") else ""))


importlib.import_module("mvkl.cli.bench_method").register(app)
for _name in ENTRIES:
    importlib.import_module(f"mvkl.bench.{_name}").register(app)
importlib.import_module("mvkl.cli.deid").register_bench(app)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bench")
