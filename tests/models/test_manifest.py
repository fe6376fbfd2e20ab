"""ManifestEncoder: Linear 35 → 512 → BN → ReLU (paper Sec. 4.1)."""

from __future__ import annotations

import pytest
import torch

from mvkl.models import ManifestEncoder


def test_structure_and_output() -> None:
    enc = ManifestEncoder()
    lin, bn, relu = enc.net
    assert (lin.in_features, lin.out_features, lin.bias is not None) == (35, 512, True)
    assert isinstance(bn, torch.nn.BatchNorm1d) and bn.num_features == 512 and isinstance(relu, torch.nn.ReLU)
    m = (torch.rand(6, 35, generator=torch.Generator().manual_seed(0)) < 0.3).to(torch.uint8)
    out = enc(m)  # integer input is cast
    assert out.shape == (6, 512) and out.min() >= 0
    enc.eval()
    with torch.no_grad():
        expected = torch.relu(bn(lin(m.float())))
    torch.testing.assert_close(enc(m), expected)


def test_rejects_wrong_width() -> None:
    with pytest.raises(ValueError, match=r"\(B, 35\)"):
        ManifestEncoder()(torch.zeros(2, 34))
