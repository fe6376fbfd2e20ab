"""`mvkl deid text`: scrub a text file or one column of a CSV table (issue 15)."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example, print_json
from mvkl.deid.bench import evaluate, make_corpus
from mvkl.deid.scrub import scrub_counts
from mvkl.errors import InputError

__all__ = ["register"]

Scrub = Callable[[str, Iterable[str], str], tuple[str, dict[str, int]]]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"{path.name}: byte {e.start} is not UTF-8", code="input") from None
    except OSError as e:
        raise InputError(f"{path.name}: cannot read ({type(e).__name__})", code="input") from None


def _scrub_table(text: str, name: str, column: str, lang: str, counts: dict[str, int], scrub: Scrub) -> str:
    rows = list(csv.reader(text.splitlines()))
    if not rows or column not in rows[0]:
        raise InputError(f"{name}: no column named {column!r} in the header row", code="input")
    col = rows[0].index(column)
    for i, row in enumerate(rows[1:], start=2):
        if len(row) <= col:
            raise InputError(f"{name}: row {i}, column {column!r}: row has too few cells", code="input")
        row[col], c = scrub(row[col], (), lang)
        for k, n in c.items():
            counts[k] = counts.get(k, 0) + n
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def register(root: typer.Typer) -> None:
    """Add `mvkl deid text` to the root app."""
    app = typer.Typer(help="De-identification of free text (reports shared without images).", no_args_is_help=True)
    root.add_typer(app, name="deid")

    @app.command("text", epilog=example("mvkl deid text reports.txt --out clean.txt --report",
                                        "mvkl deid text table.csv --column report --out clean.csv"))
    @command
    def text_cmd(
        path: Annotated[Path, typer.Argument(help="UTF-8 text file, or a CSV table with --column.")],
        out: Annotated[Path | None, typer.Option("--out", help="Where to write the scrubbed text (stdout if absent).")
                       ] = None,
        column: Annotated[str | None, typer.Option("--column", help="Scrub this column of a CSV table.")] = None,
        lang: Annotated[str, typer.Option("--lang", help="auto, zh or en.")] = "auto",
        report: Annotated[bool, typer.Option("--report", help="Print per-category counts (never values).")] = False,
        report_scrub: Annotated[str, typer.Option("--report-scrub", help="standard, or strict: also drop every "
                                                  "sentence that still holds a proper-noun-like token.")
                                ] = "standard",
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Scrub names, addresses, institutions, dates, phones, IDs and e-mails from free text."""
        if lang not in ("auto", "zh", "en"):
            raise InputError(f"--lang must be auto, zh or en, got {lang!r}", code="option")
        if report_scrub not in ("standard", "strict"):
            raise InputError(f"--report-scrub must be standard or strict, got {report_scrub!r}", code="option")
        scrub: Scrub = scrub_counts
        if report_scrub == "strict":
            from mvkl.deid.strict import strict_counts

            scrub = strict_counts
        text = _read(path)
        counts: dict[str, int] = {}
        if column is None:
            clean, counts = scrub(text, (), lang)
        else:
            clean = _scrub_table(text, path.name, column, lang, counts, scrub)
        if out is None:
            sys.stdout.write(clean)
        else:
            tmp = out.with_name(out.name + ".part")
            tmp.write_text(clean, encoding="utf-8")
            tmp.replace(out)
        if report or json_out:
            doc = {"replaced": dict(sorted(counts.items())), "total": sum(counts.values())}
            emit(doc, json_out, lambda: typer.echo(
                ", ".join(f"{k} {n}" for k, n in doc["replaced"].items()) or "nothing replaced", err=out is None))


def register_bench(bench_app: typer.Typer) -> None:
    """Add `mvkl bench deid` (recall per category on a seeded dev and a held-out corpus)."""

    @bench_app.command("deid", epilog=example("mvkl bench deid --n 2400 --json"))
    @command
    def bench_deid(
        n: Annotated[int, typer.Option("--n", min=20, help="Sentences per corpus (half zh, half en).")] = 2400,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Scrubber recall (no surviving fragment) and clinical-word retention: dev and held-out corpora, the
        held-out one also as ingest joins its lines and with --report-scrub strict."""
        from mvkl.deid.battery import battery_recall
        from mvkl.deid.scrub import scrub_report
        from mvkl.deid.strict import strict_report
        from mvkl.sources.base import normalize_report

        held_out = make_corpus(n, seed=1, templates="all")
        doc = {"bench": "deid",
               "development": evaluate(make_corpus(n, seed=0, templates="even")),
               "held_out": evaluate(held_out),
               # as ingest stores reports: lines joined without a separator, then scrubbed
               "held_out_ingest": evaluate(held_out, lambda t: scrub_report(normalize_report(t))[0]),
               "held_out_strict": evaluate(held_out, lambda t: strict_report(t)[0]),
               "hand_written": {"standard": battery_recall(lambda t: scrub_report(t)[0]),
                                "strict": battery_recall(lambda t: strict_report(t)[0])}}
        emit(doc, json_out, lambda: print_json(doc))
