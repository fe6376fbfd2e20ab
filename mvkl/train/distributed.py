"""Distributed data-parallel helpers: torchrun initialisation, rank-aware utilities, and an
all-gather that carries gradients (spec B18; the released code's ``GatherLayer`` was never used).

* :func:`init_distributed` reads the torchrun environment (``RANK``, ``WORLD_SIZE``,
  ``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) and initialises NCCL on GPUs, gloo on CPU. It
  also creates a gloo group for small CPU metadata (row counts, row indices, manifestations), so
  those exchanges never synchronise the GPU, and a separate group for the embedding gather.
* :func:`gather_with_grad`: all-gather of variable-size first dimensions whose backward
  all-reduces (sums) the incoming gradient over ranks and returns this rank's slice. With DDP
  averaging parameter gradients over W ranks, every rank then holds exactly the gradient of the
  loss of the global batch (each rank computes that same loss; the sum over ranks of W·∂L/∂z_r
  divided by W is ∂L/∂z): the GatherLayer pattern done right.
* :func:`gather_output` assembles a global :meth:`mvkl.models.ViKL.forward` output from every
  rank's local output (embeddings with gradients, row indices offset per rank, manifestations).

BatchNorm stays per rank by default (each rank normalises its own batch, like most contrastive
DDP code); ``sync_bn`` converts trunk and projector BatchNorm to SyncBatchNorm on CUDA.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor

from mvkl.errors import InputError

__all__ = ["DistInfo", "all_gather_cpu", "cleanup", "gather_output", "gather_with_grad", "init_distributed",
           "resolve_device"]


@dataclass
class DistInfo:
    """This process's place in the job (world_size 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    meta_group: Any = field(default=None, repr=False)
    gather_group: Any = field(default=None, repr=False)

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def resolve_device(preference: str, local_rank: int = 0) -> torch.device:
    """``auto`` → CUDA (this process's local GPU) when available, else CPU."""
    if preference == "cpu":
        return torch.device("cpu")
    if preference == "auto" and not torch.cuda.is_available():
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise InputError(f"--device {preference} requested but CUDA is not available (use --device cpu)",
                         code="device")
    if preference.startswith("cuda:"):
        return torch.device(preference)
    return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))


