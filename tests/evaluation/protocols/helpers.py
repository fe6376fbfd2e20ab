"""Small synthetic stores for the protocol tests (written with :func:`mvkl.store.write_store`).

Patients come in benign/malignant pairs and a pair always lands in one split, so every split
holds both classes. Each patient has one lump with a CC and an MLO image; malignant images carry
a bright blob (``signal`` sets its contrast), so the task is learnable. ``unknown`` extra lumps in
the training split have label -1 (excluded from the task and counted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def eval_store_arrays(n_pairs: int = 20, image_size: int = 32, seed: int = 0, signal: float = 0.6,
                      unknown: int = 2, split_of_pair: Any = None) -> dict[str, Any]:
    from mvkl.store import schema as SC

    rng = np.random.default_rng(seed)
    n_pat = 2 * n_pairs + unknown
    pair = np.r_[np.arange(2 * n_pairs) // 2, np.zeros(unknown, int)]
    if split_of_pair is None:
        split_of_pair = np.array([0, 0, 0, 0, 0, 0, 0, 1, 2, 2])[np.arange(n_pairs) % 10]
    split = np.asarray(split_of_pair)[pair]
    label = np.r_[np.arange(2 * n_pairs) % 2, -np.ones(unknown, int)].astype(np.int8)
    hexid = lambda k, i: f"{k}{i:015x}"[:16].encode()  # noqa: E731
    n_img = 2 * n_pat
    yy, xx = np.mgrid[0:image_size, 0:image_size] / image_size
    pixels = np.empty((n_img, image_size, image_size), np.uint8)
    for i in range(n_img):
        lab = max(int(label[i // 2]), 0)
        cy, cx = 0.3 + 0.4 * rng.random(2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) * 60)
        base = 0.35 * (1 - xx) + 0.15 * rng.random((image_size, image_size))
        pixels[i] = np.clip(255 * (base + signal * lab * blob), 0, 255)
    man = np.zeros((n_pat, 35), np.uint8)
    lumps = {
        "lump_id": [hexid("a", i) for i in range(n_pat)], "patient_id": [hexid("b", i) for i in range(n_pat)],
        "exam_id": [hexid("c", i) for i in range(n_pat)], "cc": np.arange(n_pat) * 2, "mlo": np.arange(n_pat) * 2 + 1,
        "laterality": np.arange(n_pat) % 2, "label": label, "birads": [b"4A" if x == 1 else b"3" for x in label],
        "density": np.full(n_pat, 2), "age_bucket": np.full(n_pat, -1),
        "report": [f"report {i}" for i in range(n_pat)], "manifest": man, "manifest_known": np.ones_like(man),
        "split": split, "source": np.zeros(n_pat),
    }
    images = {
        "image_id": [hexid("d", i) for i in range(n_img)],
        "patient_id": [lumps["patient_id"][i // 2] for i in range(n_img)],
        "view": np.tile([SC.VIEW_CODES.index("CC"), SC.VIEW_CODES.index("MLO")], n_pat),
        "laterality": np.repeat(lumps["laterality"], 2), "flipped": np.zeros(n_img),
        "pixel_spacing": np.full((n_img, 2), 0.1), "source_shape": np.full((n_img, 2), 512),
        "crop_box": np.tile([0, 0, 512, 400], (n_img, 1)), "scale": np.full(n_img, 512 / image_size),
    }
    return {"lumps": lumps, "images": images, "pixels": pixels}


def write_eval_store(path: Path, **kw: Any) -> Path:
    from mvkl.store import write_store

    a = eval_store_arrays(**kw)
    write_store(path, a["lumps"], a["images"], a["pixels"], attrs={"sources": [{"name": "test", "format": "arrays"}]})
    return path
