"""Fixtures for the analysis tests: controlled stores, a fake ViKL whose embeddings are angles we
choose, and real tiny ViKL models (resnet18 + tiny BERT, 32 px) saved with ``save_vikl``."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from tests.conftest import make_store_arrays

SPLIT = {"train": 0, "val": 1, "test": 2}

# The fixtures below are imported by several test modules (tests/analysis and tests/cli); pytest
# then registers one fixture per module, so the expensive results are cached here for the session.
_CACHE: dict[str, Any] = {}


def _once(key: str, build: Any) -> Any:
    if key not in _CACHE:
        _CACHE[key] = build()
    return _CACHE[key]


def write_controlled_store(path: Path, lumps: Sequence[dict[str, Any]], image_size: int = 32) -> Path:
    """A store with one lump per entry of ``lumps``: ``split``, ``angles`` (degrees of the CC and
    MLO images, encoded as constant pixel values; None = no image), ``report``, ``birads`` (store
    field, "" unknown), ``manifest`` / ``known`` (35,), ``label``. Every lump has its own patient."""
    from mvkl.store import write_store

    n = len(lumps)
    base = make_store_arrays(n_lumps=max(n, 3), image_size=image_size, seed=1)
    L = {k: v[:n] for k, v in base["lumps"].items()}
    base_images = base["images"]
    pixels, cc, mlo, img_rows = [], [], [], []
    for i, spec in enumerate(lumps):
        a, b = spec.get("angles", (10, 10))
        for ang, col in ((a, cc), (b, mlo)):
            if ang is None:
                col.append(-1)
                continue
            col.append(len(pixels))
            pixels.append(np.full((image_size, image_size), int(ang), np.uint8))
            img_rows.append(i)
    hexid = lambda k, i: f"{k}{i:015x}"[:16].encode()  # noqa: E731
    lumps_out = dict(L)
    lumps_out.update({
        "lump_id": [hexid("a", i) for i in range(n)],
        "patient_id": [hexid("b", i) for i in range(n)],
        "exam_id": [hexid("c", i) for i in range(n)],
        "cc": np.array(cc), "mlo": np.array(mlo),
        "label": np.array([s.get("label", 0) for s in lumps], np.int8),
        "birads": [s.get("birads", "").encode() for s in lumps],
        "report": [s.get("report", "") for s in lumps],
        "manifest": np.array([s.get("manifest", np.zeros(35)) for s in lumps], np.uint8),
        "manifest_known": np.array([s.get("known", np.ones(35)) for s in lumps], np.uint8),
        "split": np.array([SPLIT[s["split"]] for s in lumps]),
    })
    m = len(pixels)
    views = [0 if r == cc[i] else 1 for r, i in zip(range(m), img_rows, strict=True)]
    images = {k: np.asarray(v)[[0] * m] if not isinstance(v, list) else [v[0]] * m for k, v in base_images.items()}
    images.update({"image_id": [hexid("d", j) for j in range(m)],
                   "patient_id": [lumps_out["patient_id"][i] for i in img_rows],
                   "view": np.array(views), "laterality": np.zeros(m, int)})
    write_store(path, lumps_out, images, np.stack(pixels), attrs={"sources": [{"name": "test", "format": "arrays"}]})
    return path


# --- a fake ViKL: embeddings are unit vectors at angles we control --------------------------------

_ANGLE = re.compile(r"angle (\d+)")


def unit(deg: Any, dim: int = 4) -> torch.Tensor:
    t = torch.as_tensor(deg, dtype=torch.float64) * math.pi / 180
    out = torch.zeros(t.shape[0], dim, dtype=torch.float64)
    out[:, 0], out[:, 1] = torch.cos(t), torch.sin(t)
    return out.float()


class FakeTokenizer:
    """Encodes the ``angle N`` written in a report as its single token id."""

    model_max_length = 512

    def __call__(self, texts: list[str], **kw: Any) -> dict[str, torch.Tensor]:
        ids = [int(_ANGLE.search(t).group(1)) if _ANGLE.search(t) else 0 for t in texts]
        return {"input_ids": torch.tensor(ids)[:, None], "attention_mask": torch.ones(len(ids), 1, dtype=torch.long)}


class FakeViKL(nn.Module):
    """``embed_image``: angle = pixel value (degrees); ``embed_text``: the report's ``angle N``;
    ``embed_manifest``: angle = Σ_j m_j · MANIFEST_WEIGHTS[j]."""

    MANIFEST_WEIGHTS = np.arange(35) * 7.0

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))
        self.text_encoder = nn.Identity()
        self.text_encoder.max_length = 512
        self.manifest_encoder = nn.Identity()

    def model_config(self) -> dict[str, Any]:
        return {"embed_dim": 4}

    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        return unit(torch.round(x.mean(dim=(1, 2, 3)) * 255))

    def embed_text(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return unit(batch["input_ids"][:, 0])

    def embed_manifest(self, m: torch.Tensor) -> torch.Tensor:
        return unit(m.double() @ torch.as_tensor(self.MANIFEST_WEIGHTS))


# --- real tiny models ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_store_arrays() -> dict[str, Any]:
    return _once("arrays", lambda: make_store_arrays(n_lumps=24, image_size=32, seed=0))


@pytest.fixture(scope="session")
def analysis_store(tmp_path_factory: pytest.TempPathFactory, tiny_store_arrays: dict[str, Any]) -> Path:
    """make_store_arrays' store (24 lumps, 32 px) with two lumps stripped of report/manifestation."""
    return _once("analysis_store", lambda: _analysis_store(tmp_path_factory, tiny_store_arrays))


