"""`mvkl manifest`: show, validate, encode, decode and textualise manifestation tables (Table 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example
from mvkl.errors import InputError

app = typer.Typer(
    help="The 35-dim manifestation schema (paper Table 1): show, validate, encode, decode.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)

LayoutOpt = Annotated[
    str, typer.Option("--layout", help="auto | wide | readable | positional (MVKL columns 8:-1).")
]
EmptyOpt = Annotated[str, typer.Option("--empty", help="What an empty cell means: absent | unknown.")]
SheetOpt = Annotated[str | None, typer.Option("--sheet", help="Sheet name or 1-based number (xlsx/xls).")]
IdOpt = Annotated[
    str | None,
    typer.Option("--id-columns", help="Comma-separated columns that identify a lump (duplicate check)."),
]


def _check_choice(value: str, choices: tuple[str, ...], option: str) -> str:
    if value not in choices:
        raise InputError(f"{option} must be one of {', '.join(choices)}; got {value!r}")
    return value


def _sheet(s: str | None) -> int | str | None:
    if s is None:
        return None
    return int(s) if s.isdigit() else s


def _load(table: Path, layout: str, empty: str, sheet: str | None, id_columns: str | None):  # type: ignore[no-untyped-def]
    from mvkl.manifest.table import validate_table

    _check_choice(layout, ("auto", "wide", "readable", "positional"), "--layout")
    _check_choice(empty, ("absent", "unknown"), "--empty")
    ids = [c.strip() for c in id_columns.split(",")] if id_columns else None
    return validate_table(table, layout=layout, empty=empty, id_columns=ids,  # type: ignore[arg-type]
                          sheet=_sheet(sheet))


@app.command("show", epilog=example("mvkl manifest show", "mvkl manifest show --lang zh --json"))
@command
def show(
    lang: Annotated[str, typer.Option("--lang", help="Label language: en | zh.")] = "en",
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Print the schema: 8 exclusive groups and 9 independent signs, 35 dimensions in order."""
    from rich.table import Table

    from mvkl.log import stdout_console
    from mvkl.manifest import schema as S

    _check_choice(lang, ("en", "zh"), "--lang")
    doc = {
        "dim": S.DIM,
        "groups": [
            {"key": g.key, "en": g.en, "zh": g.zh, "exclusive": g.exclusive,
             "options": [{"index": o.index, "key": o.key, "en": o.en, "zh": o.zh, "aliases": list(o.aliases)}
                         for o in g.options]}
            for g in S.GROUPS
        ],
    }

    def render() -> None:
        t = Table(title=f"Manifestation schema ({S.DIM} dimensions, paper Table 1)")
        for c in ("dim", "group", "option", "key", "exclusive"):
            t.add_column(c)
        for g in S.GROUPS:
            for o in g.options:
                t.add_row(str(o.index), getattr(g, lang), getattr(o, lang), o.key, "yes" if g.exclusive else "no")
        stdout_console().print(t)

    emit(doc, json_out, render)


