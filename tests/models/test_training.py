"""Micro-training sanity check: the model and the loss fit together and the loss goes down."""

from __future__ import annotations

from pathlib import Path

import torch

from mvkl.losses import vikl_loss
from mvkl.models import ImageEncoder, TextEncoder, ViKL

from .conftest import REPORTS


def test_thirty_adam_steps_reduce_the_vikl_loss(tiny_bert_dir: Path) -> None:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = ViKL(ImageEncoder("resnet18", seed=0), TextEncoder(tiny_bert_dir)).train()
    n = 8
    base = torch.rand(n, 1, 32, 32, generator=g)
    view1 = base + 0.05 * torch.rand(n, 1, 32, 32, generator=g)
    view2 = base.flip(-1) + 0.05 * torch.rand(n, 1, 32, 32, generator=g)
    text_rows = torch.tensor([0, 1, 2, 3, 4, 6])  # rows 5 and 7 have no report
    text = model.text_encoder.tokenize([REPORTS[i % len(REPORTS)] for i in text_rows.tolist()])
    man_rows = torch.tensor([0, 1, 2, 3, 5, 6, 7])  # row 4 has no known manifestation
    manifest = (torch.rand(len(man_rows), 35, generator=g) < 0.3).float()
    manifest[2] = manifest[0]  # a duplicate for the de-dup
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        out = model(view1, view2, text, text_rows, manifest, man_rows)
        loss, comps = vikl_loss(out, tau1=0.1, tau2=0.3, generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(comps["loss"]))
        assert int(comps["n_im"]) == 6 and int(comps["n_it"]) == 6
    first, last = sum(losses[:3]) / 3, sum(losses[-5:]) / 5
    assert last < 0.6 * first, losses
