"""Optional lesion-box columns of a table (generic CSV manifest; the shared lesion contract).

``xmin, ymin, xmax, ymax`` give a box for every image of the row; ``cc_xmin .. cc_ymax`` and
``mlo_xmin .. mlo_ymax`` give (or override) the box of one view. Boxes are in the *source*
pixels of that view's DICOM file, pixel-edge coordinates (x = column, y = row; a pixel
``(r, c)`` covers ``[c, c + 1) x [r, r + 1)``). ``lesion_kind`` names the kind (one of
:data:`~mvkl.ingest.records.LESION_KINDS`; empty: ``unknown``). A group with all four cells
empty means no box; a partly filled group, a non-number, a negative coordinate or an empty box
is a validation error naming the table, row and column (never the cell's value).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mvkl.errors import Problem
from mvkl.ingest.records import LESION_KINDS, SourceLesion
from mvkl.sources.base import column_label, find_column

if TYPE_CHECKING:
    import polars as pl

__all__ = ["BOX_EDGES", "LesionColumns"]

BOX_EDGES = ("xmin", "ymin", "xmax", "ymax")
_PREFIXES = {"": ("CC", "MLO"), "cc_": ("CC",), "mlo_": ("MLO",)}


@dataclass
class LesionColumns:
    """The lesion columns found in one table (column names; None when absent)."""

    label: str
    groups: dict[str, tuple[str | None, ...]]
    kind: str | None
    df: pl.DataFrame

    @classmethod
    def find(cls, df: pl.DataFrame, label: str) -> LesionColumns:
        groups = {p: tuple(find_column(df, [p + e]) for e in BOX_EDGES) for p in _PREFIXES}
        return cls(label, groups, find_column(df, ["lesion_kind", "lesion kind", "lesion_type"]), df)

    @property
    def present(self) -> bool:
        return any(c is not None for g in self.groups.values() for c in g)

    def problems(self) -> list[Problem]:
        """Header problems: a box group with only some of its four columns."""
        out = []
        for p, g in self.groups.items():
            if any(c is not None for c in g) and any(c is None for c in g):
                miss = next(p + e for e, c in zip(BOX_EDGES, g, strict=True) if c is None)
                out.append(Problem(self.label, None, miss, "a lesion box needs all four of "
                                   f"{p}xmin, {p}ymin, {p}xmax, {p}ymax", "column-missing"))
        return out

    def row(self, r: int, row: int, cell: Callable[[str | None, int], str]) -> tuple[dict[str, SourceLesion],
                                                                                      list[Problem]]:
        """view -> lesion of table row ``r`` (0-based; ``row`` is its 1-based line for messages)."""
        probs: list[Problem] = []

        def bad(col: str, msg: str) -> None:
            probs.append(Problem(self.label, row, column_label(self.df, col), msg, "value"))

        kind = cell(self.kind, r).lower() or "unknown"
        if kind not in LESION_KINDS:
            bad(str(self.kind), f"lesion_kind must be one of {', '.join(LESION_KINDS)} or empty")
            kind = "unknown"
        out: dict[str, SourceLesion] = {}
        for p, g in self.groups.items():
            if any(c is None for c in g):
                continue
            cells = [cell(c, r) for c in g]
            if not any(cells):
                continue
            vals: list[float] = []
            for c, v in zip(g, cells, strict=True):
                try:
                    x = float(v)
                except ValueError:
                    x = math.nan
                if not math.isfinite(x) or x < 0:
                    bad(str(c), "a lesion box coordinate must be a number >= 0 (source pixels); "
                        "leave all four cells empty for no box")
                vals.append(x)
            if len(probs) or not all(math.isfinite(x) for x in vals):
                continue
            if not (vals[2] > vals[0] and vals[3] > vals[1]):
                bad(str(g[2] if vals[2] <= vals[0] else g[3]), "a lesion box needs xmax > xmin and ymax > ymin")
                continue
            for view in _PREFIXES[p]:
                out[view] = SourceLesion(kind, (vals[0], vals[1], vals[2], vals[3]))
        return out, probs
