"""Export and load pretrained encoders: the contract between pretraining, evaluation and inference.

Image encoder directory (what ``mvkl pretrain`` writes as ``RUN/encoder/``)::

    card.json          {"format": "mvkl-image-encoder", "version": 1, "arch": "resnet50",
                        "feature_dim": 2048, "image_size": 256, "in_channels": 1,
                        "normalization": {"name": "clip", "mean": [...], "std": [...]},
                        "source": {"kind": "vikl" | "imagenet" | "random" | ..., "run": ..., "step": ...,
                                   "preset": ..., "hard_negatives": ...},   # free dict from the caller
                        "mvkl_version": "0.1.0"}
    image_encoder.pt   torch.save({"format": "mvkl-image-encoder", "version": 1, "arch": "resnet50",
                                   "state_dict": <trunk state dict, torchvision keys, no fc>})

The model consumes ``(B, 1, H, W)`` float images in [0, 1] (grey; 3-channel also accepted) and
applies the normalisation of the card itself (:class:`~mvkl.models.image.ImageEncoder`), so a
consumer never normalises. A downstream ResNet can also take the state dict directly:
``torchvision.models.resnet50(); m.fc = Identity(); m.load_state_dict(sd)`` (then normalise as
the card says). Both files are written atomically; ``card.json`` last, so its presence marks a
complete export.

:func:`load_image_encoder` accepts, as ``spec``:

* a directory holding ``card.json`` + ``image_encoder.pt``;
* a pretraining run directory holding ``encoder/`` (the above) or a whole-model ``vikl/`` or ``vikl.pt``;
* ``"imagenet"`` / ``"imagenet:resnet18"``: torchvision IMAGENET1K_V1 from the torch hub cache or
  ``image_weights`` (never downloaded);
* ``"random"`` / ``"random:resnet18"`` / ``"random:resnet18:SEED"``: seeded random init (seed 0);
* a state-dict file (torchvision, ``{"state_dict"|"model": ...}``, ``module.`` /
  ``visual_encoder.vision_encoder.`` prefixes).

Every trunk key must load (strict, B25): otherwise InputError naming missing/unexpected keys.
Keywords win over a same-named relative path.

Whole model (:func:`save_vikl` / :func:`load_vikl`; recommended location ``RUN/vikl/``)::

    vikl.pt   torch.save({"format": "mvkl-vikl", "version": 1, "model_config": {...}, "config": {...},
                          "state_dict": <ViKL state dict without text_encoder.*>, "mvkl_version": ...})
    text/     the text encoder and tokenizer (``save_pretrained``), when the model has one
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from mvkl import __version__
from mvkl.errors import InputError
from mvkl.fsutil import atomic_path, atomic_write_json, display_path
from mvkl.models.image import ARCHS, NORMALIZATIONS, ImageEncoder, load_trunk_weights, read_state_dict_file
from mvkl.models.text import TextEncoder
from mvkl.models.vikl import ViKL

__all__ = [
    "CARD_FILE",
    "ENCODER_SUBDIR",
    "IMAGE_ENCODER_FORMAT",
    "IMAGE_ENCODER_VERSION",
    "VIKL_FILE",
    "VIKL_FORMAT",
    "VIKL_SUBDIR",
    "export_image_encoder",
    "load_image_encoder",
    "load_vikl",
    "save_vikl",
]

IMAGE_ENCODER_FORMAT = "mvkl-image-encoder"
IMAGE_ENCODER_VERSION = 1
CARD_FILE = "card.json"
WEIGHTS_FILE = "image_encoder.pt"
ENCODER_SUBDIR = "encoder"
VIKL_FORMAT = "mvkl-vikl"
VIKL_VERSION = 1
VIKL_FILE = "vikl.pt"
VIKL_SUBDIR = "vikl"
TEXT_SUBDIR = "text"
_OWN_CARD_KEYS = ("format", "version", "arch", "feature_dim", "in_channels", "normalization", "mvkl_version")


def _unwrap(module: Any) -> Any:
    """The plain module under DDP (``.module``) and ``torch.compile`` (``._orig_mod``) wrappers."""
    for _ in range(4):
        inner = getattr(module, "_orig_mod", None)
        if inner is None:
            inner = getattr(module, "module", None)
        if not isinstance(inner, torch.nn.Module):
            break
        module = inner
    return module


def _card(encoder: ImageEncoder, image_size: int | None, source: Mapping[str, Any]) -> dict[str, Any]:
    mean, std = NORMALIZATIONS[encoder.normalization]
    return {"format": IMAGE_ENCODER_FORMAT, "version": IMAGE_ENCODER_VERSION, "arch": encoder.arch,
            "feature_dim": encoder.feature_dim, "image_size": image_size, "in_channels": 1,
            "normalization": {"name": encoder.normalization, "mean": list(mean), "std": list(std)},
            "source": dict(source), "mvkl_version": __version__}


def export_image_encoder(encoder: ImageEncoder, out_dir: str | os.PathLike[str],
                         card: Mapping[str, Any] | None = None) -> Path:
    """Write ``out_dir/image_encoder.pt`` and ``out_dir/card.json`` (see the module docstring).

    ``card`` supplies ``image_size`` (default 256), ``source`` (free dict: kind, run, step, preset,
    hard_negatives, ...) and any extra keys; the fields that describe the encoder itself
    (format, version, arch, feature_dim, in_channels, normalization, mvkl_version) are filled
    here and may not be overridden. Returns ``out_dir``.
    """
    encoder = _unwrap(encoder)
    card = dict(card or {})
    clash = sorted(set(card) & set(_OWN_CARD_KEYS))
    if clash:
        raise ValueError(f"card keys {clash} are set by export_image_encoder itself")
    out = Path(out_dir)
    doc = _card(encoder, int(card.pop("image_size", 256)), card.pop("source", {}))
    doc.update(card)
    json.dumps(doc)  # fail before writing anything if the card is not JSON-able
    sd = {k: v.detach().cpu().contiguous() for k, v in encoder.trunk.state_dict().items()}
    payload = {"format": IMAGE_ENCODER_FORMAT, "version": IMAGE_ENCODER_VERSION, "arch": encoder.arch,
               "state_dict": sd}
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / WEIGHTS_FILE) as tmp:
        torch.save(payload, tmp)
    atomic_write_json(out / CARD_FILE, doc)
    return out


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read encoder card ({type(exc).__name__})", file=display_path(path)) from exc
    if not isinstance(doc, dict):
        raise InputError("encoder card is not a JSON object", file=display_path(path))
    return doc


def _check_format(doc: Mapping[str, Any], fmt: str, newest: int, where: Path) -> None:
    if doc.get("format") != fmt:
        raise InputError(f"not an {fmt} file (format {doc.get('format')!r})", file=display_path(where))
    version = doc.get("version")
    if not isinstance(version, int) or version < 1:
        raise InputError(f"invalid {fmt} version {version!r}", file=display_path(where))
    if version > newest:
        raise InputError(f"{fmt} version {version} was written by a newer mvkl (this one reads <= {newest})",
                         file=display_path(where))


def _load_encoder_dir(d: Path) -> tuple[ImageEncoder, dict[str, Any]]:
    card_path = d / CARD_FILE
    card = _check_card(_read_json(card_path), card_path)
    weights = d / WEIGHTS_FILE
    payload = read_state_dict_file(weights)
    _check_format(payload, IMAGE_ENCODER_FORMAT, IMAGE_ENCODER_VERSION, weights)
    if payload.get("arch") != card["arch"]:
        raise InputError(f"weights are for {payload.get('arch')!r} but the card says {card['arch']!r}",
                         file=display_path(weights))
    enc = ImageEncoder(card["arch"], normalization=card["normalization"]["name"])
    load_trunk_weights(enc.trunk, payload["state_dict"], source=display_path(weights))
    enc.weights_source = "export"
    return enc.eval(), card


def _check_card(card: dict[str, Any], path: Path) -> dict[str, Any]:
    _check_format(card, IMAGE_ENCODER_FORMAT, IMAGE_ENCODER_VERSION, path)
    arch = card.get("arch")
    if arch not in ARCHS:
        raise InputError(f"unknown arch {arch!r} in the card; this mvkl knows {', '.join(ARCHS)}",
                         file=display_path(path))
    norm = card.get("normalization")
    name = norm.get("name") if isinstance(norm, Mapping) else None
    if name not in NORMALIZATIONS:
        raise InputError(f"unknown normalization {name!r} in the card", file=display_path(path))
    mean, std = NORMALIZATIONS[name]
    if [round(float(v), 6) for v in norm.get("mean", mean)] != [round(v, 6) for v in mean] or \
            [round(float(v), 6) for v in norm.get("std", std)] != [round(v, 6) for v in std]:
        raise InputError(f"card normalization mean/std differ from mvkl's {name!r} values", file=display_path(path))
    return card


def _keyword(spec: str, arch: str) -> tuple[str, str, int] | None:
    head, *rest = spec.split(":")
    if head not in ("imagenet", "random") or len(rest) > (2 if head == "random" else 1):
        return None
    arch = rest[0] if rest and rest[0] else arch
    try:
        seed = int(rest[1]) if len(rest) > 1 else 0
    except ValueError as exc:
        raise InputError(f"invalid seed in encoder spec {spec!r} (expected random:ARCH:SEED)") from exc
    return head, arch, seed


def load_image_encoder(spec: str | os.PathLike[str], *, arch: str = "resnet50",
                       image_weights: str | os.PathLike[str] | None = None) -> tuple[ImageEncoder, dict[str, Any]]:
    """Load an image encoder (see the module docstring for ``spec``); returns ``(encoder.eval(), card)``.

    ``arch`` applies to keywords and state-dict files; an export's card names its own arch.
    ``image_weights`` replaces the hub-cache file for ``"imagenet"``.
    """
    kw = _keyword(spec, arch) if isinstance(spec, str) else None
    if kw is not None:
        kind, a, seed = kw
        if kind == "imagenet":
            enc = ImageEncoder(a, weights=image_weights if image_weights is not None else "imagenet")
            source: dict[str, Any] = {"kind": "imagenet", "weights": "IMAGENET1K_V1"}
            if image_weights is not None:
                source["file"] = Path(image_weights).name
        else:
            enc = ImageEncoder(a, seed=seed)
            source = {"kind": "random", "seed": seed}
        return enc.eval(), _card(enc, None, source)
    p = Path(spec)
    if p.is_dir():
        for d in (p, p / ENCODER_SUBDIR):
            if (d / CARD_FILE).is_file():
                return _load_encoder_dir(d)
        for f in (p / VIKL_FILE, p / VIKL_SUBDIR / VIKL_FILE):
            if f.is_file():
                return _encoder_from_vikl(f)
        raise InputError(f"no image encoder here: expected {CARD_FILE} + {WEIGHTS_FILE}, a run directory with "
                         f"{ENCODER_SUBDIR}/, or {VIKL_FILE}; or use 'imagenet' / 'random'", file=display_path(p))
    if p.is_file():
        if p.name == VIKL_FILE:
            return _encoder_from_vikl(p)
        enc = ImageEncoder(arch, weights=p)
        return enc.eval(), _card(enc, None, {"kind": "file", "file": p.name})
    raise InputError("image encoder not found: expected a directory, a weights file, 'imagenet' or 'random'",
                     file=display_path(p))


def _read_vikl(f: Path) -> dict[str, Any]:
    payload = read_state_dict_file(f)
    _check_format(payload, VIKL_FORMAT, VIKL_VERSION, f)
    if not isinstance(payload.get("model_config"), Mapping) or not isinstance(payload.get("state_dict"), Mapping):
        raise InputError("whole-model file lacks model_config or state_dict", file=display_path(f))
    return payload


def _encoder_from_vikl(f: Path) -> tuple[ImageEncoder, dict[str, Any]]:
    payload = _read_vikl(f)
    mc = payload["model_config"]
    enc = ImageEncoder(mc["arch"], normalization=mc.get("normalization", "clip"))
    load_trunk_weights(enc.trunk, {k: v for k, v in payload["state_dict"].items()
                                   if k.startswith("image_encoder.trunk.")}, source=display_path(f))
    cfg = payload.get("config") or {}
    source = dict(cfg.get("source", {})) if isinstance(cfg.get("source"), Mapping) else {}
    source.setdefault("kind", "vikl")
    return enc.eval(), _card(enc, cfg.get("image_size"), source)


def save_vikl(model: ViKL, out_dir: str | os.PathLike[str], config: Mapping[str, Any] | None = None) -> Path:
    """Save the whole model into ``out_dir`` (``vikl.pt`` + ``text/``); ``config`` must be JSON-able.

    ``config`` is free (training options; ``image_size`` and a ``source`` dict are used when an
    image encoder is loaded from this file). ``text/`` is written first through a temporary
    directory, ``vikl.pt`` last and atomically. Returns ``out_dir``.
    """
    config = json.loads(json.dumps(dict(config or {})))  # plain types only (weights_only loading)
    model = _unwrap(model)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if model.text_encoder is not None:
        tmp = Path(tempfile.mkdtemp(prefix=f".{TEXT_SUBDIR}.", dir=out))
        try:
            model.text_encoder.save_pretrained(tmp)
            if (out / TEXT_SUBDIR).exists():
                shutil.rmtree(out / TEXT_SUBDIR)
            os.replace(tmp, out / TEXT_SUBDIR)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(tmp)
            raise
    sd = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if not k.startswith("text_encoder.")}
    payload = {"format": VIKL_FORMAT, "version": VIKL_VERSION, "model_config": model.model_config(),
               "config": config, "state_dict": sd, "mvkl_version": __version__}
    with atomic_path(out / VIKL_FILE) as tmp_file:
        torch.save(payload, tmp_file)
    return out


def load_vikl(path: str | os.PathLike[str]) -> tuple[ViKL, Any, dict[str, Any]]:
    """Load a model saved by :func:`save_vikl` (``path``: its directory, ``vikl.pt``, or a run directory
    with ``vikl/``). Returns ``(model.eval(), tokenizer or None, config)``; every key must load."""
    p = Path(path)
    f = p if p.is_file() else next((c for c in (p / VIKL_FILE, p / VIKL_SUBDIR / VIKL_FILE) if c.is_file()), None)
    if f is None:
        raise InputError(f"no {VIKL_FILE} here (save_vikl output or a run directory with {VIKL_SUBDIR}/)",
                         file=display_path(p))
    payload = _read_vikl(f)
    mc = dict(payload["model_config"])
    text = None
    if mc.get("has_text"):
        text = TextEncoder(f.parent / TEXT_SUBDIR, pooling=str(mc.get("text_pooling") or "pooler"))
    model = ViKL(ImageEncoder(mc["arch"], normalization=mc.get("normalization", "clip")), text,
                 use_manifest=bool(mc["use_manifest"]), embed_dim=int(mc["embed_dim"]),
                 text_dropout=float(mc["text_dropout"]), manifest_dropout=float(mc["manifest_dropout"]),
                 projector_bn=str(mc["projector_bn"]), manifest_dim=int(mc.get("manifest_dim", 35)),
                 view_passes=str(mc.get("view_passes", "joint")))
    sd = payload["state_dict"]
    own = model.state_dict()
    missing = sorted(k for k in set(own) - set(sd) if not k.startswith("text_encoder."))
    unexpected = sorted(set(sd) - set(own))
    shapes = sorted(k for k in set(own) & set(sd) if tuple(own[k].shape) != tuple(sd[k].shape))
    if missing or unexpected or shapes:
        raise InputError(f"model file does not fit its own config: missing {missing[:8]}, unexpected "
                         f"{unexpected[:8]}, mis-shaped {shapes[:8]}", file=display_path(f))
    model.load_state_dict(sd, strict=False)
    return model.eval(), (text.tokenizer if text is not None else None), dict(payload.get("config") or {})
