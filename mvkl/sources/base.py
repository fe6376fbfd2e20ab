"""The adapter contract: one source layout -> common :class:`~mvkl.ingest.records.LumpRecord`\\ s.

An adapter is any object with

* ``name``: the ``--format`` value (``"mvkl"``, ``"csv"``, ...);
* ``description``: one line for ``mvkl ingest --help``;
* ``detect(source) -> bool``: cheap check whether ``source`` looks like this layout (used when
  ``--format`` is not given; only look at names, never read pixels);
* ``read(source, tables=None, dataset=None, *, seed=0, options=None) -> AdapterResult``: read and
  validate every table (``tables`` overrides discovery), return records and *all* table problems
  (file, row, column). It must not decode pixels; it may read headers with
  ``stop_before_pixels``/``specific_tags`` to resolve files (CBIS-DDSM series). Pixels, and the
  headers that are stored, are the pipeline's job.

  - ``dataset``: the pseudonym namespace (``--dataset``; default the adapter's ``name``).
  - ``seed``: ``mvkl ingest --seed``; every random choice an adapter makes (e.g. the validation
    patients drawn from an official train set) must be a function of it.
  - ``options``: ``mvkl ingest --adapter-option KEY=VALUE`` as ``{KEY: VALUE}`` strings. An adapter
    validates the keys it accepts and rejects any other with :func:`check_options` (InputError,
    exit 2, listing the accepted keys); an adapter that accepts none rejects every key. It lists
    what it accepts in an optional ``options_help`` mapping (key -> one line) for ``--help``.
  - ``first_batch``: the number of this source's first batch. Stores name their sources
    ``batch-1``, ``batch-2``, ...; with ``--append`` the new batches continue the store's
    numbering, and an adapter whose table labels name batches (MVKL: ``batch-k/<stage>``) must
    number them from ``first_batch`` so that messages and stored source names agree.

Register an adapter with :func:`register` (it lands in :data:`ADAPTERS`). Rules for adapters
(spec/dicom.md §1, DESIGN.md):

* Raw identifiers stay inside records (``patient_key`` ...); problems and warnings never echo
  identifying cell values: they name the table *label*, the row and the column.
* A row naming a file that does not exist is **not** a table problem; the pipeline quarantines it
  (``missing-file``).
* Labels: 1 malignant, 0 benign, -1 unknown; a value that cannot be parsed is a problem.
* Manifestations: a 35-dim vector plus a known-mask; dimensions a source does not describe are
  unknown (mask 0), never zero.

The helpers below (column lookup, label/BI-RADS/laterality/density/age parsing, partial
manifestation tables) are shared by the adapters so that no adapter re-implements them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from mvkl.errors import InputError, Problem, col_letter
from mvkl.ingest.records import AdapterResult
from mvkl.manifest import schema as S

if TYPE_CHECKING:
    import polars as pl

# polars and the table reader are imported where a table is read, so that importing the registry
# (``mvkl ingest --help`` lists its formats) stays cheap.

__all__ = [
    "ADAPTERS",
    "UNKNOWN_WORDS",
    "Adapter",
    "ManifestColumns",
    "check_options",
    "col_letter",
    "detect_format",
    "find_column",
    "get_adapter",
    "is_unknown",
    "normalize_report",
    "parse_age",
    "parse_birads",
    "parse_density",
    "parse_fraction",
    "parse_label",
    "parse_laterality",
    "read_manifest",
    "read_table",
    "register",
]


@runtime_checkable
class Adapter(Protocol):
    """A source layout (see the module docstring for the contract)."""

    name: str
    description: str

    def detect(self, source: Path) -> bool: ...

    def read(self, source: Path, tables: Sequence[Path] | None = None, dataset: str | None = None, *,
             seed: int = 0, options: Mapping[str, str] | None = None, first_batch: int = 1) -> AdapterResult: ...


#: ``--format`` name -> adapter. Filled by :func:`register` (see ``mvkl.sources.__init__``).
ADAPTERS: dict[str, Adapter] = {}


def register(adapter: Adapter) -> Adapter:
    """Add an adapter to :data:`ADAPTERS` (its ``name`` must be new)."""
    if not isinstance(adapter, Adapter):
        raise TypeError(f"{adapter!r} does not implement the Adapter protocol")
    if adapter.name in ADAPTERS and ADAPTERS[adapter.name] is not adapter:
        raise ValueError(f"an adapter named {adapter.name!r} is already registered")
    ADAPTERS[adapter.name] = adapter
    return adapter


def get_adapter(name: str) -> Adapter:
    """The adapter for ``--format NAME``; InputError (exit 2) listing the choices otherwise."""
    try:
        return ADAPTERS[name.strip().lower()]
    except KeyError:
        raise InputError(f"unknown --format {name!r}; choose one of {', '.join(sorted(ADAPTERS))}",
                         code="usage") from None


def detect_format(source: Path) -> Adapter:
    """The first registered adapter whose ``detect`` accepts ``source`` (registration order)."""
    for adapter in ADAPTERS.values():
        try:
            if adapter.detect(source):
                return adapter
        except OSError:
            continue
    raise InputError(f"cannot tell the layout of the source; pass --format ({', '.join(sorted(ADAPTERS))})",
                     code="usage")


# -- adapter options (--adapter-option KEY=VALUE) -------------------------------------------------
def check_options(fmt: str, options: Mapping[str, str] | None, accepted: Mapping[str, str]) -> dict[str, str]:
    """The options of ``--format fmt`` as a plain dict, after checking every key is ``accepted``.

    Raises:
        InputError: (exit 2) an unknown key; the message lists the accepted keys with their help.
    """
    got = dict(options or {})
    unknown = sorted(k for k in got if k not in accepted)
    if unknown:
        what = ("accepted: " + "; ".join(f"{k} ({h})" for k, h in accepted.items()) if accepted
                else "it accepts none")
        raise InputError(f"unknown --adapter-option {', '.join(unknown)} for --format {fmt}; {what}",
                         code="usage")
    return got


def parse_fraction(fmt: str, key: str, value: str) -> float:
    """``--adapter-option KEY=VALUE`` as a fraction strictly between 0 and 1 (InputError otherwise)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = float("nan")
    if not 0 < f < 1:
        raise InputError(f"--adapter-option {key} of --format {fmt} must be a number between 0 and 1 "
                         f"(exclusive); got {value!r}", code="usage")
    return f


