"""Reading table files as sites really have them (issue 18 item 6): :func:`read_table` and what
it checks in a file before and after parsing it (re-exported by :mod:`mvkl.manifest.table`).

* :func:`decode_text`: the encoding of a CSV/TSV: UTF-8 with or without BOM, UTF-16 (BOM, or the
  NUL pattern of ASCII text in UTF-16 without one), GB18030 (a superset of GBK and GB2312, what
  Excel on a Chinese Windows writes); anything else is refused with exit 2 naming what it looks
  like (e.g. Latin-1/Windows-1252), never read with replacement characters.
* :func:`strip_controls`: control characters (C0 except tab/newline/return, DEL, C1) are removed
  from every cell and header, before validation.
* :func:`check_xlsx`: merged cells and formulas without a saved value in the sheet that is read
  (exit 2 naming the cell), found by streaming the sheet's XML (bounded memory).
* :func:`sheet_hint`: the workbook's other sheets that hold data, for a sheet read empty.

* :func:`_shifted_columns`: columns shifted against the positional MVKL layout.

Messages name the table, the row and the column; they never quote a cell value.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import polars as pl

from mvkl.errors import InputError, Problem, col_letter
from mvkl.fsutil import display_path

__all__ = ["check_xlsx", "decode_text", "read_table", "sheet_hint", "strip_controls"]

CONTROL_CHARS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
_CONTROL_RE = re.compile(CONTROL_CHARS)
_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL = re.compile(r"^([A-Z]+)(\d+)$")
_MAX_LISTED = 20


def _high_runs(data: bytes) -> list[int]:
    """Lengths of the runs of bytes >= 0x80."""
    return [len(m) for m in re.findall(rb"[\x80-\xff]+", data[:1 << 20])]


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """Decode the bytes of a text table; returns (text, encoding name).

    Raises:
        InputError: (exit 2, code ``encoding``) not UTF-8, UTF-16 or GB18030 text.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError as e:
            raise _bad(name, "UTF-8 with BOM", e.start + 3) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as e:
            raise _bad(name, "UTF-16", e.start) from None
    head = data[:4096]
    if len(head) >= 4 and head.count(0) * 3 >= len(head):  # ASCII-range text in UTF-16 without a BOM
        enc = "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
        try:
            return data.decode(enc), "UTF-16"
        except UnicodeDecodeError as e:
            raise _bad(name, "UTF-16", e.start) from None
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as e:
        utf8_error = e.start
    runs = _high_runs(data)
    paired = sum(1 for r in runs if r % 2 == 0)
    if runs and paired >= 0.8 * len(runs):
        try:
            return data.decode("gb18030"), "GB18030"
        except UnicodeDecodeError:
            pass
    looks = "Latin-1/Windows-1252" if runs and sum(1 for r in runs if r == 1) >= 0.5 * len(runs) else "unknown"
    raise InputError(f"the table is not UTF-8, UTF-16 or GB18030/GBK text (byte {utf8_error} is not valid UTF-8; "
                     f"the encoding looks {looks}); save it as UTF-8 CSV (Excel: 'CSV UTF-8')",
                     file=name, code="encoding")


def _bad(name: str, enc: str, offset: int) -> InputError:
    return InputError(f"the table says it is {enc} but byte {offset} is not valid {enc}; save it again as UTF-8 "
                      "CSV", file=name, code="encoding")


def strip_controls(df: pl.DataFrame) -> pl.DataFrame:
    """Remove control characters from every text cell and header (tab, newline and return stay)."""
    renames = {c: _CONTROL_RE.sub("", c) for c in df.columns if _CONTROL_RE.search(c)}
    if renames:
        df = df.rename(renames)
    text = [c for c, t in zip(df.columns, df.dtypes, strict=True) if t == pl.String]
    if text:
        df = df.with_columns(pl.col(c).str.replace_all(CONTROL_CHARS, "") for c in text)
    return df


def _split_ref(ref: str) -> tuple[int | None, str | None]:
    m = _CELL.match(ref.replace("$", ""))
    return (int(m.group(2)), m.group(1)) if m else (None, None)


