"""The fine-tuned classifier: module, saved format and loader (the contract with ``mvkl predict``
and ``mvkl cam``).

Module: :class:`Classifier` = image encoder (:class:`mvkl.models.ImageEncoder`: ResNet trunk
with the input normalisation inside) + ``head = Linear(feature_dim, 2)``.
``logits(x)`` gives ``(B, 2)``; ``forward(x)`` gives the malignant probability
``softmax(logits)[:, 1]``, shape ``(B,)``. Input: ``(B, 1, H, W)`` float in [0, 1] (or uint8),
``H = W = card["image_size"]``: the module does not resize; callers resize with
``mvkl.torchdata.EvalTransform(card["image_size"])``. For Grad-CAM (paper Fig. 6) the target layer
is ``module.encoder.trunk.layer3`` (torchvision ResNet naming).

Directory ``DIR/classifier/`` written by ``mvkl eval --save-model``::

    classifier.pt   torch.save({"format": "mvkl-classifier", "version": 1, "arch": "resnet50",
                                "normalization": "clip", "feature_dim": 2048,
                                "trunk": <trunk state dict, torchvision keys, no fc>,
                                "head": {"weight": (2, feature_dim), "bias": (2,)}})
    card.json       {"format": "mvkl-classifier", "version": 1, "arch", "feature_dim", "image_size",
                     "in_channels": 1, "normalization": {"name", "mean", "std"},
                     "output": "softmax(logits)[:, 1] = P(malignant); malignant when p >= threshold",
                     "protocol": "lp" | "le" | "ft", "seed", "setting",
                     "encoder": <the encoder card's "source" dict>,
                     "store": {"name", "fingerprint", "splits": {...counts}},
                     "val_auc", "test_auc",
                     "operating_points": {"0.5": 0.5, "youden": t, "sensitivity_0.90": t,
                                          "sensitivity_0.95": t, "specificity_0.90": t},
                     "default_operating_point": "youden", "default_threshold": t,
                     "mvkl_version"}

Operating points are chosen on the **validation** predictions of the saved seed with
:mod:`mvkl.evaluation.metrics` (rule ``p >= t``): ``youden`` maximises sensitivity + specificity − 1,
``sensitivity_X`` is the largest threshold whose validation sensitivity is at least X,
``specificity_X`` the smallest threshold whose validation specificity is at least X (the next
float above the ``ceil(X·n_benign)``-th smallest benign score).
``default_threshold`` is the Youden point: the classes are imbalanced in mammography data (MVKL
is two-thirds malignant), so 0.5 is not a neutral choice, and Youden's point is the standard
threshold chosen without a clinical cost model. The paper's fixed thresholds (0.87/0.74/0.5,
Table 7) stay available as plain numbers. ``classifier.pt`` is written first and ``card.json``
last (both atomically), so a card marks a complete directory.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from mvkl import __version__
from mvkl.errors import InputError
from mvkl.fsutil import atomic_path, atomic_write_json, display_path

__all__ = ["CARD_FILE", "CLASSIFIER_FORMAT", "CLASSIFIER_VERSION", "MODEL_FILE", "SUBDIR", "Classifier",
           "load_classifier", "operating_points", "save_classifier"]

CLASSIFIER_FORMAT = "mvkl-classifier"
CLASSIFIER_VERSION = 1
SUBDIR = "classifier"
MODEL_FILE = "classifier.pt"
CARD_FILE = "card.json"


class Classifier(nn.Module):
    """Image encoder + linear head; ``forward`` returns P(malignant) ``(B,)`` (module docstring)."""

    def __init__(self, encoder: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        if head.out_features != 2 or head.in_features != int(encoder.feature_dim):
            raise ValueError(f"head must be Linear({encoder.feature_dim}, 2), got {head}")
        self.encoder = encoder
        self.head = head

    @property
    def feature_dim(self) -> int:
        return int(self.encoder.feature_dim)

    def logits(self, x: Tensor) -> Tensor:
        """``(B, 1|3, H, W)`` images in [0, 1] → ``(B, 2)`` logits (benign, malignant)."""
        return self.head(self.encoder(x))

    def forward(self, x: Tensor) -> Tensor:
        """Malignant probability ``softmax(logits)[:, 1]``, computed in float32."""
        return torch.softmax(self.logits(x).float(), dim=1)[:, 1]


def build_head(feature_dim: int, seed: int) -> nn.Linear:
    """``Linear(feature_dim, 2)`` with PyTorch's default initialisation drawn from ``seed`` (the
    global RNG is left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return nn.Linear(int(feature_dim), 2)


