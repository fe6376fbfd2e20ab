"""`mvkl bench`: benchmarks of the hot paths, printing JSON figures (docs/PERFORMANCE.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example

app = typer.Typer(
    help="Benchmarks of the hot paths; each prints figures (JSON with --json) and the machine.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


def _render(doc: dict) -> None:  # type: ignore[type-arg]
    from rich.table import Table

    from mvkl.log import stdout_console

    t = Table(title=f"mvkl bench {doc.get('bench', '')}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for k, v in doc.items():
        if k in ("bench", "machine") or isinstance(v, (dict, list)):
            continue
        t.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    stdout_console().print(t)
    m = doc.get("machine", {})
    stdout_console().print(f"machine: {m.get('cpu_model', m.get('processor'))}, {m.get('cpu_count')} cores, "
                           f"torch threads {m.get('torch_threads')}")


@app.command("hamming", epilog=example("mvkl bench hamming --n 1000000"))
@command
def hamming_cmd(
    n: Annotated[int, typer.Option("--n", min=1, help="Number of vectors to compare against.")] = 1_000_000,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Distances from one manifestation vector to N others (uint64 popcount vs unpacked numpy)."""
    from mvkl.bench.hamming import run

    doc = run(n=n, seed=seed)
    emit(doc, json_out, lambda: _render(doc))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="bench")
