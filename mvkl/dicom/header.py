"""Allow-listed header extraction (:class:`SafeHeader`) and the identifier harvest for scrubbing.

De-identification by allow-list (spec/dicom.md §0.2, §1.5): nothing is copied out of a DICOM
header except the attributes in :data:`ALLOWED_KEYWORDS`, and each of those is reduced to a
closed vocabulary (view and laterality codes, code strings of ``[A-Z0-9 _.-]``, numbers). Private
tags, sequences other than the view/modifier codes, file meta, UIDs, dates and free text never
reach a :class:`SafeHeader`.

View (§2.2): View Code Sequence (CID 4014 SCT codes, legacy SNOMED-RT codes, or a CodeMeaning
that equals a CID 4014 meaning) -> View Position (``CC``, ``MLO``, ``ML``, ``LM``, ``XCCL``,
``XCCM``; an ``L``/``R`` prefix is tolerated) -> ``CC``/``MLO``-style tokens in Series
Description / Protocol Name -> ``"other"``.

Laterality: Image Laterality -> Laterality -> Frame Laterality (functional groups) -> a view
position prefix (``LCC``) -> tokens in Series Description / Protocol Name (``L CC``, ``LEFT``,
``左乳``) -> Patient Orientation
(for CC/MLO-family views the column direction points medially: ``R``/``FR`` = left breast) ->
``"U"``. Pixel-based side detection gives orientation, not laterality, and is never used here.

:func:`collect_identifiers` is the opposite: every identifying string of the header (names and
their components, IDs, accession number, institution, MRN-like numbers anywhere), walking nested
sequences and private elements. Its result only feeds :func:`mvkl.deid.scrub.scrub_report`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from mvkl.dicom.read import element_value

__all__ = [
    "ALLOWED_KEYWORDS",
    "IDENTIFIER_KEYWORDS",
    "MODIFIER_CODES",
    "VIEW_CODES_SCT",
    "SafeHeader",
    "collect_identifiers",
    "resolve_laterality",
    "resolve_view",
    "safe_header",
]

#: Every attribute :func:`safe_header` reads (nothing else is looked at, except the hint fields
#: below, from which only a view/laterality token can come out).
ALLOWED_KEYWORDS: tuple[str, ...] = (
    "ViewCodeSequence", "ViewPosition", "ImageLaterality", "Laterality", "SharedFunctionalGroupsSequence",
    "PixelSpacing", "ImagerPixelSpacing", "PhotometricInterpretation", "PresentationIntentType", "Modality",
    "Manufacturer", "ManufacturerModelName", "PatientAge", "BitsStored", "Rows", "Columns", "BurnedInAnnotation",
    "BreastImplantPresent", "PatientOrientation",
)
_HINT_KEYWORDS = ("SeriesDescription", "ProtocolName")

#: CID 4014 (SCT) and legacy SNOMED-RT codes -> canonical view.
VIEW_CODES_SCT: dict[str, str] = {
    "399162004": "CC", "399368009": "MLO", "399260004": "ML", "399352003": "LM",
    "399192008": "XCCL", "399101009": "XCCM",
    "399196006": "other", "399099002": "other", "399188001": "other", "441555000": "other", "127457009": "other",
    "R-10242": "CC", "R-10226": "MLO", "R-10224": "ML", "R-10228": "LM", "R-1024A": "XCCL", "R-1024B": "XCCM",
    "R-10244": "other", "R-10230": "other",
}
_VIEW_MEANINGS: dict[str, str] = {
    "cranio-caudal": "CC", "medio-lateral oblique": "MLO", "medio-lateral": "ML", "medial-lateral": "ML",
    "latero-medial": "LM", "cranio-caudal exaggerated laterally": "XCCL",
    "cranio-caudal exaggerated medially": "XCCM", "caudo-cranial": "other", "latero-medial oblique": "other",
    "superolateral to inferomedial oblique": "other", "inferomedial to superolateral oblique": "other",
    "tissue specimen from breast": "other",
}
#: CID 4015 view modifiers (SCT code -> canonical lower-case name).
MODIFIER_CODES: dict[str, str] = {
    "441752004": "anterior compression", "399011000": "axillary tail", "442580003": "axillary tissue",
    "399161006": "cleavage", "399209000": "implant displaced", "442593008": "infra-mammary fold",
    "399163009": "magnification", "442581004": "nipple in profile", "414493004": "rolled inferior",
    "399197002": "rolled lateral", "399226006": "rolled medial", "415670009": "rolled superior",
    "399055006": "spot compression", "399110001": "tangential",
}
_VIEWS = ("CC", "MLO", "ML", "LM", "XCCL", "XCCM")
_VIEW_POS = re.compile(r"^(?:([LR])[\s_-]?)?(XCCL|XCCM|MLO|CC|ML|LM)$")
_HINT = re.compile(r"(?<![A-Z0-9])(?:(L|R|LEFT|RIGHT)[\s_-]*)?(XCCL|XCCM|MLO|CC|ML|LM)(?![A-Z0-9])")
_SIDE_WORD = re.compile(r"(?<![A-Z0-9])(LEFT|RIGHT)(?![A-Z0-9])")
_CODE_CHARS = re.compile(r"[^A-Za-z0-9 _.\-]")
_AGE = re.compile(r"^\s*(\d{1,3})\s*([DWMY])\s*$", re.IGNORECASE)


@dataclass
class SafeHeader:
    """Allow-listed, non-identifying fields of one image (never names, IDs, dates, UIDs, free text).

    ``pixel_spacing`` is (row, column) in mm: Pixel Spacing when valid, else Imager Pixel Spacing,
    else ``(nan, nan)`` (zero, negative or > 10 mm counts as invalid: ``"0.000\\0.000"`` in RG1).
    ``age_years`` comes from Patient Age only (never from dates); bucket it before storing.
    """

    view: str
    laterality: str
    pixel_spacing: tuple[float, float]
    photometric: str
    presentation_intent: str
    modality: str
    manufacturer: str
    age_years: int | None
    bits_stored: int
    rows: int
    columns: int
    transfer_syntax: str
    burned_in: str
    breast_implant: str
    view_modifiers: tuple[str, ...] = field(default_factory=tuple)
    model_name: str = ""


def _code(v: object, limit: int = 64) -> str:
    """A value reduced to ``[A-Za-z0-9 _.-]`` (single-valued, stripped, at most ``limit`` chars)."""
    if v is None:
        return ""
    if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
        v = "\\".join(str(x) for x in v)  # type: ignore[union-attr]
    if isinstance(v, (bytes, bytearray)):
        return ""
    return _CODE_CHARS.sub("", str(v)).strip()[:limit]


def _upper(ds: Dataset, keyword: str) -> str:
    return _code(element_value(ds, keyword, "")).upper()


def _int(ds: Dataset, keyword: str) -> int:
    try:
        return int(element_value(ds, keyword, 0) or 0)
    except (TypeError, ValueError):
        return 0


def _spacing(ds: Dataset) -> tuple[float, float]:
    for kw in ("PixelSpacing", "ImagerPixelSpacing"):
        v = element_value(ds, kw)
        try:
            vals = [float(x) for x in v] if v is not None and not isinstance(v, (str, bytes)) else []
        except (TypeError, ValueError):
            vals = []
        if len(vals) == 2 and all(0.0 < x <= 10.0 for x in vals):
            return vals[0], vals[1]
    return float("nan"), float("nan")


def _age(ds: Dataset) -> int | None:
    m = _AGE.match(str(element_value(ds, "PatientAge", "") or ""))
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2).upper()
    years = n if unit == "Y" else 0
    return years if 0 <= years <= 130 else None


def _item_code(item: Dataset) -> tuple[str, str]:
    value = _code(element_value(item, "CodeValue", "")) or _code(element_value(item, "LongCodeValue", ""))
    meaning = str(element_value(item, "CodeMeaning", "") or "").strip().lower()
    return value, meaning


def _first_item(ds: Dataset, keyword: str) -> Dataset | None:
    seq = element_value(ds, keyword)
    try:
        return seq[0] if seq else None
    except (TypeError, IndexError):
        return None


def _hints(ds: Dataset) -> list[str]:
    out = []
    for kw in _HINT_KEYWORDS:
        v = element_value(ds, kw, "")
        if isinstance(v, str) and v:
            out.append(v.upper())
    return out


def resolve_view(ds: Dataset) -> str:
    """Canonical view code (module docstring order); ``"other"`` when nothing maps."""
    item = _first_item(ds, "ViewCodeSequence")
    if item is not None:
        value, meaning = _item_code(item)
        if value in VIEW_CODES_SCT:
            return VIEW_CODES_SCT[value]
        if meaning in _VIEW_MEANINGS:
            return _VIEW_MEANINGS[meaning]
    m = _VIEW_POS.match(_upper(ds, "ViewPosition").replace(" ", ""))
    if m:
        return m.group(2)
    for text in _hints(ds):
        hit = _HINT.search(text)
        if hit:
            return hit.group(2)
    return "other"


def _view_modifiers(ds: Dataset) -> tuple[str, ...]:
    items = []
    view_item = _first_item(ds, "ViewCodeSequence")
    for holder in (view_item, ds):
        if holder is None:
            continue
        seq = element_value(holder, "ViewModifierCodeSequence")
        items.extend(list(seq) if seq else [])
    names = []
    known = set(MODIFIER_CODES.values())
    for it in items:
        value, meaning = _item_code(it)
        name = MODIFIER_CODES.get(value) or (meaning if meaning in known else "other")
        if name not in names:
            names.append(name)
    return tuple(names)


def _lr(v: str) -> str | None:
    return v if v in ("L", "R") else None


def resolve_laterality(ds: Dataset, view: str | None = None) -> str:
    """``"L"``, ``"R"`` or ``"U"`` (module docstring order)."""
    for kw in ("ImageLaterality", "Laterality"):
        got = _lr(_upper(ds, kw))
        if got:
            return got
    for groups in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        item = _first_item(ds, groups)
        anat = _first_item(item, "FrameAnatomySequence") if item is not None else None
        if anat is not None:
            got = _lr(_upper(anat, "FrameLaterality"))
            if got:
                return got
    m = _VIEW_POS.match(_upper(ds, "ViewPosition").replace(" ", ""))
    if m and m.group(1):
        return m.group(1)
    for text in _hints(ds):
        hit = _HINT.search(text)
        if hit and hit.group(1):
            return hit.group(1)[0]
        word = _SIDE_WORD.search(text)
        if word:
            return word.group(1)[0]
        if ("左" in text) != ("右" in text):  # Chinese descriptions: 左乳 / 右乳
            return "L" if "左" in text else "R"
    view = view or resolve_view(ds)
    orient = element_value(ds, "PatientOrientation")
    if view in ("CC", "MLO", "XCCL", "XCCM") and orient is not None and not isinstance(orient, str):
        vals = [str(v).upper() for v in orient]
        if len(vals) == 2:
            if "R" in vals[1] and "L" not in vals[1]:
                return "L"
            if "L" in vals[1] and "R" not in vals[1]:
                return "R"
    return "U"


def safe_header(ds: Dataset) -> SafeHeader:
    """Build the :class:`SafeHeader` of a data set from the allow-list only."""
    view = resolve_view(ds)
    meta = getattr(ds, "file_meta", None)
    ts = _code(meta.get("TransferSyntaxUID", "") if meta is not None else "")
    return SafeHeader(
        view=view,
        laterality=resolve_laterality(ds, view),
        pixel_spacing=_spacing(ds),
        photometric=_upper(ds, "PhotometricInterpretation"),
        presentation_intent=_upper(ds, "PresentationIntentType"),
        modality=_upper(ds, "Modality"),
        manufacturer=_code(element_value(ds, "Manufacturer", "")),
        age_years=_age(ds),
        bits_stored=_int(ds, "BitsStored"),
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
        transfer_syntax=ts,
        burned_in=_upper(ds, "BurnedInAnnotation"),
        breast_implant=_upper(ds, "BreastImplantPresent"),
        view_modifiers=_view_modifiers(ds),
        model_name=_code(element_value(ds, "ManufacturerModelName", "")),
    )


# ---------------------------------------------------------------------------------------------
# identifiers for report scrubbing

#: Attributes whose whole value is an identifier (besides every PN-valued element).
IDENTIFIER_KEYWORDS: frozenset[str] = frozenset({
    "PatientID", "OtherPatientIDs", "IssuerOfPatientID", "AccessionNumber", "StudyID", "RequestedProcedureID",
    "ScheduledProcedureStepID", "PerformedProcedureStepID", "AdmissionID", "ServiceEpisodeID",
    "PlacerOrderNumberImagingServiceRequest", "FillerOrderNumberImagingServiceRequest", "MedicalRecordLocator",
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "PatientAddress",
    "PatientTelephoneNumbers", "StationName", "DeviceSerialNumber", "MilitaryRank", "BranchOfService",
    "RegionOfResidence", "CountryOfResidence", "ResponsibleOrganization",
})
_TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "PN"})
_MRN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{0,4}[-_]?\d{6,}[A-Za-z0-9]*(?![A-Za-z0-9])")
_NAME_SPLIT = re.compile(r"[\^=\s,]+")
_MIN_ID_LEN = 3


def _strings(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        out: list[str] = []
        for v in value:  # type: ignore[union-attr]
            out.extend(_strings(v))
        return out
    if isinstance(value, (bytes, bytearray)):
        return []
    s = str(value).strip()
    return [s] if s else []


def _name_parts(name: str) -> list[str]:
    out = [name]
    for group in name.split("="):
        group = group.strip()
        if group and group != name:
            out.append(group)
    out.extend(p for p in _NAME_SPLIT.split(name) if len(p) >= 2)
    return out


def collect_identifiers(ds: Dataset) -> list[str]:
    """Every identifying string in ``ds`` (nested sequences and private elements included).

    Person names (every PN element: patient, physicians, operators, other names) with each
    component of 2+ characters, the ID attributes of :data:`IDENTIFIER_KEYWORDS` (3+ characters),
    and MRN-like tokens (6+ digits) in any other text element. Only for report scrubbing: the
    result must never be stored, logged or printed.
    """
    found: list[str] = []

    def visit(d: Dataset) -> None:
        for tag in list(d.keys()):
            try:
                elem = d[tag]
                vr, keyword, value = elem.VR, elem.keyword, elem.value
            except Exception:  # an element pydicom cannot convert holds nothing we can match
                continue
            if vr == "SQ":
                for item in value or []:
                    if isinstance(item, Dataset):
                        visit(item)
                continue
            if vr == "PN":
                for s in _strings(value):
                    found.extend(_name_parts(s))
            elif keyword in IDENTIFIER_KEYWORDS:
                found.extend(s for s in _strings(value) if len(s) >= _MIN_ID_LEN)
            elif vr in _TEXT_VRS and keyword not in ("Manufacturer", "ManufacturerModelName", "SoftwareVersions"):
                for s in _strings(value):
                    found.extend(m.group(0) for m in _MRN.finditer(s))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        visit(ds)
    seen: set[str] = set()
    out = []
    for s in found:
        key = s.casefold()
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out
