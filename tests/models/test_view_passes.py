"""``view_passes="separate"`` (code-compat) against a re-implementation of the released forward
pass in training mode: one image-trunk pass per view, then aligner, the shared projector over
[view1; view2; manifestation] and L2 normalisation."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from mvkl.models import ImageEncoder, ViKL


def _bn(x: Tensor, bn: torch.nn.BatchNorm1d) -> Tensor:
    """Training-mode BatchNorm1d written out, updating ``bn``'s running statistics."""
    bn.num_batches_tracked += 1
    return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, training=True,
                        momentum=bn.momentum, eps=bn.eps)


def released_forward(net: ViKL, view1: Tensor, view2: Tensor, manifest: Tensor) -> dict[str, Tensor]:
    """The released ViKL forward (training mode), using ``net``'s weights: ``trunk(view1)`` and
    ``trunk(view2)`` separately, Linear aligners, ``fuse_projector(cat([a1; a2; am]))``."""
    f1 = net.image_encoder(view1)  # first pass: BatchNorm statistics of view1 alone
    f2 = net.image_encoder(view2)  # second pass: of view2 alone
    w = net.image_aligner.weight
    a1, a2 = F.linear(f1, w), F.linear(f2, w)
    enc = net.manifest_encoder.net  # Linear(35, 512) -> BN -> ReLU
    hm = F.relu(_bn(F.linear(manifest, enc[0].weight, enc[0].bias), enc[1]))
    am = F.linear(hm, net.manifest_aligner[0].weight)  # dropout 0 in these tests
    p = net.projector
    z = F.linear(F.relu(_bn(F.linear(torch.cat([a1, a2, am]), p.fc1.weight), p.bn)), p.fc2.weight)
    b = view1.shape[0]
    return {"z1": F.normalize(z[:b], dim=-1), "z2": F.normalize(z[b:2 * b], dim=-1),
            "zm": F.normalize(z[2 * b:], dim=-1)}


def _net(view_passes: str) -> ViKL:
    torch.manual_seed(0)
    return ViKL(ImageEncoder("resnet18", seed=0), None, manifest_dropout=0.0, view_passes=view_passes).train()


@pytest.fixture(scope="module")
def batch() -> dict[str, Tensor]:
    g = torch.Generator().manual_seed(1)
    cc = torch.rand(6, 1, 32, 32, generator=g) * 0.5
    mlo = 0.4 + 0.6 * torch.rand(6, 1, 32, 32, generator=g)  # systematically brighter than CC
    return {"v1": cc, "v2": mlo, "m": (torch.rand(6, 35, generator=g) < 0.3).float()}


def _bn_buffers(net: torch.nn.Module) -> dict[str, Tensor]:
    return {k: v.clone() for k, v in net.state_dict().items() if "running_" in k or "num_batches" in k}


def test_separate_passes_equal_the_released_forward(batch: dict[str, Any]) -> None:
    net = _net("separate")
    ref = copy.deepcopy(net)
    out = net(batch["v1"], batch["v2"], manifest=batch["m"])
    want = released_forward(ref, batch["v1"], batch["v2"], batch["m"])
    for k in ("z1", "z2", "zm"):
        torch.testing.assert_close(out[k], want[k], rtol=1e-5, atol=1e-5)
    got, exp = _bn_buffers(net), _bn_buffers(ref)
    assert got.keys() == exp.keys()
    for k in got:
        torch.testing.assert_close(got[k], exp[k], rtol=1e-5, atol=1e-6)
    assert int(got["image_encoder.trunk.bn1.num_batches_tracked"]) == 2  # running stats updated per view


def test_one_joint_pass_is_not_the_released_forward(batch: dict[str, Any]) -> None:
    from mvkl.losses import vikl_loss

    net = _net("joint")
    ref = copy.deepcopy(net)
    out = net(batch["v1"], batch["v2"], manifest=batch["m"])
    want = released_forward(ref, batch["v1"], batch["v2"], batch["m"])
    assert (out["z1"] - want["z1"]).abs().max() > 1e-2  # pooled BatchNorm statistics
    assert int(_bn_buffers(net)["image_encoder.trunk.bn1.num_batches_tracked"]) == 1
    out["manifest"] = batch["m"]
    kw: dict[str, Any] = {"terms": ("ii", "im"), "generator": torch.Generator().manual_seed(0), "tau1": 0.7}
    joint = vikl_loss(out, **kw)[0].detach()
    kw["generator"] = torch.Generator().manual_seed(0)
    released = vikl_loss({**want, "manifest": batch["m"], "zt": None}, **kw)[0]
    assert abs(joint.item() - released.detach().item()) > 1e-3


def test_invalid_mode_and_switch() -> None:
    with pytest.raises(ValueError, match="view_passes"):
        _net("both")
    net = _net("joint")
    net.set_view_passes("separate")
    assert net.view_passes == "separate" and net.model_config()["view_passes"] == "separate"


def test_code_compat_runs_one_pass_per_view_and_old_fingerprints_hold() -> None:
    import hashlib
    import json

    from mvkl.train.config import RESUME_FIELDS, config_fingerprint, resolve_config

    assert resolve_config("code-compat", overrides={"text_model": "tiny"}).view_passes == "separate"
    paper = resolve_config("paper", overrides={"text_model": "tiny"})
    assert paper.view_passes == "joint"
    old = {k: v for k, v in paper.to_dict().items() if k not in RESUME_FIELDS and k != "view_passes"}
    assert config_fingerprint(paper) == hashlib.sha256(json.dumps(old, sort_keys=True).encode()).hexdigest()[:16]
    assert config_fingerprint(paper.replace({"view_passes": "separate"})) != config_fingerprint(paper)
