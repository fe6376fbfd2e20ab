"""The LE/FT trainer: frozen encoder (B22), two learning rates (B23), cosine schedule, early stopping."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest
import torch

from mvkl.evaluation.protocols.classifier import Classifier, build_head
from mvkl.evaluation.protocols.finetune import cosine_lr, fit, make_optimizer
from mvkl.models import ImageEncoder

SIZE = 16  # ResNet-18 still runs (layer4 at 1×1); keeps the trainer tests fast


def _model(seed: int = 0) -> Classifier:
    enc = ImageEncoder("resnet18", seed=seed)
    return Classifier(enc, build_head(enc.feature_dim, seed))


def _data(n: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, SIZE, SIZE, generator=g), torch.arange(n) % 2


Batches = Iterator[tuple[torch.Tensor, torch.Tensor]]


def _epochs(x: torch.Tensor, y: torch.Tensor, bs: int = 4) -> Callable[[int], Batches]:
    def epoch(e: int) -> Batches:
        for i in range(0, len(x), bs):
            yield x[i:i + bs], y[i:i + bs]
    return epoch


def _state(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("bn_mode", ["frozen", "train"])
def test_le_leaves_the_encoder_unchanged(bn_mode: str) -> None:
    model = _model()
    enc0, head0 = _state(model.encoder), _state(model.head)
    x, y = _data()
    res = fit(model, protocol="le", train_epoch=_epochs(x, y), val_auc=lambda m: 0.5, steps_per_epoch=2, lr=1e-2,
              min_lr=1e-4, weight_decay=1e-3, epochs=2, patience=5, bn_mode=bn_mode)
    assert res.epochs_run == 2 and [g["name"] for g in res.param_groups] == ["head"]
    enc1 = _state(model.encoder)
    params = {k for k, _ in model.encoder.named_parameters()}
    assert all(torch.equal(enc0[k], enc1[k]) for k in params)  # weights: bitwise, in both modes
    buffers = [k for k in enc0 if k not in params]
    assert any("running_mean" in k for k in buffers) and any("num_batches_tracked" in k for k in buffers)
    same_buffers = all(torch.equal(enc0[k], enc1[k]) for k in buffers)
    assert same_buffers is (bn_mode == "frozen")  # B22: frozen keeps BN statistics; compat mode drifts
    assert not torch.equal(head0["weight"], model.head.weight)


def test_ft_uses_two_learning_rates() -> None:
    model = _model()
    opt = make_optimizer(model, "ft", lr=1e-3, weight_decay=0.0, backbone_lr_mult=0.1)
    assert [g["name"] for g in opt.param_groups] == ["backbone", "head"]
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-4, 1e-3])
    ids = [{id(p) for p in g["params"]} for g in opt.param_groups]
    assert ids[0] == {id(p) for p in model.encoder.parameters()} and ids[1] == {id(p) for p in model.head.parameters()}
    # one real step: Adam's first update is lr·g/(|g| + eps) ≈ ±lr per parameter, so the largest change
    # in each group equals that group's learning rate
    model = _model()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    x, y = _data(4)
    res = fit(model, protocol="ft", train_epoch=_epochs(x, y), val_auc=lambda m: 0.5, steps_per_epoch=1, lr=1e-3,
              min_lr=1e-5, weight_decay=0.0, epochs=1, patience=1, backbone_lr_mult=0.1)
    assert res.steps == 1 and [g["peak_lr"] for g in res.param_groups] == pytest.approx([1e-4, 1e-3])
    delta = {k: (v.detach() - before[k]).abs().max().item() for k, v in model.named_parameters()}
    back = max(d for k, d in delta.items() if k.startswith("encoder."))
    head = max(d for k, d in delta.items() if k.startswith("head."))
    assert back == pytest.approx(1e-4, rel=1e-3) and head == pytest.approx(1e-3, rel=1e-3)


def test_cosine_schedule_matches_torch() -> None:
    total, floor = 12, 1e-6
    p = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD([{"params": [p[0]], "lr": 1e-4}, {"params": [p[1]], "lr": 1e-3}], lr=1e-3)
    ref = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=floor)
    for step in range(1, total + 1):
        opt.step()
        ref.step()
        ours = [cosine_lr(step, total, 1e-4, floor), cosine_lr(step, total, 1e-3, floor)]
        assert ours == pytest.approx(ref.get_last_lr(), rel=1e-9, abs=1e-15)
    assert cosine_lr(0, total, 1e-3, floor) == 1e-3 and cosine_lr(total + 5, total, 1e-3, floor) == floor


def test_history_follows_the_schedule() -> None:
    model = _model()
    x, y = _data()
    res = fit(model, protocol="ft", train_epoch=_epochs(x, y), val_auc=lambda m: 0.5, steps_per_epoch=2, lr=1e-3,
              min_lr=1e-5, weight_decay=0.0, epochs=2, patience=9, backbone_lr_mult=0.1)
    for rec in res.history:
        t = rec["epoch"] * 2
        assert rec["lr_head"] == pytest.approx(cosine_lr(t, 4, 1e-3, 1e-5))
        assert rec["lr_backbone"] == pytest.approx(cosine_lr(t, 4, 1e-4, 1e-5))
    assert res.history[-1]["lr_head"] == pytest.approx(1e-5)


@pytest.mark.parametrize("protocol", ["le", "ft"])
def test_early_stopping_restores_the_best_validation_state(protocol: str) -> None:
    scripted = iter([0.6, 0.9, 0.7, 0.65, 0.62, 0.99, 0.99])  # peaks at epoch 2; 0.99 must never be reached
    snaps: list[dict[str, torch.Tensor]] = []
    model = _model()
    x, y = _data()
    res = fit(model, protocol=protocol, train_epoch=_epochs(x, y), val_auc=lambda m: next(scripted),
              steps_per_epoch=2, lr=1e-2, min_lr=1e-4, weight_decay=0.0, epochs=20, patience=3,
              on_epoch=lambda rec: snaps.append(_state(model)))
    assert (res.best_epoch, res.best_val_auc, res.epochs_run, res.stopped_early) == (2, 0.9, 5, True)
    assert [r["val_auc"] for r in res.history] == [0.6, 0.9, 0.7, 0.65, 0.62]
    final = _state(model)
    assert all(torch.equal(final[k], snaps[1][k]) for k in final)
    assert not torch.equal(final["head.weight"], snaps[4]["head.weight"])
    if protocol == "ft":
        k = "encoder.trunk.layer4.1.conv2.weight"
        assert torch.equal(final[k], snaps[1][k]) and not torch.equal(final[k], snaps[4][k])


def test_nan_validation_never_becomes_best() -> None:
    vals = iter([math.nan, 0.7, math.nan])
    model = _model()
    x, y = _data()
    res = fit(model, protocol="le", train_epoch=_epochs(x, y), val_auc=lambda m: next(vals), steps_per_epoch=2,
              lr=1e-2, min_lr=1e-4, weight_decay=0.0, epochs=3, patience=5)
    assert res.best_epoch == 2 and not res.stopped_early
