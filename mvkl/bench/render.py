"""Human rendering of benchmark documents (rich tables on stdout).

The benchmarks return plain JSON-able documents; these functions draw them. They live in the
library, not in :mod:`mvkl.cli`, so that any caller (the CLI, the demo, a notebook) renders a
figure document the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.table import Table

from mvkl.log import stdout_console

__all__ = ["flatten", "render_figures", "render_grid", "render_loader", "render_sampler"]


def render_figures(doc: dict[str, Any]) -> None:
    """Default rendering of a benchmark document: one row per scalar figure, then the machine."""
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


def flatten(doc: dict[str, Any]) -> dict[str, Any]:
    """One level of nesting flattened to ``section.figure`` keys for the human table."""
    flat: dict[str, Any] = {}
    for k, v in doc.items():
        if isinstance(v, dict) and k != "machine":
            for kk, vv in v.items():
                if not isinstance(vv, (dict, list)):
                    flat[f"{k}.{kk}"] = vv
        else:
            flat[k] = v
    return flat


def render_loader(doc: dict[str, Any]) -> None:
    """`bench loader`: the figures, then samples/s and first-batch time per worker count."""
    render_figures(doc)
    t = Table(title="DataLoader throughput")
    for c in ("workers", "samples/s", "first batch (s)"):
        t.add_column(c, justify="right")
    for r in doc["workers"]:
        t.add_row(str(r["workers"]), f"{r['samples_per_s']:.1f}", f"{r['first_batch_s']:.2f}")
    stdout_console().print(t)


#: Rows of the `bench sampler` table: document key, label, format.
_SAMPLER_ROWS = (
    ("n_unique", "distinct manifestations", "{}"), ("setup_s", "set-up (s)", "{:.3f}"),
    ("batch_median_ms", "batch, median (ms)", "{:.2f}"), ("batch_p95_ms", "batch, p95 (ms)", "{:.2f}"),
    ("compat_batch_median_ms", "compat batch, median (ms)", "{:.2f}"),
    ("index_mb", "index memory (MB)", "{:.1f}"), ("index_bytes_per_lump", "bytes per lump", "{:.0f}"),
    ("reference_setup_s", "original: set-up (s)", "{:.2f}"),
    ("reference_batch_median_ms", "original: batch, median (ms)", "{:.2f}"),
    ("speedup_setup", "speed-up, set-up", "{:.0f}x"),
    ("speedup_batch_vs_compat", "speed-up, batch (compat)", "{:.1f}x"),
)


def render_sampler(doc: dict[str, Any]) -> None:
    """`bench sampler`: the figures, then one column per data size."""
    render_figures(doc)
    t = Table(title=f"ManiNeg batch of {doc['batch_size']} ({doc['batches']} steps, μ 11 → 0 over 50 steps)")
    t.add_column("figure")
    for r in doc["sizes"]:
        t.add_column(f"{r['n_lumps']:,} lumps", justify="right")
    for key, name, fmt in _SAMPLER_ROWS:
        t.add_row(name, *(fmt.format(r[key]) if key in r else "-" for r in doc["sizes"]))
    stdout_console().print(t)


def render_grid(doc: dict[str, Any], first: str, cols: list[str], cell: Callable[[dict[str, Any], str], str],
                title: str) -> None:
    """A rows × columns table (cross-dataset, data-fraction): ``cell(row, column)`` fills it."""
    t = Table(title=title)
    t.add_column(first)
    for c in cols:
        t.add_column(c, justify="right")
    for r in doc["rows"]:
        t.add_row(r.get("row", r.get("model")), *[cell(r, c) for c in cols])
    stdout_console().print(t)