def read_table(path: str | Path) -> pl.DataFrame:
    """:func:`mvkl.manifest.table.read_table` (every column as text, spreadsheet rows kept), imported
    on first use."""
    from mvkl.manifest.table import read_table as _read_table

    return _read_table(path)


# -- column lookup ------------------------------------------------------------------------------
def _canon(name: str) -> str:
    t = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return re.sub(r"[\s_\-.]+", "", t)


def find_column(df: pl.DataFrame, candidates: Iterable[str]) -> str | None:
    """The first column whose name matches one of ``candidates`` (case, spaces, ``_``/``-``/``.``
    ignored; full-width characters folded), or None."""
    index = {_canon(c): c for c in reversed(df.columns)}
    for cand in candidates:
        hit = index.get(_canon(cand))
        if hit is not None:
            return hit
    return None


def column_label(df: pl.DataFrame, col: str) -> str:
    """``"label (E)"``: a column name with its spreadsheet letter, for messages."""
    return f"{col} ({col_letter(df.columns.index(col))})"


# -- cell parsers (each returns (value, ok)) ------------------------------------------------------
_MALIGNANT = {"恶性", "1", "1.0", "malignant", "m", "cancer", "恶"}
_BENIGN = {"良性", "0", "0.0", "benign", "b", "良", "benign_without_callback"}
_UNKNOWN = {"", "unknown", "-1", "-1.0", "?", "未知", "na", "n/a", "nan", "none", "removed", "-", "--"}
#: Cell values that only mean "unknown" in a field a release blanks (INbreast writes ``removed`` in
#: Patient ID and age; CBIS-DDSM ``N/A`` and ``NA``; blank or space-padded cells everywhere).
UNKNOWN_WORDS: frozenset[str] = frozenset({"", "removed", "-", "--", "na", "n/a", "nan", "none", "null",
                                           "unknown", "?", "未知"})


def is_unknown(value: object) -> bool:
    """Whether a cell only means "unknown" (:data:`UNKNOWN_WORDS`, case and padding ignored)."""
    v = "" if value is None else unicodedata.normalize("NFKC", str(value)).strip().lower()
    return v in UNKNOWN_WORDS


