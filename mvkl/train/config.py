"""Pretraining configuration: one flat dataclass, three presets, TOML overrides, validation.

Resolution order (later wins): the field defaults (= the ``paper`` preset) → ``--preset`` →
``--config FILE.toml`` → command-line options. The resolved configuration is saved as
``RUN/config.json`` and its fingerprint (:func:`config_fingerprint`) is stored in every
checkpoint so that ``--resume`` can refuse a different configuration.

Presets (spec method.md §9, §11; paper Appendix A):

* ``paper``: the paper's hyperparameters (Appendix A) with the spec's recommended fixes;
* ``code-compat``: the released ViKL script's loss and data choices (τ 0.7 everywhere, Robinson
  HCL on I–M and I–I, view1-only ITM, compat augmentation) and, with ``hard_negatives =
  "manineg"``, the released ManiNeg sampler (snapped distances, manifestation-uniform choice,
  index de-dup without refill, 100 anchors per epoch, μ annealed per 0-based epoch to its minimum
  at epoch 3), and the released forward pass: one image-trunk pass per view (``view_passes =
  "separate"``; docs/fidelity.md);
* ``tiny``: ResNet-18 at 64 px with a small BERT built from the store's training reports, for
  demos, tests and CPU smoke runs (a few minutes on 2 cores).

A TOML file may hold the keys at top level or inside tables named after the sections below
(``[optim] lr = 3e-4``); unknown keys are an error that suggests the nearest valid key.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from mvkl.config import LOSS, MANINEG, SAMPLER_PRESETS, sampler_fields
from mvkl.errors import InputError
from mvkl.fsutil import display_path

__all__ = ["PRESETS", "RESUME_FIELDS", "SECTIONS", "PretrainConfig", "config_diff", "config_fingerprint",
           "load_toml", "resolve_config"]

log = logging.getLogger(__name__)


def _f(default: Any, section: str, help: str, **kw: Any) -> Any:
    factory = kw.pop("factory", None)
    meta = {"section": section, "help": help}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class PretrainConfig:
    """Every pretraining option; defaults are the ``paper`` preset (source in each help text)."""

    preset: str = _f("paper", "run", "preset the configuration started from")
    # -- data ---------------------------------------------------------------------------------------
    image_size: int = _f(256, "data", "input side in pixels (paper App. A: 256)")
    modalities: tuple[str, ...] = _f(None, "data", "modalities: image + any of text, manifest (paper: all three)",
                                     factory=lambda: ("image", "text", "manifest"))
    view_mode: str = _f("pair", "data", "pair = CC + MLO (same image twice if one is missing; spec §2.3); same = "
                        "two augmentations of view1")
    augment: str = _f("fixed", "data", "fixed (spec §2.6 with B27 fixes), compat (released code) or none")
    augment_random_direction: bool = _f(True, "data", "fixed mode: Brightness/Sharpness factor above or below 1")
    crop_scale: tuple[float, float] = _f((0.5, 1.0), "data", "RandomResizedCrop scale (paper Sec. 5.2: 0.5-1)")
    randaug_ops: int = _f(2, "data", "RandAugment N (code: 2)")
    randaug_magnitude: float = _f(7.0, "data", "RandAugment M of 10 (code: 7)")
    randaug_prob: float = _f(0.5, "data", "probability of each drawn op (code: 0.5)")
    dihedral: bool = _f(False, "data", "also random quarter turns and vertical flips (not in the paper; for "
                                       "lesion-view stores, whose crops have no orientation)")
    hflip: float = _f(0.5, "data", "horizontal-flip probability (code: 0.5)")
    text_max_length: int = _f(512, "data", "report truncation in tokens; padding is dynamic (B38)")
    workers: int = _f(-1, "data", "DataLoader workers per process (-1: automatic)")
    # -- model --------------------------------------------------------------------------------------
    arch: str = _f("resnet50", "model", "image trunk: resnet50 (paper), resnet18 or cnn4 (small CPU CNN)")
    image_weights: str = _f("imagenet", "model", "imagenet (torch hub cache; never downloaded), random "
                            "(ViKL-R) or a state-dict file")
    normalization: str = _f("clip", "model", "input normalisation: clip (code) or imagenet")
    text_model: str = _f("", "model", "local BERT directory (bert-base-chinese in the paper) or 'tiny'")
    text_pooling: str = _f("pooler", "model", "text feature: pooler (paper, spec §3.2), mean or cls; the tiny "
                                               "preset uses mean (a random BERT's [CLS] is near-constant)")
    tiny_text_hidden: int = _f(128, "model", "tiny BERT hidden size")
    tiny_text_layers: int = _f(2, "model", "tiny BERT layers")
    tiny_text_heads: int = _f(2, "model", "tiny BERT attention heads")
    tiny_text_intermediate: int = _f(256, "model", "tiny BERT feed-forward width")
    tiny_text_vocab: int = _f(2000, "model", "tiny BERT WordPiece vocabulary size")
    embed_dim: int = _f(128, "model", "embedding width (paper Sec. 4.1: 128)")
    text_dropout: float = _f(0.5, "model", "dropout after the text aligner (paper Sec. 4.1: 0.5)")
    manifest_dropout: float = _f(0.5, "model", "dropout after the manifestation aligner (0.5)")
    projector_bn: str = _f("shared", "model", "fuse-projector BatchNorm: shared (code) or per_modality (B43)")
    view_passes: str = _f("joint", "model", "image trunk passes per step: joint (both views in one batch; "
                          "BatchNorm pools them) or separate (one pass per view, the released code)")
    sync_bn: bool = _f(False, "model", "SyncBatchNorm across DDP ranks (CUDA only; default per-rank BN)")
    # -- loss ---------------------------------------------------------------------------------------
    # (the defaults of the loss and sampler fields live in mvkl.config: LOSS and MANINEG)
    tau1: float = _f(LOSS.tau1, "loss", "temperature of I-M and I-I (paper App. A; code 0.7)")
    tau2: float = _f(LOSS.tau2, "loss", "temperature of I-T and T-M (paper App. A; code 0.7)")
    label_smoothing: float = _f(LOSS.label_smoothing, "loss", "label smoothing on I-T and T-M (Eq. 8; as the code)")
    label_smoothing_other: float = _f(LOSS.label_smoothing_other, "loss", "label smoothing on I-M and I-I (code 0)")
    itm_view: str = _f(LOSS.itm_view, "loss", "image view of the ITM terms: random (paper), view1 (ViKL code), mean")
    dedup_scope: str = _f(LOSS.dedup_scope, "loss", "manifestation de-dup: manifest_terms (code) or batch")
    intra_negatives: bool = _f(LOSS.intra, "loss", "keep intra-modal negatives (paper Sec. 4.2)")
    decoupled: bool = _f(LOSS.decoupled, "loss", "exclude the positive from the denominator (literal Eq. 1)")
    hcl_tau_plus: float = _f(LOSS.tau_plus, "loss", "Robinson HCL class prior (as the code)")
    hcl_beta: float = _f(LOSS.beta, "loss", "Robinson HCL hardness (as the code)")
    # -- hard negatives -----------------------------------------------------------------------------
    hard_negatives: str = _f(LOSS.hard_negatives, "negatives", "none, robinson (released ViKL loss) or manineg "
                             "(paper)")
    gather_negatives: bool = _f(False, "negatives", "DDP with none/robinson: contrast against the global batch")
    mu_max: float = _f(MANINEG.mu_max, "negatives", "ManiNeg μ at the start (paper App. A)")
    mu_min: float = _f(MANINEG.mu_min, "negatives", "ManiNeg μ at the end (paper App. A)")
    mu_steps: int = _f(MANINEG.mu_steps, "negatives", "steps (or epochs) of the linear μ ramp (paper App. A: "
                       "50th step)")
    mu_unit: str = _f(MANINEG.mu_unit, "negatives", "step (B15) or epoch (released code)")
    sigma: float = _f(MANINEG.sigma, "negatives", "ManiNeg σ (paper App. A)")
    bounds: tuple[int, int] = _f(MANINEG.bounds, "negatives", "Hamming-distance bounds a, b (paper Sec. 4.2)")
    anchors_per_batch: int = _f(MANINEG.anchors_per_batch, "negatives", "anchors per ManiNeg batch (paper: 1)")
    sampler_dedup: str = _f(MANINEG.dedup, "negatives", "manifestation (paper), masked (also no two lumps "
                            "at masked distance 0; partial masks), index (code) or none")
    refill: bool = _f(MANINEG.refill, "negatives", "refill de-duplicated batches to full size (mvkl's choice, B13)")
    snap: bool = _f(MANINEG.snap, "negatives", "snap distances to available ones (code) instead of renormalising")
    uniform: str = _f(MANINEG.uniform, "negatives", "instance (paper) or manifestation (code) uniform choice")
    interval: tuple[float, ...] = _f((), "negatives", "truncation interval; empty = (a-0.5, b+0.5); code "
                                     "(0.5, 18.499)")
    batches_per_epoch: int = _f(0, "negatives", "ManiNeg batches per epoch; 0 = floor(N/B) (code: 100)")
    # -- optimisation -------------------------------------------------------------------------------
    steps: int = _f(9000, "optim", "training steps (paper App. A: 9000)")
    batch_size: int = _f(64, "optim", "lumps per batch per process (paper App. A: 64)")
    optimizer: str = _f("adam", "optim", "adam (coupled L2 weight decay, like the code) or adamw")
    lr: float = _f(1e-4, "optim", "peak learning rate (paper App. A: 1e-4)")
    min_lr: float = _f(1e-7, "optim", "final learning rate of the cosine (paper App. A: 1e-7)")
    warmup_steps: int = _f(300, "optim", "linear warm-up steps (paper App. A: 300)")
    warmup_start_factor: float = _f(1e-3, "optim", "warm-up starts at this fraction of the peak (code: 1e-3)")
    weight_decay: float = _f(1e-4, "optim", "weight decay (paper App. A: 1e-4)")
    betas: tuple[float, float] = _f((0.9, 0.999), "optim", "Adam betas (code: PyTorch defaults)")
    grad_clip: float = _f(0.0, "optim", "max gradient norm; 0 = off (the code has none)")
    text_lr_mult: float = _f(1.0, "optim", "learning-rate multiplier of the BERT parameters (paper: 1)")
    # -- runtime ------------------------------------------------------------------------------------
    seed: int = _f(0, "runtime", "seed of every random choice")
    device: str = _f("auto", "runtime", "auto, cpu, cuda or cuda:N")
    precision: str = _f("auto", "runtime", "auto (bf16 on CUDA, fp32 on CPU), fp32 or bf16")
    compile: bool = _f(False, "runtime", "torch.compile the image encoder (in place; checkpoint keys unchanged)")
    channels_last: bool = _f(True, "runtime", "channels-last images on CUDA")
    deterministic: bool = _f(False, "runtime", "torch deterministic algorithms (slower on CUDA)")
    # -- logging and checkpoints --------------------------------------------------------------------
    log_every: int = _f(10, "logging", "steps between metrics.jsonl lines")
    ckpt_every: int = _f(500, "logging", "steps between checkpoints (one is always written at the end)")
    keep_checkpoints: int = _f(3, "logging", "checkpoints kept (the newest)")
    val_every: int | str = _f("epoch", "logging", "validation loss: 'epoch', every N steps, or 0 = never")
    tensorboard: bool = _f(False, "logging", "also write TensorBoard events to RUN/tensorboard")

    # -- conversions ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (tuples as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def record(self) -> dict[str, Any]:
        """:meth:`to_dict` for files (config.json, checkpoints, model cards): the paths of a local
        text model or weights file are written as :func:`~mvkl.fsutil.display_path` shows them
        (relative to the working directory, else the name only), never absolute."""
        doc = self.to_dict()
        for key, keywords in (("text_model", ("", "tiny")), ("image_weights", ("imagenet", "random"))):
            if doc[key] not in keywords:
                doc[key] = display_path(doc[key])
        return doc

    @classmethod
    def from_dict(cls, doc: dict[str, Any], *, source: str = "configuration") -> PretrainConfig:
        """Build from a (flat) dict; unknown keys and wrong types are InputErrors."""
        return cls().replace(doc, source=source)

    def replace(self, changes: dict[str, Any], *, source: str = "configuration") -> PretrainConfig:
        """A copy with ``changes`` applied (keys checked and values coerced to the field types)."""
        kinds = {f.name: f for f in fields(self)}
        out = dataclasses.replace(self)
        for key, value in changes.items():
            if key not in kinds:
                raise InputError(f"unknown option {key!r} in {source}{_suggest(key, kinds)}", code="config")
            setattr(out, key, _coerce(key, value, getattr(PretrainConfig(), key), source))
        return out


def _suggest(key: str, names: Any) -> str:
    near = difflib.get_close_matches(key, list(names), n=1)
    return f"; did you mean {near[0]!r}?" if near else ""


def _coerce(key: str, value: Any, like: Any, source: str) -> Any:
    def bad(expected: str) -> InputError:
        return InputError(f"option {key!r} in {source} must be {expected}, got {value!r}", code="config")

    if key == "val_every":
        if value == "epoch" or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
        raise bad("'epoch' or an integer number of steps")
    if isinstance(like, bool):
        if isinstance(value, bool):
            return value
        raise bad("true or false")
    if isinstance(like, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise bad("an integer")
        return int(value)
    if isinstance(like, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return float(value)
    if isinstance(like, str):
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if isinstance(like, tuple):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise bad("a list")
        if key == "modalities":
            return tuple(str(v) for v in value)
        try:
            conv = int if key == "bounds" else float
            items = tuple(conv(v) for v in value)
        except (TypeError, ValueError):
            raise bad("a list of numbers") from None
        if key == "bounds" and any(int(v) != float(v) for v in value):
            raise bad("a list of integers")
        return items
    raise bad(type(like).__name__)  # pragma: no cover


SECTIONS: tuple[str, ...] = ("run", "data", "model", "loss", "negatives", "optim", "runtime", "logging")

#: Named overrides over the defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},
    "code-compat": {
        "tau1": 0.7, "tau2": 0.7, "hard_negatives": "robinson", "itm_view": "view1", "augment": "compat",
        "view_passes": "separate",
        # the released ManiNeg sampler (mvkl.config.SAMPLER_PRESETS), used when hard_negatives = "manineg"
        **sampler_fields(SAMPLER_PRESETS["code-compat"]),
    },
    "tiny": {
        # A randomly initialised BERT's [CLS]/pooler feature is almost the same for every report and
        # the shared projector BatchNorm then maps all reports onto one point (B43): the text terms
        # stay at chance. Mean pooling and per-modality BatchNorm let the tiny text branch learn; a
        # BERT trained from scratch on a few dozen reports also needs a larger learning rate and less
        # dropout to move within a few hundred steps (measured on the demo store).
        "arch": "cnn4", "image_weights": "random", "image_size": 64, "text_model": "tiny", "text_pooling": "mean",
        "projector_bn": "per_modality", "text_lr_mult": 10.0, "text_dropout": 0.1,
        "tiny_text_hidden": 64, "tiny_text_layers": 2, "tiny_text_heads": 2, "tiny_text_intermediate": 128,
        "tiny_text_vocab": 1000, "text_max_length": 128, "batch_size": 32, "steps": 300, "warmup_steps": 20,
        "mu_steps": 3, "lr": 1e-3, "min_lr": 1e-6, "log_every": 10, "ckpt_every": 100, "keep_checkpoints": 2,
        # From scratch on a few hundred lesion crops in CPU minutes (measured on 600-exam lesion stores,
        # docs/PERFORMANCE.md): the paper's tau1 = 0.03, dropout 0.5, weight decay and strong augmentation
        # keep every contrastive term at chance for hundreds of steps; tau 0.1, no manifestation dropout,
        # no weight decay and a light crop + flip let the image trunk learn the manifestations.
        "tau1": 0.1, "tau2": 0.1, "manifest_dropout": 0.0, "weight_decay": 0.0, "crop_scale": (0.85, 1.0),
        "randaug_prob": 0.0,
    },
}

#: Fields that may differ between a checkpoint's configuration and a resumed run's. ``steps`` may
#: grow or shrink (the cosine then follows the new total from the resumed step on); the others do
#: not change what is computed (paths of initial weights are irrelevant once a checkpoint exists).
RESUME_FIELDS = frozenset({"steps", "workers", "log_every", "ckpt_every", "keep_checkpoints", "val_every",
                           "tensorboard", "device", "compile", "image_weights", "text_model", "preset"})

_CHOICES: dict[str, tuple[str, ...]] = {
    "view_mode": ("pair", "same"), "augment": ("fixed", "compat", "none"), "arch": ("resnet50", "resnet18", "cnn4"),
    "normalization": ("clip", "imagenet"), "projector_bn": ("shared", "per_modality"),
    "view_passes": ("joint", "separate"),
    "itm_view": ("random", "view1", "mean"), "dedup_scope": ("manifest_terms", "batch"),
    "hard_negatives": ("none", "robinson", "manineg"), "mu_unit": ("step", "epoch"),
    "sampler_dedup": ("manifestation", "masked", "index", "none"), "uniform": ("instance", "manifestation"),
    "optimizer": ("adam", "adamw"), "precision": ("auto", "fp32", "bf16"),
    "text_pooling": ("pooler", "mean", "cls"),
}


def load_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML configuration into a flat dict (section tables are flattened)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("configuration file not found", file=display_path(p), code="missing-file")
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"invalid TOML: {exc}", file=display_path(p), code="config") from exc
    flat: dict[str, Any] = {}
    names = {f.name for f in fields(PretrainConfig)}
    for key, value in doc.items():
        if isinstance(value, dict) and key not in names:
            if key not in SECTIONS:
                raise InputError(f"unknown section [{key}]; sections are {', '.join(SECTIONS)}"
                                 f"{_suggest(key, SECTIONS)}", file=display_path(p), code="config")
            flat.update(value)
        else:
            flat[key] = value
    return flat


def resolve_config(preset: str | None = None, toml: str | os.PathLike[str] | None = None,
                   overrides: dict[str, Any] | None = None, base: PretrainConfig | None = None) -> PretrainConfig:
    """Defaults (or ``base``) → preset → TOML file → ``overrides``; validated.

    When ``overrides`` shorten the run below the warm-up of the preset/file (and the warm-up was not
    given explicitly), the warm-up is scaled to keep its share of the steps (tiny ``--steps 20``
    warms up over 2 steps); an explicit ``warmup_steps`` larger than ``steps`` is an error.
    """
    cfg = base if base is not None else PretrainConfig()
    if preset is not None:
        if preset not in PRESETS:
            raise InputError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}", code="usage")
        cfg = PretrainConfig().replace({**PRESETS[preset], "preset": preset}, source=f"preset {preset!r}")
    if toml is not None:
        doc = load_toml(toml)
        if "preset" in doc and preset is None:
            name = doc["preset"]
            if name not in PRESETS:
                raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}",
                                 file=display_path(Path(toml)), code="config")
            cfg = PretrainConfig().replace({**PRESETS[name], "preset": name})
        doc.pop("preset", None)
        cfg = cfg.replace(doc, source=display_path(Path(toml)))
    explicit = "warmup_steps" in (overrides or {}) or (toml is not None and "warmup_steps" in load_toml(toml))
    start = cfg
    if overrides:
        cfg = cfg.replace(overrides, source="the command line")
    if not explicit and cfg.warmup_steps > cfg.steps and start.steps > 0:
        # A short run of a preset (e.g. --steps 3 of tiny): keep the preset's warm-up share.
        scaled = round(start.warmup_steps * cfg.steps / start.steps)
        log.info("warm-up of %d steps scaled to %d for a run of %d steps", cfg.warmup_steps, scaled, cfg.steps)
        cfg = cfg.replace({"warmup_steps": scaled})
    validate(cfg)
    return cfg


def validate(cfg: PretrainConfig) -> None:
    """Static checks with actionable messages (store-dependent checks live in the trainer)."""

    def err(msg: str) -> InputError:
        return InputError(msg, code="config")

    for name, allowed in _CHOICES.items():
        v = getattr(cfg, name)
        if v not in allowed:
            raise err(f"{name} must be one of {', '.join(allowed)}, got {v!r}")
    mods = cfg.modalities
    if "image" not in mods or any(m not in ("image", "text", "manifest") for m in mods) or len(set(mods)) != len(mods):
        raise err(f"modalities must include image and be drawn from image, text, manifest; got {','.join(mods)}")
    if "text" in mods and not cfg.text_model:
        raise err("the text modality needs a text model: --text-model DIR (a local BERT directory such as "
                  "bert-base-chinese; mvkl never downloads), --text-model tiny (a small BERT built from the "
                  "training reports), or drop text with --modalities image,manifest")
    positive = ("image_size", "steps", "batch_size", "log_every", "ckpt_every", "keep_checkpoints", "embed_dim",
                "text_max_length", "randaug_magnitude", "tiny_text_hidden", "tiny_text_layers", "tiny_text_heads",
                "tiny_text_intermediate", "tiny_text_vocab")
    for name in positive:
        if getattr(cfg, name) <= 0 and not (name == "randaug_magnitude" and cfg.randaug_magnitude == 0):
            raise err(f"{name} must be positive, got {getattr(cfg, name)}")
    if cfg.image_size < 32:
        raise err(f"image_size must be at least 32 (a ResNet downsamples 32x), got {cfg.image_size}")
    if cfg.batch_size < 2:
        raise err("batch_size must be at least 2 (contrastive losses need a negative)")
    if cfg.text_max_length > 512:
        raise err("text_max_length cannot exceed 512 (BERT's position limit)")
    if not 0 <= cfg.warmup_steps <= cfg.steps:
        raise err(f"warmup_steps ({cfg.warmup_steps}) must be in 0..steps ({cfg.steps}): lower it in a --config "
                  "file ([optim] warmup_steps = N) or raise --steps")
    if not 0 < cfg.warmup_start_factor <= 1:
        raise err(f"warmup_start_factor must be in (0, 1], got {cfg.warmup_start_factor}")
    if not cfg.lr > 0 or not 0 <= cfg.min_lr <= cfg.lr:
        raise err(f"need lr > 0 and 0 <= min_lr <= lr, got lr {cfg.lr}, min_lr {cfg.min_lr}")
    if cfg.weight_decay < 0 or cfg.grad_clip < 0 or cfg.text_lr_mult <= 0:
        raise err("weight_decay and grad_clip must be >= 0 and text_lr_mult > 0")
    if len(cfg.betas) != 2 or not all(0 <= b < 1 for b in cfg.betas):
        raise err(f"betas must be two numbers in [0, 1), got {cfg.betas}")
    for name in ("tau1", "tau2"):
        if not getattr(cfg, name) > 0:
            raise err(f"{name} must be > 0")
    for name in ("label_smoothing", "label_smoothing_other", "text_dropout", "manifest_dropout", "hcl_tau_plus"):
        if not 0 <= getattr(cfg, name) < 1:
            raise err(f"{name} must be in [0, 1), got {getattr(cfg, name)}")
    if len(cfg.crop_scale) != 2 or not 0 < cfg.crop_scale[0] <= cfg.crop_scale[1] <= 1:
        raise err(f"crop_scale must be two numbers 0 < min <= max <= 1, got {cfg.crop_scale}")
    if cfg.hard_negatives == "robinson" and cfg.label_smoothing_other:
        raise err("hard_negatives robinson replaces I-M and I-I by Robinson HCL, which has no label smoothing: "
                  "set label_smoothing_other = 0")
    if cfg.gather_negatives and cfg.hard_negatives == "manineg":
        raise err("--gather-negatives applies to random batches (none, robinson); ManiNeg batches are built per "
                  "process around their own anchors")
    if len(cfg.bounds) != 2 or not 1 <= cfg.bounds[0] <= cfg.bounds[1]:
        raise err(f"bounds must be two integers 1 <= a <= b, got {cfg.bounds}")
    if cfg.interval and len(cfg.interval) != 2:
        raise err(f"interval must be empty or two numbers, got {cfg.interval}")
    if cfg.mu_steps < 0 or cfg.sigma <= 0 or cfg.anchors_per_batch < 1 or cfg.batches_per_epoch < 0:
        raise err("need mu_steps >= 0, sigma > 0, anchors_per_batch >= 1 and batches_per_epoch >= 0")
    if cfg.workers < -1:
        raise err("workers must be >= 0, or -1 for automatic")
    if isinstance(cfg.val_every, int) and cfg.val_every < 0:
        raise err("val_every must be 'epoch', 0 (never) or a positive number of steps")
    dev = cfg.device
    if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
        raise err(f"device must be auto, cpu, cuda or cuda:N, got {dev!r}")
    if cfg.preset not in PRESETS:
        raise err(f"unknown preset {cfg.preset!r}")


#: Fields added after runs already existed, with the value those runs computed with: left out of
#: the fingerprint at that value, so earlier checkpoints still resume.
_ADDED_LATER: dict[str, Any] = {"view_passes": "joint"}


def config_fingerprint(cfg: PretrainConfig) -> str:
    """Hash of the fields that define what a run computes (all but :data:`RESUME_FIELDS`)."""
    doc = {k: v for k, v in cfg.to_dict().items()
           if k not in RESUME_FIELDS and not (k in _ADDED_LATER and v == _ADDED_LATER[k])}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def config_diff(a: dict[str, Any], b: dict[str, Any], *, ignore: frozenset[str] = RESUME_FIELDS) -> list[str]:
    """``"key: a -> b"`` for each differing field outside ``ignore``."""
    keys = sorted((set(a) | set(b)) - ignore)
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]
