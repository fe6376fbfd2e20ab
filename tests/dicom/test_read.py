"""Reading and validation: every hostile file of spec/dicom.md §4.4 maps to its quarantine reason."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import ImplicitVRLittleEndian

from mvkl.dicom import PixelPolicy, load_image
from mvkl.dicom.read import decode_pixels, read_dataset
from mvkl.quarantine import QuarantineError, Reason
from tests.dicom.mkdicom import phantom, write_mg


def _testfile(name: str) -> str:
    p = get_testdata_file(name, download=False)
    if p is None:
        pytest.skip(f"{name} not available offline")
    return str(p)


def _reason(path: str | os.PathLike[str], policy: PixelPolicy | None = None) -> QuarantineError:
    with pytest.raises(QuarantineError) as ei:
        # the reader's robustness on pydicom's (mostly CT/MR/NM) files: the modality rule is
        # tested in tests/ingest/test_modality.py
        load_image(path, policy or PixelPolicy(mammograms_only=False))
    return ei.value


HOSTILE: list[tuple[str, Reason]] = [
    ("MR_truncated.dcm", Reason.TRUNCATED),
    ("emri_small_jpeg_2k_lossless_too_short.dcm", Reason.TRUNCATED),
    ("rtplan_truncated.dcm", Reason.TRUNCATED),
    ("JPEG2000-embedded-sequence-delimiter.dcm", Reason.UNDECODABLE),
    ("JPEG-lossy.dcm", Reason.UNDECODABLE),
    ("badVR.dcm", Reason.UNDECODABLE),
    ("liver_1frame.dcm", Reason.UNDECODABLE),
    ("meta_missing_tsyntax.dcm", Reason.MISSING_ATTRIBUTE),
    ("nested_priv_SQ.dcm", Reason.MISSING_ATTRIBUTE),
    ("no_meta.dcm", Reason.NOT_DICOM),
    ("zipMR.gz", Reason.NOT_DICOM),
    ("ExplVR_BigEndNoMeta.dcm", Reason.NO_PIXEL_DATA),
    ("rtstruct.dcm", Reason.NO_PIXEL_DATA),
    ("OT-PAL-8-face.dcm", Reason.NOT_GRAYSCALE),
    ("UN_sequence.dcm", Reason.NO_PIXEL_DATA),
    ("priv_SQ.dcm", Reason.NO_PIXEL_DATA),
    ("DICOMDIR", Reason.NO_PIXEL_DATA),
    ("rtplan.dcm", Reason.NO_PIXEL_DATA),
    ("reportsi.dcm", Reason.NO_PIXEL_DATA),
    ("test-SR.dcm", Reason.NO_PIXEL_DATA),
    ("waveform_ecg.dcm", Reason.NO_PIXEL_DATA),
    ("empty_charset_LEI.dcm", Reason.NO_PIXEL_DATA),
    ("SC_rgb.dcm", Reason.NOT_GRAYSCALE),
    ("US1_J2KR.dcm", Reason.NOT_GRAYSCALE),
    ("OBXXXX1A.dcm", Reason.NOT_GRAYSCALE),
    ("examples_ybr_color.dcm", Reason.NOT_GRAYSCALE),
    ("OBXXXX1A_2frame.dcm", Reason.NOT_GRAYSCALE),
    ("emri_small.dcm", Reason.MULTI_FRAME),
    ("liver.dcm", Reason.MULTI_FRAME),
]


@pytest.mark.parametrize(("name", "reason"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_pydicom_files(name: str, reason: Reason, capfd: pytest.CaptureFixture[str]) -> None:
    path = _testfile(name)
    err = _reason(path)
    assert err.reason is reason, (name, err.reason, err.detail)
    # details never carry the path or a file name
    assert os.path.basename(path) not in err.detail and os.sep not in err.detail
    out, errout = capfd.readouterr()
    assert out == "" and errout == ""  # pydicom/openjpeg noise is silenced


@pytest.mark.parametrize("name", ["bad_sequence.dcm", "MR_small_padded.dcm", "J2K_pixelrep_mismatch.dcm",
                                  "JPEG-LL.dcm", "image_dfl.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm",
                                  "JPEGLSNearLossless_16.dcm"])
def test_tolerated_oddities_decode(name: str) -> None:
    out = load_image(_testfile(name), PixelPolicy(image_size=32, mammograms_only=False))
    assert out.pixels.shape == (32, 32) and out.pixels.max() > 0


def test_missing_unreadable_empty_and_text(tmp_path: Path) -> None:
    assert _reason(tmp_path / "nope.dcm").reason is Reason.MISSING_FILE
    assert _reason(tmp_path).reason is Reason.UNREADABLE  # a folder
    (tmp_path / "empty.dcm").write_bytes(b"")
    assert _reason(tmp_path / "empty.dcm").reason is Reason.UNREADABLE
    (tmp_path / "note.dcm").write_text("this is a text file with a .dcm name\n" * 20)
    assert _reason(tmp_path / "note.dcm").reason is Reason.NOT_DICOM
    (tmp_path / "tiny.dcm").write_bytes(b"DICM")
    assert _reason(tmp_path / "tiny.dcm").reason is Reason.NOT_DICOM


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of mode")
def test_permission_denied(tmp_path: Path) -> None:
    p = write_mg(tmp_path / "a.dcm", phantom())
    p.chmod(0)
    try:
        assert _reason(p).reason is Reason.UNREADABLE
    finally:
        p.chmod(0o600)


def test_truncated_copies_at_every_region(tmp_path: Path) -> None:
    """A valid file cut anywhere after the preamble is truncated (header or pixel data), never
    'no pixel data' or a crash."""
    src = write_mg(tmp_path / "ok.dcm", phantom(40, 32))
    data = src.read_bytes()
    pixel_start = len(data) - 40 * 32 * 2
    cuts = sorted({*range(140, pixel_start, max(1, (pixel_start - 140) // 25)), pixel_start - 3, pixel_start + 1,
                   pixel_start + 100, len(data) - 2})
    ds = pydicom.dcmread(src)
    tags = list(ds.keys())  # iterating a Dataset yields elements, not tags
    raws = [ds.get_item(t) for t in tags]
    boundaries = {r.value_tell + r.length for r in raws if hasattr(r, "value_tell")}  # element ends
    for cut in cuts:
        p = tmp_path / f"cut{cut}.dcm"
        p.write_bytes(data[:cut])
        err = _reason(p)
        # a cut exactly between two elements leaves a complete data set without pixel data
        want = Reason.NO_PIXEL_DATA if cut in boundaries else Reason.TRUNCATED
        assert err.reason is want, (cut, err.reason, err.detail)
    assert load_image(src).pixels.shape == (256, 256)


def test_policy_reasons(tmp_path: Path) -> None:
    img = phantom(64, 48)
    burned = write_mg(tmp_path / "b.dcm", img, burned_in="YES")
    assert _reason(burned).reason is Reason.BURNED_IN_ANNOTATION
    assert load_image(burned, PixelPolicy(allow_burned_in=True)).pixels.max() > 0
    raw = write_mg(tmp_path / "p.dcm", img, intent="FOR PROCESSING", window=None)
    assert _reason(raw).reason is Reason.FOR_PROCESSING
    out = load_image(raw, PixelPolicy(allow_for_processing=True))
    assert out.display.endswith("percentile")


def test_structural_reasons(tmp_path: Path) -> None:
    img = phantom(64, 48)
    assert _reason(write_mg(tmp_path / "f.dcm", np.stack([img, img]), frames=2)).reason is Reason.MULTI_FRAME
    assert _reason(write_mg(tmp_path / "nb.dcm", img, bits=None)).reason is Reason.MISSING_ATTRIBUTE
    flat = write_mg(tmp_path / "flat.dcm", np.full((64, 48), 700, np.uint16))
    assert _reason(flat).reason is Reason.EMPTY_IMAGE
    rgb = write_mg(tmp_path / "rgb.dcm", img, extra={"SamplesPerPixel": 3})
    assert _reason(rgb).reason is Reason.NOT_GRAYSCALE
    pal = write_mg(tmp_path / "pal.dcm", img, extra={"PhotometricInterpretation": "PALETTE COLOR"})
    assert _reason(pal).reason is Reason.NOT_GRAYSCALE
    assert _reason(pal).detail == "PhotometricInterpretation PALETTE COLOR"  # a defined term may be quoted


def test_quarantine_detail_never_quotes_a_free_header_value(tmp_path: Path) -> None:
    """A header value is attacker-controlled text: only closed vocabularies are quoted (issue 15)."""
    img = phantom(64, 48)
    bad = write_mg(tmp_path / "p.dcm", img, extra={"PhotometricInterpretation": "WHITFIELD BEA"})
    err = _reason(bad)
    assert err.reason is Reason.NOT_GRAYSCALE
    assert "whitfield" not in str(err).lower() and "bea" not in err.detail.lower()


@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
def test_sop_class_not_required_and_hex_uids_tolerated(tmp_path: Path) -> None:
    """VinDr-style files: no SOPClassUID, md5-hex 'UIDs', MediaStorageSOPClassUID 1.2.3.4."""
    p = write_mg(tmp_path / "v.dcm", phantom(64, 48), transfer_syntax=ImplicitVRLittleEndian)
    ds = pydicom.dcmread(p)
    del ds.SOPClassUID
    ds.file_meta.MediaStorageSOPClassUID = "1.2.3.4"
    ds.StudyInstanceUID = "0f3c5b0c1f6e4d3a9f1b2c3d4e5f6a7b"
    ds.save_as(p)
    assert load_image(p, PixelPolicy(image_size=16)).pixels.shape == (16, 16)


def test_native_view_is_zero_copy_and_bits_above_bitsstored_are_ignored(tmp_path: Path) -> None:
    img = phantom(64, 48)
    garbage = img | np.uint16(0xF000)  # overlay-like junk above BitsStored = 12
    a = load_image(write_mg(tmp_path / "clean.dcm", img)).pixels
    b = load_image(write_mg(tmp_path / "junk.dcm", garbage)).pixels
    np.testing.assert_array_equal(a, b)
    ds = read_dataset(tmp_path / "junk.dcm")
    raw = decode_pixels(ds)
    assert not raw.masked and not raw.array.flags.owndata


def test_corrupted_bytes_never_escape_as_other_exceptions(tmp_path: Path) -> None:
    """Random byte damage anywhere in a valid file: an image or a QuarantineError, nothing else."""
    src = write_mg(tmp_path / "ok.dcm", phantom(48, 40))
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(7)
    reasons = set()
    for i in range(60):
        bad = bytearray(data)
        for pos in rng.integers(0, len(bad), size=int(rng.integers(1, 12))):
            bad[int(pos)] = int(rng.integers(0, 256))
        if i % 3 == 0:
            bad = bad[: int(rng.integers(1, len(bad)))]
        p = tmp_path / f"bad{i}.dcm"
        p.write_bytes(bytes(bad))
        try:
            out = load_image(p, PixelPolicy(image_size=16))
            assert out.pixels.shape == (16, 16)
        except QuarantineError as e:
            reasons.add(e.reason)
    assert Reason.TRUNCATED in reasons
