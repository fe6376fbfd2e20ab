"""Configuration: presets against paper Appendix A, TOML overrides, validation, fingerprint."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvkl.errors import InputError
from mvkl.train.config import (
    PRESETS,
    RESUME_FIELDS,
    PretrainConfig,
    config_diff,
    config_fingerprint,
    load_toml,
    resolve_config,
)


def test_paper_defaults_are_appendix_a() -> None:
    c = resolve_config("paper", overrides={"text_model": "bert"})
    table = {"lr": 1e-4, "min_lr": 1e-7, "steps": 9000, "warmup_steps": 300, "batch_size": 64, "tau1": 0.03,
             "tau2": 0.3, "weight_decay": 1e-4, "image_size": 256, "mu_max": 11.0, "mu_min": 0.0, "mu_steps": 50,
             "sigma": 3.0, "bounds": (1, 18), "embed_dim": 128, "text_dropout": 0.5, "manifest_dropout": 0.5,
             "label_smoothing": 0.2, "arch": "resnet50", "optimizer": "adam", "warmup_start_factor": 1e-3,
             "grad_clip": 0.0, "itm_view": "random", "augment": "fixed", "image_weights": "imagenet",
             "modalities": ("image", "text", "manifest"), "hard_negatives": "none"}
    for k, v in table.items():
        assert getattr(c, k) == v, k


def test_code_compat_and_tiny_presets() -> None:
    c = resolve_config("code-compat", overrides={"text_model": "x"})
    assert (c.tau1, c.tau2, c.hard_negatives, c.itm_view, c.augment) == (0.7, 0.7, "robinson", "view1", "compat")
    assert (c.snap, c.uniform, c.sampler_dedup, c.refill, c.batches_per_epoch, c.mu_steps, c.mu_unit) == \
        (True, "manifestation", "index", False, 100, 3, "epoch")
    t = resolve_config("tiny")
    assert (t.arch, t.text_model, t.image_weights, t.preset) == ("cnn4", "tiny", "random", "tiny")
    # learnable from scratch in CPU minutes (docs/PERFORMANCE.md): tau 0.1, light augmentation
    assert (t.tau1, t.tau2, t.manifest_dropout, t.weight_decay, t.crop_scale) == (0.1, 0.1, 0.0, 0.0, (0.85, 1.0))
    assert t.warmup_steps < t.steps and 64 <= t.image_size <= 96 and 16 <= t.batch_size <= 32
    # tiny text branch: mean pooling + per-modality BN (a random BERT's pooler collapses the shared BN)
    assert (t.text_pooling, t.projector_bn, t.text_lr_mult, t.text_dropout) == ("mean", "per_modality", 10.0, 0.1)
    p = resolve_config("paper", overrides={"text_model": "x"})
    assert (p.text_pooling, p.projector_bn, p.text_lr_mult, p.text_dropout) == ("pooler", "shared", 1.0, 0.5)
    with pytest.raises(InputError, match="text_pooling"):
        resolve_config("tiny", overrides={"text_pooling": "max"})
    assert set(PRESETS) == {"paper", "code-compat", "tiny"}


def test_toml_flat_and_sectioned_overrides(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('preset = "tiny"\nsteps = 40\n[optim]\nlr = 3e-4\nbetas = [0.8, 0.9]\n[data]\nmodalities = '
                 '["image", "manifest"]\n[logging]\nval_every = 5\n', encoding="utf-8")
    c = resolve_config(None, f, {"steps": 50})
    assert (c.preset, c.arch, c.steps, c.lr, c.betas, c.modalities, c.val_every) == \
        ("tiny", "cnn4", 50, 3e-4, (0.8, 0.9), ("image", "manifest"), 5)
    assert resolve_config("paper", f, {"text_model": "x", "warmup_steps": 4}).arch == "resnet50"  # --preset wins
    assert load_toml(f)["lr"] == 3e-4


@pytest.mark.parametrize(("text", "match"), [
    ("stpes = 3\n", "did you mean 'steps'"),
    ("[optimiser]\nlr = 1\n", "unknown section"),
    ("steps = 'many'\n", "must be an integer"),
    ("steps = 2.5\n", "must be an integer"),
    ("compile = 'yes'\n", "true or false"),
    ("bounds = [1.5, 18]\n", "integers"),
    ("steps = = 3\n", "invalid TOML"),
])
def test_bad_toml_is_an_input_error(tmp_path: Path, text: str, match: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=match) as e:
        resolve_config("tiny", f)
    assert e.value.exit_code == 2
    assert str(tmp_path) not in str(e.value)


@pytest.mark.parametrize(("overrides", "match"), [
    ({"text_model": ""}, "--text-model DIR"),
    ({"hard_negatives": "manineg", "gather_negatives": True}, "gather-negatives"),
    ({"hard_negatives": "robinson", "label_smoothing_other": 0.1}, "no label smoothing"),
    ({"warmup_steps": 500}, "warmup_steps"),
    ({"modalities": ("text", "manifest")}, "include image"),
    ({"batch_size": 1}, "at least 2"),
    ({"device": "tpu"}, "device"),
    ({"hard_negatives": "hcl"}, "hard_negatives must be one of"),
    ({"image_size": 16}, "at least 32"),
    ({"min_lr": 1.0}, "min_lr"),
])
def test_validation_errors(overrides: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        resolve_config("tiny", overrides=overrides)


def test_fingerprint_and_diff() -> None:
    a = resolve_config("tiny")
    b = a.replace({k: v for k, v in {"steps": 999, "workers": 3, "log_every": 7, "ckpt_every": 9,
                                       "tensorboard": True, "device": "cpu"}.items()})
    assert config_fingerprint(a) == config_fingerprint(b) and not config_diff(a.to_dict(), b.to_dict())
    c = a.replace({"lr": 2e-3})
    assert config_fingerprint(a) != config_fingerprint(c)
    assert config_diff(a.to_dict(), c.to_dict()) == ["lr: 0.001 -> 0.002"]
    assert {"steps", "workers", "log_every"} <= RESUME_FIELDS and "lr" not in RESUME_FIELDS
    assert PretrainConfig.from_dict(a.to_dict()) == a


def test_short_runs_scale_the_preset_warmup_but_not_an_explicit_one(tmp_path: Path) -> None:
    assert resolve_config("tiny", overrides={"steps": 10}).warmup_steps == 1  # 10 % of the steps, like the preset
    assert resolve_config("tiny", overrides={"steps": 100}).warmup_steps == 20  # fits: unchanged
    with pytest.raises(InputError, match="warmup_steps"):
        resolve_config("tiny", overrides={"steps": 20, "warmup_steps": 30})
    f = tmp_path / "w.toml"
    f.write_text("[optim]\nwarmup_steps = 50\n", encoding="utf-8")
    with pytest.raises(InputError, match="warmup_steps"):
        resolve_config("tiny", f, {"steps": 20})


def test_records_hold_no_absolute_path(tmp_path: Path) -> None:
    c = resolve_config("tiny", overrides={"text_model": str(tmp_path / "bert"),
                                          "image_weights": str(tmp_path / "w.pt")})
    rec = c.record()
    assert rec["text_model"] == "bert" and rec["image_weights"] == "w.pt" and str(tmp_path) not in str(rec)
    assert c.text_model == str(tmp_path / "bert")  # the run itself uses the real path
    assert resolve_config("tiny").record()["text_model"] == "tiny"
