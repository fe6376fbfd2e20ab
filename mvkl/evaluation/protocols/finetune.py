"""Linear evaluation (LE) and fine-tuning (FT): one trainer (paper Sec. 5.1, App. A).

Model: :class:`~.classifier.Classifier` = encoder + ``Linear(feature_dim, 2)``, softmax
cross-entropy; the score is ``softmax[:, 1]``.

* **LE**: the encoder is frozen: ``requires_grad = False`` and **eval mode** during training, so
  the BatchNorm running statistics stay fixed (B22; the released code left them in train mode and
  they drifted; ``bn_mode = "train"`` reproduces that, with the weights still frozen). The trunk's
  forward runs under ``torch.no_grad``; only the head is optimised.
* **FT**: every parameter is trained, in two Adam parameter groups (B23): ``backbone`` at
  ``lr × backbone_lr_mult`` and ``head`` at ``lr`` (paper: "layer-wise learning rate decay 0.1";
  the code: two groups, head = parameters named ``fc``). The encoder is in train mode.
* Optimiser: Adam with coupled L2 weight decay (as in the code). Schedule: cosine annealing per
  **iteration** over ``epochs × steps_per_epoch`` steps from each group's peak to one shared floor
  ``min_lr`` (the code's ``eta_min`` is shared, so the backbone decays 5e-6 → 5e-7), no warmup:
  ``lr_g(t) = min_lr + (peak_g − min_lr)·(1 + cos(π t / T)) / 2``.
* Early stopping (B24 spirit): after each epoch the validation AUC (deterministic transform) is
  computed; the state with the **best** validation AUC (strictly greater; first epoch wins ties)
  is kept in memory and restored at the end, and training stops after ``patience`` epochs without
  improvement. The test split is evaluated with that state.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from mvkl.errors import InputError
from mvkl.evaluation.protocols.classifier import Classifier
from mvkl.evaluation.protocols.features import autocast, to_device

__all__ = ["FitResult", "cosine_lr", "fit", "make_optimizer"]


@dataclass
class FitResult:
    """What a training run did: best epoch (1-based), its validation AUC, epochs run, history."""

    best_epoch: int
    best_val_auc: float
    epochs_run: int
    stopped_early: bool
    steps: int
    param_groups: list[dict[str, Any]]
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0

    def info(self) -> dict[str, Any]:
        return {"best_epoch": self.best_epoch, "best_val_auc": self.best_val_auc, "epochs_run": self.epochs_run,
                "stopped_early": self.stopped_early, "steps": self.steps, "param_groups": self.param_groups,
                "train_seconds": self.seconds}


def make_optimizer(model: Classifier, protocol: str, *, lr: float, weight_decay: float,
                   backbone_lr_mult: float) -> torch.optim.Adam:
    """Adam over the head (LE) or over two named groups ``backbone`` and ``head`` (FT, B23).

    LE also sets ``requires_grad = False`` on every encoder parameter.
    """
    if protocol == "le":
        for p in model.encoder.parameters():
            p.requires_grad_(False)
        groups = [{"name": "head", "params": list(model.head.parameters()), "lr": lr}]
    elif protocol == "ft":
        for p in model.parameters():
            p.requires_grad_(True)
        groups = [{"name": "backbone", "params": list(model.encoder.parameters()), "lr": lr * backbone_lr_mult},
                  {"name": "head", "params": list(model.head.parameters()), "lr": lr}]
    else:
        raise InputError(f"the trainer runs le or ft, not {protocol!r}")
    opt = torch.optim.Adam(groups, lr=lr, weight_decay=weight_decay)
    for g in opt.param_groups:
        g["peak_lr"] = g["lr"]
    return opt


def cosine_lr(step: int, total: int, peak: float, floor: float) -> float:
    """Cosine annealing from ``peak`` (step 0) to ``floor`` (step ``total``), constant afterwards."""
    t = min(max(step, 0), total)
    return floor + (peak - floor) * (1.0 + math.cos(math.pi * t / total)) / 2.0


def _snapshot(module: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def fit(model: Classifier, *, protocol: str, train_epoch: Callable[[int], Iterable[tuple[Tensor, Tensor]]],
        val_auc: Callable[[Classifier], float], steps_per_epoch: int, lr: float, min_lr: float,
        weight_decay: float, epochs: int, patience: int, backbone_lr_mult: float = 0.1, bn_mode: str = "frozen",
        device: torch.device | None = None, amp: bool = True,
        on_epoch: Callable[[dict[str, float]], None] | None = None) -> FitResult:
    """Train ``model`` in place with early stopping; on return it holds the best-validation state.

    Args:
        train_epoch: ``epoch (0-based) -> iterable of (images (B,1,H,W) in [0,1], labels (B,))``.
        val_auc: the validation AUC of the model (called after each epoch, model in eval mode).
        steps_per_epoch: optimiser steps per epoch (sets the cosine horizon ``epochs × steps``).
        on_epoch: called with each epoch's record (epoch, train_loss, val_auc, lr_head, ...).
    """
    device = device or torch.device("cpu")
    if steps_per_epoch < 1:
        raise InputError("no training batches")
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, protocol, lr=lr, weight_decay=weight_decay, backbone_lr_mult=backbone_lr_mult)
    groups_info = [{"name": g["name"], "peak_lr": g["peak_lr"], "n_params": sum(p.numel() for p in g["params"])}
                   for g in opt.param_groups]
    frozen = protocol == "le"
    keep = model.head if frozen and bn_mode == "frozen" else model  # what can change during training
    total = epochs * steps_per_epoch
    loss_fn = nn.CrossEntropyLoss()
    best_auc, best_epoch, best_state = -math.inf, 0, _snapshot(keep)
    history: list[dict[str, float]] = []
    step, t0, stopped = 0, time.perf_counter(), False
    epoch = 0
    for epoch in range(1, epochs + 1):
        model.train()
        if frozen:
            model.encoder.train(bn_mode == "train")
        tot, n_seen, te = 0.0, 0, time.perf_counter()
        for x, y in train_epoch(epoch - 1):
            x, y = to_device(x, device), y.to(device, non_blocking=True)
            with autocast(device, amp):
                if frozen:
                    with torch.no_grad():
                        feats = model.encoder(x)
                    logits = model.head(feats.float())
                else:
                    logits = model.logits(x)
            loss = loss_fn(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            for g in opt.param_groups:
                g["lr"] = cosine_lr(step, total, g["peak_lr"], min_lr)
            tot += float(loss.detach()) * int(y.shape[0])
            n_seen += int(y.shape[0])
        model.eval()
        auc = float(val_auc(model))
        rec = {"epoch": epoch, "train_loss": tot / max(n_seen, 1), "val_auc": auc, "steps": step,
               "seconds": time.perf_counter() - te,
               **{f"lr_{g['name']}": float(g["lr"]) for g in opt.param_groups}}
        history.append(rec)
        if auc > best_auc:
            best_auc, best_epoch, best_state = auc, epoch, _snapshot(keep)
        if on_epoch is not None:
            on_epoch(rec)
        if epoch - best_epoch >= patience:
            stopped = epoch < epochs
            break
    keep.load_state_dict(best_state)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return FitResult(best_epoch=best_epoch, best_val_auc=best_auc, epochs_run=epoch, stopped_early=stopped,
                     steps=step, param_groups=groups_info, history=history, seconds=time.perf_counter() - t0)


def fresh_model(encoder: nn.Module, head: nn.Linear) -> Classifier:
    """A classifier over a deep copy of ``encoder`` (each seed starts from the same weights)."""
    return Classifier(copy.deepcopy(encoder), head)
