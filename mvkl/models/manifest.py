"""Manifestation encoder E_M (paper Sec. 4.1 "two linear layers").

Linear 35 → 512 (with bias) → BatchNorm1d(512) → ReLU. The second linear layer of the paper is
the manifestation aligner (512 → 128, no bias, + Dropout 0.5) that lives in :class:`mvkl.models.ViKL`.
"""

from __future__ import annotations

from torch import Tensor, nn

from mvkl.manifest.schema import DIM

__all__ = ["ManifestEncoder"]


class ManifestEncoder(nn.Module):
    """``(B, 35)`` float 0/1 manifestation vectors (0 where unknown) → ``(B, 512)`` features."""

    def __init__(self, in_dim: int = DIM, hidden: int = 512) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.feature_dim = hidden
        self.net = nn.Sequential(nn.Linear(in_dim, hidden, bias=True), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True))

    def forward(self, m: Tensor) -> Tensor:
        if m.dim() != 2 or m.shape[1] != self.in_dim:
            raise ValueError(f"expected manifestations of shape (B, {self.in_dim}), got {tuple(m.shape)}")
        return self.net(m.to(self.net[0].weight.dtype))
