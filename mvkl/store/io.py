"""Reading and (one-shot) writing of the HDF5 store defined in :mod:`mvkl.store.schema`.

:class:`Store` opens the file lazily and reopens it after a fork (DataLoader workers), so one
object can be handed to many processes. Table-like fields are small and read eagerly once;
pixels are read one chunk per image.

:func:`write_store` writes a complete store atomically (temporary file + rename), deriving the
per-image split and label from the lumps; :func:`check_store` verifies the contract.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from mvkl import __version__
from mvkl.errors import InputError
from mvkl.fsutil import atomic_path, display_path
from mvkl.manifest.schema import DIM, dim_keys
from mvkl.store import schema as SC

__all__ = ["Store", "StoreInfo", "check_store", "derive_image_fields", "write_store"]


def _decode_attr(v: Any) -> Any:
    if isinstance(v, bytes):
        v = v.decode("utf-8")
    if isinstance(v, np.generic):
        return v.item()
    return v


@dataclass(frozen=True)
class StoreInfo:
    """Root attributes of a store, decoded."""

    format: int
    mvkl_version: str
    image_size: int
    pixel_dtype: str
    attrs: dict[str, Any]


class Store:
    """Read access to an mvkl HDF5 store.

    Example::

        with Store("demo.h5") as st:
            train = st.lump_indices("train")
            m, known = st.manifests("train")
            img = st.image(st.lumps["cc"][train[0]])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError("store not found", file=display_path(self.path), code="missing-file")
        self._h5: h5py.File | None = None
        self._pid: int | None = None
        self._lumps: dict[str, np.ndarray] | None = None
        self._images: dict[str, np.ndarray] | None = None
        try:
            f = self.file
        except OSError:  # not HDF5, truncated, or unreadable: a clear exit 2, never a traceback
            raise InputError("not a readable HDF5 store (no HDF5 signature, truncated or unreadable)",
                             file=display_path(self.path), code="format") from None
        fmt = f.attrs.get("mvkl_format")
        if fmt is None:
            raise InputError("not an mvkl store (no mvkl_format attribute)", file=display_path(self.path),
                             code="format")
        if int(fmt) > SC.FORMAT_VERSION:
            raise InputError(f"store format {int(fmt)} is newer than this mvkl supports "
                             f"({SC.FORMAT_VERSION}); upgrade mvkl", file=display_path(self.path), code="format")
        attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
        for k in SC.ROOT_JSON_ATTRS:
            if isinstance(attrs.get(k), str):
                attrs[k] = json.loads(attrs[k])
        self.info = StoreInfo(int(fmt), str(attrs.get("mvkl_version", "")), int(attrs["image_size"]),
                              str(attrs["pixel_dtype"]), attrs)

    # -- lifetime -----------------------------------------------------------------------------
    @property
    def file(self) -> h5py.File:
        """The open h5py file, reopened in a new process after fork (worker-safe)."""
        if self._h5 is None or self._pid != os.getpid():
            self._h5 = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._h5

    def close(self) -> None:
        if self._h5 is not None and self._pid == os.getpid():
            self._h5.close()
        self._h5 = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_h5"] = None
        state["_pid"] = None
        return state

    # -- tables -------------------------------------------------------------------------------
    @property
    def lumps(self) -> dict[str, np.ndarray]:
        """All lump fields as numpy arrays (reports as Python ``str``)."""
        if self._lumps is None:
            g = self.file["lumps"]
            out = {}
            for k in g:
                arr = g[k][()]
                if k == "report":
                    arr = np.array([s.decode("utf-8") if isinstance(s, bytes) else s for s in arr], dtype=object)
                out[k] = arr
            self._lumps = out
        return self._lumps

    @property
    def images_meta(self) -> dict[str, np.ndarray]:
        """All per-image fields except pixels."""
        if self._images is None:
            g = self.file["images"]
            self._images = {k: g[k][()] for k in g if k != "pixels"}
        return self._images

    @property
    def n_lumps(self) -> int:
        return int(self.file["lumps/label"].shape[0])

    @property
    def n_images(self) -> int:
        return int(self.file["images/pixels"].shape[0])

    def lump_indices(self, split: str | None = None) -> npt.NDArray[np.int64]:
        """Lump rows of a split (all rows when ``split`` is None), in store order."""
        if split is None:
            return np.arange(self.n_lumps, dtype=np.int64)
        return np.nonzero(self.lumps["split"] == SC.split_index(split))[0].astype(np.int64)

    def image_indices(self, split: str | None = None) -> npt.NDArray[np.int64]:
        """Image rows of a split (each image of a lump is a sample for evaluation)."""
        if split is None:
            return np.arange(self.n_images, dtype=np.int64)
        return np.nonzero(self.images_meta["split"] == SC.split_index(split))[0].astype(np.int64)

    def manifests(self, split: str | None = None) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        """``(vectors, known)`` of the lumps of a split, each ``(n, 35)`` uint8."""
        idx = self.lump_indices(split)
        return self.lumps["manifest"][idx], self.lumps["manifest_known"][idx]

    def lesions(self) -> dict[str, np.ndarray]:
        """The ``/lesions`` group (:data:`~mvkl.store.schema.LESION_FIELDS`) as arrays: ``image``,
        ``lump`` (int64), ``box`` (float32 ``(n, 4)`` = xmin, ymin, xmax, ymax in stored pixels),
        ``kind`` (uint8 index into :attr:`lesion_kinds`); empty arrays when the store has none."""
        g = self.file.get("lesions")
        return {k: (np.asarray(g[k][()], dtype=dt) if g is not None and k in g
                    else np.zeros((0, *shape), dtype=dt)) for k, (dt, shape) in SC.LESION_FIELDS.items()}

    @property
    def lesion_kinds(self) -> list[str]:
        """Names of the lesion ``kind`` codes (root attribute ``lesion_kinds``)."""
        return list(self.info.attrs.get("lesion_kinds") or [])

    @property
    def views(self) -> str:
        """``"whole"`` or ``"lesion:<context>"`` (root attribute ``views``; older stores: whole)."""
        return str(self.info.attrs.get("views") or "whole")

    # -- pixels -------------------------------------------------------------------------------
    def image(self, index: int) -> np.ndarray:
        """One stored image ``(S, S)`` (uint8 or uint16), chest wall on the left."""
        if index < 0:
            raise IndexError("image index -1 means 'no image'")
        return self.file["images/pixels"][int(index)]

    def images(self, indices: npt.ArrayLike) -> np.ndarray:
        """Several images ``(k, S, S)`` in the order given."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_images):
            raise IndexError("image index out of range (-1 means 'no image')")
        order = np.argsort(idx, kind="stable")
        uniq, inverse = np.unique(idx[order], return_inverse=True)
        block = self.file["images/pixels"][uniq]  # h5py needs increasing indices
        out = np.empty((idx.size, *block.shape[1:]), dtype=block.dtype)
        out[order] = block[inverse]
        return out


def derive_image_fields(lumps: Mapping[str, np.ndarray], n_images: int) -> dict[str, np.ndarray]:
    """Per-image split (of the image's lumps) and label (1 if any lump is malignant, 0 if all are
    benign, -1 if any is unknown and none malignant)."""
    split = np.full(n_images, -1, dtype=np.int8)
    label = np.full(n_images, -2, dtype=np.int8)  # -2: no lump yet
    for col in ("cc", "mlo"):
        ptr = np.asarray(lumps[col])
        for li in np.nonzero(ptr >= 0)[0]:
            i = int(ptr[li])
            s = int(lumps["split"][li])
            if split[i] not in (-1, s):
                raise ValueError(f"image {i} belongs to lumps in two splits")
            split[i] = s
            lab = int(lumps["label"][li])
            cur = int(label[i])
            if cur == 1 or lab == 1:
                label[i] = 1
            elif cur == -1 or lab == -1:
                label[i] = -1
            else:
                label[i] = 0
    label[label == -2] = -1
    return {"split": split, "label": label}


def _json_attr(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, sort_keys=True, default=str)


def write_store(
    path: str | os.PathLike[str],
    lumps: Mapping[str, Any],
    images: Mapping[str, Any],
    pixels: npt.NDArray[Any],
    attrs: Mapping[str, Any] | None = None,
) -> None:
    """Write a complete store atomically (a kill leaves nothing at ``path``).

    Args:
        lumps: every field of :data:`schema.LUMP_FIELDS`; ``report`` as a sequence of str.
        images: every field of :data:`schema.IMAGE_FIELDS` except the derived ``split`` and
            ``label``.
        pixels: ``(N_img, S, S)`` uint8 or uint16.
        attrs: root attributes; dicts/lists for the JSON attributes of the schema.
    """
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[1] != pixels.shape[2]:
        raise ValueError(f"pixels must be (N, S, S); got {pixels.shape}")
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"pixels must be uint8 or uint16; got {pixels.dtype}")
    n_img = pixels.shape[0]
    derived = derive_image_fields(lumps, n_img)
    root: dict[str, Any] = {
        "mvkl_format": SC.FORMAT_VERSION,
        "mvkl_version": __version__,
        "image_size": int(pixels.shape[1]),
        "pixel_dtype": str(pixels.dtype),
        "manifest_keys": dim_keys(),
        "view_codes": list(SC.VIEW_CODES),
        "laterality_codes": list(SC.LATERALITY_CODES),
        "split_names": list(SC.SPLIT_NAMES),
        "label_names": {str(k): v for k, v in SC.LABEL_NAMES.items()},
        "deid": {},
        "sources": [],
        "split_policy": {},
        "extra": {},
        "key_fingerprint": "",
    }
    root.update(attrs or {})
    with atomic_path(path, suffix=".h5") as tmp, h5py.File(tmp, "w") as f:
        for k, v in root.items():
            f.attrs[k] = _json_attr(v) if k in SC.ROOT_JSON_ATTRS else v
        gi = f.create_group("images")
        s = pixels.shape[1]
        gi.create_dataset("pixels", data=pixels, chunks=(1, s, s) if n_img else None)
        for name, (dt, shape) in SC.IMAGE_FIELDS.items():
            data = derived[name] if name in derived else np.asarray(images[name])
            gi.create_dataset(name, data=np.asarray(data, dtype=dt).reshape((n_img, *shape)))
        gl = f.create_group("lumps")
        n = len(lumps["label"])
        for name, (dt, shape) in SC.LUMP_FIELDS.items():
            if dt == "str":
                gl.create_dataset(name, data=[str(x) for x in lumps[name]],
                                  dtype=h5py.string_dtype("utf-8"), shape=(n,))
            else:
                gl.create_dataset(name, data=np.asarray(lumps[name], dtype=dt).reshape((n, *shape)))


def check_store(path: str | os.PathLike[str]) -> list[str]:
    """Verify the contract; returns a list of violations (empty when the store is valid).

    Checks fields, dtypes and shapes, image pointers, manifest known-mask consistency, label
    and split ranges, and that no patient appears in two splits.
    """
    errors: list[str] = []
    with Store(path) as st:
        f = st.file
        for name, (dt, shape) in SC.LUMP_FIELDS.items():
            if f"lumps/{name}" not in f:
                errors.append(f"missing lumps/{name}")
                continue
            d = f[f"lumps/{name}"]
            if d.shape != (st.n_lumps, *shape):
                errors.append(f"lumps/{name} has shape {d.shape}")
            if dt != "str" and d.dtype != np.dtype(dt):
                errors.append(f"lumps/{name} has dtype {d.dtype}, expected {dt}")
        for name, (dt, shape) in SC.IMAGE_FIELDS.items():
            if f"images/{name}" not in f:
                errors.append(f"missing images/{name}")
                continue
            d = f[f"images/{name}"]
            if d.shape != (st.n_images, *shape):
                errors.append(f"images/{name} has shape {d.shape}")
            if d.dtype != np.dtype(dt):
                errors.append(f"images/{name} has dtype {d.dtype}, expected {dt}")
        if errors:
            return errors
        L = st.lumps
        for col in ("cc", "mlo"):
            bad = (L[col] < -1) | (L[col] >= st.n_images)
            if bad.any():
                errors.append(f"lumps/{col} points outside images for {int(bad.sum())} lumps")
        if ((L["cc"] < 0) & (L["mlo"] < 0)).any():
            errors.append("some lumps have no image")
        if ((L["manifest"] == 1) & (L["manifest_known"] == 0)).any():
            errors.append("manifest bits set where the dimension is unknown")
        if L["manifest"].shape[1] != DIM:
            errors.append("manifest is not 35-dimensional")
        if not np.isin(L["label"], (-1, 0, 1)).all():
            errors.append("labels outside {-1, 0, 1}")
        if (L["split"] >= len(SC.SPLIT_NAMES)).any():
            errors.append("split index out of range")
        splits_of: dict[bytes, set[int]] = {}
        for p, s in zip(L["patient_id"], L["split"], strict=True):
            splits_of.setdefault(bytes(p), set()).add(int(s))
        leaked = sum(1 for v in splits_of.values() if len(v) > 1)
        if leaked:
            errors.append(f"{leaked} patients appear in more than one split")
        try:
            derived = derive_image_fields(L, st.n_images)
            if not np.array_equal(derived["split"], st.images_meta["split"]):
                errors.append("images/split disagrees with lumps")
            if not np.array_equal(derived["label"], st.images_meta["label"]):
                errors.append("images/label disagrees with lumps")
        except ValueError as exc:
            errors.append(str(exc))
        errors.extend(_check_lesions(st))
    return errors


def _check_lesions(st: Store) -> list[str]:
    """Violations of the optional ``/lesions`` group (fields, lengths, pointers, boxes)."""
    if "lesions" not in st.file:
        return []
    g = st.file["lesions"]
    errors = [f"missing lesions/{k}" for k in SC.LESION_FIELDS if k not in g]
    if errors:
        return errors
    les = st.lesions()
    n = les["image"].shape[0]
    for k, (dt, shape) in SC.LESION_FIELDS.items():
        if g[k].shape != (n, *shape) or g[k].dtype != np.dtype(dt):
            errors.append(f"lesions/{k} has shape {g[k].shape} and dtype {g[k].dtype}")
    if errors:
        return errors
    if ((les["image"] < 0) | (les["image"] >= st.n_images)).any():
        errors.append("lesions/image points outside images")
    if ((les["lump"] < -1) | (les["lump"] >= st.n_lumps)).any():
        errors.append("lesions/lump points outside lumps")
    if (les["kind"] >= max(1, len(st.lesion_kinds))).any():
        errors.append("lesions/kind outside lesion_kinds")
    b, s = les["box"], float(st.info.image_size)
    if n and not ((b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1]) & (b >= 0).all(axis=1) & (b <= s).all(axis=1)).all():
        errors.append("lesions/box has empty or out-of-image boxes")
    return errors
