"""Shared fixtures. No test reaches the network; every file is written under tmp_path."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# Keep torch/BLAS to the machine's two cores and make hub libraries strictly offline.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """One intra-op thread for a test module, restored afterwards: tiny models gain nothing from a
    second thread, and on a shared two-core machine two OpenMP threads spin against each other
    (measured: 4x the CPU time of one thread for tests/evaluation/protocols). Modules opt in with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``, directories with an autouse
    fixture in their conftest that requests it."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def run_cli() -> Callable[..., Any]:
    """Invoke the real CLI in-process; returns the click Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from mvkl.cli.main import app

    runner = CliRunner()

    def _run(*args: str, **kw: Any) -> Any:
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kw)

    return _run


@pytest.fixture
def mvkl_subprocess_env() -> dict[str, str]:
    """Environment for running ``python -m mvkl`` in a subprocess from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def python() -> str:
    return sys.executable


def make_store_arrays(
    n_lumps: int = 24, image_size: int = 32, seed: int = 0, n_patients: int | None = None
) -> dict[str, Any]:
    """Arrays for :func:`mvkl.store.write_store`: lumps with CC+MLO images, structured
    manifestations (one option per exclusive group or none, a few signs), labels correlated with
    the manifestation, patient-level splits. Pixels are smooth random blobs."""
    from mvkl.manifest import schema as S
    from mvkl.store import schema as SC

    rng = np.random.default_rng(seed)
    n_patients = n_patients or max(3, n_lumps // 2)
    patient = rng.integers(0, n_patients, n_lumps)
    patient[:3] = [0, 1, 2]
    psplit = np.array([0, 1, 2, *list(rng.choice(3, n_patients - 3, p=[0.7, 0.1, 0.2]))])
    man = np.zeros((n_lumps, S.DIM), np.uint8)
    for g in S.exclusive_groups():
        choice = rng.integers(-1, len(g.options), n_lumps)
        for i, c in enumerate(choice):
            if c >= 0:
                man[i, g.options[c].index] = 1
    man[:, S.MISC_GROUP.slice] = rng.random((n_lumps, 9)) < 0.15
    label = ((man[:, 0] + man[:, 6] + rng.random(n_lumps)) > 1.0).astype(np.int8)
    hexid = lambda k, i: f"{k}{i:015x}"[:16].encode()  # noqa: E731
    lumps = {
        "lump_id": [hexid("a", i) for i in range(n_lumps)],
        "patient_id": [hexid("b", int(p)) for p in patient],
        "exam_id": [hexid("c", int(p)) for p in patient],
        "cc": np.arange(n_lumps) * 2,
        "mlo": np.arange(n_lumps) * 2 + 1,
        "laterality": rng.integers(0, 2, n_lumps),
        "label": label,
        "birads": [b"4A" if lab else b"3" for lab in label],
        "density": rng.integers(1, 5, n_lumps),
        "age_bucket": np.full(n_lumps, -1),
        "report": [f"synthetic report {i}: {'irregular' if man[i, 0] else 'round'} mass" for i in range(n_lumps)],
        "manifest": man,
        "manifest_known": np.ones_like(man),
        "split": psplit[patient],
        "source": np.zeros(n_lumps),
    }
    n_img = 2 * n_lumps
    yy, xx = np.mgrid[0:image_size, 0:image_size] / image_size
    pixels = np.empty((n_img, image_size, image_size), np.uint8)
    for i in range(n_img):
        cy, cx = rng.random(2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) * 20)
        pixels[i] = np.clip(255 * (0.3 * (1 - xx) + 0.7 * blob * (1 + label[i // 2])) / 1.6, 0, 255)
    images = {
        "image_id": [hexid("d", i) for i in range(n_img)],
        "patient_id": [lumps["patient_id"][i // 2] for i in range(n_img)],
        "view": np.tile([SC.VIEW_CODES.index("CC"), SC.VIEW_CODES.index("MLO")], n_lumps),
        "laterality": np.repeat(lumps["laterality"], 2),
        "flipped": np.zeros(n_img),
        "pixel_spacing": np.full((n_img, 2), 0.1),
        "source_shape": np.full((n_img, 2), 1024),
        "crop_box": np.tile([0, 0, 1024, 800], (n_img, 1)),
        "scale": np.full(n_img, 1024 / image_size),
    }
    return {"lumps": lumps, "images": images, "pixels": pixels}


@pytest.fixture
def tiny_store(tmp_path: Path) -> Path:
    """A small valid store written with :func:`mvkl.store.write_store` (no DICOM involved)."""
    from mvkl.store import write_store

    arrays = make_store_arrays()
    path = tmp_path / "tiny.h5"
    write_store(path, arrays["lumps"], arrays["images"], arrays["pixels"],
                attrs={"sources": [{"name": "fixture", "format": "arrays"}]})
    return path