def operating_points(y_val: Any, p_val: Any) -> dict[str, float]:
    """Thresholds chosen on validation predictions (module docstring)."""
    import numpy as np

    from mvkl.evaluation.metrics import threshold_for_sensitivity, youden_threshold

    y = np.asarray(y_val)
    p = np.asarray(p_val, dtype=np.float64)
    ops = {"0.5": 0.5, "youden": youden_threshold(y, p)}
    for target in (0.90, 0.95):
        ops[f"sensitivity_{target:.2f}"] = threshold_for_sensitivity(y, p, target)
    # Specificity >= X: the smallest threshold with mean(p_neg < t) >= X (best sensitivity among them),
    # i.e. the next float above the k-th smallest benign score, k = ceil(X * n_neg).
    neg = np.sort(p[y == 0])
    k = max(1, int(np.ceil(0.90 * neg.size - 1e-9)))
    ops["specificity_0.90"] = float(np.nextafter(neg[k - 1], np.inf))
    return ops


def save_classifier(model: Classifier, out_dir: str | os.PathLike[str], card: Mapping[str, Any]) -> Path:
    """Write ``out_dir/classifier.pt`` then ``out_dir/card.json`` (module docstring); returns ``out_dir``.

    ``card`` supplies the run fields (protocol, seed, setting, image_size, encoder, store, val_auc,
    test_auc, operating_points, default_operating_point, default_threshold); the fields describing
    the network are filled here.
    """
    from mvkl.models.image import NORMALIZATIONS

    enc = model.encoder
    if "image_size" not in card:
        raise ValueError("card needs image_size")
    mean, std = NORMALIZATIONS[enc.normalization]
    doc = {"format": CLASSIFIER_FORMAT, "version": CLASSIFIER_VERSION, "arch": enc.arch,
           "feature_dim": int(enc.feature_dim), "in_channels": 1,
           "normalization": {"name": enc.normalization, "mean": list(mean), "std": list(std)},
           "output": "softmax(logits)[:, 1] = P(malignant); malignant when p >= threshold"}
    doc.update(card)
    doc["mvkl_version"] = __version__
    json.dumps(doc)  # fail before writing anything
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"format": CLASSIFIER_FORMAT, "version": CLASSIFIER_VERSION, "arch": enc.arch,
               "normalization": enc.normalization, "feature_dim": int(enc.feature_dim),
               "trunk": {k: v.detach().cpu().contiguous() for k, v in enc.trunk.state_dict().items()},
               "head": {k: v.detach().cpu().contiguous() for k, v in model.head.state_dict().items()}}
    with atomic_path(out / MODEL_FILE) as tmp:
        torch.save(payload, tmp)
    atomic_write_json(out / CARD_FILE, doc)
    return out


def _locate(path: Path) -> Path:
    for d in (path, path / SUBDIR):
        if (d / CARD_FILE).is_file() and (d / MODEL_FILE).is_file():
            return d
    if path.is_file() and path.name == MODEL_FILE and (path.parent / CARD_FILE).is_file():
        return path.parent
    raise InputError(f"no saved classifier here: expected {CARD_FILE} + {MODEL_FILE} (or an eval results directory "
                     f"with {SUBDIR}/, written by `mvkl eval --save-model`)", file=display_path(path))


def load_classifier(path: str | os.PathLike[str], *, device: str | torch.device = "cpu") -> tuple[Classifier, dict]:
    """Load a saved classifier: ``(Classifier.eval(), card)``.

    ``path``: the ``classifier/`` directory, an eval results directory holding it, or
    ``classifier.pt``. Every trunk and head key must load (B25): a mismatch raises InputError.
    """
    from mvkl.models.export import _check_format
    from mvkl.models.image import ImageEncoder, load_trunk_weights, read_state_dict_file

    d = _locate(Path(path))
    try:
        card = json.loads((d / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read classifier card ({type(exc).__name__})",
                         file=display_path(d / CARD_FILE)) from exc
    if not isinstance(card, dict):
        raise InputError("classifier card is not a JSON object", file=display_path(d / CARD_FILE))
    _check_format(card, CLASSIFIER_FORMAT, CLASSIFIER_VERSION, d / CARD_FILE)
    payload = read_state_dict_file(d / MODEL_FILE)
    _check_format(payload, CLASSIFIER_FORMAT, CLASSIFIER_VERSION, d / MODEL_FILE)
    arch = payload.get("arch")
    if arch != card.get("arch") or payload.get("normalization") != (card.get("normalization") or {}).get("name"):
        raise InputError("classifier weights and card disagree on arch or normalization", file=display_path(d))
    enc = ImageEncoder(str(arch), normalization=str(payload["normalization"]))
    load_trunk_weights(enc.trunk, payload["trunk"], source=display_path(d / MODEL_FILE))
    enc.weights_source = "classifier"
    head = nn.Linear(enc.feature_dim, 2)
    hsd = payload.get("head")
    if not isinstance(hsd, Mapping) or set(hsd) != {"weight", "bias"} or \
            tuple(hsd["weight"].shape) != (2, enc.feature_dim) or tuple(hsd["bias"].shape) != (2,):
        raise InputError(f"classifier head must be Linear({enc.feature_dim}, 2)", file=display_path(d / MODEL_FILE))
    head.load_state_dict(dict(hsd))
    model = Classifier(enc, head).to(device)
    return model.eval(), card
