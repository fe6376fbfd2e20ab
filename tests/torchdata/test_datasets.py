"""LumpDataset / ImageDataset against the store arrays; keyed, worker-independent augmentation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from mvkl.sampling.random_sampler import RandomBatchSampler
from mvkl.store import Store, write_store
from mvkl.torchdata import (
    ImageDataset,
    LumpCollator,
    LumpDataset,
    SampleKey,
    StepTaggedBatchSampler,
    build_transform,
    store_fingerprint,
)
from mvkl.torchdata.augment import EvalTransform
from mvkl.torchdata.datasets import to_float
from tests.conftest import make_store_arrays


def _write(path: Path, arrays: dict[str, Any]) -> Path:
    write_store(path, arrays["lumps"], arrays["images"], arrays["pixels"])
    return path


@pytest.fixture
def odd_store(tmp_path: Path) -> Path:
    """Lump 0: CC only; lump 1: MLO only; lump 2: no report, nothing known; lump 3: half known."""
    a = make_store_arrays(n_lumps=12, image_size=32, seed=3)
    L = a["lumps"]
    L["split"][:] = 0
    L["mlo"][0] = -1
    L["cc"][1] = -1
    L["report"][2] = ""
    L["manifest"][2] = 0
    L["manifest_known"][2] = 0
    L["manifest_known"][3, :20] = 0
    L["manifest"][3, :20] = 0
    L["label"][4] = -1
    return _write(tmp_path / "odd.h5", a)


def test_lump_items_match_the_store(odd_store: Path) -> None:
    ds = LumpDataset(odd_store, "train", EvalTransform(32))
    st = Store(odd_store)
    L, pix = st.lumps, st.file["images/pixels"][()]
    assert len(ds) == 12
    for i in range(len(ds)):
        item = ds[i]
        cc, mlo = int(L["cc"][i]), int(L["mlo"][i])
        first = cc if cc >= 0 else mlo
        second = mlo if (mlo >= 0 and cc >= 0) else first
        torch.testing.assert_close(item["view1"], torch.from_numpy(pix[first]).float().unsqueeze(0) / 255)
        torch.testing.assert_close(item["view2"], torch.from_numpy(pix[second]).float().unsqueeze(0) / 255)
        assert item["view1"].shape == (1, 32, 32) and item["view1"].dtype == torch.float32
        assert item["report"] == L["report"][i] and item["has_report"] == bool(L["report"][i])
        np.testing.assert_array_equal(item["manifest"].numpy(), L["manifest"][i].astype(np.float32))
        np.testing.assert_array_equal(item["known"].numpy(), L["manifest_known"][i].astype(np.float32))
        assert item["manifest"].dtype == torch.float32 and item["manifest"].shape == (35,)
        assert item["has_manifest"] == bool(L["manifest_known"][i].any())
        assert item["label"] == int(L["label"][i]) and item["index"] == i
    assert not ds[2]["has_report"] and not ds[2]["has_manifest"] and ds[3]["has_manifest"]


def test_single_view_lump_gets_two_independent_augmentations(odd_store: Path) -> None:
    ds = LumpDataset(odd_store, "train", build_transform("fixed", 32), seed=0)
    a = ds[SampleKey(5, 0, 0)]
    assert not torch.equal(a["view1"], a["view2"])  # same image, two draws
    same = LumpDataset(odd_store, "train", EvalTransform(32), view_mode="same")
    item = same[6]
    assert torch.equal(item["view1"], item["view2"])
    with pytest.raises(ValueError, match="view_mode"):
        LumpDataset(odd_store, "train", EvalTransform(32), view_mode="cc")


def test_keys_make_augmentation_a_function_of_step_and_position(odd_store: Path) -> None:
    ds = LumpDataset(odd_store, "train", build_transform("fixed", 32), seed=7)
    a, b = ds[SampleKey(3, 1, 5)], ds[SampleKey(3, 1, 5)]
    assert torch.equal(a["view1"], b["view1"]) and torch.equal(a["view2"], b["view2"])
    for other in (SampleKey(4, 1, 5), SampleKey(3, 2, 5)):
        assert not torch.equal(ds[other]["view1"], a["view1"])
    assert not torch.equal(LumpDataset(odd_store, "train", build_transform("fixed", 32), seed=8)
                           [SampleKey(3, 1, 5)]["view1"], a["view1"])
    assert torch.equal(ds[5]["view1"], ds[5]["view1"])  # plain index: deterministic
    with pytest.raises(IndexError):
        ds[12]


def test_loader_batches_identical_for_0_and_2_workers(tiny_store: Path) -> None:
    ds = LumpDataset(tiny_store, "train", build_transform("fixed", 32), seed=1)
    collate = LumpCollator(use_text=False)

    def run(workers: int) -> list[dict[str, Any]]:
        sampler = RandomBatchSampler(len(ds), 4, seed=2)
        sampler.set_step(1)
        loader = torch.utils.data.DataLoader(ds, batch_sampler=StepTaggedBatchSampler(sampler),
                                             num_workers=workers, collate_fn=collate)
        return list(loader)

    a, b = run(0), run(2)
    assert len(a) == len(b) == len(ds) // 4 - 1
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x["index"], y["index"]) and torch.equal(x["view1"], y["view1"])
        assert torch.equal(x["view2"], y["view2"])


def test_image_dataset(odd_store: Path) -> None:
    st = Store(odd_store)
    meta = st.images_meta
    ds = ImageDataset(odd_store, "train", EvalTransform(32))
    rows = st.image_indices("train")
    assert len(ds) == rows.size
    for i in (0, 3, len(ds) - 1):
        item = ds[i]
        r = int(rows[i])
        assert item["row"] == r and item["label"] == int(meta["label"][r])
        assert item["image_id"] == meta["image_id"][r].decode()
        assert item["view"] == ("CC", "MLO")[int(meta["view"][r])]
        torch.testing.assert_close(item["image"], to_float(st.image(r)))
    lab = ImageDataset(odd_store, "train", EvalTransform(32), labelled_only=True)
    assert len(lab) == int((meta["label"][rows] >= 0).sum()) < len(ds)


def test_uint16_pixels_and_fingerprint(tmp_path: Path) -> None:
    a = make_store_arrays(n_lumps=6, image_size=32, seed=0)
    a16 = dict(a, pixels=a["pixels"].astype(np.uint16) * 257)
    p8, p16 = _write(tmp_path / "a.h5", a), _write(tmp_path / "b.h5", a16)
    x8 = LumpDataset(p8, None, EvalTransform(32))[0]["view1"]
    x16 = LumpDataset(p16, None, EvalTransform(32))[0]["view1"]
    torch.testing.assert_close(x8, x16)
    with pytest.raises(ValueError):
        to_float(np.zeros((2, 2), np.float32))
    assert store_fingerprint(p8) == store_fingerprint(_write(tmp_path / "c.h5", a))
    a["lumps"]["label"][0] = 1 - a["lumps"]["label"][0]
    assert store_fingerprint(p8) != store_fingerprint(_write(tmp_path / "d.h5", a))