def parse_label(value: object, allow_unknown: bool = True) -> tuple[int, bool]:
    """恶性/malignant/1 -> 1, 良性/benign/0 -> 0, empty/unknown -> -1 (when ``allow_unknown``)."""
    v = "" if value is None else unicodedata.normalize("NFKC", str(value)).strip().lower()
    if v in _MALIGNANT:
        return 1, True
    if v in _BENIGN:
        return 0, True
    if allow_unknown and v in _UNKNOWN:
        return -1, True
    return -1, False


_BIRADS_CELL = re.compile(r"^(?:bi\s*-?\s*rads)?\s*[:：]?\s*([0-6])\s*([abc]?)\s*(?:类)?$", re.IGNORECASE)
_BIRADS_TEXT = re.compile(
    r"bi\s*-?\s*rads\s*[:：]?\s*(?:分类|category|cat\.?)?\s*[:：]?\s*([0-6])\s*([abc]?)(?![0-9a-z])", re.IGNORECASE)
_BIRADS_ZH = re.compile(r"([0-6])\s*([abcABC]?)\s*类")


def _norm_birads(num: str, sub: str) -> str:
    s = f"{num}{sub.upper()}"
    return s if s in ("0", "1", "2", "3", "4", "4A", "4B", "4C", "5", "6") else num


def parse_birads(value: object) -> tuple[str, bool]:
    """A BI-RADS cell (``4a``, ``BI-RADS 4B``, ``4c类``, ``5``) -> ``"4A"`` etc.; empty -> ``""``."""
    v = "" if value is None else unicodedata.normalize("NFKC", str(value)).strip()
    if v == "" or v.lower() in _UNKNOWN:
        return "", True
    if re.fullmatch(r"[0-6]\.0", v):
        v = v[0]
    m = _BIRADS_CELL.match(v)
    if not m:
        return "", False
    return _norm_birads(m.group(1), m.group(2)), True


def birads_from_report(text: str) -> str:
    """BI-RADS category stated in a report, or ``""``.

    Uses :func:`mvkl.radiology.birads.parse_birads` when that module exists (it knows the report
    conventions in depth); otherwise a conservative regex (``BI-RADS 4a``, ``4a类``).
    """
    if not text:
        return ""
    try:
        from mvkl.radiology.birads import parse_birads as _parse
    except ImportError:  # pragma: no cover - the report parser is another part of mvkl
        _parse = None
    if _parse is not None:
        got = _parse(text)
        if not got:
            return ""
        norm, ok = parse_birads(got)
        return norm if ok else ""
    t = unicodedata.normalize("NFKC", text)
    m = _BIRADS_TEXT.search(t) or _BIRADS_ZH.search(t)
    return _norm_birads(m.group(1), m.group(2)) if m else ""


def parse_laterality(value: object) -> tuple[str | None, bool]:
    """L/left/左 -> ``"L"``, R/right/右 -> ``"R"``, empty/U -> None."""
    v = "" if value is None else unicodedata.normalize("NFKC", str(value)).strip().lower()
    if v in ("", "u", "unknown", "b", "both", "?"):
        return None, True
    if v in ("l", "left", "左", "左侧", "左乳"):
        return "L", True
    if v in ("r", "right", "右", "右侧", "右乳"):
        return "R", True
    return None, False


def laterality_from_text(text: str) -> str | None:
    """``"L"``/``"R"`` when a location text names exactly one side (左/右, left/right)."""
    t = unicodedata.normalize("NFKC", text or "").lower()
    left = "左" in t or re.search(r"\bleft\b", t) is not None
    right = "右" in t or re.search(r"\bright\b", t) is not None
    if left and not right:
        return "L"
    if right and not left:
        return "R"
    return None


def parse_density(value: object) -> tuple[int, bool]:
    """Breast density 1-4 (also ACR a-d, ``DENSITY C``) -> int; empty -> -1."""
    v = "" if value is None else unicodedata.normalize("NFKC", str(value)).strip().lower()
    v = re.sub(r"^(density|acr)\s*", "", v)
    if v in _UNKNOWN:
        return -1, True
    if v in ("1", "2", "3", "4", "1.0", "2.0", "3.0", "4.0"):
        return int(float(v)), True
    if v in ("a", "b", "c", "d"):
        return "abcd".index(v) + 1, True
    return -1, False