def _analysis_store(tmp_path_factory: pytest.TempPathFactory, tiny_store_arrays: dict[str, Any]) -> Path:
    from mvkl.store import write_store

    a = tiny_store_arrays
    lumps = dict(a["lumps"])
    lumps["report"] = list(lumps["report"])
    test = np.flatnonzero(np.asarray(lumps["split"]) == 2)
    lumps["report"][int(test[0])] = ""
    known = np.array(lumps["manifest_known"]).copy()
    known[int(test[1])] = 0
    man = np.array(lumps["manifest"]).copy()
    man[int(test[1])] = 0
    lumps["manifest_known"], lumps["manifest"] = known, man
    path = tmp_path_factory.mktemp("astore") / "s.h5"
    write_store(path, lumps, a["images"], a["pixels"], attrs={"sources": [{"name": "t", "format": "arrays"}]})
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory, tiny_store_arrays: dict[str, Any]) -> Path:
    from mvkl.models import build_tiny_bert

    reports = tiny_store_arrays["lumps"]["report"]
    return _once("bert", lambda: build_tiny_bert(reports, tmp_path_factory.mktemp("bert") / "bert", vocab_size=200,
                                                 hidden=32, layers=1, heads=2, intermediate=64, seed=0))


def _save_vikl(out: Path, bert: Path, embed_dim: int) -> Path:
    from mvkl.models import ImageEncoder, TextEncoder, ViKL, save_vikl

    torch.manual_seed(0)
    model = ViKL(ImageEncoder("resnet18", seed=0), TextEncoder(bert), embed_dim=embed_dim)
    # Non-trivial BatchNorm running statistics, so that eval mode matters.
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm1d | nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 2.0)
    return save_vikl(model.eval(), out, config={"image_size": 32})


@pytest.fixture(scope="session")
def tiny_vikl(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path) -> Path:
    return _once("vikl", lambda: _save_vikl(tmp_path_factory.mktemp("vikl") / "vikl", tiny_bert, 128))


@pytest.fixture(scope="session")
def tiny_vikl_2d(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path) -> Path:
    return _once("vikl2", lambda: _save_vikl(tmp_path_factory.mktemp("vikl2") / "vikl2", tiny_bert, 2))


# --- DICOM studies, their store and a fine-tuned classifier (mvkl synth -> ingest -> eval) --------


@pytest.fixture(scope="session")
def ft_setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """16 synthetic exams (128 px DICOM), ingested at 64 px, and a classifier saved by
    ``mvkl eval random:resnet18 --protocol ft --setting tiny --save-model`` (one seed, one epoch)."""
    return _once("ft", lambda: _ft_setup(tmp_path_factory))


def _ft_setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from typer.testing import CliRunner

    from mvkl.cli.main import app
    from mvkl.synth import generate

    root = tmp_path_factory.mktemp("ft")
    generate(root / "src", exams=16, seed=0, image_size=128, workers=1)
    runner = CliRunner()

    def ok(*args: Any) -> None:
        res = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        assert res.exit_code == 0, res.stderr

    ok("ingest", root / "src", "--out", root / "s.h5", "--image-size", "64", "--key-file", root / "k.key",
       "--workers", "1", "--quiet")
    ok("eval", "random:resnet18", root / "s.h5", "--arch", "resnet18", "--protocol", "ft", "--setting", "tiny",
       "--seeds", "1", "--epochs", "1", "--n-boot", "10", "--save-model", "-o", root / "ev", "--quiet")
    return {"src": root / "src", "store": root / "s.h5", "key": root / "k.key", "eval": root / "ev",
            "classifier": root / "ev" / "classifier"}
