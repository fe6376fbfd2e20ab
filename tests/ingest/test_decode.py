"""Per-image decoding: result mapping, failures, the process pool's crash recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvkl.dicom import PixelPolicy
from mvkl.ingest.decode import Decoded, DecodeFailure, DecodePool, age_bucket, decode_image, norm_view
from mvkl.quarantine import Reason
from tests.ingest.dicomfiles import write_mg


@pytest.mark.parametrize(("age", "want"), [(None, -1), (-3, -1), (float("nan"), -1), (0, 0), (44.9, 40),
                                           (45, 45), (89, 85), (90, 90), (104, 90)])
def test_age_bucket(age: float | None, want: int) -> None:
    assert age_bucket(age) == want


def test_norm_view() -> None:
    assert [norm_view(v) for v in ("CC", "mlo", "other", "", None, "XCCL")] == ["CC", "MLO", None, None, None,
                                                                               "XCCL"]


def test_decode_image_results_and_failures(tmp_path: Path) -> None:
    f = write_mg(tmp_path / "a.dcm", laterality="R", view="MLO")
    pol = PixelPolicy(image_size=32)
    got = decode_image(str(f), pol)
    assert isinstance(got, Decoded)
    assert got.pixels.shape == (32, 32) and got.view == "MLO" and got.laterality == "R" and got.flipped
    assert got.age_years == 52 and "SYN0001" in got.identifiers
    bad = tmp_path / "b.dcm"
    bad.write_text("nope")
    miss = decode_image(str(bad), pol)
    assert isinstance(miss, DecodeFailure) and miss.reason == Reason.NOT_DICOM
    odd = decode_image(str(f), pol, "tests.ingest.crashy:boom")
    assert isinstance(odd, DecodeFailure) and odd.reason == Reason.UNDECODABLE
    assert "secret" not in odd.detail and str(tmp_path) not in odd.detail


def test_pool_survives_a_crashing_worker(tmp_path: Path) -> None:
    files = [write_mg(tmp_path / f"{name}.dcm") for name in ("ok0", "crash1", "ok2", "ok3")]
    pool = DecodePool(2, PixelPolicy(image_size=16), "tests.ingest.crashy:load")
    try:
        for i, f in enumerate(files):
            pool.submit(i, str(f))
        out = [pool.take() for _ in files]
    finally:
        pool.close()
    assert [i for i, _ in out] == [0, 1, 2, 3]
    assert isinstance(out[1][1], DecodeFailure) and out[1][1].reason == Reason.UNDECODABLE
    assert all(isinstance(r, Decoded) for i, r in out if i != 1)
