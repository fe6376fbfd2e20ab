"""Reading, validating, encoding and decoding manifestation tables (paper Table 1).

Two layouts are accepted:

* **wide binary**: 35 columns of 0/1, one per dimension. Columns are found by name (the option
  keys of :mod:`mvkl.manifest.schema`, ``"group.option"`` in English or Chinese, or bare option
  names that are unique), or, when no column names match, by position as in the MVKL release
  tables: the columns from the 9th up to but excluding the last (0-based ``8:-1``).
* **readable**: one column per exclusive group holding an option name (any accepted spelling,
  English or Chinese), plus one 0/1 column per miscellaneous sign.

Cell conventions: ``0``/``1`` (also ``0.0``/``1.0``, true/false, yes/no, 是/否, ``X``); an empty
cell means *absent* (known zero) unless ``empty="unknown"``; ``unknown``, ``?`` or ``未知``
marks the whole group (or the sign) as unknown, which clears its bits in the known-mask.

Every problem is reported, not just the first, each with the file, the row as a spreadsheet shows
it (header = row 1) and the column. Cell values from non-manifestation columns are never echoed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from mvkl.errors import InputError, Problem, ValidationFailed
from mvkl.fsutil import display_path
from mvkl.manifest import schema as S
from mvkl.manifest.tablefile import _shifted_columns, col_letter, read_table

__all__ = [
    "ManifestTable",
    "decode_frame",
    "encode_frame",
    "named_manifest_columns",
    "parse_manifest_frame",
    "read_table",
    "validate_table",
    "write_table",
]

Layout = Literal["auto", "wide", "readable", "positional"]
EmptyPolicy = Literal["absent", "unknown"]

_TRUE = {"1", "1.0", "true", "yes", "y", "x", "是", "有", "+"}
_FALSE = {"0", "0.0", "false", "no", "n", "否", "无", "-"}
_UNKNOWN = {"unknown", "?", "未知", "na", "n/a", "nan"}
_ABSENT_NAMES = {"none", "absent", "无", "-", "0", "0.0", "null", "没有"}
_MULTI_SPLIT = re.compile(r"\s*[;|+，；、]\s*|\s+and\s+|\s*,\s*")
ID_COLUMN_CANDIDATES = ("lump_id", "lump id", "id", "序号", "lump_no")
# Without an id column, a lump is identified by its exam, its view files *and* its manifestation:
# two lumps of one breast legitimately share a view_id in the MVKL tables.
ID_COLUMN_FALLBACK = ("patient_id", "study_id", "view_id")


def _colname(df: pl.DataFrame, name: str) -> str:
    return f"{name} ({col_letter(df.columns.index(name))})"


def write_table(df: pl.DataFrame, path: str | Path) -> None:
    """Write a table atomically by extension (.csv, .xlsx, .parquet)."""
    from mvkl.fsutil import atomic_path

    p = Path(path)
    suffix = p.suffix.lower()
    with atomic_path(p, suffix=suffix) as tmp:
        if suffix in (".csv", ".txt"):
            df.write_csv(tmp)
        elif suffix == ".tsv":
            df.write_csv(tmp, separator="\t")
        elif suffix == ".xlsx":
            df.write_excel(tmp, autofit=False)
        elif suffix in (".parquet", ".pq"):
            df.write_parquet(tmp)
        else:
            raise InputError(f"cannot write {suffix!r}; use .csv, .xlsx or .parquet", file=p.name)


@dataclass
class ManifestTable:
    """A parsed manifestation table.

    Attributes:
        vectors: ``(N, 35)`` uint8 0/1 manifestation vectors, zero where unknown.
        known: ``(N, 35)`` uint8, 1 where the dimension is known.
        frame: the original table (all text), for its metadata columns.
        layout: the layout that was detected or asked for.
        manifest_columns: the source columns that held the manifestation.
        problems: every problem found (empty when valid).
    """

    vectors: npt.NDArray[np.uint8]
    known: npt.NDArray[np.uint8]
    frame: pl.DataFrame
    layout: str
    manifest_columns: list[str]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_invalid(self, file: str = "") -> None:
        if self.problems:
            raise ValidationFailed(self.problems, f"{file or 'table'}: {len(self.problems)} problem(s) found")

    def metadata_frame(self) -> pl.DataFrame:
        return self.frame.drop(self.manifest_columns)


def _norm(v: object) -> str:
    return "" if v is None else str(v).strip()


def named_manifest_columns(columns: list[str]) -> tuple[dict[int, str], dict[str, str]]:
    """Columns named after the schema, first one wins: (wide dim -> column, exclusive group key ->
    column). A name that matches an option is a wide column; else one that names an exclusive
    group is a readable column."""
    wide: dict[int, str] = {}
    groups: dict[str, str] = {}
    for col in columns:
        opt = S.find_column_option(col)
        if opt is not None and opt.index not in wide:
            wide[opt.index] = col
            continue
        g = S.find_group(col)
        if g is not None and g.exclusive and g.key not in groups:
            groups[g.key] = col
    return wide, groups


def _detect(df: pl.DataFrame) -> tuple[str, dict[int, str], dict[str, str], dict[int, str]]:
    """Find manifestation columns. Returns (layout, wide dim->col, readable group->col,
    readable misc dim->col)."""
    wide, groups = named_manifest_columns(df.columns)
    misc = {i: c for i, c in wide.items() if S.OPTIONS[i].group == S.MISC_GROUP.key}
    non_misc_wide = [i for i in wide if S.OPTIONS[i].group != S.MISC_GROUP.key]
    if groups and len(groups) >= len(non_misc_wide) / 3:
        return "readable", {}, groups, misc
    if wide:
        return "wide", wide, {}, {}
    return "positional", {}, {}, {}


def parse_manifest_frame(
    df: pl.DataFrame,
    file: str = "table",
    layout: Layout = "auto",
    empty: EmptyPolicy = "absent",
    id_columns: list[str] | None = None,
) -> ManifestTable:
    """Parse and validate a table already read as text (see :func:`read_table`).

    Never raises for content problems: they are collected in ``ManifestTable.problems``.
    """
    problems: list[Problem] = []
    n = df.height
    vectors = np.zeros((n, S.DIM), dtype=np.uint8)
    known = np.ones((n, S.DIM), dtype=np.uint8)

    detected, wide, groups, misc = _detect(df)
    if layout == "auto":
        layout_used = detected
    elif layout == "wide" and detected == "positional":
        layout_used = "positional"
    else:
        layout_used = layout
    if layout_used == "wide" and not wide:
        layout_used = "positional"

    manifest_cols: list[str] = []
    if layout_used == "positional":
        cols = df.columns[8:-1]
        if len(cols) != S.DIM:
            problems.append(Problem(
                file, None, None,
                f"wrong number of manifestation columns: the MVKL layout puts them from column I "
                f"up to the last column, which holds {len(cols)} here; expected {S.DIM} "
                f"(table has {df.width} columns, needs {8 + S.DIM + 1}). Name the columns after the "
                f"schema (see `mvkl manifest show`) to use another layout.",
                "column-count"))
            return ManifestTable(vectors, known, df, layout_used, [], problems)
        shifted = _shifted_columns(df, file)
        if shifted:
            problems.extend(shifted)
            return ManifestTable(vectors, known, df, layout_used, [], problems)
        wide = dict(enumerate(cols))
        layout_used = "wide"
        layout_label = "positional"
    else:
        layout_label = layout_used

    if layout_used == "wide":
        missing = [S.OPTIONS[i].key for i in range(S.DIM) if i not in wide]
        if missing:
            problems.append(Problem(
                file, None, None,
                f"wrong number of manifestation columns: found {len(wide)} of {S.DIM}; missing "
                + ", ".join(missing[:12]) + (" ..." if len(missing) > 12 else ""),
                "column-count"))
        manifest_cols = [wide[i] for i in sorted(wide)]
        for i, col in sorted(wide.items()):
            values = df.get_column(col).to_list()
            cname = _colname(df, col)
            for r, raw in enumerate(values):
                v = _norm(raw).lower()
                if v in _TRUE:
                    vectors[r, i] = 1
                elif v in _FALSE:
                    pass
                elif v == "":
                    if empty == "unknown":
                        known[r, i] = 0
                elif v in _UNKNOWN:
                    known[r, i] = 0
                else:
                    problems.append(Problem(file, r + 2, cname,
                                            "value is not 0, 1 or empty", "value"))
        # Unknown is group-wide for exclusive groups: one unknown cell marks the group unknown.
        for g in S.exclusive_groups():
            sl = g.slice
            grp_unknown = (known[:, sl] == 0).any(axis=1)
            known[grp_unknown, sl] = 0
            vectors[grp_unknown, sl] = 0
            multi = np.nonzero(vectors[:, sl].sum(axis=1) > 1)[0]
            for r in multi:
                names = [o.en for o, b in zip(g.options, vectors[r, sl], strict=True) if b]
                cols_set = [wide[o.index] for o, b in zip(g.options, vectors[r, sl], strict=True)
                            if b and o.index in wide]
                problems.append(Problem(
                    file, int(r) + 2, _colname(df, cols_set[0]) if cols_set else g.en,
                    f"{len(names)} options set in the exclusive group {g.en!r}: " + ", ".join(names),
                    "exclusive-group"))
    elif layout_used == "readable":
        missing_groups = [g.en for g in S.exclusive_groups() if g.key not in groups]
        missing_misc = [o.en for o in S.MISC_GROUP.options if o.index not in misc]
        if missing_groups or missing_misc:
            problems.append(Problem(
                file, None, None,
                "wrong number of manifestation columns for the readable layout: missing "
                + ", ".join([*(f"group {m!r}" for m in missing_groups), *(f"sign {m!r}" for m in missing_misc)]),
                "column-count"))
        manifest_cols = [groups[g.key] for g in S.exclusive_groups() if g.key in groups]
        manifest_cols += [misc[o.index] for o in S.MISC_GROUP.options if o.index in misc]
        for g in S.exclusive_groups():
            if g.key not in groups:
                continue
            col = groups[g.key]
            cname = _colname(df, col)
            sl = g.slice
            for r, raw in enumerate(df.get_column(col).to_list()):
                v = _norm(raw)
                low = v.lower()
                if v == "":
                    if empty == "unknown":
                        known[r, sl] = 0
                    continue
                if low in _UNKNOWN:
                    known[r, sl] = 0
                    continue
                opt = S.find_option(g.key, v)
                if opt is not None:
                    vectors[r, opt.index] = 1
                    continue
                if low in _ABSENT_NAMES:
                    continue
                parts = [p for p in _MULTI_SPLIT.split(v) if p]
                found = [S.find_option(g.key, p) for p in parts]
                if len(parts) > 1 and all(found):
                    names = sorted({o.en for o in found if o is not None})
                    if len(names) > 1:
                        problems.append(Problem(file, r + 2, cname,
                                                f"{len(names)} options set in the exclusive group "
                                                f"{g.en!r}: " + ", ".join(names), "exclusive-group"))
                        continue
                    vectors[r, found[0].index] = 1  # type: ignore[union-attr]
                    continue
                choices = S.option_choices(g.key)
                close = difflib.get_close_matches(v.lower(), [c.lower() for c in choices], n=1, cutoff=0.5)
                hint = ""
                if close:
                    hint = f"; did you mean {next(c for c in choices if c.lower() == close[0])!r}?"
                problems.append(Problem(file, r + 2, cname,
                                        f"unknown option for {g.en!r}{hint}", "unknown-option"))
        for i, col in misc.items():
            cname = _colname(df, col)
            for r, raw in enumerate(df.get_column(col).to_list()):
                v = _norm(raw).lower()
                if v in _TRUE:
                    vectors[r, i] = 1
                elif v in _FALSE:
                    pass
                elif v == "":
                    if empty == "unknown":
                        known[r, i] = 0
                elif v in _UNKNOWN:
                    known[r, i] = 0
                else:
                    problems.append(Problem(file, r + 2, cname,
                                            "value is not 0, 1 or empty", "value"))

    problems.extend(_duplicate_ids(df, file, id_columns, vectors, known))
    vectors[known == 0] = 0
    return ManifestTable(vectors, known, df, layout_label, manifest_cols, problems)


def _duplicate_ids(df: pl.DataFrame, file: str, id_columns: list[str] | None,
                   vectors: npt.NDArray[np.uint8], known: npt.NDArray[np.uint8]) -> list[Problem]:
    """Rows that repeat a lump id. The id is ``id_columns``, else the first of
    :data:`ID_COLUMN_CANDIDATES`, else the exam + view files (:data:`ID_COLUMN_FALLBACK`) together
    with the manifestation (so two different lumps of one breast are not duplicates)."""
    cols: list[str] | None = id_columns
    with_manifest = False
    if cols is None:
        lower = {c.strip().lower(): c for c in df.columns}
        for cand in ID_COLUMN_CANDIDATES:
            if cand in lower:
                cols = [lower[cand]]
                break
        else:
            if all(c in lower for c in ID_COLUMN_FALLBACK):
                cols = [lower[c] for c in ID_COLUMN_FALLBACK]
                with_manifest = True
    if not cols:
        return []
    missing = [c for c in cols if c not in df.columns]
    if missing:
        return [Problem(file, None, missing[0], "id column not found", "id-column")]
    keys: list[tuple[object, ...]] = list(zip(*(df.get_column(c).to_list() for c in cols), strict=True))
    if with_manifest:
        keys = [(*k, vectors[r].tobytes(), known[r].tobytes()) for r, k in enumerate(keys)]
    first: dict[tuple[object, ...], int] = {}
    out: list[Problem] = []
    label = " + ".join(cols)
    what = "duplicated lump (same exam, views and manifestation" if with_manifest else "duplicated lump id ("
    for r, k in enumerate(keys):
        if all(_norm(x) == "" for x in k[: len(cols)]):
            continue
        if k in first:
            sep = " as " if with_manifest else ""
            out.append(Problem(file, r + 2, label,
                               f"{what}{sep}{'row' if with_manifest else 'first seen on row'} {first[k] + 2})",
                               "duplicate-id"))
        else:
            first[k] = r
    return out


def validate_table(
    path: str | Path,
    layout: Layout = "auto",
    empty: EmptyPolicy = "absent",
    id_columns: list[str] | None = None,
    sheet: int | str | None = None,
) -> ManifestTable:
    """Read and validate a table file; problems are collected, not raised."""
    df = read_table(path, sheet=sheet)
    return parse_manifest_frame(df, display_path(path), layout=layout, empty=empty, id_columns=id_columns)


def encode_frame(table: ManifestTable, column_names: Literal["key", "en", "zh"] = "key") -> pl.DataFrame:
    """Readable (or wide) -> wide binary, keeping the other columns in place.

    The 35 dimension columns replace the manifestation columns at the position of the first one.
    Known dimensions are written as 0/1 and unknown ones as ``unknown`` (an empty cell would
    read back as absent).
    """
    table.raise_if_invalid()
    df = table.frame
    pos = min((df.columns.index(c) for c in table.manifest_columns), default=df.width)
    meta = table.metadata_frame()
    before = [c for c in df.columns[:pos] if c in meta.columns]
    after = [c for c in meta.columns if c not in before]

    def name(o: S.Option) -> str:
        if column_names == "key":
            return o.key
        g = S.group_by_key()[o.group]
        return f"{g.en}.{o.en}" if column_names == "en" else f"{g.zh}.{o.zh}"

    dims = {
        name(o): ["unknown" if not table.known[r, o.index] else str(int(table.vectors[r, o.index]))
                  for r in range(df.height)]
        for o in S.OPTIONS
    }
    dim_df = pl.DataFrame(dims, schema={k: pl.String for k in dims})
    return pl.concat([meta.select(before), dim_df, meta.select(after)], how="horizontal")


def decode_frame(table: ManifestTable, lang: Literal["en", "zh"] = "en") -> pl.DataFrame:
    """Wide binary -> readable: one column per exclusive group holding the option name, one 0/1
    column per miscellaneous sign; unknown as ``unknown``, absent as an empty cell."""
    table.raise_if_invalid()
    df = table.frame
    pos = min((df.columns.index(c) for c in table.manifest_columns), default=df.width)
    meta = table.metadata_frame()
    before = [c for c in df.columns[:pos] if c in meta.columns]
    after = [c for c in meta.columns if c not in before]
    cols: dict[str, list[str | None]] = {}
    for g in S.exclusive_groups():
        sl = g.slice
        vals: list[str | None] = []
        for r in range(df.height):
            if not table.known[r, sl].all():
                vals.append("unknown")
                continue
            hit = np.nonzero(table.vectors[r, sl])[0]
            vals.append(None if hit.size == 0 else getattr(g.options[int(hit[0])], lang))
        cols[getattr(g, lang)] = vals
    for o in S.MISC_GROUP.options:
        cols[getattr(o, lang)] = [
            "unknown" if not table.known[r, o.index] else str(int(table.vectors[r, o.index]))
            for r in range(df.height)
        ]
    out = pl.DataFrame(cols, schema={k: pl.String for k in cols})
    return pl.concat([meta.select(before), out, meta.select(after)], how="horizontal")
