"""Embeddings of a store with a real tiny ViKL: rows, skipped lumps, eval-mode independence of the
batch, and the HDF5/Parquet files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from mvkl.analysis.embed import embed_store, read_embeddings, write_embeddings
from mvkl.errors import InputError
from mvkl.models import load_vikl, tokenize
from mvkl.store import Store
from mvkl.torchdata.datasets import to_float


@pytest.fixture(scope="module")
def vikl(tiny_vikl: Path) -> tuple:
    return load_vikl(tiny_vikl)


def test_image_embeddings_one_row_per_image(vikl: tuple, analysis_store: Path) -> None:
    model, tok, _ = vikl
    with Store(analysis_store) as st:
        t1 = embed_store(model, tok, st, "image", batch_size=1)
        t7 = embed_store(model, tok, st, "image", split=None, batch_size=7)
        L = st.lumps
        assert len(t1) == st.n_images and t1.n_skipped == 0
        np.testing.assert_allclose(t1.embedding, t7.embedding, atol=1e-5)  # eval mode: no batch effect
        np.testing.assert_allclose(np.linalg.norm(t1.embedding, axis=1), 1.0, atol=1e-5)
        rows = t1.columns["row"]
        with torch.no_grad():
            ref = model.embed_image(torch.stack([to_float(st.image(int(r))) for r in rows])).numpy()
        np.testing.assert_allclose(t1.embedding, ref, atol=1e-5)
        ids = [bytes(x).decode() for x in L["lump_id"]]
        for lid, r, view in zip(t1.columns["lump_id"], rows, t1.columns["view"], strict=True):
            li = ids.index(lid)
            assert r in (L["cc"][li], L["mlo"][li]) and view == ("CC" if r == L["cc"][li] else "MLO")
        test = embed_store(model, tok, st, "image", split="test")
        assert len(test) == len(st.image_indices("test")) and set(test.columns["split"]) == {"test"}
    assert not model.training


def test_text_and_manifest_embeddings_skip_lumps_without_them(vikl: tuple, analysis_store: Path) -> None:
    model, tok, _ = vikl
    with Store(analysis_store) as st:
        text = embed_store(model, tok, st, "text")
        man = embed_store(model, tok, st, "manifest")
        reports = [str(r) for r in st.lumps["report"]]
        assert len(text) == sum(bool(r) for r in reports) == st.n_lumps - 1 and text.n_skipped == 1
        assert len(man) == st.n_lumps - 1 and man.n_skipped == 1
        ids = [bytes(x).decode() for x in st.lumps["lump_id"]]
        j = 3
        li = ids.index(text.columns["lump_id"][j])
        with torch.no_grad():
            alone = model.embed_text(tokenize(tok, [reports[li]])).numpy()[0]
            m_alone = model.embed_manifest(torch.from_numpy(st.lumps["manifest"][[ids.index(man.columns["lump_id"][j])]]
                                                            .astype(np.float32))).numpy()[0]
        np.testing.assert_allclose(text.embedding[j], alone, atol=1e-5)
        np.testing.assert_allclose(man.embedding[j], m_alone, atol=1e-5)
        with pytest.raises(InputError, match="--modality"):
            embed_store(model, tok, st, "audio")


@pytest.mark.parametrize("name", ["e.h5", "e.parquet"])
def test_embedding_files_round_trip(vikl: tuple, analysis_store: Path, tmp_path: Path, name: str) -> None:
    model, tok, _ = vikl
    with Store(analysis_store) as st:
        table = embed_store(model, tok, st, "image", split="test")
    write_embeddings(tmp_path / name, table)
    back = read_embeddings(tmp_path / name)
    assert back.modality == "image" and back.attrs["dim"] == 128 and back.attrs["normalized"]
    np.testing.assert_array_equal(back.embedding, table.embedding)
    for k, v in table.columns.items():
        assert list(back.columns[k]) == list(v), k
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no temporary file left
    with pytest.raises(InputError, match=r"\.parquet"):
        write_embeddings(tmp_path / "e.csv", table)
