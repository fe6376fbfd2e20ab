"""The pretraining loop (paper Sec. 4.3, Appendix A; docs/fidelity.md, B14, B24, B37, B40, B45).

:func:`pretrain` trains ViKL on a store's training split and writes a run directory:

    config.json, metrics.jsonl, checkpoints/, text/ (tiny BERT), encoder/, vikl/, summary.json

(layout in :mod:`mvkl.train.rundir`).

Everything is driven in steps (B14): the learning rate (warm-up + cosine), μ of ManiNeg and the
batches are functions of the global step. Each step reseeds the global torch RNG (dropout) from
(seed, step, rank) and draws the loss's random choices from (seed, step), and the augmentation is
keyed by (seed, step, rank, position): a run resumed at step k from its checkpoint computes exactly
what an uninterrupted run computes (bitwise on CPU), with any number of DataLoader workers.

On CUDA the forward runs under bf16 autocast with channels-last images; the embeddings and the
loss are fp32 (B28). Gradient clipping is off by default (the released code has none; paper
fidelity) and available as ``grad_clip``. The validation loss is computed on ordinary consecutive
batches of the val split in eval mode, with no sample dropped (B37). The image encoder exported to
``RUN/encoder`` is the **final** one (B24). Only rank 0 writes files. SIGINT/SIGTERM stop the run
at the next step boundary after writing a checkpoint (resume with ``--resume``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from mvkl.errors import InputError
from mvkl.fsutil import atomic_write_json, display_path
from mvkl.store import Store
from mvkl.torchdata import store_fingerprint
from mvkl.torchdata.collate import batch_to_device
from mvkl.torchdata.seeding import TAG_LOSS, TAG_STEP, derive_seed, make_generator
from mvkl.train import build
from mvkl.train.checkpoint import (
    capture_rng,
    checkpoint_path,
    latest_checkpoint,
    prune_checkpoints,
    restore_rng,
    save_checkpoint,
)
from mvkl.train.config import PretrainConfig, config_diff, config_fingerprint
from mvkl.train.distributed import DistInfo, cleanup, gather_output, init_distributed
from mvkl.train.metrics import MetricAccumulator, MetricsWriter, truncate_metrics
from mvkl.train.rundir import StopFlag, export_outputs, prepare_run_dir, write_run_config
from mvkl.train.schedule import WarmupCosine

__all__ = ["DUMP_ENV", "pretrain"]

log = logging.getLogger(__name__)

#: Test hook: when set to a directory, every rank writes its final parameters there (rank<r>.pt).
DUMP_ENV = "MVKL_TEST_DUMP_PARAMS"
TAG_VAL = 0x56414C


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") else model


class Trainer:
    """One pretraining run (use :func:`pretrain`)."""

    def __init__(self, cfg: PretrainConfig, store_path: Path, run_dir: Path, info: DistInfo,
                 device: torch.device) -> None:
        self.cfg, self.store_path, self.run, self.info, self.device = cfg, store_path, run_dir, info, device
        self.store = Store(store_path)
        build.check_store(cfg, self.store, store_path)
        self.store_fp = store_fingerprint(self.store)
        self.cuda = device.type == "cuda"
        self.bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and self.cuda
                                                and torch.cuda.is_bf16_supported())
        self.channels_last = cfg.channels_last and self.cuda
        text_dir = build.prepare_text_model(cfg, self.store, run_dir, info)
        self.model = build.build_model(cfg, text_dir).to(device)
        self.model.set_view_passes(cfg.view_passes)  # one trunk pass per view in code-compat
        if self.channels_last:
            self.model.image_encoder.to(memory_format=torch.channels_last)
        if cfg.sync_bn:
            if not (self.cuda and info.enabled):
                raise InputError("sync_bn needs CUDA and several processes (torchrun)", code="config")
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        self.terms = self.model.default_terms()
        tok = self.model.text_encoder.tokenizer if self.model.text_encoder is not None else None
        self.optimizer = build.build_optimizer(cfg, self.model, fused=self.cuda)
        self.scheduler = WarmupCosine(self.optimizer, peak=cfg.lr, floor=cfg.min_lr, warmup=cfg.warmup_steps,
                                      total=cfg.steps, start_factor=cfg.warmup_start_factor)
        self.sampler = build.build_sampler(cfg, self.store, info)
        self.workers = build.auto_workers(cfg.workers)
        self.loader = build.train_loader(cfg, self.store, self.sampler, tok, info, self.workers, self.cuda)
        self.val = build.val_loader(cfg, self.store, tok, info, self.workers, self.cuda)
        self.net: torch.nn.Module = self.model
        if info.enabled:
            from torch.nn.parallel import DistributedDataParallel

            partial = self._partial_modalities()
            self.net = DistributedDataParallel(self.model, device_ids=[device] if self.cuda else None,
                                               find_unused_parameters=partial)
        if cfg.compile:
            self.model.image_encoder.compile()
        self.step = 0
        self.resumed_from: int | None = None
        self.last_train: dict[str, Any] = {}
        self.last_val: dict[str, Any] = {}

    def _partial_modalities(self) -> bool:
        """Whether a batch can lack a modality (then DDP must tolerate unused parameters)."""
        train = self.store.lump_indices("train")
        no_report = any(not str(r).strip() for r in self.store.lumps["report"][train])
        no_known = bool((~self.store.lumps["manifest_known"][train].any(axis=1)).any())
        return ("text" in self.cfg.modalities and no_report) or ("manifest" in self.cfg.modalities and no_known) \
            or self.cfg.hard_negatives == "manineg"

    # -- resume ------------------------------------------------------------------------------------------
    def resume(self) -> None:
        found = latest_checkpoint(self.run / "checkpoints")
        if found is None:
            log.info("--resume: no checkpoint in %s, starting from step 0", display_path(self.run))
            return
        path, ck = found
        diff = config_diff(ck.get("config", {}), self.cfg.record())
        if diff or ck.get("config_fingerprint") != config_fingerprint(self.cfg):
            raise InputError("the configuration differs from the checkpoint's, so the resumed run would not continue "
                             "it: " + "; ".join(diff[:12]) + ". Resume with the same options (the saved ones are "
                             "in config.json) or start a new --out", file=display_path(path), code="resume")
        if ck.get("store_fingerprint") != self.store_fp:
            raise InputError("the store differs from the one this run was trained on (store fingerprint); resume "
                             "with the same store", file=display_path(path), code="resume")
        if int(ck.get("world_size", 1)) != self.info.world_size:
            raise InputError(f"the checkpoint was written by {ck.get('world_size')} processes and this run has "
                             f"{self.info.world_size}; the batch stream depends on it: resume with the same "
                             "--nproc_per_node x nodes", file=display_path(path), code="resume")
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        try:
            self.sampler.load_state_dict(ck["sampler"])
        except ValueError as exc:
            raise InputError(f"cannot resume the batch stream: {exc}", file=display_path(path), code="resume") from exc
        rngs = ck.get("rng") or []
        if len(rngs) > self.info.rank:
            restore_rng(rngs[self.info.rank])
        self.step = self.resumed_from = int(ck["step"])
        if self.info.is_main:
            dropped = truncate_metrics(self.run / "metrics.jsonl", self.step)
            if dropped:
                log.info("metrics.jsonl: dropped %d lines written after step %d", dropped, self.step)
        log.info("resumed from %s (step %d of %d)", display_path(path), self.step, self.cfg.steps)

    # -- one step ----------------------------------------------------------------------------------------
    def _autocast(self) -> Any:
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)

    def _forward(self, net: torch.nn.Module, batch: dict[str, Any]) -> dict[str, Any]:
        b = batch_to_device(batch, self.device, channels_last=self.channels_last)
        with self._autocast():
            out = net(b["view1"], b["view2"], text=b["text"], text_rows=batch["text_rows"], manifest=b["manifest"],
                      manifest_rows=batch["manifest_rows"], manifest_known=b["manifest_known"])
        out = dict(out)
        if out.get("zm") is not None:  # CPU copies for the loss's de-dup bookkeeping: no host sync
            out["manifest"], out["manifest_known"] = batch["manifest"], batch["manifest_known"]
        return out

    def _loss(self, out: dict[str, Any], generator: torch.Generator) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        from mvkl.train.objective import compute_loss

        return compute_loss(self.cfg, out, generator=generator, terms=self.terms)

    def train_step(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        c, step = self.cfg, self.step
        torch.manual_seed(derive_seed(c.seed, TAG_STEP, step, self.info.rank))  # dropout of this step
        out = self._forward(self.net, batch)
        gather = c.gather_negatives and self.info.enabled
        if gather:
            out = gather_output(out, self.info)
        loss, comps = self._loss(out, make_generator(c.seed, TAG_LOSS, step, 0 if gather else self.info.rank))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if c.grad_clip > 0:
            comps["grad_norm"] = torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip).detach()
        self.optimizer.step()
        self.scheduler.step()
        return comps

    @torch.no_grad()
    def sync_buffers(self) -> None:
        """Give every rank rank 0's BatchNorm running statistics (DDP only broadcasts them at the start
        of each forward, so after a step they differ); done before validation, checkpoints and export."""
        if self.info.enabled:
            import torch.distributed as dist

            for buf in self.model.buffers():
                dist.broadcast(buf, src=0)

    # -- validation --------------------------------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict[str, Any]:
        """Per-term validation loss (row-weighted means over the val batches), eval mode."""
        assert self.val is not None
        self.sync_buffers()
        model = self.model
        model.eval()
        sums = torch.zeros(len(self.terms), device=self.device)
        counts = torch.zeros(len(self.terms), dtype=torch.float64)
        for i, batch in enumerate(self.val):
            out = self._forward(model, batch)
            _, comps = self._loss(out, make_generator(self.cfg.seed, TAG_VAL, i, self.info.rank))
            for j, t in enumerate(self.terms):
                n = int(comps[f"n_{t}"])
                if n >= 2:
                    sums[j] += comps[t] * n
                    counts[j] += n
        model.train()
        if self.info.enabled:
            import torch.distributed as dist

            dist.all_reduce(sums)
            dist.all_reduce(counts, group=self.info.meta_group)
        means = {t: (s / n if n else float("nan")) for t, s, n in zip(self.terms, sums.tolist(), counts.tolist(),
                                                                      strict=True)}
        inter = [means[t] for t in ("it", "im", "tm") if t in means]
        imc = means.get("ii", 0.0)
        itm = sum(inter) / len(inter) if inter else 0.0
        return {"kind": "val", "step": self.step, "loss": imc + itm, "imc": imc, "itm": itm, **means,
                "n_lumps": len(self.val.dataset)}

    # -- checkpoints and outputs ------------------------------------------------------------------------
    def checkpoint(self) -> Path | None:
        self.sync_buffers()
        rngs = [capture_rng()]
        if self.info.enabled:
            import torch.distributed as dist

            gathered: list[Any] = [None] * self.info.world_size
            dist.all_gather_object(gathered, rngs[0], group=self.info.meta_group)
            rngs = gathered
        if not self.info.is_main:
            return None
        sampler_state = self.sampler.state_dict()
        sampler_state["step"] = self.step  # batches consumed, not the prefetching sampler's own counter
        path = checkpoint_path(self.run / "checkpoints", self.step)
        save_checkpoint(path, {
            "step": self.step, "epoch": self.sampler.epoch_of(self.step), "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(), "scaler": None,
            "sampler": sampler_state, "rng": rngs, "config": self.cfg.record(),
            "config_fingerprint": config_fingerprint(self.cfg), "store_fingerprint": self.store_fp,
            "world_size": self.info.world_size})
        prune_checkpoints(self.run / "checkpoints", self.cfg.keep_checkpoints)
        return path

    # -- the loop ----------------------------------------------------------------------------------------
    def _batches(self) -> Iterator[dict[str, Any]]:
        while True:
            self.sampler.set_step(self.step)
            yield from self.loader

    def _log(self, acc: MetricAccumulator, writer: MetricsWriter, t0: float, samples: int) -> dict[str, Any]:
        vals = acc.reduce(distributed=self.info.enabled, meta_group=self.info.meta_group)
        dt = max(time.perf_counter() - t0, 1e-9)
        batch = vals.pop("batch", 0.0) * self.info.world_size
        rec = {"kind": "train", "step": self.step, "epoch": self.sampler.epoch_of(max(self.step - 1, 0)),
               **{k: v for k, v in vals.items() if k != "mu"},
               "lr": self.scheduler.get_last_lr()[0], "batch": batch,
               "samples_per_s": samples * self.info.world_size / dt}
        if "mu" in vals:
            rec["mu"] = vals["mu"]
        writer.write(rec)
        acc.reset()
        return rec

    def fit(self, stop_at: int | None = None, show_progress: bool = True) -> dict[str, Any]:
        from mvkl.log import progress

        c, info = self.cfg, self.info
        writer = MetricsWriter(self.run, enabled=info.is_main, tensorboard=c.tensorboard)
        acc = MetricAccumulator()
        steps_per_epoch = len(self.sampler)
        val_every = steps_per_epoch if c.val_every == "epoch" else int(c.val_every)
        manineg = c.hard_negatives == "manineg"
        start, wall0 = self.step, time.perf_counter()
        t_log, n_log, total_samples = wall0, 0, 0
        stopped: str | None = None
        self.net.train()
        prog = progress(quiet=None if (show_progress and info.is_main) else True)
        with prog, StopFlag() as flag:
            task = prog.add_task("pretrain", total=c.steps, completed=self.step, rate="")
            batches = self._batches()
            while self.step < c.steps:
                batch = next(batches)
                mu = self.sampler.mu_at(self.step) if manineg else None
                comps = self.train_step(batch)
                self.step += 1
                n = int(batch["size"])
                n_log += n
                total_samples += n
                acc.add({**comps, "batch": n, **({"mu": mu} if mu is not None else {})})
                prog.update(task, advance=1)
                last = self.step >= c.steps
                at_log = self.step % c.log_every == 0 or last
                stop = stop_at is not None and self.step >= stop_at  # the same on every rank
                if info.enabled:  # signals are honoured at log steps, agreed by all ranks (a collective)
                    stop = stop or (at_log and self._agree(flag.requested))
                else:
                    stop = stop or flag.requested
                if at_log or stop:
                    self.last_train = self._log(acc, writer, t_log, n_log)
                    t_log, n_log = time.perf_counter(), 0
                    prog.update(task, rate=f"loss {self.last_train.get('loss', float('nan')):.3f}, "
                                           f"{self.last_train['samples_per_s']:.1f} samples/s")
                if self.val is not None and val_every and (self.step % val_every == 0 or last):
                    self.last_val = self.validate()
                    writer.write(self.last_val)
                if self.step % c.ckpt_every == 0 or last or stop:
                    self.checkpoint()
                if stop and not last:
                    stopped = "stop_at" if stop_at is not None and self.step >= stop_at else "signal"
                    break
        writer.close()
        wall = time.perf_counter() - wall0
        outputs: dict[str, Any] = {"config": "config.json", "metrics": "metrics.jsonl",
                                   "checkpoint": f"checkpoints/{checkpoint_path('.', self.step).name}"}
        if c.text_model == "tiny" and "text" in c.modalities:
            outputs["text"] = "text"
        if not stopped and info.is_main:
            outputs.update(export_outputs(self.model, self.run, self.cfg, self.step, self.store_path.name,
                                          self.store_fp))
        dump = os.environ.get(DUMP_ENV)
        if dump:
            Path(dump).mkdir(parents=True, exist_ok=True)
            torch.save({k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                       Path(dump) / f"rank{info.rank}.pt")
        summary = {
            "ok": True, "completed": stopped is None, "stopped_by": stopped, "run": self.run.name, "preset": c.preset,
            "hard_negatives": c.hard_negatives, "modalities": list(c.modalities), "steps": c.steps,
            "step": self.step, "resumed_from": self.resumed_from, "world_size": info.world_size,
            "device": self.device.type, "precision": "bf16" if self.bf16 else "fp32", "workers": self.workers,
            "steps_per_epoch": steps_per_epoch, "samples_per_s": total_samples * info.world_size / max(wall, 1e-9),
            "wall_s": wall, "steps_this_session": self.step - start, "final_train": self.last_train,
            "final_val": self.last_val or None, "store": self.store_path.name, "store_fingerprint": self.store_fp,
            "outputs": outputs,
        }
        if info.is_main:
            atomic_write_json(self.run / "summary.json", summary)
        return summary

    def _agree(self, stop: bool) -> bool:
        """Every rank stops at the same step when any rank was asked to."""
        import torch.distributed as dist

        flag = torch.tensor([1 if stop else 0])
        dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self.info.meta_group)
        return bool(flag.item())


def pretrain(cfg: PretrainConfig, store: str | os.PathLike[str], out: str | os.PathLike[str], *,
             resume: bool = False, stop_at: int | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Run (or resume) ViKL pretraining; returns the summary (also written to ``RUN/summary.json``).

    Args:
        cfg: a validated configuration (:func:`mvkl.train.config.resolve_config`).
        store: the HDF5 store; out: the run directory.
        resume: continue from the newest checkpoint in ``out`` (same configuration required, except
            :data:`mvkl.train.config.RESUME_FIELDS`); without a checkpoint, start at step 0.
        stop_at: stop after this step as if interrupted (a checkpoint is written; for tests).
        show_progress: rich progress bar on stderr (rank 0).
    """
    store_path, run_dir = Path(store), Path(out)
    if not store_path.is_file():
        raise InputError("store not found", file=display_path(store_path), code="missing-file")
    info, device = init_distributed(cfg.device)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        if cfg.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        prepare_run_dir(run_dir, cfg, resume, info)
        trainer = Trainer(cfg, store_path, run_dir, info, device)
        if resume:
            trainer.resume()
        write_run_config(run_dir, cfg, info)
        return trainer.fit(stop_at=stop_at, show_progress=show_progress)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        cleanup(info)
