"""Normalised ViKL embeddings of a store's images, reports and manifestations (paper Sec. 5.7), and their file format.

The model runs in eval mode under ``torch.inference_mode``: the shared projector's BatchNorm then
uses its running statistics, which were pooled across modalities during pretraining (B43), so an
embedding does not depend on the batch it is computed in. Outputs are the projector's
L2-normalised vectors (``embed_image`` / ``embed_text`` / ``embed_manifest``).

* images: one row per stored image of the selected lumps (CC and MLO), with lump and image
  pseudonyms, view and laterality; images shared by two lumps appear once (the first lump);
* texts: one row per lump with a non-empty report (identical reports are embedded once);
* manifestations: one row per lump with at least one known dimension (unknown dimensions are 0,
  as in pretraining).

Files (:func:`write_embeddings`, by extension): HDF5 (``.h5``/``.hdf5``: datasets ``embedding``
(n, D) float32 and one dataset per column, root attributes ``modality``, ``dim``, ``normalized``,
``n_skipped``, ``model``, ``store``, ``split``, ``mvkl_version``) or Parquet (``.parquet``:
columns plus ``embedding`` as a fixed-size list of float32, the attributes as JSON in the schema
metadata key ``mvkl``). Only pseudonymous ids are written, never report text or paths.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mvkl.errors import InputError
from mvkl.fsutil import atomic_path, display_path

__all__ = [
    "MODALITIES",
    "EmbeddingTable",
    "embed_image_rows",
    "embed_manifests",
    "embed_store",
    "embed_texts",
    "model_input_size",
    "read_embeddings",
    "write_embeddings",
]

MODALITIES = ("image", "text", "manifest")
_ID_COLUMNS = ("lump_id", "image_id")


@dataclass
class EmbeddingTable:
    """Embeddings with their row descriptions.

    Attributes:
        modality: ``image``, ``text`` or ``manifest``.
        embedding: (n, D) float32 unit vectors.
        columns: per-row fields (``lump_id``, ``image_id``, ``view``, ``laterality``, ``label``,
            ``split``; image rows also ``row``, the store image row).
        n_skipped: lumps without the modality (no report / nothing known / no image).
        attrs: free JSON-able description (model, store, split).
    """

    modality: str
    embedding: np.ndarray
    columns: dict[str, np.ndarray]
    n_skipped: int = 0
    attrs: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.embedding.shape[0])


def model_input_size(config: dict[str, Any], store: Any) -> int:
    """The model's input side: ``image_size`` of its training config, else the store's."""
    size = config.get("image_size") if isinstance(config, dict) else None
    return int(size) if size else int(store.info.image_size)


def _device_of(model: Any) -> Any:
    import torch

    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return torch.device("cpu")


def embed_image_rows(model: Any, store: Any, rows: Sequence[int], *, input_size: int, batch_size: int = 64,
                     on_batch: Callable[[int], None] | None = None) -> np.ndarray:
    """``model.embed_image`` of store image rows (eval transform to ``input_size``) → (n, D) float32."""
    import torch

    from mvkl.analysis.inputs import to_model_input

    rows = np.asarray(rows, dtype=np.int64)
    dev = _device_of(model)
    out = []
    with torch.inference_mode():
        for s in range(0, len(rows), batch_size):
            chunk = rows[s : s + batch_size]
            pix = store.images(chunk)
            x = torch.stack([to_model_input(p, input_size) for p in pix]).to(dev)
            out.append(model.embed_image(x).float().cpu().numpy())
            if on_batch is not None:
                on_batch(len(chunk))
    return np.concatenate(out) if out else np.zeros((0, _out_dim(model)), np.float32)


def embed_texts(model: Any, tokenizer: Any, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """``model.embed_text`` of report texts (identical texts embedded once) → (n, D) float32."""
    import torch

    from mvkl.models.text import tokenize

    if tokenizer is None or getattr(model, "text_encoder", None) is None:
        raise InputError("this model has no text encoder (pretrained without reports)", code="no-text")
    uniq, inverse = np.unique(np.asarray(list(texts), dtype=object), return_inverse=True)
    dev = _device_of(model)
    max_len = int(getattr(model.text_encoder, "max_length", 512))
    out = []
    with torch.inference_mode():
        for s in range(0, len(uniq), batch_size):
            batch = tokenize(tokenizer, [str(t) for t in uniq[s : s + batch_size]], max_len)
            out.append(model.embed_text({k: v.to(dev) for k, v in batch.items()}).float().cpu().numpy())
    emb = np.concatenate(out) if out else np.zeros((0, _out_dim(model)), np.float32)
    return emb[inverse.reshape(-1)] if len(texts) else emb


def embed_manifests(model: Any, vectors: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
    """``model.embed_manifest`` of (n, 35) 0/1 vectors → (n, D) float32."""
    import torch

    if getattr(model, "manifest_encoder", None) is None:
        raise InputError("this model has no manifestation branch", code="no-manifest")
    v = np.asarray(vectors, dtype=np.float32)
    dev = _device_of(model)
    out = []
    with torch.inference_mode():
        for s in range(0, len(v), batch_size):
            out.append(model.embed_manifest(torch.from_numpy(v[s : s + batch_size]).to(dev)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, _out_dim(model)), np.float32)


def _out_dim(model: Any) -> int:
    cfg = model.model_config() if hasattr(model, "model_config") else {}
    return int(cfg.get("embed_dim", 128))


def _lump_fields(store: Any, lumps: np.ndarray) -> dict[str, np.ndarray]:
    from mvkl.store import schema as SC

    L = store.lumps
    names = store.info.attrs.get("split_names") or list(SC.SPLIT_NAMES)
    lat = store.info.attrs.get("laterality_codes") or list(SC.LATERALITY_CODES)
    return {
        "lump_id": np.array([bytes(x).decode("ascii") for x in L["lump_id"][lumps]], dtype=object),
        "laterality": np.array([lat[int(v)] for v in L["laterality"][lumps]], dtype=object),
        "label": L["label"][lumps].astype(np.int8),
        "split": np.array([names[int(v)] for v in L["split"][lumps]], dtype=object),
    }


def lump_images(store: Any, lumps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lump position, image row, view name)`` of every image of ``lumps`` (CC first), each
    image row once per lump. Used for per-image queries that need their lump's report."""
    L = store.lumps
    pos, rows, views = [], [], []
    for i, li in enumerate(lumps):
        cc, mlo = int(L["cc"][li]), int(L["mlo"][li])
        for r, name in ((cc, "CC"), (mlo, "MLO")):
            if r >= 0 and not (name == "MLO" and r == cc):
                pos.append(i)
                rows.append(r)
                views.append(name)
    return np.asarray(pos, np.int64), np.asarray(rows, np.int64), np.asarray(views, dtype=object)


