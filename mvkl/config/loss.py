"""Defaults of the ViKL loss (paper Eq. 8, Appendix A; B1, B6, B8 of docs/fidelity.md)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LOSS", "LossConfig"]


@dataclass(frozen=True)
class LossConfig:
    """The loss settings with a numeric default, as the paper gives them."""

    #: Temperature of image–manifestation and image–image (paper App. A; B1).
    tau1: float = 0.03
    #: Temperature of image–text and text–manifestation (paper App. A; B1).
    tau2: float = 0.3
    #: Label smoothing α of the text terms (Eq. 8 "ls"; the released code's 0.2; B6).
    label_smoothing: float = 0.2
    #: Label smoothing of image–manifestation and image–image (the code: none).
    label_smoothing_other: float = 0.0
    #: Robinson HCL class prior τ⁺ (the released code; B8).
    tau_plus: float = 0.1
    #: Robinson HCL hardness β (the released code; B8).
    beta: float = 1.0
    #: ``none``, ``robinson`` (the released ViKL loss) or ``manineg`` (the paper's sampler; B8).
    hard_negatives: str = "none"
    #: Image view of the image–text/manifestation terms: ``random`` (paper), ``view1``, ``mean`` (B7).
    itm_view: str = "random"
    #: Manifestation de-dup on ``manifest_terms`` (the code) or the whole ``batch`` (B9).
    dedup_scope: str = "manifest_terms"
    #: Keep intra-modal negatives (paper, ViKL code; B5).
    intra: bool = True
    #: Leave the positive out of the denominator (literal Eq. 1; B3).
    decoupled: bool = False


#: The defaults.
LOSS = LossConfig()
