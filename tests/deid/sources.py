"""Synthetic ``--format csv`` sources with identifiers planted around the pixels (issue 15 item 4).

Every planted value is unique (``ZQX...`` or a corpus value), so a search of the outputs for it
can only hit a leak.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tests.ingest.dicomfiles import phantom, write_mg

# folder and file names holding names and MRNs
PATH_CANARIES = ("ZQXPATHNAME_13811112222", "MRN55667788", "Zqxfilename")
# spreadsheet columns other than the report (never read into the store)
COLUMN_CANARIES = {"name": "Zqxcolname Wvyfirst", "remark": "ZQXREMARKCELL", "住址": "朝阳区ZQX幸福路88号",
                   "phone": "ZQXPHONECELL"}
HEADER_CANARIES = {"PatientName": "Zqxhdrname^Amy", "InstitutionName": "Zqxhdrinst Hospital",
                   "PatientID": "ZQXHDRPID"}
OVERLAY_CANARIES = ("ZQXOVERLAYDATA", "ZQXOVERLAYDESC", "ZQXOVERLAYLABEL")
ICON_CANARIES = ("ZQXICONPIXELS", "ZQXICONCOMMENT")
QUARANTINE_CANARIES = ("ZQXPHOTOMETRIC", "13912345678", "Zqxmultiframe")


def _overlay_and_icon(ds: Any) -> None:
    """A 60xx overlay (data and text) and an icon image whose pixels and item text are canaries."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ds.add_new(0x60000010, "US", 8)
    ds.add_new(0x60000011, "US", 16)
    ds.add_new(0x60000040, "CS", "G")
    ds.add_new(0x60000050, "SS", [1, 1])
    ds.add_new(0x60000100, "US", 1)
    ds.add_new(0x60000102, "US", 0)
    ds.add_new(0x60000022, "LO", OVERLAY_CANARIES[1])
    ds.add_new(0x60001500, "LO", OVERLAY_CANARIES[2])
    ds.add_new(0x60003000, "OW", OVERLAY_CANARIES[0].encode().ljust(16, b"\x00"))
    icon = Dataset()
    icon.Rows, icon.Columns, icon.SamplesPerPixel = 8, 8, 1
    icon.PhotometricInterpretation = "MONOCHROME2"
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 8, 8, 7, 0
    icon.PixelData = ICON_CANARIES[0].encode().ljust(64, b"\x00")
    icon.ImageComments = ICON_CANARIES[1]
    ds.IconImageSequence = Sequence([icon])


def overlay_pixels(lat: str, seed: int, overlay_bits: bool) -> np.ndarray:
    """A 12-bit phantom; with ``overlay_bits`` a block of bit 15 set, as an overlay stored in the
    unused high bits of PixelData (OverlayBitPosition 15) would be."""
    px = phantom(laterality=lat, seed=seed).astype(np.uint16)
    if overlay_bits:
        px[20:40, 10:60] |= np.uint16(1 << 15)
    return px


def make_source(root: Path, reports: Sequence[str], *, overlay_bits: bool = True,
                hostile: bool = True, columns: bool = True) -> dict[str, int]:
    """A csv-layout source: one lump per report (CC + MLO). Lump 0 sits under identifying folder and
    file names, with a 60xx overlay, overlay bits and an icon image; with ``hostile`` two more lumps
    hold a multi-frame file, a PhotometricInterpretation that is no defined term and a
    NumberOfFrames holding a phone number. Returns the number of lumps and of hostile images."""
    rows: list[dict[str, str]] = []
    for i, report in enumerate(reports):
        lat = "LR"[i % 2]
        if i == 0:
            rel = f"{PATH_CANARIES[0]}/{PATH_CANARIES[1]}"
            names = {"CC": f"{PATH_CANARIES[2]}_CC.dcm", "MLO": f"{PATH_CANARIES[2]}_MLO.dcm"}
        else:
            rel, names = f"p{i:03d}/s1", {"CC": "cc.dcm", "MLO": "mlo.dcm"}
        for view, fname in names.items():
            attrs: dict[str, Any] = dict(HEADER_CANARIES) if i == 0 else {"PatientID": f"SYN{i:03d}"}
            mutate: Callable[[Any], None] | None = _overlay_and_icon if i == 0 else None
            px = overlay_pixels(lat, i * 2 + (view == "MLO"), overlay_bits and i == 0)
            if hostile and i == 1 and view == "CC":  # multi-frame
                attrs.update(PatientName="Zqxmultiframe^Bo", NumberOfFrames=2, Rows=px.shape[0])
                px = np.vstack([px, px])
            if hostile and i == 1 and view == "MLO":
                attrs["PhotometricInterpretation"] = QUARANTINE_CANARIES[0]
            if hostile and i == 2 and view == "CC":
                attrs["NumberOfFrames"] = QUARANTINE_CANARIES[1]
            write_mg(root / rel / fname, px, laterality=lat, view=view, mutate=mutate, **attrs)
        row = {"patient_id": f"ZQXPID{i:03d}", "study_id": f"ZQXSID{i:03d}", "laterality": lat,
               "cc_path": f"{rel}/{names['CC']}", "mlo_path": f"{rel}/{names['MLO']}", "report": report,
               "label": ("malignant", "benign")[i % 2]}
        if columns:
            row.update({k: f"{v}{i}" for k, v in COLUMN_CANARIES.items()})
        rows.append(row)
    root.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(rows).write_csv(root / "manifest.csv")
    return {"lumps": len(rows), "hostile_images": 3 if hostile else 0}


def column_canaries(n: int) -> list[str]:
    """The planted cell values of ``n`` rows (ids and the columns other than the report)."""
    out = [f"ZQXPID{i:03d}" for i in range(n)] + [f"ZQXSID{i:03d}" for i in range(n)]
    return out + [f"{v}{i}" for i in range(n) for v in COLUMN_CANARIES.values()]


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by relative path."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
