"""Construction of everything a pretraining run needs from a :class:`PretrainConfig` and a store:
store checks (validation next to use), the text model (a local BERT directory, or a tiny BERT built
from the training reports), the ViKL model, the optimizer, the batch sampler and the loaders.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from mvkl.errors import InputError
from mvkl.fsutil import display_path
from mvkl.store import Store
from mvkl.torchdata import LumpCollator, LumpDataset, StepTaggedBatchSampler, build_transform
from mvkl.torchdata.augment import EvalTransform
from mvkl.train.config import PretrainConfig
from mvkl.train.distributed import DistInfo

__all__ = ["auto_workers", "build_model", "build_optimizer", "build_sampler", "check_store", "prepare_text_model",
           "train_loader", "val_batches", "val_loader"]

log = logging.getLogger(__name__)

TEXT_DIR = "text"


def check_store(cfg: PretrainConfig, store: Store, store_path: Path) -> None:
    """Store-dependent validation: splits, reports for text terms, manifestations for ManiNeg."""
    where = display_path(store_path)
    train = store.lump_indices("train")
    if train.size < cfg.batch_size:
        raise InputError(f"the training split has {train.size} lumps, fewer than --batch-size {cfg.batch_size}; "
                         "use a smaller batch size", file=where, code="store")
    reports = store.lumps["report"][train]
    n_reports = int(sum(1 for r in reports if str(r).strip()))
    if "text" in cfg.modalities and n_reports < 2:
        raise InputError(f"the training split has {n_reports} lumps with a report, but the text modality is on "
                         "(default modalities image,text,manifest): use --modalities image,manifest (or image) "
                         "for a store without reports", file=where, code="store")
    known = store.lumps["manifest_known"][train]
    n_known = int(known.any(axis=1).sum())
    if "manifest" in cfg.modalities and n_known < 2:
        raise InputError(f"the training split has {n_known} lumps with a known manifestation, but the manifest "
                         "modality is on: use --modalities image,text (or image)", file=where, code="store")
    if cfg.hard_negatives == "manineg":
        if n_known < 2:
            raise InputError("--hard-negatives manineg needs manifestation vectors in the training split, and this "
                             "store has none known: use --hard-negatives none or robinson", file=where, code="store")
        if "manifest" not in cfg.modalities:
            log.info("ManiNeg batches are built from manifestations although the manifest modality is off")


def auto_workers(requested: int) -> int:
    """``-1`` → min(8, CPUs available to this process / local processes − 1), at least 0."""
    if requested >= 0:
        return requested
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        cpus = os.cpu_count() or 1
    local = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    return max(0, min(8, cpus // local - 1))


def prepare_text_model(cfg: PretrainConfig, store: Store, run_dir: Path, info: DistInfo) -> Path | None:
    """The directory of the text model: ``RUN/text`` (built once from the training reports) for
    ``tiny``, else the user's local directory. None when text is off."""
    if "text" not in cfg.modalities:
        return None
    if cfg.text_model != "tiny":
        p = Path(cfg.text_model)
        if not (p / "config.json").is_file():
            raise InputError("text model directory not found or without config.json. mvkl loads BERT from a local "
                             "directory only (never downloads): on a connected machine run `hf download "
                             "bert-base-chinese --local-dir models/bert-base-chinese`, copy it here and pass "
                             "--text-model models/bert-base-chinese; or use --text-model tiny, or --modalities "
                             "image,manifest", file=display_path(p), code="missing-model")
        return p
    out = run_dir / TEXT_DIR
    if info.is_main and not (out / "config.json").is_file():
        from mvkl.models import build_tiny_bert

        reports = [str(r) for r in store.lumps["report"][store.lump_indices("train")] if str(r).strip()]
        log.info("building a tiny BERT from %d training reports into %s", len(reports), display_path(out))
        build_tiny_bert(reports, out, vocab_size=cfg.tiny_text_vocab, hidden=cfg.tiny_text_hidden,
                        layers=cfg.tiny_text_layers, heads=cfg.tiny_text_heads,
                        intermediate=cfg.tiny_text_intermediate, max_position=cfg.text_max_length, seed=cfg.seed)
    if info.enabled:
        import torch.distributed as dist

        dist.barrier(group=info.meta_group)
    return out


def build_model(cfg: PretrainConfig, text_dir: Path | None) -> Any:
    """The ViKL model, initialised from ``cfg.seed`` (the global RNG is left untouched)."""
    from mvkl.models import ImageEncoder, TextEncoder, ViKL

    weights: str | None = {"random": None, "imagenet": "imagenet"}.get(cfg.image_weights, cfg.image_weights)
    image = ImageEncoder(cfg.arch, weights=weights, normalization=cfg.normalization, seed=cfg.seed)
    text = TextEncoder(text_dir, pooling=cfg.text_pooling) if text_dir is not None else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = ViKL(image, text, use_manifest="manifest" in cfg.modalities, embed_dim=cfg.embed_dim,
                     text_dropout=cfg.text_dropout, manifest_dropout=cfg.manifest_dropout,
                     projector_bn=cfg.projector_bn)
    return model


