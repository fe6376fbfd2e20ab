from __future__ import annotations

import pytest

from mvkl.synth.cases import VENDORS
from mvkl.synth.scene import FIELD_MM, image_shape, mm_per_px


def test_image_shape_is_breast_shaped_and_even() -> None:
    assert image_shape(1024) == (1024, 832)
    for s in (64, 100, 256, 777):
        h, w = image_shape(s)
        assert h == s and w % 2 == 0 and abs(w / h - 0.8125) < 0.02


@pytest.mark.parametrize("vendor", VENDORS)
def test_spacing_is_the_pitch_times_the_downsampling(vendor) -> None:  # type: ignore[no-untyped-def]
    native = round(FIELD_MM / vendor.pitch_mm)
    assert mm_per_px(native, vendor.pitch_mm) == pytest.approx(vendor.pitch_mm)
    assert mm_per_px(1024, vendor.pitch_mm) * 1024 == pytest.approx(native * vendor.pitch_mm)
    assert 0.07 <= vendor.pitch_mm <= 0.1
