from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from mvkl.synth.preview import area_downsample, write_preview


def test_area_downsample_preserves_the_mean_and_aspect() -> None:
    img = np.random.default_rng(0).random((512, 416), dtype=np.float32)
    small = area_downsample(img, 256)
    assert small.shape == (256, 208)
    assert np.allclose(small, img.reshape(256, 2, 208, 2).mean(axis=(1, 3)), atol=1e-5)


def test_preview_sheet_is_written_and_not_blank(clean_set, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = clean_set[0]
    out = tmp_path / "sheet.png"
    write_preview(root, out)
    im = np.asarray(Image.open(out).convert("L"), dtype=np.float32)
    assert im.shape[0] > 1000 and im.shape[1] > 1000
    assert im.std() > 20  # real picture content, not an empty canvas
    assert not list(tmp_path.glob(".*tmp"))
