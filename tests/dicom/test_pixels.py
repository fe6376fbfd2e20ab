"""Display chain (spec/dicom.md §2.3): modality LUT, VOI LUT / window, MONOCHROME1, padding,
percentile window; checked against pydicom's own functions and slow re-implementations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut, apply_voi_lut, apply_windowing
from pydicom.uid import ExplicitVRBigEndian, ImplicitVRLittleEndian

from mvkl.dicom import PixelPolicy, load_image
from mvkl.dicom.pixels import DISPLAY_MAX, build_display_map, modality, otsu_threshold, percentile_window, window
from mvkl.dicom.read import decode_pixels, read_dataset
from tests.dicom.mkdicom import BACKGROUND, phantom, write_mg

ONE = 1.0 / DISPLAY_MAX  # one display step


def _testfile(name: str) -> str:
    p = get_testdata_file(name, download=False)
    if p is None:
        pytest.skip(f"{name} not available offline")
    return str(p)


def _display(path: str | Path, **kw: object) -> np.ndarray:
    ds = read_dataset(path)
    raw = decode_pixels(ds)
    return build_display_map(ds, raw, **kw)(raw.array).astype(np.float64) / DISPLAY_MAX  # type: ignore[arg-type]


def _pydicom_window_range(ds: pydicom.Dataset) -> tuple[float, float]:
    """pydicom's apply_windowing output range (its source, re-derived)."""
    bs = int(ds.BitsStored)
    lo, hi = (0, 2**bs - 1) if int(ds.PixelRepresentation) == 0 else (-(2 ** (bs - 1)), 2 ** (bs - 1) - 1)
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        lo, hi = lo * float(ds.RescaleSlope) + float(ds.RescaleIntercept), hi * float(ds.RescaleSlope) + float(
            ds.RescaleIntercept)
    return lo, hi


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
@pytest.mark.parametrize(("center", "width"), [(2048.0, 4096.0), (1000.0, 300.0), (3000.5, 1.0), (10.0, 7.5)])
def test_window_matches_pydicom(function: str, center: float, width: float) -> None:
    if function == "LINEAR" and width < 1:
        pytest.skip("invalid for LINEAR")
    ds = pydicom.Dataset()
    ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation = "MONOCHROME2", 12, 0
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = center, width, function
    x = np.arange(4096, dtype=np.float64)
    if function == "LINEAR" and width == 1.0:
        expected = (x > center - 0.5).astype(np.float64)  # pydicom divides by zero here
    else:
        with np.errstate(over="ignore"):
            expected = apply_windowing(x.copy(), ds) / 4095.0
    np.testing.assert_allclose(window(x, center, width, function), expected, atol=1e-12)


def test_rescale_and_monochrome1_on_cr_6154() -> None:
    path = _testfile("6154")
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    lo, hi = _pydicom_window_range(ds)
    expected = 1.0 - (apply_windowing(apply_modality_lut(arr, ds), ds) - lo) / (hi - lo)
    np.testing.assert_allclose(_display(path), expected, atol=ONE)


@pytest.mark.parametrize("name", ["RG1_UNCR.dcm", "RG3_UNCR.dcm", "MR_small.dcm"])
def test_window_files_match_pydicom_chain(name: str) -> None:
    path = _testfile(name)
    ds = pydicom.dcmread(path)
    lo, hi = _pydicom_window_range(ds)
    expected = (apply_voi_lut(apply_modality_lut(ds.pixel_array, ds), ds) - lo) / (hi - lo)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        expected = 1.0 - expected
    np.testing.assert_allclose(_display(path), expected, atol=ONE)


def test_voi_lut_sequence_vlut_04() -> None:
    path = _testfile("vlut_04.dcm")
    ds = pydicom.dcmread(path)
    bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
    out = apply_voi_lut(ds.pixel_array, ds)
    assert out.dtype == np.uint16 and out.max() == 65535  # spec: vlut_04 -> 0..65535
    np.testing.assert_allclose(_display(path), out / (2**bits - 1), atol=ONE)