def embed_store(model: Any, tokenizer: Any, store: Any, modality: str, *, split: str | None = None,
                input_size: int | None = None, batch_size: int = 64,
                on_batch: Callable[[int], None] | None = None) -> EmbeddingTable:
    """Embeddings of one modality for the lumps of ``split`` (None = all) (module docstring)."""
    if modality not in MODALITIES:
        raise InputError(f"--modality must be one of {', '.join(MODALITIES)} (got {modality!r})", code="option")
    lumps = store.lump_indices(split)
    L = store.lumps
    if modality == "image":
        pos, rows, views = lump_images(store, lumps)
        keep = np.ones(len(rows), bool)
        seen: set[int] = set()
        for j, r in enumerate(rows):  # an image shared by two lumps: once, with the first lump
            keep[j] = int(r) not in seen
            seen.add(int(r))
        pos, rows, views = pos[keep], rows[keep], views[keep]
        meta = store.images_meta
        fields = {k: v[pos] for k, v in _lump_fields(store, lumps).items()}
        fields.pop("laterality")
        from mvkl.store import schema as SC

        lat = store.info.attrs.get("laterality_codes") or list(SC.LATERALITY_CODES)
        codes = store.info.attrs.get("view_codes") or list(SC.VIEW_CODES)
        views = np.array([codes[int(v)] if int(v) < len(codes) else "other" for v in meta["view"][rows]],
                         dtype=object)
        cols = {"lump_id": fields["lump_id"],
                "image_id": np.array([bytes(x).decode("ascii") for x in meta["image_id"][rows]], dtype=object),
                "view": views, "laterality": np.array([lat[int(v)] for v in meta["laterality"][rows]], dtype=object),
                "label": meta["label"][rows].astype(np.int8), "split": fields["split"], "row": rows}
        size = input_size or int(store.info.image_size)
        emb = embed_image_rows(model, store, rows, input_size=size, batch_size=batch_size, on_batch=on_batch)
        n_skipped = int(np.sum((L["cc"][lumps] < 0) & (L["mlo"][lumps] < 0)))
    elif modality == "text":
        reports = [str(r) for r in L["report"][lumps]]
        has = np.array([bool(r.strip()) for r in reports], dtype=bool)
        sel = lumps[has]
        cols = _lump_fields(store, sel)
        emb = embed_texts(model, tokenizer, [r for r, h in zip(reports, has, strict=True) if h],
                          batch_size=batch_size)
        n_skipped = int((~has).sum())
    else:
        known = L["manifest_known"][lumps].astype(bool).any(axis=1)
        sel = lumps[known]
        cols = _lump_fields(store, sel)
        emb = embed_manifests(model, L["manifest"][sel])
        n_skipped = int((~known).sum())
    return EmbeddingTable(modality, np.ascontiguousarray(emb, dtype=np.float32), cols, n_skipped,
                          {"split": split or "all", "store": Path(store.path).name})


