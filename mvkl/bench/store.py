"""Benchmark `mvkl bench store`: image reads/s from an HDF5 store (the training input path).

Writes a store of ``n`` images (256² uint8 by default, one chunk per image, as ingest writes it)
into a temporary folder and measures, with :class:`mvkl.store.Store` on one core:

* random single-image reads (``Store.image(i)``, uniformly random ``i``): target >= 2,000/s;
* sequential single-image reads, and block reads of 64 consecutive images;
* a DataLoader-style worker: the pickled ``Store`` is reopened in a fresh process (what each
  DataLoader worker does after fork/spawn) and reads random images there; reported as the reopen
  latency and the reads/s of that worker.

The file was just written, so it is in the page cache: these are CPU/HDF5 figures, not disk ones.
"""

from __future__ import annotations

import multiprocessing
import pickle
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.bench import machine_info


def _fixture_store(path: Path, n: int, size: int, dtype: str, seed: int) -> None:
    """A valid store of ``n`` images (two per lump) with smooth random pixels."""
    from mvkl.store import schema as SC
    from mvkl.store import write_store

    rng = np.random.default_rng(seed)
    n_l = n // 2
    top = 255 if dtype == "uint8" else 65535
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = (top * np.clip(1.2 - np.hypot(yy - 0.5, xx), 0, 1)).astype(dtype)
    pixels = np.empty((2 * n_l, size, size), dtype=dtype)
    for i in range(2 * n_l):
        pixels[i] = np.roll(base, int(rng.integers(0, size)), axis=0)
    hexid = [f"{i:016x}".encode() for i in range(2 * n_l)]
    patient = rng.integers(0, max(1, n_l // 2), n_l)
    split = rng.choice(3, max(1, n_l // 2), p=[0.7, 0.1, 0.2])[patient]
    lumps = {"lump_id": hexid[:n_l], "patient_id": [hexid[p] for p in patient], "exam_id": hexid[:n_l],
             "cc": np.arange(n_l) * 2, "mlo": np.arange(n_l) * 2 + 1, "laterality": np.zeros(n_l),
             "label": rng.integers(0, 2, n_l), "birads": [b""] * n_l, "density": np.full(n_l, -1),
             "age_bucket": np.full(n_l, -1), "report": [""] * n_l,
             "manifest": np.zeros((n_l, 35)), "manifest_known": np.ones((n_l, 35)), "split": split,
             "source": np.zeros(n_l)}
    images = {"image_id": hexid, "patient_id": [hexid[p] for p in np.repeat(patient, 2)],
              "view": np.tile([SC.VIEW_CODES.index("CC"), SC.VIEW_CODES.index("MLO")], n_l),
              "laterality": np.zeros(2 * n_l), "flipped": np.zeros(2 * n_l),
              "pixel_spacing": np.full((2 * n_l, 2), 0.1), "source_shape": np.full((2 * n_l, 2), 4096),
              "crop_box": np.tile([0, 0, 4096, 3328], (2 * n_l, 1)), "scale": np.full(2 * n_l, 16.0)}
    write_store(path, lumps, images, pixels, attrs={"sources": [{"name": "bench"}]})


def _rate(fn: Any, count: int) -> float:
    t0 = time.perf_counter()
    fn()
    return count / (time.perf_counter() - t0)


def _worker(blob: bytes, idx: list[int], out: Any) -> None:
    """A fresh process: unpickle the Store (no open file), first read reopens it, then read."""
    t0 = time.perf_counter()
    st = pickle.loads(blob)
    st.image(idx[0])
    t1 = time.perf_counter()
    for i in idx:
        st.image(i)
    t2 = time.perf_counter()
    out.put((t1 - t0, len(idx) / (t2 - t1)))


def run(n: int = 2000, size: int = 256, dtype: str = "uint8", reads: int = 5000, seed: int = 0) -> dict[str, Any]:
    """Measure reads/s (see the module docstring)."""
    from mvkl.store import Store

    rng = np.random.default_rng(seed)
    doc: dict[str, Any] = {"bench": "store", "images": n, "image_size": size, "pixel_dtype": dtype}
    with tempfile.TemporaryDirectory(prefix="mvkl-bench-store-") as tmp:
        path = Path(tmp) / "bench.h5"
        t0 = time.perf_counter()
        _fixture_store(path, n, size, dtype, seed)
        doc["write_s"] = time.perf_counter() - t0
        doc["file_mb"] = path.stat().st_size / 2**20
        st = Store(path)
        n_img = st.n_images
        idx = rng.integers(0, n_img, reads).tolist()
        st.image(0)  # open
        _rate(lambda: [st.image(i) for i in idx[:200]], 200)  # warm-up
        doc["random_reads_per_s"] = _rate(lambda: [st.image(i) for i in idx], reads)
        seq = list(range(min(reads, n_img)))
        doc["sequential_reads_per_s"] = _rate(lambda: [st.image(i) for i in seq], len(seq))
        blocks = [np.arange(a, min(a + 64, n_img)) for a in range(0, n_img, 64)]
        doc["block64_images_per_s"] = _rate(lambda: [st.images(b) for b in blocks], n_img)
        t0 = time.perf_counter()
        st2 = Store(path)
        st2.lumps  # noqa: B018 - eager table read, as a Dataset does
        st2.image(0)
        doc["open_and_tables_ms"] = 1e3 * (time.perf_counter() - t0)
        st2.close()
        blob = pickle.dumps(st)
        st.close()
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(target=_worker, args=(blob, idx[:2000], q))
        p.start()
        reopen_s, worker_rate = q.get(timeout=300)
        p.join()
        doc["worker_reopen_first_read_ms"] = 1e3 * reopen_s
        doc["worker_random_reads_per_s"] = worker_rate
    doc["target_random_reads_per_s"] = 2000
    doc["note"] = "one core; the store was just written, so it is in the page cache"
    doc["machine"] = machine_info()
    return doc
