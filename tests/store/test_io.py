from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from mvkl.errors import InputError
from mvkl.store import Store, check_store, write_store
from tests.conftest import make_store_arrays


def test_roundtrip_and_contract(tiny_store: Path) -> None:
    assert check_store(tiny_store) == []
    arrays = make_store_arrays()
    with Store(tiny_store) as st:
        assert st.info.format == 1 and st.info.image_size == 32 and st.info.pixel_dtype == "uint8"
        assert st.n_lumps == 24 and st.n_images == 48
        assert len(st.info.attrs["manifest_keys"]) == 35
        np.testing.assert_array_equal(st.image(5), arrays["pixels"][5])
        np.testing.assert_array_equal(st.images([7, 2, 7]), arrays["pixels"][[7, 2, 7]])
        for bad in ([3, -1], [st.n_images]):
            with pytest.raises(IndexError):
                st.images(bad)
        assert st.lumps["report"][3] == arrays["lumps"]["report"][3]
        tr = st.lump_indices("train")
        m, _k = st.manifests("train")
        np.testing.assert_array_equal(m, arrays["lumps"]["manifest"][tr])
        assert set(st.lump_indices("val")).isdisjoint(tr)
        # Derived image fields follow the lumps.
        lab = st.images_meta["label"]
        assert (lab[st.lumps["cc"]] == st.lumps["label"]).all()


def test_check_store_catches_patient_leak(tmp_path: Path) -> None:
    a = make_store_arrays()
    lumps = dict(a["lumps"])
    lumps["split"] = np.array(lumps["split"]).copy()
    p0 = lumps["patient_id"][0]
    same = [i for i, p in enumerate(lumps["patient_id"]) if p == p0]
    if len(same) < 2:
        lumps["patient_id"] = list(lumps["patient_id"])
        lumps["patient_id"][1] = p0
        same = [0, 1]
    lumps["split"][same[0]] = 0
    lumps["split"][same[1]] = 2
    path = tmp_path / "leak.h5"
    images = dict(a["images"])
    write_store(path, lumps, images, a["pixels"])
    assert any("more than one split" in e for e in check_store(path))


def test_store_is_picklable_and_reopens(tiny_store: Path) -> None:
    import pickle

    st = Store(tiny_store)
    _ = st.image(0)
    st2 = pickle.loads(pickle.dumps(st))
    np.testing.assert_array_equal(st2.image(0), st.image(0))


def test_not_a_store(tmp_path: Path) -> None:
    p = tmp_path / "x.h5"
    with h5py.File(p, "w") as f:
        f["a"] = 1
    with pytest.raises(InputError, match="not an mvkl store"):
        Store(p)
    with pytest.raises(InputError, match="not found"):
        Store(tmp_path / "missing.h5")


def test_write_is_atomic_on_failure(tmp_path: Path) -> None:
    a = make_store_arrays()
    bad = dict(a["lumps"])
    del bad["report"]
    path = tmp_path / "s.h5"
    with pytest.raises(KeyError):
        write_store(path, bad, a["images"], a["pixels"])
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_atomic_outputs_get_umask_permissions(tmp_path: Path) -> None:
    import os

    from mvkl.fsutil import atomic_write_text

    old = os.umask(0o022)
    try:
        p = tmp_path / "f.txt"
        atomic_write_text(p, "x")
        assert (p.stat().st_mode & 0o777) == 0o644
    finally:
        os.umask(old)
