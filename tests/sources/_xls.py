"""A minimal BIFF8 ``.xls`` writer for test fixtures (no xls writer is installed here).

It writes what a legacy Excel 97-2003 workbook is made of: an OLE2 compound file (CFB v3, 512-byte
sectors, one FAT sector) holding a ``Workbook`` stream of BIFF8 records: the globals (BOF,
CODEPAGE, BOUNDSHEET, SST, EOF) and one worksheet (BOF, DIMENSIONS, LABELSST/NUMBER cells, EOF).
Text cells go through the shared string table, numbers are IEEE doubles (``NUMBER``), as Excel
stores the INbreast table's ``File Name`` and ``ACR`` cells. Enough for calamine (what
:func:`mvkl.manifest.table.read_table` uses) to read it as it reads the released ``INbreast.xls``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

__all__ = ["write_xls"]

_SECTOR = 512
_END, _FREE, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _rec(kind: int, data: bytes) -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


def _bof(dt: int) -> bytes:
    return _rec(0x0809, struct.pack("<HHHHII", 0x0600, dt, 0x0DBB, 0x07CC, 0, 0x06))


def _ustr(s: str) -> bytes:
    """XLUnicodeString: 16-bit length, 1 flag byte (1: UTF-16LE characters)."""
    return struct.pack("<HB", len(s), 1) + s.encode("utf-16-le")


def _workbook(rows: Sequence[Sequence[str | float | None]], sheet: str) -> bytes:
    strings: list[str] = []
    index: dict[str, int] = {}
    cells = b""
    n_text = 0
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, (int, float)):
                cells += _rec(0x0203, struct.pack("<HHHd", r, c, 0, float(v)))
                continue
            if v not in index:
                index[v] = len(strings)
                strings.append(v)
            n_text += 1
            cells += _rec(0x00FD, struct.pack("<HHHI", r, c, 0, index[v]))
    sst = struct.pack("<II", n_text, len(strings)) + b"".join(_ustr(s) for s in strings)
    if len(sst) > 8224:
        raise ValueError("fixture too large for one SST record (no CONTINUE support)")
    width = max((len(r) for r in rows), default=0)
    sheet_stream = (_bof(0x0010) + _rec(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0)) + cells
                    + _rec(0x000A, b""))

    def globals_(offset: int) -> bytes:
        name = sheet.encode("utf-16-le")
        bound = _rec(0x0085, struct.pack("<IBBBB", offset, 0, 0, len(sheet), 1) + name)
        return _bof(0x0005) + _rec(0x0042, struct.pack("<H", 1200)) + bound + _rec(0x00FC, sst) + _rec(0x000A, b"")

    head = globals_(0)
    return globals_(len(head)) + sheet_stream


def _dir_entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    raw = (name.encode("utf-16-le") + b"\0\0") if name else b""
    return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1 if name else 0)
            + struct.pack("<III", _NOSTREAM, _NOSTREAM, child) + b"\0" * 16 + struct.pack("<I", 0)
            + b"\0" * 16 + struct.pack("<II", start, size) + b"\0" * 4)


def write_xls(path: Path, rows: Sequence[Sequence[str | float | None]], sheet: str = "Sheet1") -> Path:
    """Write ``rows`` (the first is the header) as a one-sheet BIFF8 workbook at ``path``."""
    stream = _workbook(rows, sheet)
    stream = stream.ljust(max(4096, -(-len(stream) // _SECTOR) * _SECTOR), b"\0")  # >= cutoff: no mini stream
    n_data = len(stream) // _SECTOR
    if n_data + 2 > _SECTOR // 4:
        raise ValueError("fixture too large for one FAT sector")
    dir_sector = 1 + n_data
    fat = [_FATSECT] + [i + 1 for i in range(1, n_data)] + [_END, _END]
    fat += [_FREE] * (_SECTOR // 4 - len(fat))
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16
              + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, dir_sector, 0, 4096, _END, 0, _END, 0)
              + struct.pack("<I", 0) + struct.pack("<I", _FREE) * 108)
    assert len(header) == _SECTOR
    directory = (_dir_entry("Root Entry", 5, 1, _END, 0) + _dir_entry("Workbook", 2, _NOSTREAM, 1, len(stream))
                 + _dir_entry("", 0, _NOSTREAM, 0, 0) * 2)
    path.write_bytes(header + struct.pack(f"<{_SECTOR // 4}I", *fat) + stream + directory)
    return path
