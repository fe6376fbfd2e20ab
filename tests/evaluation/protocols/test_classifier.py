"""The saved classifier format: round trip, strict loading, operating points on validation data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mvkl.errors import InputError
from mvkl.evaluation.metrics import threshold_metrics
from mvkl.evaluation.protocols.classifier import (
    Classifier,
    build_head,
    load_classifier,
    operating_points,
    save_classifier,
)
from mvkl.models import ImageEncoder

CARD = {"image_size": 32, "protocol": "ft", "seed": 0, "setting": "tiny", "encoder": {"kind": "random"},
        "store": {"name": "x.h5"}, "val_auc": 0.7, "test_auc": 0.6,
        "operating_points": {"0.5": 0.5, "youden": 0.4}, "default_operating_point": "youden",
        "default_threshold": 0.4}


def _model() -> Classifier:
    enc = ImageEncoder("resnet18", seed=1, normalization="imagenet")
    return Classifier(enc, build_head(enc.feature_dim, 3)).eval()


def test_forward_is_softmax_of_logits() -> None:
    m = _model()
    x = torch.rand(3, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(m(x), torch.softmax(m.logits(x), 1)[:, 1])
        assert m(x).shape == (3,)
    assert m.encoder.trunk.layer3 is not None  # the Grad-CAM layer (paper Fig. 6)


def test_save_load_round_trip(tmp_path: Path) -> None:
    m = _model()
    d = save_classifier(m, tmp_path / "run" / "classifier", CARD)
    card = json.loads((d / "card.json").read_text())
    assert card["format"] == "mvkl-classifier" and card["version"] == 1 and card["arch"] == "resnet18"
    assert card["normalization"]["name"] == "imagenet" and card["feature_dim"] == 512 and card["mvkl_version"]
    payload = torch.load(d / "classifier.pt", weights_only=True)
    assert set(payload) >= {"format", "version", "arch", "trunk", "head"}
    assert "layer3.0.conv1.weight" in payload["trunk"]
    x = torch.rand(4, 1, 32, 32)
    for where in (d, tmp_path / "run", d / "classifier.pt"):
        loaded, c2 = load_classifier(where)
        assert c2 == card and not loaded.training
        with torch.no_grad():
            assert torch.equal(loaded(x), m(x))


def test_load_rejects_mismatched_weights(tmp_path: Path) -> None:
    d = save_classifier(_model(), tmp_path / "c", CARD)
    payload = torch.load(d / "classifier.pt", weights_only=True)
    payload["trunk"].pop("layer3.0.conv1.weight")
    torch.save(payload, d / "classifier.pt")
    with pytest.raises(InputError, match="missing key"):
        load_classifier(d)
    payload["trunk"] = _model().encoder.trunk.state_dict()
    payload["head"] = {"weight": torch.zeros(2, 10), "bias": torch.zeros(2)}
    torch.save(payload, d / "classifier.pt")
    with pytest.raises(InputError, match="head must be Linear"):
        load_classifier(d)
    with pytest.raises(InputError, match="no saved classifier"):
        load_classifier(tmp_path / "nothing")
    card = json.loads((d / "card.json").read_text())
    card["version"] = 99
    (d / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="newer mvkl"):
        load_classifier(d)


def test_operating_points_meet_their_targets() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1)
    ops = operating_points(y, p)
    assert ops["0.5"] == 0.5
    for target in (0.90, 0.95):
        t = ops[f"sensitivity_{target:.2f}"]
        assert threshold_metrics(y, p, t)["sensitivity"] >= target
        above = p[(p > t)]
        if above.size:  # the largest such threshold: the next score up misses the target
            assert threshold_metrics(y, p, above.min())["sensitivity"] < target
    t = ops["specificity_0.90"]
    assert threshold_metrics(y, p, t)["specificity"] >= 0.90
    below = p[p < t]
    assert threshold_metrics(y, p, below.max())["specificity"] < 0.90
    # Youden: no distinct score gives a larger J
    j = lambda t: (lambda m: m["sensitivity"] + m["specificity"] - 1)(threshold_metrics(y, p, t))  # noqa: E731
    assert j(ops["youden"]) >= max(j(s) for s in np.unique(p)) - 1e-12
