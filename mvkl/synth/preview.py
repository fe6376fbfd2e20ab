"""Contact sheet of a synthetic data set (``mvkl synth --preview OUT.png``).

Row 1: the four views (LCC, LMLO, RCC, RMLO) of one exam with a lump, displayed through their own
VOI window (MONOCHROME1 inverted), lumps circled. Row 2: the same views area-downsampled to 256 px
on the long side, without marks, as a network sees them. Row 3: crops of lumps of each margin
class (well-circumscribed, obscured, microlobulated, spiculated). Row 4: the three calcification
distributions (scattered, clustered, linear/segmental) and a spiculated mass with architectural
distortion. Crops come from the data set when it holds such a lump, otherwise a demonstration lump
is rendered with the same code and labelled "demo".
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from mvkl.fsutil import atomic_path
from mvkl.manifest import schema as S

__all__ = ["area_downsample", "display", "write_preview"]

MARGINS = ("mass_edge.well_circumscribed", "mass_edge.obscured", "mass_edge.microlobulated", "mass_edge.spiculated")
DISTRIBUTIONS = ("calc_distribution.scattered", "calc_distribution.clustered", "calc_distribution.linear_segmental")


def _multi(v: Any) -> bool:
    return hasattr(v, "__len__") and not isinstance(v, (str, bytes))


def display(ds: Any) -> npt.NDArray[np.float32]:
    """Stored pixels -> [0, 1] through the first VOI window (linear), MONOCHROME1 inverted."""
    arr = ds.pixel_array.astype(np.float32)
    c = ds.get("WindowCenter")
    w = ds.get("WindowWidth")
    if c is not None and w is not None:
        c = float(c[0] if _multi(c) else c)
        w = float(w[0] if _multi(w) else w)
        out = np.clip((arr - (c - w / 2)) / w, 0, 1)
    else:
        lo, hi = np.percentile(arr, [1, 99.5])
        out = np.clip((arr - lo) / max(hi - lo, 1), 0, 1)
    if ds.PhotometricInterpretation == "MONOCHROME1":
        out = 1 - out
    return out


def area_downsample(img: npt.NDArray[np.float32], long_side: int = 256) -> npt.NDArray[np.float32]:
    """Area (box) resampling so that the long side is ``long_side`` px."""
    from PIL import Image

    h, w = img.shape
    s = long_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    return np.asarray(Image.fromarray(img.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX))


def _row_of(meta: dict[str, Any], key: str) -> bool:
    return key in meta.get("_keys", ())


def _dataset_lumps(root: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Lumps of the data set with their manifestation keys (read from the tables)."""
    from mvkl.manifest.table import parse_manifest_frame, read_table

    out = []
    detail = {(d["table"], d["row"]): d for d in manifest["lumps_detail"]}
    for table in manifest["tables"]:
        df = read_table(root / table)
        if df.height == 0:
            continue
        mt = parse_manifest_frame(df, table, layout="positional")
        for i, rec in enumerate(df.iter_rows(named=True)):
            d = detail.get((table, i + 2))
            if d is None or not d["views"]:
                continue
            keys = {S.OPTIONS[j].key for j in np.nonzero(mt.vectors[i])[0]}
            folder = root / _folder_of(manifest, table, rec)
            out.append({**d, "_keys": keys, "_folder": folder})
    return out


def _folder_of(manifest: dict[str, Any], table: str, rec: dict[str, Any]) -> str:
    batch = Path(table).stem.split("_", 1)[1]
    return f"{batch}/{rec['patient_id']}/{rec['study_id']}"


def _crop(img: npt.NDArray[np.float32], cy: float, cx: float, r: float) -> npt.NDArray[np.float32]:
    half = int(max(24, 2.6 * r))
    y0, x0 = max(0, int(cy) - half), max(0, int(cx) - half)
    return img[y0: int(cy) + half, x0: int(cx) + half]


def _demo_crop(key: str, extra: tuple[str, ...], image_size: int, seed: int) -> tuple[npt.NDArray[np.float32], str]:
    """Render one demonstration lump with ``key`` set (and plausible companions) and crop it."""
    from mvkl.synth.cases import draw_cases
    from mvkl.synth.clinical import LumpClinical
    from mvkl.synth.dicom_writer import to_stored
    from mvkl.synth.scene import render_view

    cases = draw_cases(1, seed=seed)
    exam = cases.exams[0]
    lump = exam.lumps[0]
    m = np.zeros(S.DIM, np.uint8)
    ok = S.option_by_key()
    defaults = {"mass_edge": ("mass_shape.ovoid", "mass_density.median", "mass_size.le_2cm"),
                "calc_distribution": ("calc_shape.crescentic", "calc_size.tiny", "calc_density.high")}
    group = key.split(".")[0]
    for k in (key, *defaults.get(group, ()), *extra):
        m[ok[k].index] = 1
    kind = "calc" if group.startswith("calc") else "mass"
    lump.clinical = LumpClinical(kind, m, 0.0, 1, "4B", 0.0)
    lump.size_mm = (14.0, 11.0) if kind == "mass" else (12.0 if "clustered" in key else 30.0, 10.0)
    exam.lumps = [lump]
    image = exam.files_for(lump.laterality, "CC")[0]
    view = render_view(exam, image, image_size)
    stored, win = to_stored(view.image, exam.vendor, np.random.default_rng(seed))
    arr = stored.astype(np.float32)
    if exam.vendor.mono1:
        arr = 4095 - arr
        c = 4095 - win.centers[0]
    else:
        c = win.centers[0]
    img = np.clip((arr - (c - win.widths[0] / 2)) / win.widths[0], 0, 1)
    b = view.boxes[0]
    return _crop(img, b.cy, b.cx, b.radius), "demo"