def test_modality_lut_sequence_mlut_18() -> None:
    path = _testfile("mlut_18.dcm")
    ds = pydicom.dcmread(path)
    arr = ds.pixel_array
    ours, name = modality(arr.astype(np.int64), ds)
    assert name == "modality-lut-sequence"
    np.testing.assert_array_equal(ours, apply_modality_lut(arr, ds).astype(np.float64))
    d = _display(path)  # no VOI in the file: percentile window over the LUT output
    assert d.min() == 0.0 and d.max() == 1.0


def test_multiple_windows_voi_index() -> None:
    path = _testfile("MR-SIEMENS-DICOM-WithOverlays.dcm")
    ds = pydicom.dcmread(path)
    for index in (0, 1):
        expected = apply_windowing(ds.pixel_array, ds, index=index) / (2 ** int(ds.BitsStored) - 1)
        np.testing.assert_allclose(_display(path, voi_index=index), expected, atol=ONE)
    np.testing.assert_array_equal(_display(path, voi_index=7), _display(path, voi_index=1))  # clamped


@pytest.mark.parametrize("shape", ["INVERSE", "IDENTITY", None])
def test_monochrome1_inverts_exactly_once(tmp_path: Path, shape: str | None) -> None:
    img = phantom(96, 72, lesion=(48, 20))
    mono2 = load_image(write_mg(tmp_path / "m2.dcm", img))
    mono1 = load_image(write_mg(tmp_path / "m1.dcm", 4095 - img, mono1=True, presentation_lut=shape))
    np.testing.assert_array_equal(mono1.pixels, mono2.pixels)
    assert mono1.pixels[0, -1] == 0 and mono1.pixels.max() >= 240  # background black, lesion white
    assert mono1.display.endswith("+inverse")


def test_presentation_lut_inverse_on_monochrome2_inverts_once(tmp_path: Path) -> None:
    img = phantom(64, 48)
    plain = _display(write_mg(tmp_path / "a.dcm", img))
    inverse = _display(write_mg(tmp_path / "b.dcm", img, presentation_lut="INVERSE"))
    np.testing.assert_allclose(inverse, 1.0 - plain, atol=ONE)


def test_window_vs_equivalent_voi_lut_sequence(tmp_path: Path) -> None:
    img = phantom(64, 48)
    c, w = 1800, 2400
    x = np.arange(4096, dtype=np.float64)
    lut = np.rint(window(x, c, w) * 65535).astype(int).tolist()
    by_window = _display(write_mg(tmp_path / "w.dcm", img, window=(c, w)))
    by_lut = _display(write_mg(tmp_path / "l.dcm", img, window=None, voi_lut=[(lut, 0, 16)]))
    np.testing.assert_allclose(by_lut, by_window, atol=ONE)
    # both present: the LUT wins (pydicom's prefer_lut)
    both = _display(write_mg(tmp_path / "b.dcm", img, window=(100, 50), voi_lut=[(lut, 0, 16)]))
    np.testing.assert_array_equal(both, by_lut)


def test_voi_lut_with_12_bit_entries_declared_16_is_repaired(tmp_path: Path) -> None:
    img = phantom(64, 48)
    lut = list(range(4096))  # identity LUT whose entries only use 12 bits
    d = _display(write_mg(tmp_path / "l.dcm", img, window=None, voi_lut=[(lut, 0, 16)]))
    np.testing.assert_allclose(d, img / 4095.0, atol=ONE)


def test_rescale_is_applied_before_the_window(tmp_path: Path) -> None:
    img = phantom(64, 48)
    plain = _display(write_mg(tmp_path / "a.dcm", img, window=(1500, 2000)))
    slope, intercept = 2.0, -100.0
    rescaled = _display(write_mg(tmp_path / "b.dcm", img, window=(1500 * slope + intercept, 2000 * slope),
                                 rescale=(slope, intercept), voi_function="LINEAR_EXACT"))
    exact = _display(write_mg(tmp_path / "c.dcm", img, window=(1500, 2000), voi_function="LINEAR_EXACT"))
    np.testing.assert_allclose(rescaled, exact, atol=2 * ONE)
    assert np.abs(plain - exact).max() < 0.01  # LINEAR vs LINEAR_EXACT differ by at most ~1/width


