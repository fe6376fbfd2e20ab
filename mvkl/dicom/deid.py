"""Keyed pseudonyms, the key file, and the de-identification profile a store records.

Pseudonyms (spec/dicom.md §1.5.4): ``HMAC-SHA256(key, kind + "\\x1f" + raw)``, first 16 hex
characters (64 bits; :data:`mvkl.store.schema.PSEUDONYM_BYTES`). Deterministic per (kind, raw)
and key, so the same patient gets the same id across runs and appended batches; another key
gives unrelated ids; without the key the raw value cannot be recovered or confirmed. ``kind``
separates name spaces (``"patient"``, ``"exam"``, ``"lump"``, ``"image"``).

Key file: 64 lowercase hex characters and a newline (32 random bytes from :mod:`secrets`),
mode 0600, created atomically (written to a private temporary file, then hard-linked to the
final name, which fails if another process created it first). A key file readable by group or
others is used but logged as a warning. The store records only :func:`key_fingerprint`.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from mvkl.errors import InputError
from mvkl.fsutil import display_path

__all__ = [
    "DEID_PROFILE",
    "KEY_BYTES",
    "Pseudonymizer",
    "deid_profile",
    "key_fingerprint",
    "load_or_create_key",
]

log = logging.getLogger(__name__)

KEY_BYTES = 32
PSEUDONYM_HEX = 16
_SEP = "\x1f"


def key_fingerprint(key: bytes) -> str:
    """16 hex characters identifying a key (``sha256(b"mvkl-key-fingerprint" + key)``); a
    one-way, domain-separated hash that cannot reveal the key or any pseudonym."""
    return hashlib.sha256(b"mvkl-key-fingerprint" + bytes(key)).hexdigest()[:16]


class Pseudonymizer:
    """``pseudo(kind, raw) -> 16 lowercase hex chars`` = HMAC-SHA256(key, f"{kind}\\x1f{raw}")."""

    __slots__ = ("_key", "fingerprint")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, (bytes, bytearray)) or len(key) < 16:
            raise InputError("pseudonym key must be at least 16 bytes", code="bad-key")
        self._key = bytes(key)
        self.fingerprint = key_fingerprint(self._key)

    def __call__(self, kind: str, raw: str) -> str:
        if not kind or _SEP in kind:
            raise ValueError("pseudonym kind must be a non-empty name without \\x1f")
        msg = f"{kind}{_SEP}{raw}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]

    def __repr__(self) -> str:  # never the key
        return f"Pseudonymizer(fingerprint={self.fingerprint!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # picklable for worker processes
        return (Pseudonymizer, (self._key,))


#: A key of 32 random bytes has about 30 distinct byte values; fewer than 16 happens with
#: probability < 1e-20, so such a key was typed or zero-filled, not drawn (issue 18).
MIN_DISTINCT_KEY_BYTES = 16


def _parse_key(text: bytes, shown: str) -> bytes:
    s = text.strip()
    try:
        key = bytes.fromhex(s.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise InputError(f"not an mvkl key file (expected {2 * KEY_BYTES} hex characters)", file=shown,
                         code="bad-key")
    if len(set(key)) < MIN_DISTINCT_KEY_BYTES:
        raise InputError(f"the key has too little entropy (fewer than {MIN_DISTINCT_KEY_BYTES} distinct bytes, "
                         "e.g. all zero): pseudonyms made with it could be recomputed by anyone; use the "
                         "random key mvkl creates when the file is absent", file=shown, code="bad-key")
    return key


def load_or_create_key(path: str | os.PathLike[str]) -> bytes:
    """Read the pseudonym key at ``path``, or create it (32 random bytes, mode 0600) if absent.

    Raises :class:`InputError` (exit 2) for an unreadable or malformed key file, or one that is
    not a regular file. Parent folders are created with mode 0700.
    """
    p = Path(path)
    shown = display_path(p)
    try:
        st = p.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise InputError(f"cannot access key file ({e.strerror or type(e).__name__})", file=shown,
                         code="bad-key") from None
    if st is None:
        try:
            return _create_key(p)
        except FileExistsError:
            st = p.stat()  # lost a race: another process created it; read theirs
        except OSError as e:
            raise InputError(f"cannot create key file ({e.strerror or type(e).__name__})", file=shown,
                             code="bad-key") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputError("key path is not a regular file", file=shown, code="bad-key")
    if st.st_mode & 0o077:
        log.warning("key file %s is accessible by group/others (mode %o); run: chmod 600 %s",
                    shown, stat.S_IMODE(st.st_mode), shown)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read key file ({e.strerror or type(e).__name__})", file=shown,
                         code="bad-key") from None
    return _parse_key(data, shown)


def _write_new_key_file(path: Path, key: bytes) -> None:
    """Create ``path`` exclusively with mode 0600 and write the key as hex (FileExistsError if present)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, (key.hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_key(p: Path) -> bytes:
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = p.with_name(f".{p.name}.{secrets.token_hex(6)}.tmp")
    _write_new_key_file(tmp, key)
    try:
        try:
            os.link(tmp, p)  # atomic and exclusive: FileExistsError if someone was faster
        except FileExistsError:
            raise
        except OSError:
            # file systems without hard links: exclusive create of the final name
            _write_new_key_file(p, key)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    log.info("created a new pseudonym key %s (fingerprint %s); keep it to append batches with the same ids",
             display_path(p), key_fingerprint(key))
    return key


# ---------------------------------------------------------------------------------------------
# the de-identification profile recorded in a store (spec/dicom.md §1.1, §1.5.10)

_KEPT = [
    "pixel data (windowed, cropped to the breast, downsampled; not cleaned of burned-in text)",
    "view (from ViewCodeSequence / ViewPosition, canonical code)",
    "laterality (from ImageLaterality / Laterality, L/R/U)",
    "pixel spacing (mm) of the source image",
]
_DROPPED = [
    "all person names (patient, physicians, operators)",
    "all IDs (patient, other patient IDs, accession number, study ID, issuer, procedure IDs)",
    "all dates and times (including birth date); longitudinal temporal information removed",
    "all UIDs (study, series, SOP instance, frame of reference, file meta); replaced by keyed pseudonyms",
    "institution, department, station name, device serial numbers, addresses, telephone numbers",
    "free-text attributes (descriptions, comments, protocol names, patient history)",
    "all private attributes, overlays (60xx), curves (50xx), all sequences",
    "source file paths and names",
]


def deid_profile(age_kept: bool = True) -> dict[str, Any]:
    """The de-identification record a store keeps (its ``deid`` attribute).

    Only the PS3.15 options actually applied are claimed: 113100 (Basic Application
    Confidentiality Profile, realised by allow-list extraction) and, when the age bucket is kept,
    113108 (Retain Patient Characteristics). Never 113101 (Clean Pixel Data): pixels are not
    cleaned; BurnedInAnnotation YES is quarantined by default and the breast crop removes most
    off-breast markers, which is not the option.
    """
    options = [{"code": "113100", "scheme": "DCM", "meaning": "Basic Application Confidentiality Profile"}]
    kept = list(_KEPT)
    dropped = list(_DROPPED)
    if age_kept:
        options.append({"code": "113108", "scheme": "DCM", "meaning": "Retain Patient Characteristics Option"})
        kept.append("patient age as a 5-year bucket (from PatientAge only; sex and size dropped)")
    else:
        dropped.append("patient age, sex, size, weight")
    return {
        "profile": "mvkl-allowlist",
        "version": 1,
        "standard": "DICOM PS3.15 Annex E",
        "method": "allow-list extraction: only the kept items are read into the store; everything else is "
                  "never copied",
        "options": options,
        "patient_identity_removed": "YES",
        "longitudinal_temporal_information": "REMOVED",
        "pixel_data_cleaned": False,
        "burned_in_annotation_policy": "quarantine BurnedInAnnotation YES unless explicitly allowed",
        "pseudonyms": "HMAC-SHA256(secret key, kind + 0x1f + raw id), 16 hex characters; key kept outside "
                      "the store, only its fingerprint recorded",
        "reports": "scrubbed by mvkl.deid.scrub (header identifiers of the study; names, addresses, "
                   "institutions, dates, times, phone numbers, IDs, e-mails, ages over 89; rule-based, best "
                   "effort beyond the header identifiers; ingest.report_scrub says whether strict mode dropped "
                   "sentences with proper-noun-like tokens)",
        "kept": kept,
        "dropped": dropped,
    }


#: The profile with the age bucket kept (the default ingest); use ``deid_profile(False)`` otherwise.
DEID_PROFILE: dict[str, Any] = deid_profile(age_kept=True)