def write_preview(root: str | os.PathLike[str], out_png: str | os.PathLike[str]) -> None:
    """Write the contact sheet of the synthetic data set at ``root`` to ``out_png`` (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pydicom

    root = Path(root)
    from mvkl.synth.orchestrate import MANIFEST_NAME

    manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    lumps = _dataset_lumps(root, manifest)
    hostile = {h["path"] for h in manifest["hostile"]}
    # An exam whose four views are all good and which has a lump.
    exam_lump = next((lp for lp in lumps if all(
        f"{lp['_folder'].relative_to(root)}/{p.name}" not in hostile for p in lp["_folder"].glob("*.dcm"))
        and len(list(lp["_folder"].glob("*.dcm"))) >= 4), lumps[0] if lumps else None)
    fig, axes = plt.subplots(4, 4, figsize=(16, 17), dpi=100)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_facecolor("black")
    if exam_lump is not None:
        folder = exam_lump["_folder"]
        views: dict[str, tuple[npt.NDArray[np.float32], str]] = {}
        for p in sorted(folder.glob("*.dcm")):
            ds = pydicom.dcmread(p)
            key = f"{ds.ImageLaterality}{ds.ViewPosition}"
            if key not in views:
                views[key] = (display(ds), p.name)
        marks = {v["file"]: v for vs in exam_lump["views"].values() for v in vs}
        for j, key in enumerate(("LCC", "LMLO", "RCC", "RMLO")):
            if key not in views:
                continue
            img, name = views[key]
            axes[0, j].imshow(img, cmap="gray", vmin=0, vmax=1)
            axes[0, j].set_title(f"{key}  {img.shape[0]}x{img.shape[1]}", fontsize=11)
            if name in marks:
                v = marks[name]
                axes[0, j].add_patch(plt.Circle((v["cx"], v["cy"]), v["r"] * 1.8, fill=False, color="yellow", lw=1))
            small = area_downsample(img)
            axes[1, j].imshow(small, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axes[1, j].set_title(f"{key} at {small.shape[0]}x{small.shape[1]} (no marks)", fontsize=11)
    cells = [(axes[2, j], k, ()) for j, k in enumerate(MARGINS)]
    cells += [(axes[3, j], k, ()) for j, k in enumerate(DISTRIBUTIONS)]
    cells.append((axes[3, 3], "mass_edge.spiculated", ("misc.architectural_distortion",)))
    size = int(manifest["image_size"])
    for ax, key, extra in cells:
        hits = [lp for lp in lumps if _row_of(lp, key) and all(e in lp["_keys"] for e in extra)
                and any(f"{lp['_folder'].relative_to(root)}/{v['file']}" not in hostile
                        for vs in lp["views"].values() for v in vs)]
        # Prefer a typical (<= 3 cm) lump: giant masses fill the whole crop.
        hit = min(hits, key=lambda lp: (lp["size_mm"][0] > 30, lp["table"], lp["row"]), default=None)
        if hit is not None:
            v = next(v for vs in hit["views"].values() for v in vs
                     if f"{hit['_folder'].relative_to(root)}/{v['file']}" not in hostile)
            img = display(pydicom.dcmread(hit["_folder"] / v["file"]))
            crop, src = _crop(img, v["cy"], v["cx"], v["r"]), f"{hit['table'].split('/')[-1]} row {hit['row']}"
            label = "malignant" if hit["label"] == 1 else "benign"
            src += f", {label}"
        else:
            crop, src = _demo_crop(key, extra, size, seed=int(manifest["seed"]) + 7)
        ax.imshow(crop, cmap="gray", vmin=0, vmax=1, interpolation="bilinear")
        opt = S.option_by_key()[key]
        title = opt.en + ("" if not extra else " + " + ", ".join(S.option_by_key()[e].en for e in extra))
        ax.set_title(f"{title}\n({src})", fontsize=10)
    fig.suptitle(f"mvkl synth: seed {manifest['seed']}, {manifest['exams']} exams, {manifest['lumps']} lumps, "
                 f"{size}-px images", fontsize=13)
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    with atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", facecolor="white")
    plt.close(fig)