@app.command(
    "validate",
    epilog=example("mvkl manifest validate annotation/train_20220901.xlsx",
                   "mvkl manifest validate lumps.csv --layout readable --json"),
)
@command
def validate(
    table: Annotated[Path, typer.Argument(help="CSV, XLSX, XLS or Parquet table.")],
    layout: LayoutOpt = "auto",
    empty: EmptyOpt = "absent",
    sheet: SheetOpt = None,
    id_columns: IdOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check a manifestation table; list every problem with file, row and column (exit 2 if any)."""
    from rich.table import Table

    from mvkl.errors import ValidationFailed
    from mvkl.fsutil import display_path
    from mvkl.log import stdout_console

    mt = _load(table, layout, empty, sheet, id_columns)
    known_frac = float(mt.known.mean()) if mt.known.size else 0.0
    doc = {
        "ok": mt.ok, "file": display_path(table), "rows": mt.frame.height, "layout": mt.layout,
        "manifest_columns": len(mt.manifest_columns), "known_fraction": round(known_frac, 4),
        "problems": [p.to_dict() for p in mt.problems],
    }

    def render() -> None:
        con = stdout_console()
        if mt.ok:
            con.print(f"[green]ok[/green] {doc['file']}: {doc['rows']} rows, layout {mt.layout}, "
                      f"{len(mt.manifest_columns)} manifestation columns, "
                      f"{known_frac:.1%} of dimensions known")
            return
        t = Table(title=f"{len(mt.problems)} problem(s) in {doc['file']}")
        for c in ("row", "column", "problem"):
            t.add_column(c)
        for p in mt.problems:
            t.add_row("" if p.row is None else str(p.row), p.column or "", p.message)
        con.print(t)

    emit(doc, json_out, render)
    if not mt.ok:
        if not json_out:
            from mvkl.log import stderr_console

            stderr_console().print(f"[bold red]error[/bold red]: {len(mt.problems)} problem(s) found")
        raise typer.Exit(ValidationFailed(mt.problems).exit_code)


@app.command("encode", epilog=example("mvkl manifest encode readable.xlsx -o wide.xlsx"))
@command
def encode(
    table: Annotated[Path, typer.Argument(help="Table in the readable (or wide) layout.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv, .xlsx, .parquet).")],
    names: Annotated[str, typer.Option("--names", help="Column names: key | en | zh.")] = "key",
    layout: LayoutOpt = "auto",
    empty: EmptyOpt = "absent",
    sheet: SheetOpt = None,
    id_columns: IdOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Readable -> wide binary (35 0/1 columns), keeping the other columns."""
    from mvkl.fsutil import display_path
    from mvkl.log import stdout_console
    from mvkl.manifest.table import encode_frame, write_table

    _check_choice(names, ("key", "en", "zh"), "--names")
    mt = _load(table, layout, empty, sheet, id_columns)
    mt.raise_if_invalid(display_path(table))
    df = encode_frame(mt, column_names=names)  # type: ignore[arg-type]
    write_table(df, out)
    doc = {"ok": True, "rows": df.height, "columns": df.width, "out": display_path(out), "from_layout": mt.layout}
    emit(doc, json_out, lambda: stdout_console().print(
        f"wrote {doc['out']}: {df.height} rows, {df.width} columns (35 manifestation dimensions)"))


@app.command("decode", epilog=example("mvkl manifest decode wide.xlsx -o readable.csv --lang zh"))
@command
def decode(
    table: Annotated[Path, typer.Argument(help="Table in the wide binary layout.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv, .xlsx, .parquet).")],
    lang: Annotated[str, typer.Option("--lang", help="Option names in: en | zh.")] = "en",
    layout: LayoutOpt = "auto",
    empty: EmptyOpt = "absent",
    sheet: SheetOpt = None,
    id_columns: IdOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Wide binary -> readable (one column per group with the option name, one per sign)."""
    from mvkl.fsutil import display_path
    from mvkl.log import stdout_console
    from mvkl.manifest.table import decode_frame, write_table

    _check_choice(lang, ("en", "zh"), "--lang")
    mt = _load(table, layout, empty, sheet, id_columns)
    mt.raise_if_invalid(display_path(table))
    df = decode_frame(mt, lang=lang)  # type: ignore[arg-type]
    write_table(df, out)
    doc = {"ok": True, "rows": df.height, "columns": df.width, "out": display_path(out), "from_layout": mt.layout}
    emit(doc, json_out, lambda: stdout_console().print(f"wrote {doc['out']}: {df.height} rows, {df.width} columns"))


@app.command("textualize", epilog=example("mvkl manifest textualize wide.csv --lang en"))
@command
def textualize_cmd(
    table: Annotated[Path, typer.Argument(help="Manifestation table (any layout).")],
    lang: Annotated[str, typer.Option("--lang", help="en | zh.")] = "en",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the table with a `manifest_text` column.")
    ] = None,
    layout: LayoutOpt = "auto",
    empty: EmptyOpt = "absent",
    sheet: SheetOpt = None,
    id_columns: IdOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Describe each row in words ("mass shape: irregular, mass edge: spiculated, ..."),
    as used for the "-M" baselines of paper Table 5."""
    import polars as pl

    from mvkl.fsutil import display_path
    from mvkl.log import stdout_console
    from mvkl.manifest.table import write_table
    from mvkl.manifest.text import textualize

    _check_choice(lang, ("en", "zh"), "--lang")
    mt = _load(table, layout, empty, sheet, id_columns)
    mt.raise_if_invalid(display_path(table))
    lng: Literal["en", "zh"] = "zh" if lang == "zh" else "en"
    texts = [textualize(mt.vectors[i], mt.known[i], lang=lng) for i in range(mt.frame.height)]
    if out is not None:
        write_table(mt.frame.with_columns(pl.Series("manifest_text", texts)), out)

    def render() -> None:
        con = stdout_console()
        for i, t in enumerate(texts):
            con.print(f"row {i + 2}: {t}")

    emit({"ok": True, "rows": [{"row": i + 2, "text": t} for i, t in enumerate(texts)]}, json_out, render)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="manifest")
