"""The method benchmark (`mvkl bench method`): paper Tables 5 and 6 on one store, over seeds.

:func:`run_method_bench` trains and evaluates every row (:mod:`.rows`), :func:`.stats.summarize`
turns the saved test predictions into the figures, :mod:`.report` draws the table and the chart,
:mod:`.alignment` measures retrieval and zero-shot classification of the text branch.
"""

from mvkl.evaluation.method.findings import findings
from mvkl.evaluation.method.rows import ROWS, Row, parse_rows
from mvkl.evaluation.method.run import (
    MethodBenchOptions,
    read_predictions,
    recompute,
    run_method_bench,
    summarize_run,
)

__all__ = ["ROWS", "MethodBenchOptions", "Row", "findings", "parse_rows", "read_predictions", "recompute",
           "run_method_bench", "summarize_run", "write_report"]


def write_report(doc: dict, out: str) -> dict:
    """Write ``OUT/method.md`` (tables) and ``OUT/method.png`` (chart); returns their names."""
    from pathlib import Path

    from mvkl.evaluation.method.report import comparisons_table, markdown_table, plot_method
    from mvkl.fsutil import atomic_write_text

    o = Path(out)
    plot_method(doc, o / "method.png")
    shown = "".join(f"- {f['text']}\n" for f in findings(doc))
    text = ("# Method benchmark\n\n" + markdown_table(doc) + "\n## Hard negatives and modalities, paired\n\n"
            + comparisons_table(doc) + f"\n{doc['n_test']} test images ({doc['n_test_malignant']} malignant), "
            f"{doc['seeds']} seeds, {doc['n_boot']} bootstrap replicates.\n\n## What the figures show\n\n"
            + shown + "\n![method](method.png)\n")
    atomic_write_text(o / "method.md", text)
    return {"table": "method.md", "chart": "method.png"}