def parse_age(value: object) -> tuple[float | None, bool]:
    """Age in years from ``52``, ``52.0`` or DICOM ``052Y``; empty -> None."""
    v = "" if value is None else str(value).strip().upper()
    if v.lower() in _UNKNOWN:
        return None, True
    m = re.fullmatch(r"(\d{1,3})(?:\.\d+)?\s*Y?", v)
    if not m:
        return None, False
    age = float(m.group(1))
    return (age, True) if 0 <= age < 130 else (None, False)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_report(value: object) -> str:
    """Report text as the original code uses it (spec method.md §2.1): newlines removed (lines
    joined without separator) and surrounding whitespace stripped; tabs become spaces and other
    control characters (NUL, ESC, DEL, ...) are removed, so that they never reach the store
    (a NUL used to pass validation and crash the final write: issue 18)."""
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", "".join(text.split("\n"))).strip()


# -- manifestation columns ------------------------------------------------------------------------
class ManifestColumns:
    """The manifestation part of one table: vectors, known-mask, problems and a non-identifying
    mapping (layout and dimension/group -> column letter) for the store's ``sources`` attribute."""

    def __init__(self, vectors: np.ndarray, known: np.ndarray, problems: list[Problem],
                 mapping: dict[str, object]) -> None:
        self.vectors = vectors
        self.known = known
        self.problems = problems
        self.mapping = mapping


def _present_columns(df: pl.DataFrame) -> tuple[dict[int, str], dict[str, str]]:
    from mvkl.manifest.table import named_manifest_columns

    return named_manifest_columns(df.columns)


def read_manifest(df: pl.DataFrame, table: str, *, positional: bool = False,
                  partial: bool = False) -> ManifestColumns:
    """Parse the manifestation columns of a table with :mod:`mvkl.manifest.table`.

    Args:
        positional: allow the MVKL positional layout (columns ``8:-1``) when no column is named
            after the schema (the MVKL release tables).
        partial: a table may describe only some groups/signs (public data sets); the others are
            *unknown*. When no manifestation column is present at all, every dimension is unknown.
    """
    import polars as pl

    from mvkl.manifest.table import parse_manifest_frame

    n = df.height
    wide, groups = _present_columns(df)
    complete = len(wide) == S.DIM or (len(groups) == len(S.exclusive_groups()) and all(
        o.index in wide for o in S.MISC_GROUP.options))
    if positional and not complete:
        # MVKL release: the columns are located by position (8:-1), as the original code does.
        parsed = parse_manifest_frame(df, table, layout="positional", id_columns=[])
        cols = {S.OPTIONS[i].key: col_letter(df.columns.index(c)) for i, c in enumerate(parsed.manifest_columns)}
        return ManifestColumns(parsed.vectors, parsed.known, [p for p in parsed.problems if p.code != "id-column"],
                               {"layout": "positional", "columns": cols, "unknown_filled": []})
    if not wide and not groups and not positional:
        mapping: dict[str, object] = {"layout": "none", "columns": {}}
        return ManifestColumns(np.zeros((n, S.DIM), np.uint8), np.zeros((n, S.DIM), np.uint8), [], mapping)
    work = df
    filled: list[str] = []
    if partial:
        misc_present = {i for i in wide if S.OPTIONS[i].group == S.MISC_GROUP.key}
        non_misc = [i for i in wide if S.OPTIONS[i].group != S.MISC_GROUP.key]
        readable = bool(groups) and len(groups) >= len(non_misc) / 3
        add: dict[str, str] = {}
        if readable:
            for g in S.exclusive_groups():
                if g.key not in groups:
                    add[g.key] = "unknown"
            for o in S.MISC_GROUP.options:
                if o.index not in misc_present:
                    add[o.key] = "unknown"
        else:
            for o in S.OPTIONS:
                if o.index not in wide:
                    add[o.key] = "unknown"
        filled = list(add)
        if add:
            work = df.with_columns([pl.lit(v, dtype=pl.String).alias(f"\x00{k}") for k, v in add.items()])
            work = work.rename({f"\x00{k}": k for k in add})
    parsed = parse_manifest_frame(work, table, layout="auto", id_columns=[])
    problems = [p for p in parsed.problems if p.code != "id-column"]
    cols = {}
    for c in parsed.manifest_columns:
        if c in filled:
            continue
        idx = work.columns.index(c)
        opt = S.find_column_option(c)
        grp = S.find_group(c)
        key = opt.key if opt is not None else (grp.key if grp is not None else f"column{idx}")
        cols[key] = col_letter(idx)
    mapping = {"layout": parsed.layout, "columns": cols, "unknown_filled": sorted(filled)}
    return ManifestColumns(parsed.vectors, parsed.known, problems, mapping)
