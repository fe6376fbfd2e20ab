"""The task's data: labelled images per split, exclusions, one-class errors, training batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mvkl.errors import InputError
from mvkl.evaluation.protocols.data import TrainBatches, bootstrap_positions, load_task
from mvkl.store import Store
from tests.evaluation.protocols.helpers import eval_store_arrays, write_eval_store


def test_load_task_counts_and_excludes_unknown(eval_store: Path) -> None:
    task = load_task(eval_store)
    with Store(eval_store) as st:
        meta = st.images_meta
        for i, name in enumerate(("train", "val", "test")):
            rows = np.flatnonzero(meta["split"] == i)
            known = rows[meta["label"][rows] >= 0]
            s = task.splits[name]
            assert np.array_equal(s.rows, known)
            assert np.array_equal(s.labels, meta["label"][known])
            assert s.n_unknown == int((meta["label"][rows] < 0).sum())
            assert s.image_ids == [bytes(x).decode() for x in meta["image_id"][known]]
    assert task.splits["train"].n_unknown == 4 and task.splits["train"].counts()["malignant"] == 28
    summary = task.summary()
    assert summary["name"] == "demo.h5" and len(summary["fingerprint"]) == 16
    assert "/" not in str(summary)  # no path of this machine


def test_one_class_split_is_named(tmp_path: Path) -> None:
    # every pair in train or test: the validation split is empty; then a benign-only validation split
    a = eval_store_arrays(n_pairs=10, split_of_pair=[0] * 8 + [2, 2])
    from mvkl.store import write_store

    write_store(tmp_path / "noval.h5", a["lumps"], a["images"], a["pixels"])
    with pytest.raises(InputError, match="split 'val' has no labelled images") as exc:
        load_task(tmp_path / "noval.h5")
    assert exc.value.exit_code == 2 and "noval.h5" in str(exc.value)
    a = eval_store_arrays(n_pairs=10)
    val = a["lumps"]["split"] == 1
    a["lumps"]["label"][val] = 0
    write_store(tmp_path / "oneclass.h5", a["lumps"], a["images"], a["pixels"])
    with pytest.raises(InputError, match="split 'val' holds only benign images"):
        load_task(tmp_path / "oneclass.h5")


def test_train_batches_epochs_are_seeded_permutations() -> None:
    pos = np.arange(5, 38)  # 33 positions, batch 8 → 4 full batches + 1 single sample (dropped)
    tb = TrainBatches(pos, 8, seed=3)
    assert len(tb) == 4
    e0 = list(tb)
    e1 = list(tb)
    flat0 = [k.index for b in e0 for k in b]
    assert len(flat0) == 32 and len(set(flat0)) == 32 and set(flat0) <= set(pos.tolist())
    assert [k.index for b in e1 for k in b] != flat0
    assert [k.step for k in e1[0]] == [4] * 8 and [k.position for k in e0[2]] == list(range(8))
    again = TrainBatches(pos, 8, seed=3)
    assert [k.index for b in list(again) for k in b] == flat0
    assert len(TrainBatches(np.arange(34), 8, 0)) == 5  # a last batch of 2 is kept


def test_bootstrap_positions_keep_class_counts() -> None:
    y = np.array([0] * 30 + [1] * 10)
    pos = np.arange(40)
    b = bootstrap_positions(y, pos, seed=1)
    assert (y[b] == 1).sum() == 10 and (y[b] == 0).sum() == 30 and len(set(b.tolist())) < 40
    assert np.array_equal(b, bootstrap_positions(y, pos, seed=1))
    assert not np.array_equal(b, bootstrap_positions(y, pos, seed=2))


def test_write_eval_store_roundtrip(tmp_path: Path) -> None:
    p = write_eval_store(tmp_path / "x.h5", n_pairs=10)
    from mvkl.store import check_store

    assert check_store(p) == []
