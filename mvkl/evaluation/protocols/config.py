"""Downstream evaluation settings: every hyperparameter of LP / LE / FT with its source.

Two settings (spec method.md §9 "Downstream", paper Appendix A):

* ``paper``: the paper's hyperparameters (Appendix A) with the spec's fixes (B22 frozen BN in LE,
  B23 named two-group learning rates, B24 best-validation checkpoint, B35 stratified subsets);
* ``tiny``: the same protocols, shortened so that a run finishes in minutes on a CPU (few epochs,
  small patience, batch 16, images at the encoder card's size or at most 64 px).

:data:`SETTINGS` is the table; :func:`resolve_config` applies the user's overrides on top of a
setting and validates everything (errors are :class:`~mvkl.errors.InputError`, exit 2).

Linear-probe regularisation (spec §7.4, B47): Appendix A says "L2 regularization strength
λ = 3.16". In scikit-learn ``C`` is the *inverse* of the regularisation strength, so λ = 3.16
reads as ``C = 1/3.16 ≈ 0.316`` (default here; it is also the range of CLIP's LP recipe), but the
authors may have passed ``C = 3.16``. ``lp_c`` is the scikit-learn ``C``; ``--lp-lambda X`` sets
``C = 1/X``. Note that scikit-learn's objective is ``C·Σ_i loss_i + ½‖w‖²`` (a *sum* over the
training samples), so either reading depends on the training-set size.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from mvkl.errors import InputError

__all__ = ["PROTOCOLS", "SETTINGS", "SETTING_SOURCES", "EvalConfig", "parse_floats", "resolve_config",
           "settings_table"]

PROTOCOLS = ("lp", "le", "ft")
CALIBRATION_DEFINITIONS = ("top-label", "positive")

#: Hyperparameters per setting and protocol. ``None`` for ``image_size`` means "from the encoder
#: card, else the setting's fallback" (:func:`resolve_image_size`).
SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "paper": {
        "common": {"seeds": 5, "image_size": None, "image_size_fallback": 256, "n_boot": 2000},
        "lp": {"lp_c": 1 / 3.16, "lp_max_iter": 1000, "batch_size": 48},
        "le": {"lr": 1e-3, "min_lr": 1e-6, "weight_decay": 1e-6, "epochs": 1000, "patience": 100,
               "batch_size": 48},
        "ft": {"lr": 5e-5, "min_lr": 5e-7, "weight_decay": 5e-5, "epochs": 1000, "patience": 100,
               "batch_size": 48, "backbone_lr_mult_pretrained": 0.1},
    },
    "tiny": {
        "common": {"seeds": 2, "image_size": None, "image_size_fallback": 64, "n_boot": 1000},
        "lp": {"lp_c": 1 / 3.16, "lp_max_iter": 1000, "batch_size": 16},
        # LE: no augmentation, so the frozen features are computed once (seconds, not minutes, on a CPU).
        "le": {"lr": 3e-3, "min_lr": 1e-5, "weight_decay": 1e-3, "epochs": 30, "patience": 10, "batch_size": 64,
               "augment": "none", "le_standardize": True},
        "ft": {"lr": 5e-5, "min_lr": 5e-7, "weight_decay": 5e-5, "epochs": 3, "patience": 2, "batch_size": 16,
               "backbone_lr_mult_pretrained": 0.1,
               # the tiny pretraining preset's light augmentation (crop 0.85-1, no RandAugment): on 64-px
               # lesion crops the paper's 0.5-1 crop and RandAugment cut the lesion's margin away
               "crop_scale": (0.85, 1.0), "randaug_prob": 0.0},
    },
}

#: Where each default comes from (README settings table).
SETTING_SOURCES: dict[str, str] = {
    "lr": "App. A: LE peak 1e-3, FT peak 5e-5 (head)",
    "min_lr": "App. A: LE 1e-6, FT 5e-7 (cosine floor, shared by both FT groups as in the code, B23)",
    "weight_decay": "App. A: LE 1e-6, FT 5e-5 (Adam, coupled L2 as in the code)",
    "epochs": "App. A: max 1000 (tiny: 4 LE / 3 FT)",
    "patience": "App. A: 100 epochs on validation AUC (tiny: 2)",
    "batch_size": "App. A: 48 (tiny: 16)",
    "backbone_lr_mult_pretrained": "App. A 'layer-wise decay 0.1' = two groups in the code (B23); only for pretrained "
                        "checkpoints, 1.0 for imagenet/random (code)",
    "lp_c": "App. A 'λ = 3.16' read as C = 1/λ (spec §7.4); --lp-c 3.16 for the other reading",
    "lp_max_iter": "App. A: 1000 L-BFGS iterations",
    "image_size": "App. A: 256² (or the encoder card's size; tiny: at most 64)",
    "seeds": "spec §9: 5 repeats, seeds 0..4 (tiny: 2)",
    "crop_scale": "Sec. 5.2: RandomResizedCrop 0.5-1 (tiny: 0.85-1, as the tiny pretraining preset)",
    "randaug_prob": "code: each RandAugment op with probability 0.5 (tiny: 0, none)",
    "dihedral": "not in the paper: random quarter turns and vertical flips, for lesion-centred crops (off)",
    "n_boot": "B46: stratified percentile bootstrap of the test AUC",
    "ece": "Sec. 5.10: 10 equal-width bins, bins with < 10 samples excluded",
}


@dataclass(frozen=True)
class EvalConfig:
    """A resolved evaluation configuration (saved in ``results.json``).

    Attributes mirror the CLI options; see :data:`SETTINGS` and :data:`SETTING_SOURCES`.
    ``backbone_lr_mult`` None means "automatic": ``backbone_lr_mult_pretrained`` (0.1) for a
    pretrained checkpoint (run directory, exported encoder, weights file), 1.0 for ``imagenet`` /
    ``random`` (the released code applies the factor only when a pretraining checkpoint is given,
    spec §7.3); a number applies to every encoder.
    """

    protocol: str
    setting: str = "paper"
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    fraction: float = 1.0
    thresholds: tuple[float, ...] = (0.5,)
    image_size: int | None = None
    image_size_fallback: int = 256
    batch_size: int = 48
    eval_batch_size: int = 64
    epochs: int = 1000
    patience: int = 100
    lr: float = 1e-3
    min_lr: float = 1e-6
    weight_decay: float = 1e-6
    backbone_lr_mult: float | None = None
    backbone_lr_mult_pretrained: float = 0.1
    bn_mode: str = "frozen"
    augment: str = "fixed"
    crop_scale: tuple[float, float] = (0.5, 1.0)
    randaug_prob: float = 0.5
    dihedral: bool = False
    lp_c: float = 1 / 3.16
    lp_max_iter: int = 1000
    lp_standardize: bool = True
    le_standardize: bool = False  # LE on cached features only (tiny): standardise them, as the LP does
    lp_variance: str = "bootstrap"
    n_boot: int = 2000
    ci_level: float = 0.95
    calibration_definition: str = "top-label"
    ece_bins: int = 10
    ece_min_count: int = 10
    device: str = "auto"
    workers: int = -1
    amp: bool = True
    save_model: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["seeds"] = list(self.seeds)
        d["thresholds"] = list(self.thresholds)
        d["crop_scale"] = list(self.crop_scale)
        return d

    def replace(self, **changes: Any) -> EvalConfig:
        return dataclasses.replace(self, **changes)


def parse_floats(text: str | None, what: str) -> tuple[float, ...]:
    """``"0.87,0.74,0.5"`` → ``(0.87, 0.74, 0.5)``; InputError naming ``what`` on bad items."""
    if text is None or not str(text).strip():
        return ()
    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        try:
            out.append(float(item))
        except ValueError:
            raise InputError(f"{what}: {item!r} is not a number (expected a comma-separated list)") from None
    return tuple(out)


def _check(cond: bool, msg: str) -> None:
    if not cond:
        raise InputError(msg, code="option")


def resolve_config(protocol: str, setting: str = "paper", *, seeds: int | None = None,
                   lp_lambda: float | None = None, **overrides: Any) -> EvalConfig:
    """The setting's defaults for ``protocol`` with ``overrides`` (None values are ignored) on top.

    Args:
        protocol: ``lp``, ``le`` or ``ft``.
        setting: ``paper`` or ``tiny``.
        seeds: number of seeds N (runs seeds 0..N-1); None: the setting's default.
        lp_lambda: the paper's λ; sets ``lp_c = 1/λ`` (exclusive with ``lp_c``).
        overrides: any :class:`EvalConfig` field.
    """
    protocol = str(protocol).lower()
    _check(protocol in PROTOCOLS, f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    _check(setting in SETTINGS, f"unknown setting {setting!r}; expected one of {', '.join(SETTINGS)}")
    values: dict[str, Any] = {"protocol": protocol, "setting": setting}
    values.update(SETTINGS[setting]["common"])
    values.update(SETTINGS[setting][protocol])
    n_seeds = values.pop("seeds")
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(given) - {f.name for f in dataclasses.fields(EvalConfig)})
    _check(not unknown, f"unknown evaluation option(s): {', '.join(unknown)}")
    if lp_lambda is not None:
        _check("lp_c" not in given, "give either --lp-c or --lp-lambda, not both")
        _check(lp_lambda > 0, f"--lp-lambda must be positive (got {lp_lambda})")
        given["lp_c"] = 1.0 / float(lp_lambda)
    values.update(given)
    if seeds is not None:
        n_seeds = seeds
    _check(int(n_seeds) >= 1, f"--seeds must be at least 1 (got {n_seeds})")
    values["seeds"] = tuple(range(int(n_seeds)))
    thr = tuple(float(t) for t in values.get("thresholds", (0.5,)))
    _check(all(math.isfinite(t) and 0.0 <= t <= 1.0 for t in thr), f"--thresholds must lie in [0, 1] (got {thr})")
    if 0.5 not in thr:
        thr = (*thr, 0.5)
    values["thresholds"] = tuple(dict.fromkeys(thr))
    values["crop_scale"] = tuple(float(v) for v in values.get("crop_scale", (0.5, 1.0)))
    cfg = EvalConfig(**values)
    _validate(cfg)
    return cfg


def _validate(c: EvalConfig) -> None:
    _check(0.0 < c.fraction <= 1.0, f"--fraction must lie in (0, 1] (got {c.fraction})")
    _check(c.image_size is None or 8 <= c.image_size <= 4096, f"--image-size must be 8..4096 (got {c.image_size})")
    _check(c.batch_size >= 2, f"--batch-size must be at least 2 (got {c.batch_size})")
    _check(c.eval_batch_size >= 1, f"eval batch size must be at least 1 (got {c.eval_batch_size})")
    _check(c.epochs >= 1, f"--epochs must be at least 1 (got {c.epochs})")
    _check(c.patience >= 1, f"--patience must be at least 1 (got {c.patience})")
    _check(c.lr > 0 and c.min_lr >= 0, f"learning rates must be positive (lr {c.lr}, min lr {c.min_lr})")
    _check(c.min_lr <= c.lr, f"the minimum learning rate {c.min_lr} exceeds the peak {c.lr}")
    _check(c.weight_decay >= 0, f"--weight-decay must be non-negative (got {c.weight_decay})")
    _check(c.backbone_lr_mult is None or c.backbone_lr_mult >= 0,
           f"--backbone-lr-mult must be non-negative (got {c.backbone_lr_mult})")
    _check(c.bn_mode in ("frozen", "train"), f"--bn-mode must be 'frozen' or 'train' (got {c.bn_mode!r})")
    _check(c.augment in ("fixed", "compat", "none"), f"--augment must be fixed, compat or none (got {c.augment!r})")
    _check(len(c.crop_scale) == 2 and 0.0 < c.crop_scale[0] <= c.crop_scale[1] <= 1.0,
           f"crop scale must be two numbers 0 < min <= max <= 1 (got {tuple(c.crop_scale)})")
    _check(0.0 <= c.randaug_prob <= 1.0, f"RandAugment probability must lie in [0, 1] (got {c.randaug_prob})")
    _check(c.lp_c > 0, f"--lp-c must be positive (got {c.lp_c})")
    _check(c.lp_max_iter >= 1, f"LP max iterations must be at least 1 (got {c.lp_max_iter})")
    _check(c.lp_variance in ("bootstrap", "none"), f"--lp-variance must be bootstrap or none (got {c.lp_variance!r})")
    _check(c.n_boot >= 0, f"--n-boot must be non-negative (got {c.n_boot})")
    _check(0.0 < c.ci_level < 1.0, f"CI level must lie in (0, 1) (got {c.ci_level})")
    _check(c.calibration_definition in CALIBRATION_DEFINITIONS,
           f"--calibration-definition must be one of {', '.join(CALIBRATION_DEFINITIONS)}")
    _check(c.ece_bins >= 1 and c.ece_min_count >= 0, "ECE bins must be >= 1 and the minimum count >= 0")
    _check(c.workers >= -1, f"--workers must be -1 (automatic) or >= 0 (got {c.workers})")


def resolve_image_size(cfg: EvalConfig, card: dict[str, Any], store_size: int) -> int:
    """Evaluation image side: ``--image-size``, else the encoder card's ``image_size`` (the size it
    was pretrained at), else the setting's fallback (paper 256; tiny ``min(64, store size)``)."""
    if cfg.image_size is not None:
        return int(cfg.image_size)
    if card.get("image_size"):
        return int(card["image_size"])
    if cfg.setting == "tiny":
        return int(min(cfg.image_size_fallback, store_size))
    return int(cfg.image_size_fallback)


def settings_table() -> list[dict[str, Any]]:
    """Rows ``{setting, protocol, key, value}`` of :data:`SETTINGS` (for docs and ``--json``)."""
    rows = []
    for s, by in SETTINGS.items():
        for p, vals in by.items():
            for k, v in vals.items():
                rows.append({"setting": s, "protocol": p, "key": k, "value": v})
    return rows
