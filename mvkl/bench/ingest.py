"""Benchmark `mvkl bench ingest`: images/s of the ingest pixel pipeline per worker.

Writes uncompressed 12-bit MG "For Presentation" files at the synthetic size
(1024 x 832) and at full-field size (4096 x 3328, Hologic-like) into a temporary folder, then
measures

* ``load_image`` alone, in-process (the DICOM reader's cost: read, LUTs, crop, resize);
* the whole ``mvkl ingest`` pipeline (generic CSV manifest, one image per lump) with 1 and 2
  workers, end to end (planning, process pool, journal, final HDF5 store), so that the pipeline's
  own overhead is the difference to the first figure.

Identical files are hard-linked under several names (the page cache then holds them, so the
figures measure CPU work, not the disk). Target (docs/PERFORMANCE.md): >= 15 full-field images/s
per core.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.bench import machine_info

SIZES = {"synthetic": (1024, 832), "full_field": (4096, 3328)}


def write_mg(path: Path, rows: int, cols: int, seed: int, laterality: str = "L") -> None:
    """A 12-bit MONOCHROME2 MG For Presentation file with a breast-like half-ellipse."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(seed)
    yy = (np.arange(rows, dtype=np.float32)[:, None] - rows / 2) / (rows * 0.46)
    xx = np.arange(cols, dtype=np.float32)[None, :] / (cols * 0.78)
    if laterality == "R":
        xx = xx[:, ::-1]
    inside = yy**2 + xx**2 < 1.0
    tissue = 1500 + 1800 * np.sqrt(np.clip(1.0 - yy**2 - xx**2, 0, 1))
    noise = rng.normal(0, 60, (rows // 8 + 1, cols // 8 + 1)).astype(np.float32)
    tissue = tissue + np.kron(noise, np.ones((8, 8), np.float32))[:rows, :cols]
    px = np.where(inside, np.clip(tissue, 0, 4095), 40).astype(np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.2"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.PatientName, ds.PatientID, ds.Modality = "BENCH^PATIENT", "BENCH", "MG"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PresentationIntentType, ds.BurnedInAnnotation = "FOR PRESENTATION", "NO"
    ds.ImageLaterality, ds.ViewPosition = laterality, "CC"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.PresentationLUTShape = 0, 1, "IDENTITY"
    ds.WindowCenter, ds.WindowWidth, ds.VOILUTFunction = 2048, 4096, "LINEAR"
    ds.ImagerPixelSpacing = [0.07, 0.07]
    ds.PixelData = px.tobytes()
    ds.save_as(path, enforce_file_format=True)


def _make_files(root: Path, kind: str, n: int, unique: int, shape: tuple[int, int]) -> list[str]:
    rows, cols = shape
    rels = []
    base = []
    for u in range(min(unique, n)):
        p = root / kind / f"u{u}.dcm"
        p.parent.mkdir(parents=True, exist_ok=True)
        write_mg(p, rows, cols, seed=u, laterality="LR"[u % 2])
        base.append(p)
    for i in range(n):
        p = root / kind / f"img{i:04d}.dcm"
        src = base[i % len(base)]
        try:
            os.link(src, p)
        except OSError:
            p.write_bytes(src.read_bytes())
        rels.append(f"{kind}/img{i:04d}.dcm")
    return rels


def run(n: int = 32, n_full: int = 16, unique: int = 4, image_size: int = 256, workers: tuple[int, ...] = (1, 2),
        quiet: bool = True, sizes: dict[str, tuple[int, int]] | None = None, repeat: int = 3) -> dict[str, Any]:
    """Measure ``load_image`` and the ingest pipeline at both sizes (see the module docstring);
    each figure is the best of ``repeat`` runs (the machine may be shared); ``sizes`` overrides
    :data:`SIZES` (tests use small images)."""
    sizes = sizes or SIZES
    import polars as pl

    from mvkl.dicom import PixelPolicy, load_image
    from mvkl.ingest.pipeline import IngestOptions, run_ingest

    doc: dict[str, Any] = {"bench": "ingest", "image_size": image_size, "pixel_dtype": "uint8"}
    policy = PixelPolicy(image_size=image_size)
    for w in workers:
        if w > 1:  # cold start of the decoding pool (fork server + workers), paid once per run
            from concurrent.futures import ProcessPoolExecutor

            from mvkl.ingest.decode import _mp_context, age_bucket

            t0 = time.perf_counter()
            with ProcessPoolExecutor(w, mp_context=_mp_context()) as pool:
                list(pool.map(age_bucket, [None] * w))
            doc[f"pool_start_{w}w_s"] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory(prefix="mvkl-bench-ingest-") as tmp:
        root = Path(tmp)
        key = root / "bench.key"
        for kind, count in (("synthetic", n), ("full_field", n_full)):
            rels = _make_files(root / "src", kind, count, unique, sizes[kind])
            rows, cols = sizes[kind]
            load_image(root / "src" / rels[0], policy)  # warm-up (imports, caches)
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                for r in rels:
                    load_image(root / "src" / r, policy)
                best = min(best, time.perf_counter() - t0)
            doc[f"{kind}_shape"] = f"{rows}x{cols}"
            doc[f"{kind}_load_image_per_s_1_core"] = count / best
            table = root / "src" / f"{kind}.csv"
            pl.DataFrame({"patient_id": [f"p{i}" for i in range(count)], "study_id": ["s"] * count,
                          "cc_path": rels, "mlo_path": [""] * count, "label": ["benign"] * count}).write_csv(table)
            for w in workers:
                out = root / f"{kind}-{w}.h5"
                best_total = best_dec = float("inf")
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    res = run_ingest(IngestOptions(source=table, out=out, format="csv", image_size=image_size,
                                                   key_file=key, workers=w, quiet=quiet, dataset=f"bench-{kind}"))
                    best_total = min(best_total, time.perf_counter() - t0)
                    best_dec = min(best_dec, res["timing"]["decode_s"])
                    with contextlib.suppress(FileNotFoundError):
                        out.unlink()
                doc[f"{kind}_pipeline_{w}w_per_s"] = count / best_total
                doc[f"{kind}_pipeline_{w}w_decode_per_s"] = count / best_dec
                doc[f"{kind}_pipeline_{w}w_decode_per_s_per_worker"] = count / best_dec / w
                doc[f"{kind}_pipeline_{w}w_fixed_s"] = best_total - best_dec
            if 1 in workers:
                doc[f"{kind}_decode_overhead_1w"] = 1.0 - doc[f"{kind}_pipeline_1w_decode_per_s"] / doc[
                    f"{kind}_load_image_per_s_1_core"]
    doc["n_synthetic"], doc["n_full_field"], doc["repeat"] = n, n_full, repeat
    doc["note"] = ("*_per_s: end to end (tables, plan, decode, journal, HDF5 store); *_decode_per_s: the decode "
                   "phase only (warm fork server; pool_start_*_s is the cold start paid once per run); "
                   "*_fixed_s: the rest; *_decode_overhead_1w: pipeline cost over bare load_image; files are "
                   "hard-linked copies held in the page cache")
    doc["machine"] = machine_info()
    return doc
