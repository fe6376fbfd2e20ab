"""The rows of the method benchmark: the paper's ablations on one store (Tables 5 and 6).

Each row is a way to obtain an image encoder, trained once per seed:

* ``random``: random initialisation, nothing learnt (the floor);
* ``supervised``: fine-tuning from random init on the store's own labels (the image ceiling);
* ``image-only``: contrastive pretraining on CC ↔ MLO alone (``--modalities image``, Table 5 row 1);
* ``image+report`` and ``image+manifest``: one knowledge modality (Table 5);
* ``vikl-none``, ``vikl-robinson``, ``vikl-manineg``: all three modalities with each hard-negative
  mode (Table 6).

A pretraining row's configuration is the preset (``tiny`` on a CPU, ``paper`` on a GPU) with the
row's ``modalities`` and ``hard_negatives`` and ``seed = s``; nothing else differs between rows,
so their differences are the method's effect.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ROWS", "Row", "parse_rows"]


@dataclass(frozen=True)
class Row:
    """One ablation row: a name, how it is trained, and what the paper calls it."""

    name: str
    kind: str  # "random", "supervised" or "pretrain"
    modalities: tuple[str, ...] = ()
    hard_negatives: str = "none"
    paper: str = ""

    @property
    def aligned(self) -> bool:
        """True when the row has a text branch (retrieval and zero-shot apply)."""
        return "text" in self.modalities


ROWS: dict[str, Row] = {r.name: r for r in (
    Row("random", "random", paper="random init (ViKL-R before pretraining)"),
    Row("supervised", "supervised", paper="supervised fine-tuning from random init (image ceiling)"),
    Row("image-only", "pretrain", ("image",), paper="Table 5: image only (CC-MLO contrast)"),
    Row("image+report", "pretrain", ("image", "text"), paper="Table 5: image + report"),
    Row("image+manifest", "pretrain", ("image", "manifest"), paper="Table 5: image + manifestation"),
    Row("vikl-none", "pretrain", ("image", "text", "manifest"), "none", "Table 6: ViKL, no hard negatives"),
    Row("vikl-robinson", "pretrain", ("image", "text", "manifest"), "robinson", "Table 6: ViKL + Robinson HCL"),
    Row("vikl-manineg", "pretrain", ("image", "text", "manifest"), "manineg", "Table 6: ViKL + ManiNeg"),
)}


def parse_rows(text: str | None) -> list[Row]:
    """``"random,vikl-manineg"`` → rows in :data:`ROWS` order; None or ``"all"``: every row.

    ``random`` is always included: every other row is compared with it.
    """
    from mvkl.errors import InputError

    if text is None or text.strip() in ("", "all"):
        return list(ROWS.values())
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in ROWS]
    if bad:
        raise InputError(f"unknown row(s) {', '.join(bad)}; choose from {', '.join(ROWS)}", code="option")
    wanted = {"random", *names}
    return [r for r in ROWS.values() if r.name in wanted]
