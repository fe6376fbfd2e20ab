"""mvkl: multimodal mammography pretraining (ViKL with ManiNeg hard negatives).

The library is importable without the trainer: importing :mod:`mvkl` loads nothing heavy
(no torch, no pydicom) and never touches the network.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