def test_pixel_padding_value_and_range_become_black(tmp_path: Path) -> None:
    img = phantom(64, 48)
    img[:, :3] = 4000  # a padding strip
    img[:, 3:5] = 4010
    d = _display(write_mg(tmp_path / "p.dcm", img, padding=(4000, None)))
    assert (d[:, :3] == 0).all() and (d[:, 3:5] > 0.9).all()
    d = _display(write_mg(tmp_path / "r.dcm", img, padding=(4010, 4000)))
    assert (d[:, :5] == 0).all()
    # MONOCHROME1 padding (white in the source) is black, not inverted to white
    inv = _display(write_mg(tmp_path / "m.dcm", 4095 - img, mono1=True, padding=(95, None)))
    assert (inv[:, :3] == 0).all()


def test_signed_and_8_bit_data_follow_the_float_reference(tmp_path: Path) -> None:
    img = phantom(64, 48).astype(np.int32) - 2048
    p = write_mg(tmp_path / "s.dcm", img, pixel_representation=1, window=(0, 3000))
    ds = pydicom.dcmread(p)
    lo, hi = _pydicom_window_range(ds)
    expected = (apply_windowing(ds.pixel_array, ds) - lo) / (hi - lo)
    np.testing.assert_allclose(_display(p), expected, atol=ONE)
    img8 = (phantom(64, 48) >> 4).astype(np.uint8)
    p8 = write_mg(tmp_path / "u8.dcm", img8, bits=8, window=(128, 256))
    np.testing.assert_allclose(_display(p8), window(img8, 128, 256), atol=ONE)


def test_lossless_j2k_radiograph_equals_uncompressed() -> None:
    a = load_image(_testfile("RG1_UNCR.dcm"), PixelPolicy(image_size=128, mammograms_only=False))
    b = load_image(_testfile("RG1_J2KR.dcm"), PixelPolicy(image_size=128, mammograms_only=False))
    np.testing.assert_array_equal(a.pixels, b.pixels)
    assert a.crop_box == b.crop_box and a.flipped == b.flipped


def test_32_bit_data_takes_the_float_path_with_the_same_result(tmp_path: Path) -> None:
    img = phantom(64, 48, lesion=(30, 10))
    p16 = write_mg(tmp_path / "a.dcm", img, rescale=(1.5, -20), window=(2000, 3000))
    p32 = write_mg(tmp_path / "b.dcm", img.astype(np.uint32), bits=12, rescale=(1.5, -20), window=(2000, 3000))
    ds = read_dataset(p32)
    assert build_display_map(ds, decode_pixels(ds)).lut is None
    np.testing.assert_allclose(_display(p32), _display(p16), atol=ONE)
    a, b = load_image(p16, PixelPolicy(image_size=32)), load_image(p32, PixelPolicy(image_size=32))
    assert np.abs(a.pixels.astype(int) - b.pixels.astype(int)).max() <= 1


def test_lut_path_equals_float_transfer(tmp_path: Path) -> None:
    p = write_mg(tmp_path / "a.dcm", phantom(64, 48), rescale=(0.5, 10), window=(900, 1500), voi_function="SIGMOID",
                 mono1=True)
    ds = read_dataset(p)
    raw = decode_pixels(ds)
    dm = build_display_map(ds, raw)
    assert dm.lut is not None
    vals = raw.array.astype(np.float64)
    np.testing.assert_allclose(dm(raw.array) / DISPLAY_MAX, np.clip(dm.transfer(vals), 0, 1), atol=ONE)


