"""Input images: folder walking, keyed names, the ingest pixel pipeline, store selection."""

from __future__ import annotations

import hashlib
import hmac
import shutil
from pathlib import Path

import numpy as np
import pytest

from mvkl.analysis.inputs import (
    HASH_CHARS,
    collect_dicom_files,
    input_hasher,
    load_dicom_inputs,
    select_store_images,
    to_model_input,
)
from mvkl.errors import InputError
from mvkl.store import Store


def dicoms(src: Path) -> list[Path]:
    return sorted(src.rglob("*.dcm"))


def test_collect_walks_folders_and_skips_non_dicom(ft_setup: dict[str, Path], tmp_path: Path) -> None:
    files = dicoms(ft_setup["src"])
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    shutil.copy(files[0], d / "a.dcm")
    shutil.copy(files[1], d / "sub" / "B.DCM")
    shutil.copy(files[2], d / "noext")  # no suffix, DICM preamble
    shutil.copy(files[3], d / ".hidden.dcm")
    (d / "notes.txt").write_text("not an image")
    (d / "table.csv").write_text("a,b\n")
    loose = tmp_path / "loose.txt"
    loose.write_text("given explicitly: taken, later quarantined")
    out, skipped = collect_dicom_files([d, loose, d / "a.dcm"])
    assert [rel for _, rel in out] == ["in/a.dcm", "in/noext", "in/sub/B.DCM", "loose.txt"]
    assert [f for f, _ in out] == [d / "a.dcm", d / "noext", d / "sub" / "B.DCM", loose]
    assert skipped == 2
    with pytest.raises(InputError, match="input not found"):
        collect_dicom_files([tmp_path / "missing"])


def test_input_hashes_are_keyed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mvkl.dicom.deid import load_or_create_key

    key_file = tmp_path / "k.key"
    key = load_or_create_key(key_file)
    h, desc = input_hasher(key_file)
    want = hmac.new(key, b"input-file\x1fMRN001/A1/IMG0001.dcm", hashlib.sha256).hexdigest()[:HASH_CHARS]
    assert h("MRN001/A1/IMG0001.dcm") == want and "MRN" not in desc
    assert h("a") == input_hasher(key_file)[0]("a") != h("b")
    monkeypatch.setenv("MVKL_KEY_FILE", str(tmp_path / "absent.key"))
    r1, r2 = input_hasher(None)[0], input_hasher(None)[0]
    assert r1("a") != r2("a"), "without a key file every run draws its own key"
    assert not (tmp_path / "absent.key").exists(), "predict must not create key files"
    with pytest.raises(InputError, match="key file not found"):
        input_hasher(tmp_path / "absent.key")


def test_dicom_inputs_go_through_the_ingest_pipeline(ft_setup: dict[str, Path], tmp_path: Path) -> None:
    from mvkl.dicom import PixelPolicy, load_image

    files = dicoms(ft_setup["src"])[:3]
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"garbage")
    items = load_dicom_inputs([(f, f.name) for f in [*files, bad]], 64, hasher=lambda s: f"h{s[:3]}")
    for it, f in zip(items, files, strict=False):
        ref = load_image(f, PixelPolicy(image_size=64))
        assert it.ok and np.array_equal(it.pixels, ref.pixels)
        assert (it.view, it.laterality) == (ref.header.view, ref.header.laterality)
    assert not items[3].ok and items[3].reason in ("not-dicom", "truncated", "undecodable") and items[3].pixels is None
    assert [it.position for it in items] == [0, 1, 2, 3] and items[0].tag() == f"#0 h{files[0].name[:3]}"
    assert items[0].tag(show_paths=True) == f"#0 {files[0].name}"
    x = to_model_input(items[0].pixels, 32)
    assert tuple(x.shape) == (1, 32, 32) and float(x.min()) >= 0.0 and float(x.max()) <= 1.0


def test_select_store_images(analysis_store: Path) -> None:
    with Store(analysis_store) as st:
        test_rows = st.image_indices("test")
        items = select_store_images(st, "test")
        assert [it.row for it in items] == test_rows.tolist()
        assert all(np.array_equal(it.pixels, st.image(it.row)) for it in items)
        mal = select_store_images(st, None, label="malignant")
        assert [it.row for it in mal] == np.flatnonzero(st.images_meta["label"] == 1).tolist()
        assert len(select_store_images(st, "test", limit=3)) == 3
        lump = bytes(st.lumps["lump_id"][0]).decode()
        img = bytes(st.images_meta["image_id"][5]).decode()
        picked = select_store_images(st, None, ids=[lump, img])
        assert [it.row for it in picked] == sorted({int(st.lumps["cc"][0]), int(st.lumps["mlo"][0]), 5})
        assert picked[0].lump_id == lump and picked[0].view == "CC" and picked[1].view == "MLO"
        with pytest.raises(InputError, match="neither image nor lump"):
            select_store_images(st, None, ids=["ffffffffffffffff"])
        with pytest.raises(InputError):
            select_store_images(st, None, label="maybe")
