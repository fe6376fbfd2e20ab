"""The ViKL model: encoders → aligners → one shared fuse projector → unit sphere.

Paper Sec. 4.1 / Appendix B and the released code:

* image: ResNet trunk (2048-d) → aligner Linear(2048, 128, bias=False), no dropout (the two views
  already act as augmentation);
* text: BERT pooler output (768-d) → aligner Linear(768, 128, bias=False) → Dropout(0.5);
* manifestation: Linear 35 → 512 → BN → ReLU → aligner Linear(512, 128, bias=False) → Dropout(0.5);
* shared fuse projector Linear(128, 128, bias=False) → BatchNorm1d(128) → ReLU →
  Linear(128, embed_dim, bias=False), applied **once** to the batch-wise concatenation
  [view1; view2; text; manifestation] of the parts present, so the BatchNorm statistics are pooled
  across modalities (B43; ``projector_bn="per_modality"`` gives each modality its own
  BatchNorm as an ablation, the linear layers stay shared). The result is split back and
  L2-normalised (in fp32). ``embed_dim=2`` is the Fig. 8 alignment/uniformity variant.

``view_passes="joint"`` (default) sends both views through the image trunk in one pass
(``cat([view1, view2])``), so trunk BatchNorm statistics are pooled over the two views and the
running statistics are updated once per step. ``"separate"`` runs the trunk once per view, as the
released code does: each BatchNorm normalises CC and MLO with their own batch statistics and
updates its running statistics twice per step (view1 first). The aligner and the projector see
the same inputs either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mvkl.models.image import ImageEncoder
from mvkl.models.manifest import ManifestEncoder
from mvkl.models.text import TextEncoder

__all__ = ["ALIGN_DIM", "VIEW_PASSES", "FuseProjector", "ViKL"]

#: Width of every aligner output and of the projector's hidden layer (paper Sec. 4.1).
ALIGN_DIM = 128
#: How the two views go through the image trunk (see the module docstring).
VIEW_PASSES = ("joint", "separate")
_MODALITIES = ("image", "text", "manifest")


class FuseProjector(nn.Module):
    """Shared Linear–BN–ReLU–Linear projector over a list of (modality, tensor) parts."""

    def __init__(self, dim: int = ALIGN_DIM, out_dim: int = ALIGN_DIM, bn: str = "shared") -> None:
        super().__init__()
        if bn not in ("shared", "per_modality"):
            raise ValueError(f"projector_bn must be 'shared' or 'per_modality', got {bn!r}")
        self.mode = bn
        self.fc1 = nn.Linear(dim, dim, bias=False)
        if bn == "shared":
            self.bn = nn.BatchNorm1d(dim)
        else:
            self.bns = nn.ModuleDict({m: nn.BatchNorm1d(dim) for m in _MODALITIES})
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(dim, out_dim, bias=False)

    def forward(self, parts: Sequence[tuple[str, Tensor]]) -> list[Tensor]:
        sizes = [t.shape[0] for _, t in parts]
        h = self.fc1(torch.cat([t for _, t in parts]))
        if self.mode == "shared":
            h = self.bn(h)
        else:
            chunks = list(h.split(sizes))
            for m in _MODALITIES:
                idx = [i for i, (name, _) in enumerate(parts) if name == m]
                if not idx:
                    continue
                normed = self.bns[m](torch.cat([chunks[i] for i in idx])).split([sizes[i] for i in idx])
                for i, t in zip(idx, normed, strict=True):
                    chunks[i] = t
            h = torch.cat(chunks)
        return list(self.fc2(self.relu(h)).split(sizes))


def _unit(z: Tensor) -> Tensor:
    return F.normalize(z.float(), dim=-1)


def _rows(rows: Tensor | None, n: int, batch: int, what: str) -> Tensor:
    if rows is None:
        if n != batch:
            raise ValueError(f"{what} has {n} rows but the batch has {batch}; pass {what}_rows")
        return torch.arange(batch)
    rows = torch.as_tensor(rows, dtype=torch.long)
    if rows.dim() != 1 or rows.shape[0] != n:
        raise ValueError(f"{what}_rows must be a 1-d index of length {n}, got shape {tuple(rows.shape)}")
    return rows


class ViKL(nn.Module):
    """Tri-modal ViKL network.

    Args:
        image_encoder: :class:`ImageEncoder` (``feature_dim`` 2048 for ResNet-50).
        text_encoder: :class:`TextEncoder`, or None for image(+manifestation)-only models.
        use_manifest: build the manifestation branch.
        embed_dim: output width of the projector (128; 2 for the Fig. 8 variant).
        text_dropout / manifest_dropout: dropout after the text / manifestation aligner (0.5).
        projector_bn: ``"shared"`` (paper/code, BN pooled across modalities) or ``"per_modality"``.
        view_passes: ``"joint"`` (one trunk pass for both views) or ``"separate"`` (one per view,
            the released code; docs/fidelity.md, "What code-compat does not reproduce").
        manifest_dim: width of the manifestation vector (35).
    """

    def __init__(self, image_encoder: ImageEncoder, text_encoder: TextEncoder | None = None, *,
                 use_manifest: bool = True, embed_dim: int = ALIGN_DIM, text_dropout: float = 0.5,
                 manifest_dropout: float = 0.5, projector_bn: str = "shared", manifest_dim: int = 35,
                 view_passes: str = "joint") -> None:
        super().__init__()
        if embed_dim < 1:
            raise ValueError(f"embed_dim must be positive, got {embed_dim}")
        for name, p in (("text_dropout", text_dropout), ("manifest_dropout", manifest_dropout)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p}")
        if view_passes not in VIEW_PASSES:
            raise ValueError(f"view_passes must be one of {', '.join(VIEW_PASSES)}, got {view_passes!r}")
        self.view_passes = view_passes
        self.image_encoder = image_encoder
        self.text_encoder = text_encoder
        self.manifest_encoder = ManifestEncoder(manifest_dim) if use_manifest else None
        self.image_aligner = nn.Linear(image_encoder.feature_dim, ALIGN_DIM, bias=False)
        self.text_aligner = (nn.Sequential(nn.Linear(text_encoder.feature_dim, ALIGN_DIM, bias=False),
                                           nn.Dropout(text_dropout)) if text_encoder is not None else None)
        self.manifest_aligner = (nn.Sequential(nn.Linear(self.manifest_encoder.feature_dim, ALIGN_DIM, bias=False),
                                               nn.Dropout(manifest_dropout)) if use_manifest else None)
        self.projector = FuseProjector(ALIGN_DIM, embed_dim, projector_bn)
        self._config = {"embed_dim": embed_dim, "text_dropout": text_dropout, "manifest_dropout": manifest_dropout,
                        "projector_bn": projector_bn, "use_manifest": use_manifest, "manifest_dim": manifest_dim,
                        "view_passes": view_passes,
                        "has_text": text_encoder is not None,
                        "text_pooling": getattr(text_encoder, "pooling", "pooler") if text_encoder else None}

    def set_view_passes(self, view_passes: str) -> None:
        """Switch between one joint trunk pass and one pass per view (:data:`VIEW_PASSES`)."""
        if view_passes not in VIEW_PASSES:
            raise ValueError(f"view_passes must be one of {', '.join(VIEW_PASSES)}, got {view_passes!r}")
        self.view_passes = view_passes
        self._config["view_passes"] = view_passes

    def model_config(self) -> dict[str, Any]:
        """The constructor options plus the image encoder's arch and normalisation (for save/load)."""
        return {**self._config, "arch": self.image_encoder.arch,
                "normalization": self.image_encoder.normalization}

    def default_terms(self) -> tuple[str, ...]:
        """Loss terms this model can feed: ``ii`` always, ``it``/``tm`` with text, ``im``/``tm`` with manifest."""
        t, m = self.text_encoder is not None, self.manifest_encoder is not None
        return tuple(k for k, ok in (("ii", True), ("it", t), ("im", m), ("tm", t and m)) if ok)

    def forward(self, view1: Tensor, view2: Tensor, text: Mapping[str, Tensor] | None = None,
                text_rows: Tensor | None = None, manifest: Tensor | None = None,
                manifest_rows: Tensor | None = None, manifest_known: Tensor | None = None) -> dict[str, Any]:
        """Embed a pretraining batch.

        Args:
            view1, view2: ``(B, 1|3, H, W)`` the lump's two views (CC and MLO; the same view twice
                when only one exists).
            text: tokenised reports ``{"input_ids", "attention_mask"}`` for the rows that have one.
            text_rows: batch indices of ``text``'s rows (None: all B rows). CPU tensors avoid syncs.
            manifest: ``(Bm, 35)`` manifestation vectors of the rows with known manifestations.
            manifest_rows: batch indices of ``manifest``'s rows (None: all B rows).
            manifest_known: ``(Bm, 35)`` known mask, carried through for the loss's de-dup.

        Returns:
            dict with ``z1``, ``z2`` (B, D) and ``zt`` (Bt, D) / ``zm`` (Bm, D) (None when absent):
            L2-normalised fp32 embeddings; ``h1``, ``h2``, ``ht``, ``hm``: pre-aligner features;
            ``text_rows`` / ``manifest_rows`` (long, on the device they were given, None when
            absent); ``manifest`` / ``manifest_known`` (detached inputs, None when absent).
        """
        if view1.shape != view2.shape:
            raise ValueError(f"view1 {tuple(view1.shape)} and view2 {tuple(view2.shape)} differ")
        b = view1.shape[0]
        if self.view_passes == "separate":
            h1, h2 = self.image_encoder(view1), self.image_encoder(view2)
            h = torch.cat([h1, h2])
        else:
            h = self.image_encoder(torch.cat([view1, view2]))
            h1, h2 = h[:b], h[b:]
        a = self.image_aligner(h)
        parts: list[tuple[str, Tensor]] = [("image", a[:b]), ("image", a[b:])]
        out: dict[str, Any] = {"h1": h1, "h2": h2, "ht": None, "hm": None, "zt": None, "zm": None,
                               "text_rows": None, "manifest_rows": None, "manifest": None, "manifest_known": None}
        if text is not None and text["input_ids"].shape[0] > 0:
            if self.text_encoder is None or self.text_aligner is None:
                raise ValueError("this ViKL model has no text encoder but a text batch was given")
            out["text_rows"] = _rows(text_rows, text["input_ids"].shape[0], b, "text")
            out["ht"] = self.text_encoder(text)
            parts.append(("text", self.text_aligner(out["ht"])))
        # A single manifestation row cannot pass the encoder's BatchNorm in train mode; its loss
        # terms need >= 2 rows anyway (mvkl.losses.vikl_loss), so it is skipped.
        if manifest is not None and manifest.shape[0] > (1 if self.training else 0):
            if self.manifest_encoder is None or self.manifest_aligner is None:
                raise ValueError("this ViKL model has no manifestation branch but manifestations were given")
            out["manifest_rows"] = _rows(manifest_rows, manifest.shape[0], b, "manifest")
            out["hm"] = self.manifest_encoder(manifest)
            out["manifest"] = manifest.detach()
            out["manifest_known"] = manifest_known.detach() if manifest_known is not None else None
            parts.append(("manifest", self.manifest_aligner(out["hm"])))
        z = self.projector(parts)
        out["z1"], out["z2"] = _unit(z[0]), _unit(z[1])
        k = 2
        if out["ht"] is not None:
            out["zt"] = _unit(z[k])
            k += 1
        if out["hm"] is not None:
            out["zm"] = _unit(z[k])
        return out

    # Single-modality embeddings (retrieval, manifestation estimation). Meant for eval mode: in
    # train mode the projector's BatchNorm would use the statistics of this modality alone.
    def embed_image(self, x: Tensor) -> Tensor:
        """``(B, 1|3, H, W)`` → ``(B, D)`` unit vectors."""
        return _unit(self.projector([("image", self.image_aligner(self.image_encoder(x)))])[0])

    def embed_text(self, batch: Mapping[str, Tensor]) -> Tensor:
        """Tokenised reports → ``(B, D)`` unit vectors."""
        if self.text_encoder is None or self.text_aligner is None:
            raise ValueError("this ViKL model has no text encoder")
        return _unit(self.projector([("text", self.text_aligner(self.text_encoder(batch)))])[0])

    def embed_manifest(self, m: Tensor) -> Tensor:
        """``(B, 35)`` manifestation vectors → ``(B, D)`` unit vectors."""
        if self.manifest_encoder is None or self.manifest_aligner is None:
            raise ValueError("this ViKL model has no manifestation branch")
        return _unit(self.projector([("manifest", self.manifest_aligner(self.manifest_encoder(m)))])[0])
