"""Quarantine reasons: why an input item was set aside while the rest of an ingest went on.

Reasons are stable codes shared by the DICOM reader, the adapters, the synthetic generator's
hostile-file manifest and the ingest summary. Details must never contain identifiers (names, IDs,
dates, UIDs, source paths): they say what is wrong, not whose file it is.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["QuarantineError", "Reason"]


class Reason(str, Enum):
    """Why an item was quarantined."""

    MISSING_FILE = "missing-file"            # a table row names a file that does not exist
    UNREADABLE = "unreadable"                # I/O error, permission, empty file
    NOT_DICOM = "not-dicom"                  # no DICOM preamble/meta and not parseable as DICOM
    TRUNCATED = "truncated"                  # file ends early (header or pixel data)
    NO_PIXEL_DATA = "no-pixel-data"          # DICOM without PixelData (SR, RTPLAN, DICOMDIR, ...)
    MISSING_ATTRIBUTE = "missing-attribute"  # Rows/Columns/Bits*/PhotometricInterpretation absent
    NOT_GRAYSCALE = "not-grayscale"          # SamplesPerPixel != 1, RGB/YBR/PALETTE COLOR
    MULTI_FRAME = "multi-frame"              # NumberOfFrames > 1 (tomosynthesis, cine)
    UNDECODABLE = "undecodable"              # compressed pixel data no plugin can decode
    BURNED_IN_ANNOTATION = "burned-in-annotation"  # BurnedInAnnotation YES (unless allowed)
    FOR_PROCESSING = "for-processing"        # raw detector data without a usable VOI (by policy)
    NOT_MAMMOGRAM = "not-mammogram"          # modality/body part says it is not a breast image
    TOO_LARGE = "too-large"                  # declared frame size over the limit (--max-megapixels)
    EMPTY_IMAGE = "empty-image"              # no breast found (constant image)
    TABLE_ROW = "table-row"                  # an invalid table row (details name row and column)
    NO_IMAGES = "no-images"                  # a lump whose every image was quarantined
    DUPLICATE = "duplicate"                  # the same image/lump listed twice
    UNSUPPORTED_VIEW = "unsupported-view"    # a view without a CC/MLO slot (INbreast FB, VinDr other views)
    NO_LESION_LOCATION = "no-lesion-location"  # lesion-view ingest: the lump/view has no lesion box
    SPLIT_CONFLICT = "split-conflict"        # rows dropped so a patient stays in one official split (CBIS-DDSM)

    def __str__(self) -> str:
        return self.value


class QuarantineError(Exception):
    """Raised by readers for an item that must be set aside; carries a :class:`Reason`.

    ``detail`` is a short identifier-free explanation, e.g. ``"pixel data 8130 of 8192 bytes"``.
    """

    def __init__(self, reason: Reason, detail: str = "") -> None:
        self.reason = Reason(reason)
        self.detail = detail
        super().__init__(f"{self.reason.value}: {detail}" if detail else self.reason.value)
