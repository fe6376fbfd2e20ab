"""Small synthetic mammography DICOM files for the mvkl.dicom tests (spec/dicom.md §5 recipe)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid
from pydicom.uid import UID as _UID

MG_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.2"
VIEW_SCT = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique"),
            "ML": ("399260004", "medio-lateral"), "XCCL": ("399192008", "cranio-caudal exaggerated laterally")}

BACKGROUND = 60  # stored value of air in the MONOCHROME2 phantom (12 bit)


def code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def phantom(h: int = 160, w: int = 128, *, chest_left: bool = True, seed: int = 0, bits: int = 12,
            lesion: tuple[int, int] | None = None, marker: bool = True) -> np.ndarray:
    """A MONOCHROME2 breast phantom: a half-ellipse against the chest wall (left or right edge),
    textured, with an optional bright lesion (y, x) and a bright "marker" block off the breast in
    the nipple-side corner. Values in [0, 2**bits)."""
    rng = np.random.default_rng(seed)
    top = 2**bits - 1
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    dist_wall = xx if chest_left else (w - 1 - xx)
    r = np.sqrt(((yy - h / 2) / (0.42 * h)) ** 2 + (dist_wall / (0.62 * w)) ** 2)
    tissue = r < 1.0
    img = np.full((h, w), BACKGROUND, dtype=np.float64)
    img[tissue] = 0.45 * top + 0.25 * top * (1 - r[tissue]) + rng.normal(0, 0.02 * top, int(tissue.sum()))
    if lesion is not None:
        ly, lx = lesion
        img[(yy - ly) ** 2 + (xx - lx) ** 2 <= 9] = 0.97 * top
    if marker:
        mx = w - 12 if chest_left else 4
        img[4:10, mx:mx + 8] = 0.9 * top
    return np.clip(np.rint(img), 0, top).astype(np.uint16)


def write_mg(path: str | Path, pixels: np.ndarray, *, laterality: str | None = "L", view: str | None = "CC",
             mono1: bool = False, presentation_lut: str | None = "auto", bits: int | None = 12,
             window: tuple[Any, Any] | str | None = "auto", voi_function: str | None = None,
             voi_lut: list[tuple[list[int], int, int]] | None = None,
             modality_lut: tuple[list[int], int, int] | None = None,
             rescale: tuple[float, float] | None = None, intent: str | None = "FOR PRESENTATION",
             burned_in: str | None = "NO", padding: tuple[int, int | None] | None = None,
             transfer_syntax: str = ExplicitVRLittleEndian, pixel_representation: int = 0,
             view_code: bool = True, view_position: bool = True, extra: dict[str, Any] | None = None,
             frames: int | None = None) -> Path:
    """Write one MG file. ``pixels`` are stored values (already MONOCHROME1 if ``mono1``)."""
    path = Path(path)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = MG_FOR_PRESENTATION
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName, ds.PatientID, ds.PatientSex, ds.PatientAge = "SYNTH^ALICE", "SYN0001", "F", "052Y"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.StudyDate = ds.ContentDate = "20200102"
    ds.Modality = "MG"
    if intent:
        ds.PresentationIntentType = intent
    ds.Manufacturer, ds.ManufacturerModelName = "SYNTHETIC", "PHANTOM-1"
    if laterality:
        ds.ImageLaterality = laterality
    if view and view_position:
        ds.ViewPosition = view
    if view and view_code and view in VIEW_SCT:
        item = code(VIEW_SCT[view][0], "SCT", VIEW_SCT[view][1])
        item.ViewModifierCodeSequence = Sequence()
        ds.ViewCodeSequence = Sequence([item])
    if burned_in:
        ds.BurnedInAnnotation = burned_in
    ds.ImagerPixelSpacing = [0.1, 0.1]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME1" if mono1 else "MONOCHROME2"
    arr = np.asarray(pixels)
    ds.Rows, ds.Columns = arr.shape[-2:]
    if frames:
        ds.NumberOfFrames = frames
    ba = {1: 8, 2: 16, 4: 32}.get(arr.dtype.itemsize, 16)
    ds.BitsAllocated = ba
    if bits is not None:
        ds.BitsStored, ds.HighBit = bits, bits - 1
    ds.PixelRepresentation = pixel_representation
    if presentation_lut == "auto":
        presentation_lut = "INVERSE" if mono1 else "IDENTITY"
    if presentation_lut:
        ds.PresentationLUTShape = presentation_lut
    if rescale is not None:
        ds.RescaleSlope, ds.RescaleIntercept = rescale
    if modality_lut is not None:
        data, first, lbits = modality_lut
        item = Dataset()
        item.LUTDescriptor = [len(data), first, lbits]
        item.add_new(0x00283006, "US", list(data))  # LUTData
        ds.ModalityLUTSequence = Sequence([item])
    if window == "auto":
        window = (2 ** ((bits or 12) - 1), 2 ** (bits or 12))
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    if voi_function:
        ds.VOILUTFunction = voi_function
    if voi_lut is not None:
        items = []
        for data, first, lbits in voi_lut:
            item = Dataset()
            item.LUTDescriptor = [len(data), first, lbits]
            item.add_new(0x00283006, "US", list(data))  # LUTData
            items.append(item)
        ds.VOILUTSequence = Sequence(items)
    if padding is not None:
        ds.PixelPaddingValue = padding[0]
        if padding[1] is not None:
            ds.PixelPaddingRangeLimit = padding[1]
    for k, v in (extra or {}).items():
        setattr(ds, k, v)
    dtype = ({8: np.uint8, 16: np.uint16, 32: np.uint32} if pixel_representation == 0
             else {8: np.int8, 16: np.int16, 32: np.int32})[ba]
    order = ">" if transfer_syntax == "1.2.840.10008.1.2.2" else "<"  # big endian OW is byte-swapped
    ds.PixelData = arr.astype(np.dtype(dtype).newbyteorder(order)).tobytes()
    if _UID(transfer_syntax).is_compressed:
        ds.compress(transfer_syntax)
    else:
        ds.file_meta.TransferSyntaxUID = transfer_syntax
    ds.save_as(path, enforce_file_format=True)
    return path


def read(path: str | Path) -> Dataset:
    return pydicom.dcmread(path)