def init_distributed(device: str = "auto", timeout_s: float = 1800.0) -> tuple[DistInfo, torch.device]:
    """Initialise the process group from the torchrun environment (no-op for a single process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local)
    if world <= 1:
        return DistInfo(), dev
    if dist.is_initialized():
        backend = dist.get_backend()
    else:
        backend = "nccl" if dev.type == "cuda" else "gloo"
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=timeout_s),
                                **({"device_id": dev} if dev.type == "cuda" else {}))
    meta = dist.new_group(backend="gloo")
    gather = dist.new_group(backend=backend)
    return DistInfo(rank, world, local, backend, meta, gather), dev


def cleanup(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, sizes: tuple[int, ...], rank: int, group: Any) -> Tensor:  # type: ignore[override]
        ctx.sizes, ctx.rank, ctx.group = sizes, rank, group
        m = max(sizes)
        buf = x.contiguous()
        if buf.shape[0] < m:
            buf = torch.cat([buf, buf.new_zeros((m - buf.shape[0], *buf.shape[1:]))])
        parts = [torch.empty_like(buf) for _ in sizes]
        dist.all_gather(parts, buf, group=group)
        return torch.cat([p[:n] for p, n in zip(parts, sizes, strict=True)])

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None]:  # type: ignore[override]
        total = grad.contiguous().clone()
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=ctx.group)
        start = sum(ctx.sizes[: ctx.rank])
        return total[start : start + ctx.sizes[ctx.rank]], None, None, None


def gather_with_grad(x: Tensor, sizes: Sequence[int] | None = None, group: Any = None) -> Tensor:
    """Concatenate ``x`` from every rank (rank order) keeping the autograd graph (module docstring).

    ``sizes``: first-dimension size on each rank, when known (else exchanged on ``x``'s device).
    Every rank must call it, and its backward runs on every rank when any does (make an empty
    local input ``requires_grad`` so its rank joins the backward collective).
    """
    if not dist.is_initialized() or dist.get_world_size(group) == 1:
        return x
    if sizes is None:
        n = torch.tensor([x.shape[0]], device=x.device)
        got = [torch.empty_like(n) for _ in range(dist.get_world_size(group))]
        dist.all_gather(got, n, group=group)
        sizes = [int(t) for t in got]
    return _GatherWithGrad.apply(x, tuple(int(s) for s in sizes), dist.get_rank(group), group)


def all_gather_cpu(x: Tensor, group: Any = None) -> list[Tensor]:
    """All-gather a CPU tensor whose first dimension may differ per rank (gloo group)."""
    w = dist.get_world_size(group)
    n = torch.tensor([x.shape[0]], dtype=torch.long)
    sizes = [torch.zeros(1, dtype=torch.long) for _ in range(w)]
    dist.all_gather(sizes, n, group=group)
    m = max(int(s) for s in sizes)
    buf = torch.cat([x, x.new_zeros((m - x.shape[0], *x.shape[1:]))]) if x.shape[0] < m else x.contiguous()
    parts = [torch.empty_like(buf) for _ in range(w)]
    dist.all_gather(parts, buf, group=group)
    return [p[: int(s)] for p, s in zip(parts, sizes, strict=True)]


def gather_output(out: dict[str, Any], info: DistInfo) -> dict[str, Any]:
    """The global ViKL output of all ranks' local outputs (see the module docstring).

    Needs ``out["manifest"]`` / ``out["manifest_known"]`` on the CPU when ``zm`` is present. The
    result is identical on every rank; embeddings keep gradients to this rank's rows.
    """
    if not info.enabled:
        return out
    b = out["z1"].shape[0]
    d = out["z1"].shape[1]
    dev = out["z1"].device
    t_rows = out.get("text_rows") if out.get("zt") is not None else None
    m_rows = out.get("manifest_rows") if out.get("zm") is not None else None
    counts = torch.tensor([[b, 0 if t_rows is None else len(t_rows), 0 if m_rows is None else len(m_rows)]])
    table = torch.cat(all_gather_cpu(counts, info.meta_group))  # (W, 3)
    offsets = torch.cumsum(table[:, 0], 0) - table[:, 0]
    g: dict[str, Any] = dict(out)
    g["z1"] = gather_with_grad(out["z1"], table[:, 0].tolist(), info.gather_group)
    g["z2"] = gather_with_grad(out["z2"], table[:, 0].tolist(), info.gather_group)

    def rows_of(local: Tensor | None) -> Tensor:
        r = torch.zeros(0, dtype=torch.long) if local is None else torch.as_tensor(local).cpu().long()
        parts = all_gather_cpu(r, info.meta_group)
        return torch.cat([p + offsets[i] for i, p in enumerate(parts)])

    def emb(z: Tensor | None) -> Tensor:
        return z if z is not None else torch.zeros(0, d, device=dev, requires_grad=True)

    for z_key, rows_key, col in (("zt", "text_rows", 1), ("zm", "manifest_rows", 2)):
        if int(table[:, col].sum()) == 0:
            g[z_key], g[rows_key] = None, None
            continue
        local_rows = t_rows if col == 1 else m_rows
        g[rows_key] = rows_of(local_rows)
        g[z_key] = gather_with_grad(emb(out.get(z_key)), table[:, col].tolist(), info.gather_group)
    if g.get("zm") is not None:
        local = out.get("zm") is not None
        man = torch.as_tensor(out["manifest"]).detach().cpu().float() if local else torch.zeros(0, 35)
        known = out.get("manifest_known")
        known = (torch.as_tensor(known).detach().cpu().float() if known is not None else torch.ones_like(man)) \
            if local else torch.zeros(0, 35)
        g["manifest"] = torch.cat(all_gather_cpu(man, info.meta_group))
        g["manifest_known"] = torch.cat(all_gather_cpu(known, info.meta_group))
    for key in ("h1", "h2", "ht", "hm"):
        g[key] = None  # local features only; not meaningful globally
    return g