def build_optimizer(cfg: PretrainConfig, model: torch.nn.Module, fused: bool = False) -> torch.optim.Optimizer:
    """Adam with coupled L2 weight decay on every parameter (the released code), or AdamW; BERT
    parameters in their own group when ``text_lr_mult`` != 1."""
    text = [p for n, p in model.named_parameters() if n.startswith("text_encoder.") and p.requires_grad]
    ids = {id(p) for p in text}
    rest = [p for p in model.parameters() if id(p) not in ids and p.requires_grad]
    groups: list[dict[str, Any]] = [{"params": rest, "lr": cfg.lr}]
    if text:
        groups.append({"params": text, "lr": cfg.lr * cfg.text_lr_mult})
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    kw: dict[str, Any] = {"fused": True} if fused else {}
    return cls(groups, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay, **kw)


def build_sampler(cfg: PretrainConfig, store: Store, info: DistInfo) -> Any:
    """``RandomBatchSampler`` (none, robinson; always shuffled, B21) or ``ManiNegBatchSampler``."""
    n = int(store.lump_indices("train").size)
    if cfg.hard_negatives != "manineg":
        from mvkl.sampling import RandomBatchSampler

        try:
            return RandomBatchSampler(n, cfg.batch_size, seed=cfg.seed, rank=info.rank, world_size=info.world_size)
        except ValueError as exc:
            raise InputError(str(exc), code="store") from exc
    from mvkl.sampling import LinearMuSchedule, ManiNegBatchSampler

    man, known = store.manifests("train")
    try:
        return ManiNegBatchSampler(
            man, known, cfg.batch_size, mu_schedule=LinearMuSchedule(cfg.mu_max, cfg.mu_min, cfg.mu_steps,
                                                                     unit=cfg.mu_unit),  # type: ignore[arg-type]
            sigma=cfg.sigma, bounds=tuple(cfg.bounds), anchors_per_batch=cfg.anchors_per_batch,  # type: ignore[arg-type]
            dedup=cfg.sampler_dedup, refill=cfg.refill, snap=cfg.snap, uniform=cfg.uniform, seed=cfg.seed,
            rank=info.rank, world_size=info.world_size,
            batches_per_epoch=cfg.batches_per_epoch or None,
            interval=tuple(cfg.interval) if cfg.interval else None)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InputError(f"cannot build ManiNeg batches from this store: {exc}", code="store") from exc


def augment_for(cfg: PretrainConfig) -> Any:
    if cfg.augment == "none":
        return EvalTransform(cfg.image_size)
    opts: dict[str, Any] = {"scale": tuple(cfg.crop_scale), "hflip": cfg.hflip, "n_ops": cfg.randaug_ops,
                            "magnitude": cfg.randaug_magnitude, "op_prob": cfg.randaug_prob,
                            "dihedral": cfg.dihedral}
    if cfg.augment == "fixed":
        opts["random_direction"] = cfg.augment_random_direction
    return build_transform(cfg.augment, cfg.image_size, **opts)


def _ignore_sigint(worker_id: int) -> None:
    """DataLoader workers leave Ctrl-C to the training process, which stops at a step boundary and
    writes a checkpoint (a worker killed by the terminal's SIGINT would break that last fetch)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _collator(cfg: PretrainConfig, tokenizer: Any) -> LumpCollator:
    return LumpCollator(tokenizer, max_length=cfg.text_max_length, use_text="text" in cfg.modalities,
                        use_manifest="manifest" in cfg.modalities)


def train_loader(cfg: PretrainConfig, store: Store, sampler: Any, tokenizer: Any, info: DistInfo,
                 workers: int, pin: bool) -> torch.utils.data.DataLoader:
    """Training loader: sampler batches tagged with their step (augmentation keyed by step)."""
    ds = LumpDataset(store, "train", augment_for(cfg), view_mode=cfg.view_mode, seed=cfg.seed, rank=info.rank)
    return torch.utils.data.DataLoader(ds, batch_sampler=StepTaggedBatchSampler(sampler), num_workers=workers,
                                       collate_fn=_collator(cfg, tokenizer), pin_memory=pin,
                                       persistent_workers=workers > 0, worker_init_fn=_ignore_sigint)


def val_batches(n: int, batch_size: int, rank: int = 0, world_size: int = 1) -> list[list[int]]:
    """Consecutive batches over ``n`` samples, none dropped (B37); a trailing batch of one sample is
    merged into the previous one (a contrastive term needs two). Rank r takes batches r, r+W, …"""
    starts = list(range(0, n, batch_size))
    batches = [list(range(s, min(s + batch_size, n))) for s in starts]
    if len(batches) > 1 and len(batches[-1]) < 2:
        batches[-2].extend(batches.pop())
    return batches[rank::world_size]


def val_loader(cfg: PretrainConfig, store: Store, tokenizer: Any, info: DistInfo,
               workers: int, pin: bool) -> torch.utils.data.DataLoader | None:
    """Validation loader over the val split (evaluation transform), or None when it is empty."""
    if cfg.val_every == 0:
        return None
    ds = LumpDataset(store, "val", EvalTransform(cfg.image_size), view_mode=cfg.view_mode, seed=cfg.seed)
    if len(ds) < 2:
        log.info("validation skipped: the val split has %d lumps", len(ds))
        return None
    batches = val_batches(len(ds), cfg.batch_size, info.rank, info.world_size)
    return torch.utils.data.DataLoader(ds, batch_sampler=batches, num_workers=min(workers, 2),
                                       collate_fn=_collator(cfg, tokenizer), pin_memory=pin,
                                       worker_init_fn=_ignore_sigint)
