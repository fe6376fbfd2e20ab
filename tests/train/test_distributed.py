"""DDP on gloo/CPU: the gradient-carrying gather equals a single process on the combined batch, and a
real two-process `torchrun ... -m mvkl pretrain` ends with identical parameters on both ranks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

pytestmark = pytest.mark.ddp

D_IN, D = 6, 4
SIZES = (3, 5)  # lumps per rank: the gather must handle unequal sizes
TEXT = ([0, 2], [])  # rank 1 has no report at all: it must still join the backward collective
MAN = ([0, 1, 2], [1, 2, 3, 4])


def _inputs() -> dict[str, Any]:
    g = torch.Generator().manual_seed(0)
    n = sum(SIZES)
    man = (torch.rand(n, 35, generator=g) < 0.3).float()
    man[4] = man[0]  # a duplicate manifestation across ranks: the global de-dup must see it
    return {"x1": torch.randn(n, D_IN, generator=g), "x2": torch.randn(n, D_IN, generator=g),
            "xt": torch.randn(n, D_IN, generator=g), "man": man, "w": torch.randn(D_IN, D, generator=g)}


def _out(inp: dict[str, Any], w: torch.Tensor, lo: int, hi: int, text: list[int], man: list[int]) -> dict[str, Any]:
    """A ViKL-like output of batch rows lo..hi-1 (text/manifest rows local to that slice)."""
    unit = lambda x: F.normalize(x @ w, dim=1)  # noqa: E731
    t = torch.tensor(text, dtype=torch.long)
    m = torch.tensor(man, dtype=torch.long)
    return {"z1": unit(inp["x1"][lo:hi]), "z2": unit(inp["x2"][lo:hi]),
            "zt": unit(inp["xt"][lo:hi][t]) if text else None, "text_rows": t if text else None,
            "zm": unit(inp["man"][lo:hi][m] @ torch.ones(35, D_IN) / 35 + inp["x1"][lo:hi][m]) if man else None,
            "manifest_rows": m if man else None, "manifest": inp["man"][lo:hi][m] if man else None,
            "manifest_known": torch.ones(len(man), 35) if man else None}


def _loss(out: dict[str, Any]) -> torch.Tensor:
    from mvkl.losses import vikl_loss

    return vikl_loss(out, tau1=0.1, tau2=0.3, generator=torch.Generator().manual_seed(5))[0]


def _worker(rank: int, world: int, rendezvous: str, result_dir: str) -> None:
    import torch.distributed as dist

    from mvkl.train.distributed import DistInfo, gather_output

    dist.init_process_group("gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world)
    info = DistInfo(rank, world, rank, "gloo", dist.new_group(backend="gloo"), dist.new_group(backend="gloo"))
    inp = _inputs()
    w = inp["w"].clone().requires_grad_(True)
    lo = sum(SIZES[:rank])
    out = gather_output(_out(inp, w, lo, lo + SIZES[rank], TEXT[rank], MAN[rank]), info)
    loss = _loss(out)
    loss.backward()
    grad = w.grad.clone()
    dist.all_reduce(grad)
    grad /= world  # what DDP does with parameter gradients
    torch.save({"loss": loss.detach(), "grad": grad, "text_rows": out["text_rows"],
                "manifest_rows": out["manifest_rows"]}, Path(result_dir) / f"r{rank}.pt")
    dist.destroy_process_group()


def test_gather_with_grad_equals_single_process(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    mp.spawn(_worker, args=(2, str(tmp_path / "rdzv"), str(tmp_path)), nprocs=2, join=True)
    inp = _inputs()
    w = inp["w"].clone().requires_grad_(True)
    text = TEXT[0] + [r + SIZES[0] for r in TEXT[1]]
    man = MAN[0] + [r + SIZES[0] for r in MAN[1]]
    ref = _out(inp, w, 0, sum(SIZES), text, man)
    loss = _loss(ref)
    loss.backward()
    for rank in range(2):
        got = torch.load(tmp_path / f"r{rank}.pt", weights_only=True)
        assert got["text_rows"].tolist() == text and got["manifest_rows"].tolist() == man
        torch.testing.assert_close(got["loss"], loss.detach(), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(got["grad"], w.grad, rtol=1e-4, atol=1e-6)


SMALL_TOML = """preset = "tiny"
[data]
image_size = 32
workers = 0
text_max_length = 64
[model]
tiny_text_hidden = 32
tiny_text_intermediate = 64
tiny_text_vocab = 300
[optim]
batch_size = 4
warmup_steps = 1
[logging]
log_every = 1
val_every = 3
"""


def test_torchrun_two_processes_keep_identical_parameters(train_store: Path, tmp_path: Path,
                                                           mvkl_subprocess_env: dict[str, str]) -> None:
    toml = tmp_path / "small.toml"
    toml.write_text(SMALL_TOML, encoding="utf-8")
    dump = tmp_path / "params"
    env = {**mvkl_subprocess_env, "OMP_NUM_THREADS": "1", "MVKL_TEST_DUMP_PARAMS": str(dump)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "mvkl",
           "pretrain", str(train_store), "--out", str(tmp_path / "run"), "--config", str(toml), "--steps", "3",
           "--gather-negatives", "--json", "--quiet"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    doc = json.loads(proc.stdout)  # only rank 0 printed: one JSON document
    assert doc["world_size"] == 2 and doc["completed"] and doc["step"] == 3
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [x["batch"] for x in lines if x["kind"] == "train"] == [8.0, 8.0, 8.0]  # global batch = 2 ranks x 4
    val = [x for x in lines if x["kind"] == "val"]  # sharded over ranks (rank 1 has no val batch here)
    assert len(val) == 1 and val[0]["n_lumps"] == 5 and all(math.isfinite(val[0][k]) for k in ("loss", "ii", "it"))
    a, b = (torch.load(dump / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert a.keys() == b.keys()
    saved = torch.load(sorted((tmp_path / "run" / "checkpoints").glob("*.pt"))[-1], weights_only=True)["model"]
    for k in a:  # parameters and BatchNorm statistics
        assert torch.equal(a[k], b[k]), k
        assert torch.equal(a[k], saved[k]), k
    assert os.path.isdir(tmp_path / "run" / "encoder")