def _sheets(z: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(sheet name, member path of its XML) in workbook order."""
    wb = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target", "") for r in rels}
    out = []
    for sh in wb.iter(f"{_NS}sheet"):
        t = target.get(sh.get(f"{_REL_NS}id"), "")
        t = t.lstrip("/") if t.startswith("/") else "xl/" + t
        out.append((sh.get("name", ""), t))
    return out


def check_xlsx(path: Path, name: str, sheet: int | str | None) -> None:
    """Merged cells and formulas without a saved value in the sheet read (the first by default).

    Raises:
        InputError: (exit 2, code ``merged-cells`` or ``formula``) located at the first such cell;
            the message lists the first few cells by row and column (adapters keep only the
            message).
    """
    try:
        with zipfile.ZipFile(path) as z:
            sheets = _sheets(z)
            if not sheets:
                return
            if isinstance(sheet, str):
                member = next((m for n, m in sheets if n == sheet), None)
            else:
                idx = (sheet or 1) - 1 if isinstance(sheet, int) and sheet > 0 else 0
                member = sheets[idx][1] if idx < len(sheets) else None
            if member is None or member not in z.namelist():
                return
            found, total = _scan_sheet(z, member)
    except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError):
        return  # not an OOXML workbook we can inspect: the reader reports it
    if not found:
        return
    kinds = {k for k, _, _, _ in found}
    shown = "; ".join(f"row {r}, column {c}: {what}" for _, r, c, what in found[:5])
    more = f" (and {total - 5} more)" if total > 5 else ""
    hints = []
    if "merged-cells" in kinds:
        hints.append("only the first cell of a merged range holds a value, the others read as empty: unmerge "
                     "them and fill every cell")
    if "formula" in kinds:
        hints.append("the file was written by a program that does not compute formulas: open and save it in "
                     "Excel or LibreOffice, or paste the values")
    _, row, col, _ = found[0]
    raise InputError(f"{total} merged or formula cell(s) in the workbook: {shown}{more}; " + "; ".join(hints),
                     file=name, row=row, column=col, code=found[0][0])


def _scan_sheet(z: zipfile.ZipFile, member: str) -> tuple[list[tuple[str, int | None, str | None, str]], int]:
    """(kind, row, column, what) of the first merged ranges / unsaved formulas, and their total."""
    found: list[tuple[str, int | None, str | None, str]] = []
    total = 0
    with z.open(member) as fh:
        for _, el in ET.iterparse(fh, events=("end",)):
            tag = el.tag
            if tag == f"{_NS}c":
                f = el.find(f"{_NS}f")
                v = el.find(f"{_NS}v")
                if f is not None and (v is None or not (v.text or "").strip()) and el.find(f"{_NS}is") is None:
                    total += 1
                    if len(found) < _MAX_LISTED:
                        row, col = _split_ref(el.get("r", ""))
                        found.append(("formula", row, col, "a formula without a saved value"))
                el.clear()
            elif tag == f"{_NS}mergeCell":
                total += 1
                ref = el.get("ref", "")
                if len(found) < _MAX_LISTED:
                    row, col = _split_ref(ref.split(":")[0])
                    found.append(("merged-cells", row, col, f"merged cells {ref}"))
            elif tag == f"{_NS}row":
                el.clear()
    return found, total


def sheet_hint(path: Path, sheet: int | str | None) -> str:
    """``"; the workbook's other sheets: 'Data' (with data)"`` for a sheet read empty, or ``""``."""
    try:
        import fastexcel

        reader = fastexcel.read_excel(str(path))
        names = list(reader.sheet_names)
    except Exception:  # fastexcel raises its own exception types
        return ""
    read = sheet if isinstance(sheet, str) else (names[(sheet or 1) - 1] if names else "")
    others = []
    for n in names:
        if n == read:
            continue
        try:
            has = reader.load_sheet(n, n_rows=2, header_row=None).height > 0
        except Exception:
            has = False
        others.append(f"'{n}'" + (" (holds data)" if has else " (empty)"))
    return (f"; the sheet read is '{read}' (the first); the workbook's other sheets: " + ", ".join(others)
            + ". Move the table to the first sheet") if others else ""


#: Headers of the MVKL release's metadata columns: never inside the positional manifestation range.
_METADATA_HEADERS = frozenset({"序号", "patient_id", "study_id", "view_id", "label", "bi-rads", "birads", "诊断结果",
                               "位置", "备注", "report", "name", "姓名", "lump_id", "laterality", "age", "density"})
_NUMBERED = re.compile(r"^(.*?)(\d+)$")


def _shifted_columns(df: pl.DataFrame, file: str) -> list[Problem]:
    """Columns shifted against the positional layout (columns I up to the last, exclusive): a
    metadata header inside the range, or numbered headers (``m00`` ...) that start, end or run on
    outside it. One problem naming the column; the values are never quoted."""
    cols = df.columns
    rng = cols[8:-1]
    for j, c in enumerate(rng, start=8):
        if c.strip().lower() in _METADATA_HEADERS:
            return [Problem(file, 1, f"{c} ({col_letter(j)})", "a metadata column lies inside the manifestation "
                            "columns (I up to the last): the columns are shifted; restore the release layout or "
                            "name the manifestation columns after the schema", "shifted-columns")]
    parts = [_NUMBERED.match(c.strip()) for c in cols]
    inside = [m for m in parts[8:-1] if m]
    if len(inside) < 0.8 * len(rng):
        return []
    prefix = max({m.group(1) for m in inside}, key=lambda x: sum(1 for m in inside if m.group(1) == x))
    family = [j for j, m in enumerate(parts) if m and m.group(1) == prefix]
    numbers = [int(parts[j].group(2)) for j in family]  # type: ignore[union-attr]
    consecutive = numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    if consecutive and family != list(range(8, 8 + len(rng))):
        j = family[0] if family[0] != 8 else next(k for k in range(8, len(cols) - 1) if k not in family)
        return [Problem(file, 1, f"{cols[j]} ({col_letter(j)})", f"the numbered manifestation headers "
                        f"({cols[family[0]]} ... {cols[family[-1]]}) lie in columns {col_letter(family[0])} to "
                        f"{col_letter(family[-1])}, not I up to the last: the columns are shifted", "shifted-columns")]
    return []


def read_table(path: str | Path, sheet: int | str | None = None) -> pl.DataFrame:
    """Read a CSV/TSV, XLSX, XLS or Parquet table with every column as text.

    Row order and empty rows are kept, so that ``row index + 2`` is the row a spreadsheet shows.
    Text tables are decoded as UTF-8 (with or without BOM), UTF-16 or GB18030/GBK; control
    characters are removed from every cell and header; XLSX merged cells and formulas without a
    saved value are refused (:mod:`mvkl.manifest.tablefile`).

    Raises:
        InputError: not a regular file, unsupported extension, unreadable, empty, or an encoding
            that is none of the above; ValidationFailed for merged cells and unsaved formulas.
    """
    p = Path(path)
    name = display_path(p)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError("file not found", file=name, code="missing-file") from None
    except OSError as e:
        raise InputError(f"cannot access the table ({e.strerror or type(e).__name__})", file=name,
                         code="unreadable") from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device")
        raise InputError(f"not a regular file but {kind}; name the table file itself", file=name,
                         code="not-a-file")
    suffix = p.suffix.lower()
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            text, _enc = decode_text(p.read_bytes(), name)
            text = text.lstrip("\ufeff")
            head = text[: text.find("\n") if "\n" in text else len(text)]
            sep = "\t" if suffix == ".tsv" or head.count("\t") > head.count(",") else ","
            if sep == "," and head.count(";") > head.count(","):
                sep = ";"
            df = pl.read_csv(io.BytesIO(text.encode("utf-8")), separator=sep, infer_schema=False,
                             truncate_ragged_lines=True)
            del text
        elif suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
            if suffix in (".xlsx", ".xlsm"):
                check_xlsx(p, name, sheet)
            kw: dict[str, object] = {"infer_schema_length": 0, "drop_empty_rows": False}
            if isinstance(sheet, int):
                kw["sheet_id"] = sheet
            elif isinstance(sheet, str):
                kw["sheet_name"] = sheet
            df = pl.read_excel(p, **kw)  # type: ignore[arg-type]
        elif suffix in (".parquet", ".pq"):
            df = pl.read_parquet(p)
            df = df.with_columns(pl.all().cast(pl.String))
        else:
            raise InputError(f"unsupported table format {suffix!r} (use .csv, .xlsx, .xls or .parquet)",
                             file=name, code="format")
    except InputError:
        raise
    except Exception as exc:  # polars/fastexcel raise many exception types
        hint = sheet_hint(p, sheet) if suffix in (".xlsx", ".xlsm", ".xls", ".ods") else ""
        raise InputError(f"cannot read table: {type(exc).__name__}{hint}", file=name, code="unreadable") from exc
    excel = suffix in (".xlsx", ".xlsm", ".xls", ".ods")
    if df.width == 0 or (df.height == 0 and excel):
        hint = sheet_hint(p, sheet) if excel else ""
        if df.width == 0 or "holds data" in hint:  # a header-only table is valid; another sheet's data is not
            raise InputError(f"table has no {'columns' if df.width == 0 else 'rows'}{hint}", file=name,
                             code="empty")
    return strip_controls(df)
