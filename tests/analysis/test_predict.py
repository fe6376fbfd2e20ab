"""Operating points, pixel sizes and batched inference of a fine-tuned classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mvkl.analysis.predict import choose_threshold, classify, pixel_size
from mvkl.errors import InputError

CARD = {"image_size": 64, "store": {"name": "s.h5", "image_size": 256},
        "operating_points": {"0.5": 0.5, "youden": 0.41, "sensitivity_0.90": 0.3, "sensitivity_0.95": 0.2,
                             "specificity_0.90": 0.7},
        "default_operating_point": "youden", "default_threshold": 0.41}


def test_threshold_choice() -> None:
    assert choose_threshold(CARD) == {"threshold": 0.41, "name": "youden",
                                      "source": "validation split (the classifier's default)"}
    assert choose_threshold(CARD, sensitivity=0.9)["threshold"] == 0.3
    assert choose_threshold(CARD, sensitivity=0.95)["name"] == "sensitivity_0.95"
    assert choose_threshold(CARD, operating_point="specificity_0.90")["threshold"] == 0.7
    assert choose_threshold(CARD, threshold=0.66) == {"threshold": 0.66, "name": "user", "source": "--threshold"}
    with pytest.raises(InputError, match=r"stored sensitivities: 0\.9, 0\.95") as e:
        choose_threshold(CARD, sensitivity=0.8)
    assert e.value.exit_code == 2
    for bad in ({"threshold": 1.5}, {"sensitivity": 0.0}, {"operating_point": "magic"},
                {"threshold": 0.5, "sensitivity": 0.9}):
        with pytest.raises(InputError):
            choose_threshold(CARD, **bad)
    assert choose_threshold({})["threshold"] == 0.5


def test_pixel_size() -> None:
    assert pixel_size(CARD) == (256, "uint8")
    assert pixel_size({"image_size": 64}) == (64, "uint8")
    assert pixel_size(CARD, 128) == (128, "uint8")
    assert pixel_size({"store": {"image_size": 32, "pixel_dtype": "uint16"}}) == (32, "uint16")


def test_classify_equals_the_module_on_one_batch() -> None:
    from mvkl.evaluation.protocols.classifier import Classifier, build_head
    from mvkl.models import ImageEncoder

    clf = Classifier(ImageEncoder("resnet18", seed=0), build_head(512, 0)).eval()
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (64, 64), dtype=np.uint8) for _ in range(5)]
    p1 = classify(clf, imgs, input_size=64, batch_size=2)
    with torch.no_grad():
        ref = clf(torch.stack([torch.from_numpy(i).float()[None] / 255 for i in imgs])).double().numpy()
    np.testing.assert_allclose(p1, ref, atol=1e-6)
    p2 = classify(clf, imgs, input_size=32, batch_size=5)  # resized by the evaluation transform
    assert p2.shape == (5,) and not np.allclose(p1, p2)
    assert not clf.training
