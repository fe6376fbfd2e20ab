"""Mask, side, flip, crop, square pad and area resize (spec/dicom.md §2.4; bug B29)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from mvkl.dicom import PixelPolicy, load_image
from mvkl.dicom import geometry as G
from mvkl.dicom.pixels import DISPLAY_MAX, otsu_threshold
from mvkl.quarantine import QuarantineError, Reason
from tests.dicom.mkdicom import phantom, write_mg


def _area_matrix(n_in: float, n_out: int, length: int) -> np.ndarray:
    """Exact area-averaging weights: out[i] = mean of the input over [i, i+1) * n_in / n_out."""
    scale = n_in / n_out
    m = np.zeros((n_out, length))
    for i in range(n_out):
        a, b = i * scale, (i + 1) * scale
        for y in range(int(np.floor(a)), min(length, int(np.ceil(b)))):
            m[i, y] = max(0.0, min(b, y + 1) - max(a, y)) / scale
    return m


def _padded_square(disp: np.ndarray, lay: G.Layout) -> np.ndarray:
    y0, x0, y1, x1 = lay.crop_box
    crop = disp[y0:y1, x0:x1].astype(np.float64) / DISPLAY_MAX
    if lay.flipped:
        crop = crop[:, ::-1]
    sq = np.zeros((lay.side, lay.side))
    sq[lay.pad_top:lay.pad_top + crop.shape[0], lay.col_off:lay.col_off + crop.shape[1]] = crop
    return sq


def _reference_render(disp: np.ndarray, lay: G.Layout) -> np.ndarray:
    """Slow reference of the documented algorithm: the padded square at full resolution, a
    block mean by f = L // size (the in-square part of each block), then the exact area average
    of [0, L/f); with the chest wall on the right, the mirror of the left-canonical result."""
    if lay.canonical_side == "right":
        mirror = G.Layout(lay.crop_box, not lay.flipped, lay.side, lay.pad_top, 0, lay.size, "left")
        return _reference_render(disp, mirror)[:, ::-1]
    sq = _padded_square(disp, lay)
    f = max(1, lay.side // lay.size)
    m = -(-lay.side // f)
    blocks = np.zeros((m, m))
    for i in range(m):
        for j in range(m):
            blocks[i, j] = sq[i * f:(i + 1) * f, j * f:(j + 1) * f].mean()  # the in-square part
    r = _area_matrix(lay.side / f, lay.size, m)
    return r @ blocks @ r.T


CASES = [
    ((97, 61), (3, 2, 90, 50), False, "left", 16),
    ((97, 61), (3, 2, 90, 50), True, "left", 16),
    ((60, 101), (5, 7, 44, 99), True, "right", 12),
    ((64, 64), (0, 0, 64, 64), False, "left", 16),
    ((30, 20), (1, 1, 29, 19), True, "left", 40),  # upscaling
]


@pytest.mark.parametrize(("shape", "box", "flipped", "side", "size"), CASES)
def test_render_matches_reference(shape: tuple[int, int], box: tuple[int, int, int, int], flipped: bool,
                                  side: str, size: int) -> None:
    rng = np.random.default_rng(0)
    disp = rng.integers(0, DISPLAY_MAX + 1, shape).astype(np.uint16)
    lay = G.layout(box, flipped, size, side)
    out = G.render(lambda a: a.astype(np.uint16), disp, lay)
    assert out.shape == (size, size) and out.dtype == np.float32
    np.testing.assert_allclose(out, _reference_render(disp, lay), atol=2e-6)
    # area preserving: the mean intensity of the padded square is kept
    assert abs(float(out.mean()) - _padded_square(disp, lay).mean()) < 2e-6


@pytest.mark.parametrize(("shape", "box", "flipped", "side", "size"), CASES)
def test_render_is_close_to_a_one_pass_area_average(shape: tuple[int, int], box: tuple[int, int, int, int],
                                                    flipped: bool, side: str, size: int) -> None:
    rng = np.random.default_rng(0)
    smooth = ndimage.gaussian_filter(rng.random(shape), 10)  # smooth on the scale of a block
    disp = np.rint((smooth - smooth.min()) / np.ptp(smooth) * DISPLAY_MAX).astype(np.uint16)
    lay = G.layout(box, flipped, size, side)
    out = G.render(lambda a: a.astype(np.uint16), disp, lay)
    r = _area_matrix(lay.side, lay.size, lay.side)
    exact = r @ _padded_square(disp, lay) @ r.T
    # away from the crop edges (where a block straddles tissue and padding) the two-stage resize
    # agrees with the one-pass exact area average
    f = max(1, lay.side // size)
    y0, x0, y1, x1 = box
    edges = np.arange(size + 1) * lay.scale
    rows = (edges[:-1] >= lay.pad_top + f) & (edges[1:] <= lay.pad_top + (y1 - y0) - f)
    cols = (edges[:-1] >= lay.col_off + f) & (edges[1:] <= lay.col_off + (x1 - x0) - f)
    inner = rows[:, None] & cols[None, :]
    assert inner.sum() >= 4
    sq = _padded_square(disp, lay)
    variation = max(np.abs(np.diff(sq, axis=0)).max(), np.abs(np.diff(sq, axis=1)).max())
    assert np.abs(out - exact)[inner].max() <= f * variation  # bounded by the change within one block


def test_area_weights_rows_sum_to_one() -> None:
    for extent, n_in, n_out in [(17.4, 18, 16), (512.0, 512, 256), (10.0, 10, 40), (7.5, 8, 3)]:
        w = G.area_weights(extent, n_in, n_out)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-6)
        np.testing.assert_allclose(w, _area_matrix(extent, n_out, n_in), atol=1e-6)


def test_render_integer_factor_is_exact_block_mean() -> None:
    rng = np.random.default_rng(1)
    disp = rng.integers(0, DISPLAY_MAX, (64, 48)).astype(np.uint16)
    lay = G.layout((0, 0, 64, 48), False, 16, "left")  # L = 64, f = 4, pad_top 0, crop at x = 0
    out = G.render(lambda a: a, disp, lay)
    ref = np.zeros((64, 64))
    ref[:, :48] = disp / DISPLAY_MAX
    np.testing.assert_allclose(out, ref.reshape(16, 4, 16, 4).mean(axis=(1, 3)), atol=1e-6)


def test_mask_drops_markers_and_fills_holes() -> None:
    img = np.zeros((100, 80), np.uint16)
    yy, xx = np.mgrid[0:100, 0:80]
    breast = (yy - 50) ** 2 / 40**2 + xx**2 / 50**2 < 1
    img[breast] = 40000
    img[45:55, 10:20] = 0  # a dark hole inside the breast
    img[2:8, 70:78] = 60000  # burned-in marker
    mask = G.breast_mask(img)
    assert mask[50, 15] and not mask[5, 74]
    np.testing.assert_array_equal(mask, ndimage.binary_fill_holes(breast | (img > 0) & breast))
    assert G.chest_wall_left(mask)
    assert G.bounding_box(mask) == (11, 0, 90, 50)


def _breast(h: int = 200, w: int = 160) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (yy - h / 2) ** 2 / (0.45 * h) ** 2 + xx**2 / (0.8 * w) ** 2 < 1


def test_threshold_keeps_fatty_tissue_next_to_dense_tissue() -> None:
    """A wide breast histogram (dark fat, bright dense tissue and pectoral muscle) on a clipped
    black background: Otsu alone cuts the fat away, the capped threshold keeps it."""
    rng = np.random.default_rng(5)
    breast = _breast()
    img = np.zeros(breast.shape)
    xx = np.arange(breast.shape[1])[None, :].repeat(breast.shape[0], 0)
    img[breast] = np.where(xx[breast] < 40, 0.85, 0.12) + rng.normal(0, 0.02, int(breast.sum()))
    disp = np.clip(img * DISPLAY_MAX, 0, DISPLAY_MAX).astype(np.uint16)
    mask = G.breast_mask(disp)
    assert (mask & breast).sum() >= 0.98 * breast.sum() and not (mask & ~breast).any()
    otsu_only = (disp >> 8) > otsu_threshold(np.bincount((disp >> 8).ravel(), minlength=256))
    assert (otsu_only & breast).sum() < 0.6 * breast.sum()  # what the cap is for


def test_threshold_above_a_noisy_background() -> None:
    rng = np.random.default_rng(6)
    breast = _breast()
    img = rng.normal(0.10, 0.01, breast.shape)  # film-like background
    img[breast] = rng.uniform(0.3, 0.9, int(breast.sum()))
    disp = np.clip(img * DISPLAY_MAX, 0, DISPLAY_MAX).astype(np.uint16)
    t = G.foreground_threshold(np.bincount((disp >> 8).ravel(), minlength=256))
    assert 0.12 * 255 < t < 0.3 * 255
    np.testing.assert_array_equal(G.breast_mask(disp), breast)


def test_empty_images() -> None:
    with pytest.raises(QuarantineError) as ei:
        G.breast_mask(np.full((50, 50), 30000, np.uint16))
    assert ei.value.reason is Reason.EMPTY_IMAGE
    speck = np.zeros((100, 100), np.uint16)
    speck[10:13, 10:13] = 50000
    with pytest.raises(QuarantineError) as ei:
        G.breast_mask(speck)
    assert ei.value.reason is Reason.EMPTY_IMAGE


@pytest.mark.parametrize("laterality", ["L", "R"])
@pytest.mark.parametrize("view", ["CC", "MLO"])
@pytest.mark.parametrize("mono1", [False, True])
def test_chest_wall_ends_on_the_left(tmp_path: Path, laterality: str, view: str, mono1: bool) -> None:
    """Standard display: left breasts face right (chest wall on the left), right breasts are
    stored facing left; both end up with the chest wall at x = 0."""
    chest_left = laterality == "L"
    lesion = (70, 30 if chest_left else 97)
    img = phantom(150, 128, chest_left=chest_left, lesion=lesion, seed=3)
    stored = 4095 - img if mono1 else img
    out = load_image(write_mg(tmp_path / "x.dcm", stored, laterality=laterality, view=view, mono1=mono1),
                     PixelPolicy(image_size=64))
    px = out.pixels.astype(np.float64)
    assert out.flipped is (not chest_left)
    assert out.header.laterality == laterality and out.header.view == view
    assert px[:, :4].mean() > 3 * px[:, -4:].mean()
    assert (px[20:44, 0] > 60).all()  # tissue touches x = 0 along the chest wall
    # the crop box and scale map the lesion onto the brightest stored pixel
    y, x = out.source_to_stored(lesion[0] + 0.5, lesion[1] + 0.5)
    by, bx = np.unravel_index(np.argmax(px), px.shape)
    assert abs(by + 0.5 - float(y)) <= 1.5 and abs(bx + 0.5 - float(x)) <= 1.5
    y0, x0, y1, x1 = out.crop_box
    assert out.scale == pytest.approx(max(y1 - y0, x1 - x0) / 64)
    assert x1 <= (128 - 12 if chest_left else 128) and x0 >= (0 if chest_left else 12)  # marker cropped off


def test_canonical_side_right_mirrors(tmp_path: Path) -> None:
    p = write_mg(tmp_path / "x.dcm", phantom(120, 100, lesion=(60, 25)))
    left = load_image(p, PixelPolicy(image_size=48))
    right = load_image(p, PixelPolicy(image_size=48, canonical_side="right"))
    np.testing.assert_array_equal(right.pixels, left.pixels[:, ::-1])
    assert not left.flipped and right.flipped
    y, x = right.source_to_stored(60.5, 25.5)
    by, bx = np.unravel_index(np.argmax(right.pixels), right.pixels.shape)
    assert abs(by + 0.5 - float(y)) <= 1.5 and abs(bx + 0.5 - float(x)) <= 1.5


def test_marker_inside_the_box_is_zeroed_and_crop_false_keeps_everything(tmp_path: Path) -> None:
    img = phantom(120, 100, marker=False)
    img[14:19, 50:58] = 4000  # inside the breast's bounding box, not connected to it
    p = write_mg(tmp_path / "x.dcm", img)
    out = load_image(p, PixelPolicy(image_size=120))
    y, x = out.source_to_stored(np.array([16.5]), np.array([54.0]))
    assert out.pixels[int(y[0]), int(x[0])] == 0
    full = load_image(p, PixelPolicy(image_size=120, crop=False))
    assert full.crop_box == (0, 0, 120, 100)
    y, x = full.source_to_stored(np.array([16.5]), np.array([54.0]))
    assert full.pixels[int(y[0]), int(x[0])] > 200


def test_pad_is_on_the_nipple_side_and_vertically_centred(tmp_path: Path) -> None:
    img = phantom(60, 160, marker=False)  # wide: padding is vertical
    out = load_image(write_mg(tmp_path / "w.dcm", img), PixelPolicy(image_size=64))
    rows = np.flatnonzero(out.pixels.max(axis=1) > 0)
    top, bottom = rows[0], 63 - rows[-1]
    assert abs(int(top) - int(bottom)) <= 1 and top > 5
    tall = load_image(write_mg(tmp_path / "t.dcm", phantom(200, 80, marker=False)), PixelPolicy(image_size=64))
    cols = np.flatnonzero(tall.pixels.max(axis=0) > 0)
    assert cols[0] == 0 and cols[-1] < 50  # chest wall at x = 0, padding on the right