def test_otsu_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        hist = rng.integers(0, 50, 64).astype(np.float64)
        best, arg = -1.0, 0
        for t in range(64):
            w0, w1 = hist[: t + 1].sum(), hist[t + 1:].sum()
            if w0 == 0 or w1 == 0:
                continue
            m0 = (hist[: t + 1] * np.arange(t + 1)).sum() / w0
            m1 = (hist[t + 1:] * np.arange(t + 1, 64)).sum() / w1
            v = w0 * w1 * (m0 - m1) ** 2
            if v > best + 1e-9:
                best, arg = v, t
        assert otsu_threshold(hist) == arg


def test_percentile_window_is_foreground_percentiles() -> None:
    rng = np.random.default_rng(4)
    background = rng.normal(100, 3, 6000)
    tissue = rng.uniform(1500, 2500, 4000)  # a clear gap: every Otsu threshold in it gives this foreground
    samples = np.rint(np.concatenate([background, tissue])).astype(np.int64)
    values, counts = np.unique(samples, return_counts=True)
    lo, hi = percentile_window(values.astype(np.float64), counts)
    fg = samples[samples > 1000]
    assert lo == np.percentile(fg, 0.5, method="inverted_cdf")
    assert hi == np.percentile(fg, 99.5, method="inverted_cdf")


def test_for_processing_percentile_window(tmp_path: Path) -> None:
    img = phantom(96, 72, marker=False)
    p = write_mg(tmp_path / "raw.dcm", img, intent="FOR PROCESSING", window=None)
    d = _display(p, percentile=True)
    tissue = img > BACKGROUND
    assert (d[~tissue] == 0).all()
    assert np.isclose(np.mean(d[tissue] >= 1.0), 0.005, atol=0.004)


MR_FAMILY = ["MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "MR_small_expb.dcm",
             "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm"]


def test_mr_small_family_pixel_identical() -> None:
    ref = pydicom.dcmread(_testfile("MR_small.dcm")).pixel_array
    outs = []
    for name in MR_FAMILY:
        path = _testfile(name)
        ds = read_dataset(path)
        raw = decode_pixels(ds)
        dm = build_display_map(ds, raw)
        np.testing.assert_array_equal(dm(raw.array), dm(ref) if raw.masked else dm(raw.array), err_msg=name)
        outs.append(load_image(path, PixelPolicy(image_size=64, mammograms_only=False)).pixels)
        # the stored values themselves agree with pydicom's decode of the reference
        vals = raw.array if raw.masked else raw.array.view(np.int16)
        np.testing.assert_array_equal(vals, ref, err_msg=name)
    for name, out in zip(MR_FAMILY, outs, strict=True):
        np.testing.assert_array_equal(out, outs[0], err_msg=name)


def test_transfer_syntaxes_of_a_synthetic_mammogram_agree(tmp_path: Path) -> None:
    img = phantom(80, 64, lesion=(40, 20))
    ref = load_image(write_mg(tmp_path / "ref.dcm", img), PixelPolicy(image_size=64)).pixels
    for i, ts in enumerate([ImplicitVRLittleEndian, ExplicitVRBigEndian, "1.2.840.10008.1.2.5",
                            "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.90"]):
        out = load_image(write_mg(tmp_path / f"{i}.dcm", img, transfer_syntax=ts), PixelPolicy(image_size=64))
        np.testing.assert_array_equal(out.pixels, ref, err_msg=ts)


def test_12_bit_jpeg_extended_decodes() -> None:
    """Needs pylibjpeg-libjpeg (GPL); the MIT/Apache plugins cannot decode it (spec §4.1)."""
    path = _testfile("JPGExtended.dcm")
    raw = decode_pixels(read_dataset(path))
    assert raw.masked and raw.array.shape == (1024, 256) and 0 < raw.array.max() < 4096
    out = load_image(path, PixelPolicy(image_size=64, mammograms_only=False))  # an NM file
    assert out.header.transfer_syntax == "1.2.840.10008.1.2.4.51" and out.pixels.max() > 100
