"""Settings, overrides and validation of the evaluation configuration."""

from __future__ import annotations

import pytest

from mvkl.errors import InputError
from mvkl.evaluation.protocols.config import SETTINGS, parse_floats, resolve_config, resolve_image_size


def test_paper_setting_is_appendix_a() -> None:
    le = resolve_config("le", "paper")
    assert (le.lr, le.min_lr, le.weight_decay, le.epochs, le.patience, le.batch_size) == (1e-3, 1e-6, 1e-6, 1000, 100,
                                                                                          48)
    ft = resolve_config("ft", "paper")
    assert (ft.lr, ft.min_lr, ft.weight_decay, ft.epochs, ft.patience, ft.batch_size) == (5e-5, 5e-7, 5e-5, 1000, 100,
                                                                                          48)
    assert ft.backbone_lr_mult is None and ft.backbone_lr_mult_pretrained == 0.1
    lp = resolve_config("lp", "paper")
    assert lp.lp_c == pytest.approx(1 / 3.16) and lp.lp_max_iter == 1000
    assert lp.seeds == (0, 1, 2, 3, 4) and lp.thresholds == (0.5,)
    assert lp.ece_bins == 10 and lp.ece_min_count == 10 and lp.bn_mode == "frozen"


def test_tiny_is_short_and_overrides_apply() -> None:
    t = resolve_config("ft", "tiny")
    assert t.epochs < 10 and t.patience < 5 and t.batch_size <= 32
    assert len(t.seeds) == SETTINGS["tiny"]["common"]["seeds"]
    c = resolve_config("ft", "tiny", seeds=3, epochs=7, lr=None, thresholds=(0.87, 0.74))
    assert c.seeds == (0, 1, 2) and c.epochs == 7 and c.lr == 5e-5
    assert c.thresholds == (0.87, 0.74, 0.5)  # 0.5 always reported, order kept


def test_lp_lambda_sets_inverse_c() -> None:
    assert resolve_config("lp", lp_lambda=3.16).lp_c == pytest.approx(1 / 3.16)
    assert resolve_config("lp", lp_lambda=0.316).lp_c == pytest.approx(3.16456, rel=1e-4)
    assert resolve_config("lp", lp_c=3.16).lp_c == 3.16
    with pytest.raises(InputError, match="either --lp-c or --lp-lambda"):
        resolve_config("lp", lp_c=1.0, lp_lambda=2.0)


@pytest.mark.parametrize(("args", "match"), [
    ({"protocol": "svm"}, "unknown protocol"),
    ({"protocol": "lp", "setting": "huge"}, "unknown setting"),
    ({"protocol": "lp", "fraction": 0.0}, "--fraction"),
    ({"protocol": "lp", "fraction": 1.5}, "--fraction"),
    ({"protocol": "le", "bn_mode": "half"}, "--bn-mode"),
    ({"protocol": "ft", "lr": 1e-7, "min_lr": 1e-6}, "minimum learning rate"),
    ({"protocol": "lp", "thresholds": (1.2,)}, "--thresholds"),
    ({"protocol": "lp", "calibration_definition": "max"}, "--calibration-definition"),
    ({"protocol": "lp", "seeds": 0}, "--seeds"),
])
def test_invalid_options_are_input_errors(args: dict, match: str) -> None:
    with pytest.raises(InputError, match=match) as exc:
        resolve_config(**args)
    assert exc.value.exit_code == 2


def test_parse_floats() -> None:
    assert parse_floats("0.87, 0.74,0.5", "--thresholds") == (0.87, 0.74, 0.5)
    assert parse_floats("", "x") == ()
    with pytest.raises(InputError, match="--thresholds: 'a' is not a number"):
        parse_floats("0.5,a", "--thresholds")


def test_image_size_resolution() -> None:
    paper, tiny = resolve_config("lp", "paper"), resolve_config("lp", "tiny")
    assert resolve_image_size(paper, {}, 512) == 256
    assert resolve_image_size(paper, {"image_size": 128}, 512) == 128
    assert resolve_image_size(tiny, {"image_size": None}, 32) == 32
    assert resolve_image_size(tiny, {}, 256) == 64
    assert resolve_image_size(tiny.replace(image_size=48), {"image_size": 128}, 256) == 48