# --- files ---------------------------------------------------------------------------------------


def _format_of(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in (".h5", ".hdf5"):
        return "hdf5"
    if ext in (".parquet", ".pq"):
        return "parquet"
    raise InputError("output must end in .h5/.hdf5 (HDF5) or .parquet (Parquet)", file=display_path(path),
                     code="option")


def _attrs(table: EmbeddingTable) -> dict[str, Any]:
    from mvkl import __version__

    return {**table.attrs, "modality": table.modality, "dim": int(table.embedding.shape[1]),
            "n": len(table), "normalized": True, "n_skipped": int(table.n_skipped), "mvkl_version": __version__}


def write_embeddings(path: str | os.PathLike[str], table: EmbeddingTable) -> Path:
    """Write ``table`` atomically as HDF5 or Parquet, chosen by the extension (module docstring)."""
    final = Path(path)
    fmt = _format_of(final)
    attrs = _attrs(table)
    with atomic_path(final) as tmp:
        if fmt == "hdf5":
            import h5py

            with h5py.File(tmp, "w") as f:
                f.create_dataset("embedding", data=table.embedding.astype(np.float32))
                for k, v in table.columns.items():
                    if v.dtype == object:
                        f.create_dataset(k, data=np.array([str(s) for s in v], dtype=object),
                                         dtype=h5py.string_dtype("utf-8"))
                    else:
                        f.create_dataset(k, data=v)
                for k, v in attrs.items():
                    f.attrs[k] = json.dumps(v) if isinstance(v, (dict, list)) else v
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            d = table.embedding.shape[1]
            arrays = {k: pa.array([str(s) for s in v]) if v.dtype == object else pa.array(v)
                      for k, v in table.columns.items()}
            flat = pa.array(table.embedding.astype(np.float32).reshape(-1))
            arrays["embedding"] = pa.FixedSizeListArray.from_arrays(flat, d)
            tab = pa.table(arrays).replace_schema_metadata({"mvkl": json.dumps(attrs)})
            pq.write_table(tab, tmp)
    return final


def read_embeddings(path: str | os.PathLike[str]) -> EmbeddingTable:
    """Read a file written by :func:`write_embeddings`."""
    p = Path(path)
    fmt = _format_of(p)
    if not p.is_file():
        raise InputError("embedding file not found", file=display_path(p), code="missing-file")
    if fmt == "hdf5":
        import h5py

        with h5py.File(p, "r") as f:
            emb = f["embedding"][()]
            cols = {}
            for k in f:
                if k == "embedding":
                    continue
                v = f[k][()]
                if v.dtype == object:
                    v = np.array([s.decode("utf-8") if isinstance(s, bytes) else s for s in v], dtype=object)
                cols[k] = v
            attrs = {k: (v.decode() if isinstance(v, bytes) else v.item() if isinstance(v, np.generic) else v)
                     for k, v in f.attrs.items()}
    else:
        import pyarrow.parquet as pq

        tab = pq.read_table(p)
        attrs = json.loads(tab.schema.metadata[b"mvkl"])
        col = tab.column("embedding").combine_chunks()
        emb = col.flatten().to_numpy().reshape(len(tab), int(attrs["dim"]))
        cols = {}
        for name in tab.column_names:
            if name == "embedding":
                continue
            arr = tab.column(name).to_numpy(zero_copy_only=False)
            cols[name] = arr.astype(object) if arr.dtype.kind in "OU" else arr
    return EmbeddingTable(str(attrs["modality"]), np.asarray(emb, np.float32), cols, int(attrs.get("n_skipped", 0)),
                          {k: v for k, v in attrs.items() if k not in ("modality", "n_skipped")})
