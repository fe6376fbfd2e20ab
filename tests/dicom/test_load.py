"""load_image end to end: policy options, output formats, failure containment, the benchmark helper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import mvkl.dicom.load as L
from mvkl.dicom import PixelPolicy, ProcessedImage, bench_load, load_image
from mvkl.errors import InputError
from mvkl.quarantine import QuarantineError, Reason
from tests.dicom.mkdicom import phantom, write_mg


def test_uint16_output_is_full_range_and_matches_uint8(tmp_path: Path) -> None:
    p = write_mg(tmp_path / "a.dcm", phantom(120, 96, lesion=(60, 20)))
    a8 = load_image(p, PixelPolicy(image_size=48))
    a16 = load_image(p, PixelPolicy(image_size=48, pixel_dtype="uint16"))
    assert a8.pixels.dtype == np.uint8 and a16.pixels.dtype == np.uint16
    assert a16.pixels.max() > 60000 and a16.pixels.min() == 0
    assert np.abs(a16.pixels / 257.0 - a8.pixels).max() <= 0.5 + 1e-9
    assert (a8.crop_box, a8.scale, a8.flipped) == (a16.crop_box, a16.scale, a16.flipped)


def test_result_fields(tmp_path: Path) -> None:
    out = load_image(write_mg(tmp_path / "a.dcm", phantom(120, 96), laterality="L", view="CC"),
                     PixelPolicy(image_size=32))
    assert isinstance(out, ProcessedImage)
    assert out.pixels.shape == (32, 32) and out.pixels.flags.c_contiguous
    assert out.source_shape == (120, 96)
    y0, x0, y1, x1 = out.crop_box
    assert 0 <= y0 < y1 <= 120 and 0 <= x0 < x1 <= 96
    assert out.header.age_years == 52 and out.header.pixel_spacing == (0.1, 0.1)
    assert out.header.manufacturer == "SYNTHETIC" and out.header.model_name == "PHANTOM-1"
    assert "SYNTH^ALICE" in out.identifiers and "SYN0001" in out.identifiers
    assert "SYN0001" not in repr(out)


@pytest.mark.parametrize("kw", [{"image_size": 4}, {"pixel_dtype": "float32"}, {"canonical_side": "top"},
                                {"voi_index": -1}])
def test_policy_validation(kw: dict[str, object]) -> None:
    with pytest.raises(InputError):
        PixelPolicy(**kw)  # type: ignore[arg-type]


def test_unexpected_errors_are_contained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write_mg(tmp_path / "a.dcm", phantom(64, 48))

    def boom(*a: object, **k: object) -> None:
        raise ZeroDivisionError("secret value SYN0001")

    monkeypatch.setattr(L, "build_display_map", boom)
    with pytest.raises(QuarantineError) as ei:
        load_image(p)
    assert ei.value.reason is Reason.UNDECODABLE and "SYN0001" not in str(ei.value)


def test_bench_load_reports_figures_without_the_path(tmp_path: Path) -> None:
    p = write_mg(tmp_path / "secret_name.dcm", phantom(64, 48))
    figs = bench_load(p, n=2, policy=PixelPolicy(image_size=16))
    assert figs["n"] == 2 and figs["source_shape"] == [64, 48] and figs["ms_min"] <= figs["ms_median"]
    assert figs["images_per_s"] > 0 and "secret_name" not in str(figs)
