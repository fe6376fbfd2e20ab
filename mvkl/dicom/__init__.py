"""The DICOM side of ingest: read and validate files, the pixel pipeline, allow-listed
de-identifying header extraction, keyed pseudonyms and report scrubbing (spec/dicom.md).

Public API (names are loaded lazily so that ``import mvkl.dicom`` for scrubbing or pseudonyms
does not import pydicom)::

    load_image(path, policy=PixelPolicy()) -> ProcessedImage   # raises QuarantineError
    PixelPolicy, ProcessedImage, SafeHeader, bench_load
    collect_identifiers(ds) -> list[str]                        # only for scrub_report
    Pseudonymizer(key)(kind, raw) -> 16 hex chars; load_or_create_key(path); key_fingerprint(key)
    scrub_report(text, identifiers=(), lang="auto") -> (text, n_spans)
    DEID_PROFILE, deid_profile(age_kept)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "DEID_PROFILE",
    "PixelPolicy",
    "ProcessedImage",
    "Pseudonymizer",
    "SafeHeader",
    "bench_load",
    "collect_identifiers",
    "deid_profile",
    "key_fingerprint",
    "load_image",
    "load_or_create_key",
    "safe_header",
    "scrub_report",
]

_WHERE = {
    "DEID_PROFILE": "deid",
    "Pseudonymizer": "deid",
    "deid_profile": "deid",
    "key_fingerprint": "deid",
    "load_or_create_key": "deid",
    "scrub_report": "mvkl.deid.scrub",  # report text is scrubbed in mvkl.deid (dicom → deid, never back)
    "SafeHeader": "header",
    "collect_identifiers": "header",
    "safe_header": "header",
    "PixelPolicy": "load",
    "ProcessedImage": "load",
    "bench_load": "load",
    "load_image": "load",
}

if TYPE_CHECKING:
    from mvkl.deid.scrub import scrub_report
    from mvkl.dicom.deid import DEID_PROFILE, Pseudonymizer, deid_profile, key_fingerprint, load_or_create_key
    from mvkl.dicom.header import SafeHeader, collect_identifiers, safe_header
    from mvkl.dicom.load import PixelPolicy, ProcessedImage, bench_load, load_image


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'mvkl.dicom' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod if "." in mod else f"mvkl.dicom.{mod}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
