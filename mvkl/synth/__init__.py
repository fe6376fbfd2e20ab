"""Synthetic MVKL-like mammography data (``mvkl synth``): DICOM studies, reports, tables.

Public API:

* :func:`generate` writes a data set in the MVKL release layout and returns a summary dict.
* :func:`draw_cases` draws the cases (manifestations, labels, BI-RADS, reports, splits,
  identifiers) without rendering pixels, e.g. to check the signal of paper Table 3 cheaply.
* :func:`parse_view_id` / :func:`format_view_id` handle the ``view_id`` column format.
"""

from __future__ import annotations

from typing import Any

__all__ = ["draw_cases", "format_view_id", "generate", "parse_view_id"]


def __getattr__(name: str) -> Any:
    # Lazy: `import mvkl.synth` stays cheap (no scipy/pydicom) until something is used.
    if name == "generate":
        from mvkl.synth.orchestrate import generate

        return generate
    if name == "draw_cases":
        from mvkl.synth.cases import draw_cases

        return draw_cases
    if name in ("parse_view_id", "format_view_id"):
        from mvkl.synth import tables

        return getattr(tables, name)
    raise AttributeError(name)
