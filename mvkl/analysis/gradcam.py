"""Grad-CAM (Selvaraju et al., ICCV 2017) for the fine-tuned malignancy classifier (paper Sec.
5.9, Fig. 6: ResNet-50 ``layer3``).

For a target layer with activations ``A`` (B, K, h, w) and the malignant score ``y`` of each image:

    α_k = mean_{i,j} ∂y/∂A_k(i,j)            (global-average-pooled gradients, Eq. 1)
    L   = ReLU(Σ_k α_k A_k)                  (Eq. 2)

``L`` is upsampled bilinearly to the image's shape and divided by its maximum (a map that is zero
everywhere stays zero: the layer holds no positive evidence for malignancy). The score is the
malignant *logit*: ``module.logits(x)`` when the classifier exposes it (column 1 of a two-class
head, or the single logit of a one-logit head), otherwise ``logit(p)`` of the malignant
probability ``module(x)`` (for a two-class softmax this is ``z₁ − z₀``).

Implementation: a forward hook on the layer keeps its output and registers a tensor (backward)
hook that receives ∂y/∂A; ``torch.autograd.grad`` with respect to the input drives the backward
pass, so no parameter ``.grad`` is touched. The module is put in eval mode for the call (BatchNorm
running statistics, no dropout) and its mode is restored; gradients are enabled locally, so the
call works inside ``torch.no_grad()`` and ``torch.inference_mode()`` too, and with frozen
parameters. Hooks are removed whatever happens.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.errors import InputError, MvklError
from mvkl.fsutil import atomic_path

__all__ = ["BoxScore", "CamResult", "box_score", "box_summary", "grad_cam", "malignant_score", "overlay_rgb",
           "resolve_layer", "save_overlay", "save_sheet"]

#: Pointing-game tolerance in stored pixels: the CAM's peak counts as a hit within this distance
#: of a lesion box (Zhang et al., "Top-down neural attention by excitation backprop", ECCV 2016,
#: use 15 px at 224 px; a stored lesion view or whole view is smaller).
POINTING_TOLERANCE = 1.0

_PREFIXES = ("", "encoder.trunk.", "trunk.", "image_encoder.trunk.", "encoder.")


def resolve_layer(module: Any, name: str) -> Any:
    """The submodule ``name`` of ``module``, also looked up under the classifier's trunk
    (``encoder.trunk.<name>``, ``trunk.<name>``, ...). InputError listing the choices otherwise."""
    for pre in _PREFIXES:
        try:
            return module.get_submodule(pre + name)
        except AttributeError:
            continue
    trunk = None
    for pre in ("encoder.trunk", "trunk", "image_encoder.trunk"):
        try:
            trunk = module.get_submodule(pre)
            break
        except AttributeError:
            continue
    names = [n for n, _ in (trunk or module).named_children()]
    raise InputError(f"no layer {name!r} in the classifier; choose one of {', '.join(names)} "
                     "(or a dotted path)", code="option")


def malignant_score(module: Any, x: Any) -> Any:
    """The malignant logit (module docstring), shape (B,)."""
    import torch

    if callable(getattr(module, "logits", None)):
        z = module.logits(x)
        if z.dim() == 2 and z.shape[1] == 2:
            return z[:, 1]
        if z.dim() == 2 and z.shape[1] == 1:
            return z[:, 0]
        if z.dim() == 1:
            return z
        raise ValueError(f"logits of shape {tuple(z.shape)}: expected (B,), (B, 1) or (B, 2)")
    p = module(x)
    return torch.logit(p.reshape(p.shape[0]).clamp(1e-7, 1 - 1e-7))


@dataclass
class CamResult:
    """Grad-CAM of a batch.

    Attributes:
        cam: (B, H, W) float32 in [0, 1], upsampled to the image's shape.
        raw: (B, h, w) float32, ReLU(Σ α_k A_k) at the layer's resolution, not normalised.
        score: (B,) the malignant logit that was differentiated.
    """

    cam: np.ndarray
    raw: np.ndarray
    score: np.ndarray


def grad_cam(module: Any, x: Any, layer: Any, *, out_size: tuple[int, int] | None = None,
             score_fn: Callable[[Any, Any], Any] | None = None) -> CamResult:
    """Grad-CAM of ``layer`` for the images ``x`` (B, C, H, W) (module docstring).

    Args:
        module: the classifier; ``layer``: one of its submodules (:func:`resolve_layer`).
        out_size: (H, W) of the returned maps (default: the input's).
        score_fn: ``f(module, x) -> (B,)`` score to explain (default :func:`malignant_score`).
    """
    import torch
    import torch.nn.functional as F

    score_fn = score_fn or malignant_score
    store: dict[str, Any] = {}

    def keep_grad(g: Any) -> None:
        store["G"] = g.detach()

    def forward_hook(_mod: Any, _inp: Any, out: Any) -> None:
        if not torch.is_tensor(out):
            raise MvklError("Grad-CAM needs a layer whose output is one tensor")
        store["A"] = out
        if out.requires_grad:
            out.register_hook(keep_grad)

    was_training = module.training
    handle = layer.register_forward_hook(forward_hook)
    try:
        module.eval()
        with torch.inference_mode(False), torch.enable_grad():
            xx = x.detach().clone().requires_grad_(True)
            score = score_fn(module, xx)
            if "A" not in store:
                raise MvklError("the chosen Grad-CAM layer was not used in the forward pass")
            if score.dim() != 1 or score.shape[0] != xx.shape[0]:
                raise ValueError(f"score must have shape ({xx.shape[0]},), got {tuple(score.shape)}")
            torch.autograd.grad(score.sum(), xx)
        if "G" not in store:
            raise MvklError("no gradient reached the chosen Grad-CAM layer")
        a, g = store["A"].detach().float(), store["G"].float()
        weights = g.mean(dim=(2, 3), keepdim=True)
        raw = F.relu((weights * a).sum(dim=1))
        size = tuple(out_size) if out_size is not None else tuple(x.shape[-2:])
        up = F.interpolate(raw[:, None], size=size, mode="bilinear", align_corners=False)[:, 0].clamp_min(0)
        peak = up.flatten(1).amax(dim=1).view(-1, 1, 1)
        cam = torch.where(peak > 0, up / peak.clamp_min(1e-12), torch.zeros_like(up))
        return CamResult(cam.cpu().numpy().astype(np.float32), raw.cpu().numpy().astype(np.float32),
                         score.detach().float().cpu().numpy())
    finally:
        handle.remove()
        module.train(was_training)


# --- scoring against lesion boxes ----------------------------------------------------------------


@dataclass(frozen=True)
class BoxScore:
    """How a CAM agrees with an image's lesion boxes (stored pixels).

    Attributes:
        energy_in_box: share of the CAM's mass ``Σ cam`` on pixels whose centre lies in a box
            (None for an all-zero CAM).
        hit: pointing game: the CAM's peak (first maximum, pixel centre) lies within the tolerance
            of a box; False for an all-zero CAM (it points nowhere).
        peak: (row, col) of that peak.
    """

    energy_in_box: float | None
    hit: bool
    peak: tuple[int, int]


def _inside(boxes: np.ndarray, y: np.ndarray, x: np.ndarray, tol: float) -> np.ndarray:
    """Whether the points (pixel centres) lie in any box grown by ``tol`` on each side."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    yy, xx = np.asarray(y, dtype=np.float64)[..., None], np.asarray(x, dtype=np.float64)[..., None]
    return ((xx >= b[:, 0] - tol) & (xx <= b[:, 2] + tol) & (yy >= b[:, 1] - tol) & (yy <= b[:, 3] + tol)).any(-1)


def box_score(cam: np.ndarray, boxes: np.ndarray, tolerance: float = POINTING_TOLERANCE) -> BoxScore:
    """Score one CAM ``(H, W)`` (non-negative, the stored image's frame) against ``boxes``
    ``(k, 4)`` = xmin, ymin, xmax, ymax in stored pixel edges (a pixel ``(r, c)`` has its centre at
    ``(r + 0.5, c + 0.5)``): the energy share inside the boxes and the pointing-game hit."""
    c = np.clip(np.asarray(cam, dtype=np.float64), 0.0, None)
    h, w = c.shape
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    inside = _inside(boxes, yy, xx, 0.0)
    total = float(c.sum())
    peak = tuple(int(v) for v in np.unravel_index(int(np.argmax(c)), c.shape))
    if total <= 0:
        return BoxScore(None, False, peak)  # type: ignore[arg-type]
    hit = bool(_inside(boxes, np.array([peak[0] + 0.5]), np.array([peak[1] + 0.5]), float(tolerance))[0])
    return BoxScore(float(c[inside].sum()) / total, hit, peak)  # type: ignore[arg-type]


def box_summary(scores: Sequence[BoxScore | None], tolerance: float = POINTING_TOLERANCE) -> dict[str, Any]:
    """Over the images that have a box (``None``: no box): how many, the mean energy share inside
    the box (over CAMs that are not all zero) and the pointing-game hit rate."""
    have = [s for s in scores if s is not None]
    energy = [s.energy_in_box for s in have if s.energy_in_box is not None]
    return {"images_with_box": len(have), "tolerance_px": float(tolerance),
            "energy_in_box_mean": round(float(np.mean(energy)), 4) if energy else None,
            "pointing_hit_rate": round(sum(s.hit for s in have) / len(have), 4) if have else None,
            "pointing_hits": int(sum(s.hit for s in have))}


# --- pictures ------------------------------------------------------------------------------------


def _grey01(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    return np.clip(img.astype(np.float32), 0.0, 1.0)


def overlay_rgb(image: np.ndarray, cam: np.ndarray, *, alpha: float = 0.6) -> np.ndarray:
    """(H, W, 3) uint8: the grey image with the jet-coloured CAM blended in proportion to the
    CAM (weight ``alpha · cam``), so regions without evidence show the plain image."""
    from matplotlib import colormaps

    g = _grey01(image)
    c = np.clip(np.asarray(cam, np.float32), 0.0, 1.0)
    if g.shape != c.shape:
        raise ValueError(f"image {g.shape} and CAM {c.shape} differ in shape")
    heat = colormaps["jet"](c)[..., :3].astype(np.float32)
    w = (alpha * c)[..., None]
    return np.rint(255 * ((1 - w) * g[..., None] + w * heat)).astype(np.uint8)


def save_overlay(path: str | os.PathLike[str], image: np.ndarray, cam: np.ndarray, *, min_side: int = 256) -> Path:
    """PNG of ``[image | overlay]`` side by side, enlarged (nearest) to at least ``min_side`` px."""
    from PIL import Image

    g = np.rint(255 * _grey01(image)).astype(np.uint8)
    both = np.concatenate([np.repeat(g[..., None], 3, axis=2), np.full((g.shape[0], 4, 3), 255, np.uint8),
                           overlay_rgb(image, cam)], axis=1)
    scale = max(1, int(np.ceil(min_side / g.shape[0])))
    if scale > 1:
        both = np.repeat(np.repeat(both, scale, axis=0), scale, axis=1)
    final = Path(path)
    with atomic_path(final) as tmp:
        Image.fromarray(both).save(tmp, format="PNG")
    return final


def save_sheet(path: str | os.PathLike[str], images: Sequence[np.ndarray], cams: Sequence[np.ndarray],
               captions: Sequence[str], *, title: str = "Grad-CAM", per_row: int = 6) -> Path:
    """Contact sheet in the layout of paper Fig. 6: for each image, the image above its Grad-CAM
    overlay, ``per_row`` images per band, one caption per image, and the colour scale."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    n = len(images)
    if n == 0 or not (n == len(cams) == len(captions)):
        raise ValueError("the sheet needs as many images, CAMs and captions, at least one")
    cols = min(per_row, n)
    bands = -(-n // cols)
    fig = Figure(figsize=(2.1 * cols + 0.9, 4.5 * bands + 0.5), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2 * bands, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        b, c = divmod(i, cols)
        top, bottom = axes[2 * b, c], axes[2 * b + 1, c]
        top.imshow(_grey01(images[i]), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        top.set_title(captions[i], fontsize=8)
        bottom.imshow(overlay_rgb(images[i], cams[i]), interpolation="nearest")
        bottom.set_title("Grad-CAM", fontsize=7, color="0.35")
    fig.colorbar(ScalarMappable(Normalize(0, 1), colormaps["jet"]), ax=axes.ravel().tolist(),
                 shrink=0.5 if bands <= 2 else max(0.08, 1.0 / bands),
                 label="Grad-CAM (normalised per image)")
    fig.suptitle(title, fontsize=11)
    final = Path(path)
    with atomic_path(final) as tmp:
        fig.savefig(tmp, format="png", dpi=110, facecolor="white")
    return final


# --- workflow: CAMs of a list of input images ----------------------------------------------------


def write_cams(module: Any, items: Sequence[Any], out_dir: str | os.PathLike[str], *, layer: str = "layer3",
               input_size: int, device: Any = None, batch_size: int = 16, probs: Sequence[float] | None = None,
               save_arrays: bool = False, title: str = "Grad-CAM", per_row: int = 6, sheet_limit: int = 48,
               on_batch: Callable[[int], None] | None = None, boxes: Sequence[np.ndarray | None] | None = None,
               tolerance: float = POINTING_TOLERANCE) -> dict[str, Any]:
    """Grad-CAM overlays of ``items`` (:class:`mvkl.analysis.inputs.InputImage` with pixels) into
    ``out_dir``: ``cam_<position>_<key>.png`` per image (image | overlay), ``cam_sheet.png`` (the
    first ``sheet_limit`` images, captioned), and with ``save_arrays`` ``cam_arrays.npz`` (``cam``
    (n, S, S) float32 normalised at the stored image's shape, ``raw`` (n, h, w) at the layer's
    resolution, ``score`` malignant logits, ``prob``, ``key``, ``position``). File names hold only
    positions and keys (hashes or pseudonyms), never source names. Such files left in ``out_dir`` by
    a previous run are removed once the new maps are computed.

    ``boxes`` (one ``(k, 4)`` array of stored-pixel lesion boxes or None per item, as ``items``)
    scores each CAM against its boxes (:func:`box_score`).

    Returns ``{"layer", "overlays": [file names], "sheet", "sheet_images", "arrays", "score": [...],
    "peak": [(y, x)], "positions", "box_scores": [BoxScore | None], "boxes": box_summary}``.
    """
    import torch

    from mvkl.analysis.inputs import to_model_input

    target = resolve_layer(module, layer)
    dev = device or torch.device("cpu")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ok = [it for it in items if it.ok]
    if not ok:
        raise InputError("no readable image to explain", code="no-images")
    cams, raws, scores = [], [], []
    for s in range(0, len(ok), batch_size):
        chunk = ok[s : s + batch_size]
        x = torch.stack([to_model_input(it.pixels, input_size) for it in chunk]).to(dev)
        res = grad_cam(module, x, target, out_size=tuple(chunk[0].pixels.shape[-2:]))
        cams.extend(res.cam)
        raws.extend(res.raw)
        scores.extend(res.score.tolist())
        if on_batch is not None:
            on_batch(len(chunk))
    for old in [*out.glob("cam_[0-9]*_*.png"), out / "cam_sheet.png", out / "cam_arrays.npz"]:
        old.unlink(missing_ok=True)  # a previous run's pictures must not mix with these
    names, captions = [], []
    pmap = dict(zip([it.position for it in items], probs, strict=True)) if probs is not None else {}
    for it, cam in zip(ok, cams, strict=True):
        name = f"cam_{it.position:03d}_{it.key}.png"
        save_overlay(out / name, it.pixels, cam)
        names.append(name)
        lab = {1: "malignant", 0: "benign", -1: "label unknown"}.get(it.label, "") if it.label is not None else ""
        p = pmap.get(it.position)
        captions.append(f"#{it.position} {it.key[:10]}\n{it.view} {it.laterality}"
                        + (f" · {lab}" if lab else "") + (f"\np(malignant) = {p:.2f}" if p is not None else ""))
    k = min(len(ok), max(1, int(sheet_limit)))
    if k < len(ok):
        title = f"{title} · first {k} of {len(ok)} images (all in cam_*.png)"
    sheet = save_sheet(out / "cam_sheet.png", [it.pixels for it in ok[:k]], cams[:k], captions[:k], title=title,
                       per_row=per_row)
    arrays = None
    if save_arrays:
        arrays = out / "cam_arrays.npz"
        with atomic_path(arrays) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, cam=np.stack(cams).astype(np.float32),
                                raw=np.stack(raws).astype(np.float32), score=np.asarray(scores, np.float32),
                                prob=np.asarray([pmap.get(it.position, np.nan) for it in ok], np.float64),
                                key=np.asarray([it.key for it in ok]), position=np.asarray([it.position for it in ok]))
    peaks = [tuple(int(v) for v in np.unravel_index(int(np.argmax(c)), c.shape)) for c in cams]
    bmap = dict(zip([it.position for it in items], boxes, strict=True)) if boxes is not None else {}
    bs = [None if bmap.get(it.position) is None or not len(bmap[it.position])
          else box_score(c, bmap[it.position], tolerance) for it, c in zip(ok, cams, strict=True)]
    return {"layer": layer, "overlays": names, "sheet": sheet.name, "sheet_images": k,
            "arrays": arrays.name if arrays else None,
            "score": scores, "peak": peaks, "positions": [it.position for it in ok],
            "box_scores": bs, "boxes": box_summary(bs, tolerance) if boxes is not None else None}
